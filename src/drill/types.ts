import type { Client } from '@temporalio/client';
import type { RunbookConfig } from '../config/schema';
import type { SandboxControl } from './sandbox-client';

/**
 * Everything a game day touches: the running stack (Temporal and its worker's task queue, the platform
 * sandbox, the webhook receiver, the app database) and a way to run incidents under shortened SLAs.
 * The CLI builds it from a running `npm start`; the tests from servers started in-process.
 */
export interface DrillWorld {
  client: Client;
  /** The stack worker's task queue (deploys, backups, health checks, incidents opened by alerts). */
  taskQueue: string;
  /** The stack's effective configuration (platform URLs may still be the real ones: only names are read). */
  config: RunbookConfig;
  sandbox: SandboxControl;
  /** The webhook receiver and its bearer token; without them alerts go in by signal-with-start, as the receiver does. */
  receiver?: { url: string; token?: string };
  /** Connection string of the app database (`databases.app`), as a superuser of the embedded cluster. */
  appDatabaseUrl: string;
  /** Connection string of the ops database (records the drills read: backups catalogue). */
  opsDatabaseUrl?: string;
  /** Directory of a `directory` backup store, resolved as the worker resolves it. */
  backupDir?: string;
  /**
   * A worker on a task queue of its own, running the real workflows and activities against the same
   * world, with the configuration changed by `patch` (e.g. shortened SLAs). Stopped with `close`.
   */
  scaledWorker(patch: (config: RunbookConfig) => RunbookConfig): Promise<{ taskQueue: string; close(): Promise<void> }>;
}

export interface DrillOptions {
  /** Multiplies the incident response SLAs the drills wait for (escalation). 1/360: P1's 1 h becomes 10 s. */
  slaScale: number;
  /** Deploy watch at each rolling stage and after full promotion. */
  watchMs: number;
  sampleIntervalMs: number;
  /** The runbook's connection alert fires above 180; the drill's threshold, scaled down. */
  dbThreshold: number;
  /** Runaway `pg_sleep` sessions db-overload starts. */
  runawayQueries: number;
  /** Deliveries the alert storm sends (an HA pair each sending the group this many times). */
  stormRepeats: number;
  /** Longest one scenario may take before it is declared failed (and cleaned up). */
  scenarioTimeoutMs: number;
  /** Who the drill acts as when it approves, acknowledges or resolves. */
  actor: string;
  log(message: string): void;
}

export const DEFAULT_OPTIONS: Omit<DrillOptions, 'log'> = {
  slaScale: 1 / 360,
  watchMs: 3_000,
  sampleIntervalMs: 1_000,
  dbThreshold: 20,
  runawayQueries: 3,
  stormRepeats: 5,
  scenarioTimeoutMs: 180_000,
  actor: 'drill',
};

/** One measured interval of a drill against its target from the runbook. */
export interface Measure {
  /** Milliseconds from fault injection; undefined when it never happened. */
  ms?: number;
  /** The runbook's target in milliseconds (undefined: no target). */
  slaMs?: number;
  /** Where the target comes from, e.g. "P1 response 1h". */
  sla?: string;
}

/** What every drill reports and measures, while it runs and in its result. */
export interface DrillFindings {
  /** What the automation did: incident, pages, rollback, restore… */
  notes: string[];
  /** Checks that failed (empty when the outcome is pass). */
  failures: string[];
  detection: Measure;
  firstPage: Measure;
  mitigation: Measure;
  resolution: Measure;
  incidentId?: string;
}

export interface ScenarioResult extends DrillFindings {
  scenario: string;
  outcome: 'pass' | 'fail';
  /** Whether cleanup left the world as it was, and what it could not undo. */
  clean: boolean;
  cleanupProblems: string[];
  durationMs: number;
}

/** Filled in by a scenario while it runs; the runner turns it into a ScenarioResult. */
export interface ScenarioRun extends DrillFindings {
  world: DrillWorld;
  opts: DrillOptions;
  /** When the fault went in: every measure counts from here. */
  injectedAt?: number;
  /** Undo steps, run in reverse order whatever happened. */
  cleanup: { what: string; run: () => Promise<void> }[];
  /** A failed check: recorded, the scenario goes on (use `require` to stop). */
  check(ok: boolean, what: string): boolean;
  note(text: string): void;
  /** Milliseconds since injection. */
  since(at: number | string | undefined): number | undefined;
}

export interface Scenario {
  name: string;
  /** One line for `runbook drill --help` and the README. */
  description: string;
  run(run: ScenarioRun): Promise<void>;
}
