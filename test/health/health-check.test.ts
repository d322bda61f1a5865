import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import type { Client } from '@temporalio/client';
import { startSandbox, seedFromConfig } from '../../src/sandbox';
import { incidentWorkflowId } from '../../src/workflows/common/alerts';
import { incidentStateQuery, type IncidentState } from '../../src/workflows/incident/contract';
import type { HealthCheckResult } from '../../src/workflows/health/contract';
import { healthCheck } from '../../src/workflows';
import { startTestWorker, testConfig, testDeps, uniqueName, withSandboxPlatforms, type TestWorker } from '../harness';
import { openSandboxStack, type SandboxStack } from '../harness/sandbox-stack';
import { waitForState } from '../incident/helpers';
import { runHealthCheck } from './helpers';

/**
 * The 5-minute health check against the sandbox, real PostgreSQL, a real TLS server and a real Temporal
 * server running the incident workflow: failing checks open one incident each through the alert path,
 * a steady failure sends nothing more, and recovery resolves every incident.
 */

/** A self-signed certificate for 127.0.0.1, valid for `days`, made with the openssl CLI. */
function selfSigned(dir: string, name: string, days: number): { key: string; cert: string } {
  const keyFile = path.join(dir, `${name}.key`);
  const certFile = path.join(dir, `${name}.crt`);
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      keyFile,
      '-out',
      certFile,
      '-days',
      String(days),
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
    ],
    { stdio: 'pipe' },
  );
  return { key: readFileSync(keyFile, 'utf8'), cert: readFileSync(certFile, 'utf8') };
}

describe('healthCheck', () => {
  let tlsServer: tls.Server;
  let good: { key: string; cert: string };
  let expiring: { key: string; cert: string };
  let stack: SandboxStack;
  let client: Client;
  let worker: TestWorker;
  let tlsHost: string;

  beforeAll(async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'health-tls-'));
    good = selfSigned(dir, 'good', 60);
    expiring = selfSigned(dir, 'expiring', 3);
    const caFile = path.join(dir, 'ca.pem');
    writeFileSync(caFile, good.cert + expiring.cert);
    tlsServer = tls.createServer({ key: good.key, cert: good.cert }, (s) => s.end());
    await new Promise<void>((r) => tlsServer.listen(0, '127.0.0.1', r));
    tlsHost = `127.0.0.1:${(tlsServer.address() as AddressInfo).port}`;

    const base = testConfig();
    const config = testConfig({
      incidents: { ...base.incidents, flapGuard: 1_000 },
      databases: { app: { urlEnv: 'DATABASE_URL', poolSize: 200 } },
      platforms: { ...base.platforms, supabase: { ...base.platforms.supabase, edgeFunctions: ['ai-query', 'telegram-webhook'] } },
      maintenance: {
        tlsHosts: [tlsHost],
        tlsCaFile: caFile,
        botWebhooks: [{ name: 'telegram-webhook', function: 'telegram-webhook', body: { message: { text: 'test' } } }],
        sqlAlertRules: [
          {
            name: 'stuck-jobs',
            severity: 'P2',
            summary: 'Jobs stuck',
            query: 'SELECT count(*) AS stuck FROM stuck_jobs HAVING count(*) > 0',
          },
        ],
      },
    });
    stack = await openSandboxStack(config, { prefix: 'health', requestTimeoutMs: 3_000 });
    await stack.app.pool.query('CREATE TABLE stuck_jobs (id serial PRIMARY KEY, since timestamptz NOT NULL DEFAULT now())');
    worker = await startTestWorker({ deps: stack.deps, raisesAlerts: true });
    client = worker.client;
  });

  afterAll(async () => {
    await worker?.close();
    tlsServer?.close();
    await stack?.close();
  });

  const run = () => runHealthCheck(worker);

  const incidentRuns = async (): Promise<string[]> => {
    const ids: string[] = [];
    for await (const w of client.workflow.list({ query: `WorkflowType = 'incident' AND TaskQueue = '${worker.taskQueue}'` }))
      ids.push(w.workflowId);
    return ids.sort();
  };

  it(
    'opens one incident per failing check, sends nothing while the failure is steady, and resolves each one on recovery',
    () =>
      // One worker for the whole story: it runs the health checks and the incidents they open.
      worker.run(async () => {
        const production = 'production/crav-javari';
        const tlsKey = `health:tls:${tlsHost}`;

        // All healthy: every check recorded, nothing raised.
        const healthy = await run();
        expect(healthy.failing).toEqual([]);
        expect(healthy.transitions).toEqual([]);
        const { rows: checked } = await stack.ops.pool.query<{ check_key: string; status: string }>(
          'SELECT check_key, status FROM health_results ORDER BY check_key',
        );
        expect(checked.map((r) => r.check_key)).toEqual(
          [
            'health:app:connections',
            'health:app:database',
            'health:app:rule-stuck-jobs',
            'health:javari-web:app',
            'health:javari-web:error-rate',
            'health:javari-web:frontend',
            'health:javari-web:p99',
            'health:javari-web:storage',
            'health:provider:anthropic',
            'health:provider:openai',
            'health:supabase:function-ai-query',
            'health:supabase:project',
            'health:webhook:telegram-webhook',
            tlsKey,
          ].sort(),
        );
        expect(checked.every((r) => r.status === 'ok')).toBe(true);

        // Break things: error rate above 5 %, OpenAI down, an Edge Function failing to boot, a certificate about
        // to expire, and a SQL alert rule that returns a row.
        stack.sandbox.apps.degrade(production, { errorRate: 7.5 });
        stack.sandbox.providers.set('openai', { indicator: 'major' });
        stack.sandbox.supabase.setFunctionDown(stack.deps.config.platforms.supabase.projectRef!, 'ai-query', true);
        tlsServer.setSecureContext({ key: expiring.key, cert: expiring.cert });
        await stack.app.pool.query('INSERT INTO stuck_jobs DEFAULT VALUES');

        const failing = await run();
        const opened = Object.fromEntries(failing.transitions.map((t) => [t.key, [t.to, t.severity]]));
        expect(opened).toEqual({
          'health:javari-web:error-rate': ['critical', 'P0'],
          // The app's own health answer reports the provider outage as "degraded".
          'health:javari-web:app': ['warning', 'P1'],
          'health:provider:openai': ['critical', 'P0'],
          'health:supabase:function-ai-query': ['critical', 'P0'],
          [tlsKey]: ['critical', 'P0'],
          'health:app:rule-stuck-jobs': ['warning', 'P2'],
        });
        expect(failing.failing.find((f) => f.key === tlsKey)?.summary).toMatch(/expires in [23] days/);

        // One incident per check, keyed by the check.
        const keys = Object.keys(opened);
        const expectedIds = keys.map(incidentWorkflowId).sort();
        for (const key of keys) {
          const s = await waitForState(
            client.workflow.getHandle(incidentWorkflowId(key)),
            (x) => Boolean(x.detectedAt),
            `incident for ${key}`,
          );
          expect(s.dedupKey).toBe(key);
          expect(Object.values(s.alerts)).toEqual([expect.objectContaining({ status: 'firing', deliveries: 1, source: 'health-check' })]);
        }
        expect(await incidentRuns()).toEqual(expectedIds);
        const severities = Object.fromEntries(
          await Promise.all(
            keys.map(
              async (k) => [k, (await client.workflow.getHandle(incidentWorkflowId(k)).query(incidentStateQuery)).severity] as const,
            ),
          ),
        );
        expect(severities['health:app:rule-stuck-jobs']).toBe('P2');
        expect(severities['health:provider:openai']).toBe('P0');

        // The same failures five minutes later: nothing new is sent, no incident is added, nobody is paged again.
        const steady = await run();
        expect(steady.transitions).toEqual([]);
        expect(steady.failing.map((f) => f.key).sort()).toEqual(keys.sort());
        expect(await incidentRuns()).toEqual(expectedIds);
        for (const key of keys) {
          const s = await client.workflow.getHandle(incidentWorkflowId(key)).query(incidentStateQuery);
          expect(Object.values(s.alerts)[0].deliveries).toBe(1);
        }
        expect(stack.sandbox.pagerduty.events().filter((e) => e.event_action === 'trigger')).toHaveLength(
          keys.filter((k) => ['P0', 'P1'].includes(String(severities[k]))).length,
        );

        // Recovery: every check resolves its alert, and every incident resolves after the flap guard.
        stack.sandbox.apps.restore(production);
        stack.sandbox.providers.set('openai', { indicator: 'none' });
        stack.sandbox.supabase.setFunctionDown(stack.deps.config.platforms.supabase.projectRef!, 'ai-query', false);
        tlsServer.setSecureContext({ key: good.key, cert: good.cert });
        await stack.app.pool.query('DELETE FROM stuck_jobs');

        const recovered: HealthCheckResult = await run();
        expect(recovered.failing).toEqual([]);
        expect(Object.fromEntries(recovered.transitions.map((t) => [t.key, t.to]))).toEqual(Object.fromEntries(keys.map((k) => [k, 'ok'])));
        for (const key of keys) {
          const s: IncidentState = await waitForState(
            client.workflow.getHandle(incidentWorkflowId(key)),
            (x) => Boolean(x.resolvedAt),
            `resolution of ${key}`,
          );
          expect(Object.values(s.alerts)[0].status).toBe('resolved');
        }
        expect(await incidentRuns()).toEqual(expectedIds);
        const { rows: state } = await stack.ops.pool.query<{ status: string }>('SELECT DISTINCT status FROM health_alert_state');
        expect(state).toEqual([{ status: 'ok' }]);
      }),
    180_000,
  );

  it("reads the second runbook's checks: frontend 200, Edge Function 401 = up, project status, bot webhooks", async () => {
    const netlify = testConfig({ databases: { app: { urlEnv: 'DATABASE_URL', poolSize: 60 } } }, 'netlify-supabase');
    const box = await startSandbox({ timing: 20 });
    try {
      seedFromConfig(box, netlify);
      const hubDeps = withSandboxPlatforms(testDeps(netlify, stack.ops, { app: stack.app.url }), box, { requestTimeoutMs: 3_000 });
      const hub = await startTestWorker({ deps: hubDeps, raisesAlerts: true });
      await hub.run(async () => {
        const check = (workflowId = uniqueName('hub')) =>
          client.workflow.execute(healthCheck, { taskQueue: hub.taskQueue, workflowId, args: [{}] });
        const first = uniqueName('hub');
        const healthy = await check(first);
        expect(healthy.failing).toEqual([]);
        const { rows } = await stack.ops.pool.query<{ check_key: string; summary: string }>(
          `SELECT r.check_key, r.summary FROM health_results r JOIN health_runs h ON h.id = r.run_id
            WHERE h.workflow_id = $1 ORDER BY r.check_key`,
          [first],
        );
        expect(rows.map((r) => r.check_key)).toEqual(
          expect.arrayContaining([
            'health:aiqueryhub-web:app',
            'health:supabase:function-ai-query',
            'health:supabase:project',
            'health:webhook:slack-webhook',
            'health:webhook:telegram-webhook',
          ]),
        );
        expect(rows.find((r) => r.check_key === 'health:supabase:function-ai-query')?.summary).toBe(
          'Edge Function ai-query is up (401 to an invalid JWT)',
        );
        // The webhook functions are not given an invalid JWT: they are POSTed the runbook's test payloads.
        const posts = box.calls({ vendor: 'supabase-project', method: 'POST' }).map((c) => [c.path, c.body]);
        expect(posts).toEqual(
          expect.arrayContaining([
            [expect.stringMatching(/functions\/v1\/telegram-webhook$/), { message: { text: 'test' } }],
            [expect.stringMatching(/functions\/v1\/slack-webhook$/), { type: 'url_verification', challenge: 'test' }],
          ]),
        );

        box.supabase.setFunctionDown(netlify.platforms.supabase.projectRef!, 'telegram-webhook', true);
        const down = await check();
        expect(down.transitions.map((t) => [t.key, t.to, t.severity])).toEqual([['health:webhook:telegram-webhook', 'warning', 'P1']]);
      });
      await hub.close();
    } finally {
      await box.stop();
    }
  }, 120_000);
});
