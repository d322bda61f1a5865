/**
 * Every game day of `runbook drill` against real Temporal and PostgreSQL, a sandbox, the worker and the
 * webhook receiver: each must pass, measure what the runbook measures, and leave the world clean.
 */
import { runScenario, SCENARIOS } from '../../src/drill/runner';
import { explain, worldProblems } from './assert-clean';
import { oncePerFile } from '../harness/fixtures';
import { enableRollingReleases } from '../harness/sandbox-stack';
import { openDrillWorld } from './world';

jest.setTimeout(240_000);

describe('runbook drill scenarios', () => {
  const t = oncePerFile(openDrillWorld, (world) => world.close());
  beforeAll(async () => {
    // As after any deploy of this service (rollingRelease 10/50/100), the project releases production builds in
    // stages: a build made by a playbook (provider-outage) only serves production once it is released.
    expect(await enableRollingReleases(t.sandbox, 'crav-javari')).toBeLessThan(300);
  });

  const scenario = (name: string) => SCENARIOS.find((s) => s.name === name)!;

  it.each(['alert-storm', 'escalation', 'bad-release', 'data-loss', 'db-overload', 'provider-outage'])(
    '%s passes and leaves the world clean',
    async (name) => {
      const result = await runScenario(t.world, scenario(name), t.options);
      if (result.outcome !== 'pass') throw new Error(`${name} failed:\n${explain(result)}`);
      expect(result.clean).toBe(true);
      expect(result.incidentId).toBeDefined();
      expect(result.firstPage.ms).toBeDefined();
      expect(result.firstPage.ms!).toBeLessThanOrEqual(result.firstPage.slaMs!);
      expect(result.detection.ms).toBeDefined();
      expect(result.resolution.ms).toBeDefined();
      expect(await worldProblems(t)).toEqual([]);
    },
  );
});

describe('a drill fails when the automation does not do its part', () => {
  const t = oncePerFile(openDrillWorld, (world) => world.close());

  it('alert-storm fails when the receiver turns the deliveries away, and still cleans up', async () => {
    const world = { ...t.world, receiver: { url: t.world.receiver!.url, token: 'not-the-token' } };
    const result = await runScenario(
      world,
      SCENARIOS.find((s) => s.name === 'alert-storm')!,
      { ...t.options, scenarioTimeoutMs: 15_000 },
    );
    expect(result.outcome).toBe('fail');
    expect(result.failures.join('\n')).toMatch(/every delivery accepted with 202 \(got 401\)/);
    expect(result.failures.join('\n')).toMatch(/accepted none of the 10 deliveries \(401/);
    expect(await worldProblems(t)).toEqual([]);
  });

  it('bad-release fails when the release never degrades (no rollback, no incident)', async () => {
    // A sandbox that ignores the fault: the watch sees a healthy canary and the deploy succeeds.
    const world = { ...t.world, sandbox: { ...t.world.sandbox, degrade: async () => [] } };
    const result = await runScenario(
      world,
      SCENARIOS.find((s) => s.name === 'bad-release')!,
      t.options,
    );
    expect(result.outcome).toBe('fail');
    expect(result.failures.join('\n')).toMatch(/verdict rolled-back \(got succeeded/);
    expect(result.failures.join('\n')).toMatch(/an incident opened/);
    expect(await worldProblems(t)).toEqual([]);
  });
});
