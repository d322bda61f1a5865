import { combineCiResults } from '../../src/activities/deploy/ci-status';

describe('CI gate: commit statuses and check runs combined', () => {
  it('fails on any failure, waits on pending or missing required contexts, passes when all succeeded', () => {
    expect(
      combineCiResults([{ context: 'ci/test', state: 'success' }], [{ name: 'lint', status: 'completed', conclusion: 'failure' }], []),
    ).toEqual({ state: 'failure', reason: 'failing: lint' });
    expect(
      combineCiResults([{ context: 'ci/test', state: 'success' }], [{ name: 'build', status: 'in_progress', conclusion: null }], []).state,
    ).toBe('pending');
    expect(combineCiResults([{ context: 'ci/test', state: 'success' }], [], ['ci/e2e'])).toEqual({
      state: 'pending',
      reason: 'waiting for: ci/e2e',
    });
    expect(combineCiResults([], [], []).state).toBe('pending');
    expect(
      combineCiResults(
        [{ context: 'ci/test', state: 'success' }],
        [{ name: 'docs', status: 'completed', conclusion: 'skipped' }],
        ['ci/test'],
      ),
    ).toEqual({
      state: 'success',
      reason: '2 check(s) passed: ci/test, docs',
    });
  });
});
