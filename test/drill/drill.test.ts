/**
 * Every game day of `runbook drill` against real Temporal and PostgreSQL, a sandbox, the worker and the
 * webhook receiver: each must pass, measure what the runbook measures, and leave the world clean.
 */
import { runScenario, SCENARIOS } from '../../src/drill/runner';
import { explain, worldProblems } from './assert-clean';
import { openDrillWorld, type TestDrillWorld } from './world';

jest.setTimeout(240_000);

describe('runbook drill scenarios', () => {
  let t: TestDrillWorld;
  beforeAll(async () => {
    t = await openDrillWorld();
  });
  afterAll(async () => {
    await t?.close();
  });

  const scenario = (name: string) => SCENARIOS.find((s) => s.name === name)!;

  it.each(['alert-storm', 'escalation', 'bad-release', 'data-loss', 'provider-outage', 'db-overload'])('%s passes and leaves the world clean', async (name) => {
    const result = await runScenario(t.world, scenario(name), t.options);
    if (result.outcome !== 'pass') throw new Error(`${name} failed:\n${explain(result)}`);
    expect(result.clean).toBe(true);
    expect(result.incidentId).toBeDefined();
    expect(result.firstPage.ms).toBeDefined();
    expect(result.firstPage.ms!).toBeLessThanOrEqual(result.firstPage.slaMs!);
    expect(result.detection.ms).toBeDefined();
    expect(result.resolution.ms).toBeDefined();
    expect(await worldProblems(t)).toEqual([]);
  });
});
