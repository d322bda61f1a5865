import type { DrillOptions, DrillWorld, Measure, Scenario, ScenarioResult, ScenarioRun } from './types';
import { alertStorm } from './scenarios/alert-storm';
import { escalation } from './scenarios/escalation';
import { badRelease } from './scenarios/bad-release';
import { dataLoss } from './scenarios/data-loss';
import { providerOutage } from './scenarios/provider-outage';
import { dbOverload } from './scenarios/db-overload';
import { messageOf } from './util';

/** Every game day, in the order `drill all` runs them. */
export const SCENARIOS: Scenario[] = [alertStorm, escalation, badRelease, dataLoss, providerOutage, dbOverload];

export function scenarioNames(): string[] {
  return SCENARIOS.map((s) => s.name);
}

/** `all`, or one name: the scenarios to run; throws with the known names for anything else. */
export function selectScenarios(which: string): Scenario[] {
  if (which === 'all') return SCENARIOS;
  const found = SCENARIOS.filter((s) =>
    which
      .split(',')
      .map((x) => x.trim())
      .includes(s.name),
  );
  if (!found.length) throw new Error(`unknown scenario "${which}": one of ${scenarioNames().join(', ')}, or all`);
  return found;
}

/** The runbooks' targets every drill is measured against unless the scenario sets its own. */
function defaults(world: DrillWorld): Record<'detection' | 'firstPage' | 'mitigation' | 'resolution', Measure> {
  const p0 = world.config.incidents.sla.P0;
  return {
    // First runbook, Incident Response Process: detection 0–5 min, mitigation within 2 h, resolution 2–24 h.
    detection: { slaMs: 300_000, sla: 'detection 5m' },
    firstPage: { slaMs: typeof p0 === 'number' ? p0 : 900_000, sla: 'P0 response' },
    mitigation: { slaMs: 7_200_000, sla: 'mitigation 2h' },
    resolution: { slaMs: 86_400_000, sla: 'resolution 24h' },
  };
}

/** One scenario: run, then its cleanup steps in reverse order, whatever happened; the result never throws. */
export async function runScenario(world: DrillWorld, scenario: Scenario, opts: DrillOptions): Promise<ScenarioResult> {
  const started = Date.now();
  const d = defaults(world);
  const run: ScenarioRun = {
    world,
    opts,
    notes: [],
    failures: [],
    detection: { ...d.detection },
    firstPage: { ...d.firstPage },
    mitigation: { ...d.mitigation },
    resolution: { ...d.resolution },
    cleanup: [],
    check(ok, what) {
      if (!ok) run.failures.push(what);
      return ok;
    },
    note(text) {
      run.notes.push(text);
    },
    since(at) {
      if (at === undefined || run.injectedAt === undefined) return undefined;
      const t = typeof at === 'number' ? at : Date.parse(at);
      return Number.isFinite(t) ? Math.max(0, t - run.injectedAt) : undefined;
    },
  };
  opts.log(`drill ${scenario.name}: starting`);
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      scenario.run(run),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`did not finish within ${Math.round(opts.scenarioTimeoutMs / 1000)}s`)),
          opts.scenarioTimeoutMs,
        );
      }),
    ]);
  } catch (err) {
    run.failures.push(messageOf(err));
  } finally {
    clearTimeout(timer);
  }
  const cleanupProblems: string[] = [];
  for (const step of [...run.cleanup].reverse()) {
    try {
      await step.run();
    } catch (err) {
      cleanupProblems.push(`${step.what}: ${messageOf(err)}`);
    }
  }
  for (const [name, m] of Object.entries({
    detection: run.detection,
    firstPage: run.firstPage,
    mitigation: run.mitigation,
    resolution: run.resolution,
  })) {
    if (m.ms !== undefined && m.slaMs !== undefined && m.ms > m.slaMs)
      run.failures.push(`${name} took longer than ${m.sla ?? 'its target'}`);
  }
  const outcome = run.failures.length || cleanupProblems.length ? 'fail' : 'pass';
  opts.log(`drill ${scenario.name}: ${outcome}${run.failures.length ? ` (${run.failures.join('; ')})` : ''}`);
  return {
    scenario: scenario.name,
    outcome,
    notes: run.notes,
    failures: run.failures,
    detection: run.detection,
    firstPage: run.firstPage,
    mitigation: run.mitigation,
    resolution: run.resolution,
    clean: cleanupProblems.length === 0,
    cleanupProblems,
    durationMs: Date.now() - started,
    incidentId: run.incidentId,
  };
}

export async function runDrills(world: DrillWorld, scenarios: Scenario[], opts: DrillOptions): Promise<ScenarioResult[]> {
  const results: ScenarioResult[] = [];
  for (const s of scenarios) results.push(await runScenario(world, s, opts));
  return results;
}
