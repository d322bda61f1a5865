import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { Client as PgClient } from 'pg';
import {
  backupIdFromWorkflowId,
  backupWorkflowId,
  manualBackupSuffix,
  type BackupInput,
  type BackupManifest,
} from '../../src/workflows/backup/contract';
import { RunbookKind } from '../../src/workflows/common';
import { deployProgressQuery, deployStartOptions, type DeployResult } from '../../src/workflows/deploy/contract';
import { incidentStateQuery, type IncidentState } from '../../src/workflows/incident/contract';
import type { backup, deploy } from '../../src/workflows';
import { temporalCli } from '../../src/stack/binaries';
import { freePort } from '../../src/stack/ports';
import { BENCH_TOKEN } from '../../bench/alert-storm/config';
import { incidentPrefix } from '../../bench/alert-storm/shapes';
import { incidentId, notification, post } from '../../bench/cluster/alerts';
import { recorded, terminateAll } from '../../bench/alert-storm/verify';
import { startCluster, type Cluster } from '../../scripts/cluster/cluster';
import type { ClusterProcess } from '../../scripts/cluster/processes';

/**
 * The production topology (`npm run cluster`): Temporal built from its Go module on PostgreSQL with SQL
 * visibility, two workers, two receivers, the backup transfer worker and the UI as separate processes, and
 * the failure of each part. Run with `npm run test:cluster`; recovery times are printed.
 */
const SLA = 12_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const id = () => randomBytes(3).toString('hex');

let cluster: Cluster;
let dir: string;
let client: Client;
let connection: Connection;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'runbook-cluster-'));
  cluster = await startCluster({
    dataDir: dir,
    workers: 2,
    receivers: 2,
    ui: true,
    temporalPort: await freePort(),
    uiPort: await freePort(),
    postgresPort: await freePort(),
    env: { ...process.env, RUNBOOK_WEBHOOK_TOKEN: BENCH_TOKEN },
    sandboxStepMs: 20,
    adjustConfig: (c) => ({
      ...c,
      // The SLA-period escalation (one on-call level per period), not the example's matrix, whose later
      // steps wait the runbook's 15 min and up.
      incidents: { ...c.incidents, sla: { P0: SLA, P1: SLA, P2: SLA, P3: SLA }, escalation: undefined },
      backup: { ...c.backup, store: { type: 'directory', path: path.join(dir, 'backups') } },
      // The cluster's app database is empty: no sample-app schema for a deploy to migrate.
      deploy: { ...c.deploy, migrationsDir: undefined },
    }),
  });
  connection = await Connection.connect({ address: cluster.address });
  client = new Client({ connection, namespace: cluster.namespace });
}, 600_000);

afterAll(async () => {
  await connection?.close();
  await cluster?.stop();
  // RUNBOOK_KEEP_CLUSTER=1 keeps its logs and data for a look after a failure.
  if (dir && !process.env.RUNBOOK_KEEP_CLUSTER) rmSync(dir, { recursive: true, force: true });
  else if (dir) process.stdout.write(`cluster: kept ${dir}\n`);
}, 120_000);

/** Opens a P0 incident through the first receiver. */
async function openP0(run: string): Promise<WorkflowHandle> {
  expect(await post(cluster.receivers[0].url, notification(run, 0, [`${run}-p0`], 'critical'))).toBe(202);
  return client.workflow.getHandle(incidentId(run, 0));
}

async function state(handle: WorkflowHandle, ok: (s: IncidentState) => boolean, what: string, timeoutMs = 60_000): Promise<IncidentState> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const s = await handle.query(incidentStateQuery);
      if (ok(s)) return s;
    } catch {
      // not started yet, or the server is still coming back
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

async function sql<T>(url: string, text: string, params: unknown[] = []): Promise<T[]> {
  const db = new PgClient({ connectionString: url });
  await db.connect();
  try {
    return (await db.query(text, params)).rows as T[];
  } finally {
    await db.end();
  }
}

const pdTriggers = (dedupKey: string) => cluster.sandbox!.pagerduty.events(dedupKey).filter((e) => e.event_action === 'trigger');

/** The worker process that ran the workflow's latest workflow task (its identity is pid@host). */
async function lastWorker(handle: WorkflowHandle): Promise<ClusterProcess> {
  const history = await handle.fetchHistory();
  const identities = (history.events ?? []).map((e) => e.workflowTaskStartedEventAttributes?.identity).filter(Boolean);
  const pid = Number(identities.at(-1)!.split('@')[0]);
  const worker = cluster.workers.find((w) => w.pid === pid);
  if (!worker) throw new Error(`the workflow task ran on pid ${pid}, not one of the cluster's workers`);
  return worker;
}

describe('the production topology without Docker', () => {
  it('an alert storm spread over two receivers opens exactly one incident per group and loses no alert', async () => {
    const run = `s${id()}`;
    const groups = 12;
    const perGroup = 12;
    const bodies: { url: string; body: string }[] = [];
    for (let g = 0; g < groups; g++)
      for (let j = 0; j < perGroup; j++) {
        // Every group reaches both receivers, interleaved: both race to open the same incident.
        bodies.push({ url: cluster.receivers[(g + j) % 2].url, body: notification(run, g, [`${run}.${g}.${j}`]) });
      }
    let next = 0;
    const statuses: number[] = [];
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < bodies.length) {
          const { url, body } = bodies[next++];
          statuses.push(await post(url, body));
        }
      }),
    );
    expect(statuses.filter((s) => s !== 202)).toEqual([]);
    // A 202 means the alert is queued for its incident; the signal may follow it by a moment.
    let found = await recorded(client, incidentPrefix(run), groups);
    for (let i = 0; i < 30 && found.fingerprints.size < groups * perGroup; i++) {
      await sleep(1_000);
      found = await recorded(client, incidentPrefix(run), groups);
    }
    try {
      expect(found.incidents).toBe(groups);
      expect(found.fingerprints.size).toBe(groups * perGroup);
    } finally {
      await terminateAll(client, found.workflowIds);
    }
  }, 240_000);

  it('search attributes are registered and filter on SQL visibility, through the CLI and the UI', async () => {
    const run = `q${id()}`;
    expect(await post(cluster.receivers[1].url, notification(run, 0, [`${run}-p0`], 'critical'))).toBe(202);
    expect(await post(cluster.receivers[1].url, notification(run, 1, [`${run}-p2`], 'warning'))).toBe(202);
    const query = `RunbookKind='incident' AND RunbookSeverity='P0' AND WorkflowId STARTS_WITH '${incidentPrefix(run)}'`;
    let ids: string[] = [];
    const deadline = Date.now() + 30_000;
    while (ids.length < 1 && Date.now() < deadline) {
      const out = execFileSync(temporalCli(), ['workflow', 'list', '--address', cluster.address, '--query', query, '--output', 'json']);
      const text = out.toString().trim();
      ids = text ? (JSON.parse(text) as { execution: { workflowId: string } }[]).map((w) => w.execution.workflowId) : [];
      if (!ids.length) await sleep(500);
    }
    expect(ids).toEqual([incidentId(run, 0)]);
    // The UI's workflow list filters through its own server with the same query.
    const res = await fetch(`${cluster.uiUrl}/api/v1/namespaces/${cluster.namespace}/workflows?query=${encodeURIComponent(query)}`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { executions?: { execution: { workflowId: string } }[] };
    expect((body.executions ?? []).map((e) => e.execution.workflowId)).toEqual(ids);
    await terminateAll(client, [incidentId(run, 0), incidentId(run, 1)]);
  }, 120_000);

  it('a worker killed with -9 during a deploy watch: the deploy completes with one build and one promotion', async () => {
    const input = {
      service: 'javari-web',
      ref: 'main',
      requestedBy: 'cluster test',
      durations: { watch: 15_000, stageWatch: 2_000, sampleInterval: 1_000, pollInterval: 200, activityTimeout: 5_000 },
    };
    const o = deployStartOptions(input);
    const sb = cluster.sandbox!;
    sb.clearCalls();
    const handle: WorkflowHandle<typeof deploy> = await client.workflow.start<typeof deploy>('deploy', {
      ...o,
      workflowId: `${o.workflowId}-${id()}`,
      taskQueue: cluster.config.temporal.taskQueue,
      args: [input],
    });
    const deadline = Date.now() + 120_000;
    for (;;) {
      const progress = await handle.query(deployProgressQuery).catch(() => undefined);
      if (progress?.stage === 'watching') break;
      if (Date.now() > deadline) throw new Error(`the deploy never reached its watch: ${JSON.stringify(progress)}`);
      await sleep(300);
    }
    await sleep(2_000);
    const victim = await lastWorker(handle);
    const killedAt = Date.now();
    await victim.kill();
    const replacement = cluster.addWorker();
    const result = (await handle.result()) as DeployResult;
    const recovery = Date.now() - killedAt;
    await replacement;
    expect(result.verdict).toBe('succeeded');
    const mutations = sb.calls({ vendor: 'vercel' }).filter((c) => c.method !== 'GET');
    const builds = mutations.filter((c) => c.path === '/v13/deployments' && (c.body as { target?: string }).target === 'production');
    const rollouts = mutations.filter((c) => /\/rolling-release\/start$|\/promote\//.test(c.path));
    expect({ builds: builds.length, rollouts: rollouts.length }).toEqual({ builds: 1, rollouts: 1 });
    // No platform change was made twice: every mutating call is unique.
    const seen = mutations.map((c) => `${c.method} ${c.path} ${JSON.stringify(c.body)}`);
    expect(seen.filter((k, i) => seen.indexOf(k) !== i)).toEqual([]);
    expect(sb.apps.production('crav-javari')?.current).toBe(result.production?.id);
    process.stdout.write(`cluster: deploy finished ${(recovery / 1000).toFixed(1)} s after kill -9 of ${victim.name}\n`);
  }, 240_000);

  it('a Temporal server restart during the SLA wait: the escalation is paged exactly once', async () => {
    const run = `r${id()}`;
    const handle = await openP0(run);
    const first = await state(handle, (s) => s.escalation.pages.length === 1, 'the first page');
    const restartedAt = Date.now();
    await cluster.restartServer({ downMs: 2_000 });
    const serverBack = Date.now() - restartedAt;
    const due = Date.parse(first.escalation.dueAt!);
    const after = await state(handle, (s) => s.escalation.pages.length === 2, 'the escalation', 120_000);
    const late = Date.now() - due;
    expect(after.escalation.pages[1]).toMatchObject({ reason: 'escalation' });
    await sleep(3_000);
    const triggers = pdTriggers(handle.workflowId);
    expect(triggers).toHaveLength(2);
    expect(new Set(triggers.map((t) => t.routing_key)).size).toBe(2);
    process.stdout.write(
      `cluster: Temporal server answering ${(serverBack / 1000).toFixed(1)} s after the restart began; escalation paged ${(late / 1000).toFixed(1)} s after it was due\n`,
    );
    await handle.terminate('test over');
  }, 240_000);

  it("a restart of Temporal's PostgreSQL: the cluster, the running incident and new alerts recover", async () => {
    const run = `p${id()}`;
    const handle = await openP0(run);
    await state(handle, (s) => s.escalation.pages.length === 1, 'the first page');
    const restartedAt = Date.now();
    await cluster.restartPostgres({ downMs: 3_000 });
    const pgBack = Date.now();
    // The open incident escalates on time once its timer can be read again…
    await state(handle, (s) => s.escalation.pages.length === 2, 'the escalation after the restart', 120_000);
    // …and a new alert opens a new incident through a receiver.
    const run2 = `p${id()}`;
    const second = await openP0(run2);
    await state(second, (s) => s.escalation.pages.length === 1, 'a new incident paging', 120_000);
    const recovered = Date.now() - pgBack;
    // A page sent while PostgreSQL was down can be sent again: its completion could not be recorded, so
    // Temporal retries the activity. PagerDuty folds triggers with one dedup_key into one alert, so on-call
    // is paged once per level; what must hold is one level each, and nothing else.
    const triggers = pdTriggers(handle.workflowId);
    expect(
      [
        ...new Set(
          triggers.map((t) => `${t.routing_key} ${String((t.payload?.custom_details as { reason?: string } | undefined)?.reason)}`),
        ),
      ].sort(),
    ).toEqual(['sandbox-pagerduty_routing_key initial', 'sandbox-pagerduty_routing_key_secondary escalation']);
    expect(cluster.sandbox!.pagerduty.alerts()[handle.workflowId]).toBe('triggered');
    expect(pdTriggers(second.workflowId).map((t) => t.routing_key)).toEqual(['sandbox-pagerduty_routing_key']);
    process.stdout.write(
      `cluster: PostgreSQL down ${((pgBack - restartedAt) / 1000).toFixed(1)} s; a new alert paged ${(recovered / 1000).toFixed(1)} s after it was back; PagerDuty triggers repeated under one dedup_key: ${triggers.length - 2}\n`,
    );
    await terminateAll(client, [handle.workflowId, second.workflowId]);
  }, 300_000);

  it('a backup transfer worker killed with -9 mid-dump: the backup completes once, is catalogued once and restores', async () => {
    const rows = 2_000_000;
    const appUrl = cluster.env[cluster.config.databases.app.urlEnv]!;
    // Verification restores into a scratch database on the same server and runs pg_amcheck there: the
    // cluster's set-up (docker/postgres/init-databases.sql) gave the service's role CREATEDB and amcheck.
    for (const statement of [
      'DROP TABLE IF EXISTS cluster_bulk, cluster_orders',
      'CREATE TABLE cluster_bulk (id bigint PRIMARY KEY, body text NOT NULL)',
      // Hex digests: ~150 MB of COPY text that zstd halves at best, so the dump is still writing when the kill lands.
      `INSERT INTO cluster_bulk SELECT g, md5(g::text) || md5((-g)::text) FROM generate_series(1, ${rows}) g`,
      // Small enough for the manifest's md5, which the scratch restore must match row for row.
      'CREATE TABLE cluster_orders (id int PRIMARY KEY, total numeric NOT NULL)',
      'INSERT INTO cluster_orders SELECT g, g * 1.5 FROM generate_series(1, 1000) g',
    ])
      await sql(appUrl, statement);

    const now = new Date();
    const workflowId = `${backupWorkflowId('app', now, manualBackupSuffix(now))}-${id()}`;
    const backupId = backupIdFromWorkflowId(workflowId);
    const input: BackupInput = { database: 'app', trigger: 'manual', requestedBy: 'cluster test', verify: true, heartbeatTimeout: '3s' };
    const handle: WorkflowHandle<typeof backup> = await client.workflow.start<typeof backup>('backup', {
      taskQueue: cluster.config.temporal.taskQueue,
      workflowId,
      args: [input],
      typedSearchAttributes: [{ key: RunbookKind, value: 'backup' }],
      staticSummary: 'Manual backup of app, its transfer worker killed mid-dump',
    });

    // The archive is being written once its .partial file in the store has bytes.
    const storeDir = path.join(dir, 'backups', 'app');
    const ours = () => {
      try {
        return readdirSync(storeDir).filter((f) => f.startsWith(`${backupId}.`));
      } catch {
        return [];
      }
    };
    const writing = () =>
      ours().some((f) => {
        try {
          return f.endsWith('.partial') && statSync(path.join(storeDir, f)).size > 0;
        } catch {
          return false; // renamed into place meanwhile
        }
      });
    const deadline = Date.now() + 120_000;
    while (!writing()) {
      if (Date.now() > deadline) throw new Error(`the dump never started writing: ${JSON.stringify(ours())}`);
      await sleep(50);
    }
    const victim = cluster.backupWorker;
    const killedAt = Date.now();
    await victim.kill();
    // The dump ran on the transfer worker's queue, in the process just killed, and had not finished.
    const { raw } = await handle.describe();
    expect(raw.pendingActivities?.map((a) => [a.activityType?.name, a.lastWorkerIdentity?.split('@')[0]])).toEqual([
      ['dumpBackup', String(victim.pid)],
    ]);
    expect(await sql(cluster.opsUrl, 'SELECT status, attempt FROM backups WHERE workflow_id = $1', [workflowId])).toEqual([
      { status: 'running', attempt: 1 },
    ]);
    expect(ours().filter((f) => !f.endsWith('.partial'))).toEqual([]);

    const replacement = cluster.addBackupWorker();
    const result = await handle.result();
    const recovery = Date.now() - killedAt;
    await replacement;

    // One catalogue entry, completed by the second attempt and verified by a restore.
    const catalogue = await sql<{ id: string; status: string; attempt: number; verification_status: string; completed_at: Date }>(
      cluster.opsUrl,
      'SELECT id, status, attempt, verification_status, completed_at FROM backups WHERE workflow_id = $1',
      [workflowId],
    );
    expect(catalogue.map(({ completed_at: _, ...r }) => r)).toEqual([
      { id: backupId, status: 'completed', attempt: 2, verification_status: 'passed' },
    ]);
    // One archive and its manifest in the store, nothing half-written.
    expect(ours().sort()).toEqual([path.basename(result.location), `${backupId}.manifest.json`].sort());
    const manifest = JSON.parse(readFileSync(path.join(storeDir, `${backupId}.manifest.json`), 'utf8')) as BackupManifest;
    expect(manifest.sha256).toBe(result.sha256);
    const table = (name: string) => manifest.tables.find((t) => t.table === name);
    expect(table('public.cluster_bulk')?.rows).toBe(rows);
    expect(table('public.cluster_orders')).toMatchObject({ rows: 1000, md5: expect.any(String) });
    // The restored copy has the same tables, row counts and md5s as the dump's snapshot.
    expect(result.verified?.ok).toBe(true);
    expect(result.verified?.mismatches).toEqual([]);
    expect(result.verified?.checks.filter((c) => ['restore', 'row-counts', 'md5'].includes(c.name)).map((c) => [c.name, c.ok])).toEqual([
      ['restore', true],
      ['row-counts', true],
      ['md5', true],
    ]);
    const dumped = catalogue[0].completed_at.getTime() - killedAt;
    process.stdout.write(
      `cluster: backup (${(result.sizeBytes / 1e6).toFixed(0)} MB stored) catalogued ${(dumped / 1000).toFixed(1)} s and verified ${(recovery / 1000).toFixed(1)} s after kill -9 of ${victim.name}\n`,
    );
  }, 300_000);
});
