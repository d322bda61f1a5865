import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Client, WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { ActivityDeps } from '../../src/activities';
import type { RunbookConfig } from '../../src/config/schema';
import type { Sandbox } from '../../src/sandbox';
import { incidentWorkflowId, type Alert, type AlertInput } from '../../src/workflows/common/alerts';
import {
  alertsSignal,
  incidentStartOptions,
  incidentStateQuery,
  type IncidentInput,
  type IncidentState,
} from '../../src/workflows/incident/contract';
import type { incident } from '../../src/workflows';
import { temporalCli } from '../../src/stack/binaries';
import { testConfig, testEnv, uniqueName } from '../harness';
import { withTimeSkippingWorker } from '../harness/fixtures';
import { openSandboxStack, type SandboxStack } from '../harness/sandbox-stack';

/** The first runbook's example config with the incidents section changed by `incidents`. */
export function incidentConfig(
  incidents: Partial<RunbookConfig['incidents']> = {},
  example: 'vercel-supabase' | 'netlify-supabase' = 'vercel-supabase',
): RunbookConfig {
  const base = testConfig({}, example);
  return testConfig({ incidents: { ...base.incidents, ...incidents } }, example);
}

export type IncidentStack = SandboxStack;

/** Ops and app databases, a sandbox seeded from the config, and activity deps whose platform calls all go to it. */
export const incidentStack = (config: RunbookConfig): Promise<IncidentStack> =>
  openSandboxStack(config, { prefix: 'incident', requestTimeoutMs: 3_000 });

/**
 * An incident stack per example config for the whole file (opened one after the other before its tests, closed
 * after them), with the incidents section changed by `incidents`.
 */
export function incidentStacksForFile(
  incidents: Partial<RunbookConfig['incidents']>,
): Map<'vercel-supabase' | 'netlify-supabase', IncidentStack> {
  const stacks = new Map<'vercel-supabase' | 'netlify-supabase', IncidentStack>();
  beforeAll(async () => {
    for (const example of ['vercel-supabase', 'netlify-supabase'] as const)
      stacks.set(example, await incidentStack(incidentConfig(incidents, example)));
  });
  afterAll(async () => {
    for (const s of stacks.values()) await s.close();
  });
  return stacks;
}

/** A normalized alert as the receiver hands it over. */
export function alert(over: Partial<AlertInput> & { dedupKey: string }): Alert {
  const now = new Date().toISOString();
  return {
    source: 'alertmanager',
    fingerprint: 'f-1',
    status: 'firing',
    summary: 'API error rate above 5%',
    labels: { severity: 'critical', alertname: 'HighErrorRate' },
    startsAt: now,
    receivedAt: now,
    ...over,
  } as Alert;
}

/** What the receiver does: signal-with-start, so repeats join the open incident. */
export async function raise(
  client: Client,
  taskQueue: string,
  alerts: Alert[],
  opts: { input?: Partial<IncidentInput>; searchAttributes?: boolean } = {},
): Promise<WorkflowHandle<typeof incident>> {
  const dedupKey = alerts[0].dedupKey;
  return client.workflow.signalWithStart<typeof incident, [Alert[]]>('incident', {
    workflowId: incidentWorkflowId(dedupKey),
    taskQueue,
    args: [{ dedupKey, ...opts.input }],
    signal: alertsSignal,
    signalArgs: [alerts],
    // The time-skipping test server knows no custom search attributes.
    ...(opts.searchAttributes === false ? {} : incidentStartOptions({ dedupKey, title: alerts[0].summary })),
  });
}

/**
 * Runs `fn` with a worker for `deps` on the time-skipping server. `raiseHere` raises alerts on it as the receiver
 * does, without search attributes (that server knows none); every incident it opened is terminated after.
 */
export function withTimeSkippedIncidents(
  env: TestWorkflowEnvironment,
  deps: ActivityDeps,
  fn: (raiseHere: (alerts: Alert[]) => Promise<WorkflowHandle<typeof incident>>) => Promise<void>,
): Promise<void> {
  return withTimeSkippingWorker(env, deps, (taskQueue, started) =>
    fn(async (alerts) => {
      const handle = await raise(env.client, taskQueue, alerts, { searchAttributes: false });
      started.push(handle);
      return handle;
    }),
  );
}

/** Polls the state query until `ok` holds (real time; the workflow is driven by its worker meanwhile). */
export async function waitForState(
  handle: WorkflowHandle,
  ok: (s: IncidentState) => boolean,
  what: string,
  timeoutMs = 20_000,
): Promise<IncidentState> {
  const deadline = Date.now() + timeoutMs;
  let last: IncidentState | undefined;
  for (;;) {
    try {
      last = await handle.query(incidentStateQuery);
      if (last && ok(last)) return last;
    } catch {
      // not started yet, or still opening
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out waiting for ${what}; last state: ${JSON.stringify(last && { status: last.status, timeline: last.timeline.map((e) => `${e.kind}: ${e.text}`) }, null, 2)}`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

export const key = (prefix: string) => uniqueName(prefix).replace(/_/g, '-');

export const pdTriggers = (sandbox: Sandbox, dedupKey: string) =>
  sandbox.pagerduty.events(dedupKey).filter((e) => e.event_action === 'trigger');

/** The reason an update was rejected (the validator's message travels as the failure's cause). */
export async function rejection(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    const e = err as { message?: string; cause?: { message?: string } };
    return e.cause?.message ?? e.message ?? String(err);
  }
  throw new Error('expected the update to be rejected, but it was accepted');
}

/** Where replay tests find recorded incident histories. */
export const HISTORIES_DIR = path.join(__dirname, 'histories');

/**
 * With RECORD_INCIDENT_HISTORIES=1, keeps the run's history for the replay test, in the format of
 * `temporal workflow show --output json` (e.g. `RECORD_INCIDENT_HISTORIES=1 npx jest test/incident/lifecycle`).
 */
export async function recordHistory(handle: WorkflowHandle, name: string): Promise<void> {
  if (!process.env.RECORD_INCIDENT_HISTORIES) return;
  const { runId } = await handle.describe();
  const json = execFileSync(
    temporalCli(),
    ['workflow', 'show', '--address', testEnv.temporalAddress, '--workflow-id', handle.workflowId, '--run-id', runId, '--output', 'json'],
    {
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  mkdirSync(HISTORIES_DIR, { recursive: true });
  // The workflow id is not in the events; replay needs it (the incident id derives from it).
  const history = { workflowId: handle.workflowId, ...(JSON.parse(json.toString()) as Record<string, unknown>) };
  writeFileSync(path.join(HISTORIES_DIR, `${name}.json`), `${JSON.stringify(history, null, 1)}\n`);
}
