import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { callPlatform, type PlatformClients } from '../../src/platforms';
import { startSandbox, type Sandbox } from '../../src/sandbox';
import { startTestWorker, testConfig, uniqueName, withSandboxPlatforms, type TestWorker } from '../harness';
import type { ActivityDeps } from '../../src/activities';
import type { CallOutcome, runPlatformActivity } from './workflows';

/**
 * Each fault the sandbox injects, seen through a real Temporal activity: the client's classification
 * decides whether and when Temporal retries, and the sandbox's call log shows the attempts.
 */

const PROJECT = 'crav-javari';
let sandbox: Sandbox;
let worker: TestWorker;
let platforms: PlatformClients;
let config: ActivityDeps['config'];
let env: ActivityDeps['env'];
let stopWorker: () => void;
let workerDone: Promise<unknown>;

function activitiesOf(p: PlatformClients) {
  return {
    vercelGetProject: (id: string) => callPlatform(() => p.vercel.getProject(id)),
    vercelFindOrCreateDeployment: (identity: string) =>
      callPlatform(() => p.vercel.findOrCreateDeployment({ identity, projectId: PROJECT, name: PROJECT })),
  };
}

beforeAll(async () => {
  sandbox = await startSandbox({ timing: 20 });
  sandbox.vercel.seedProject(PROJECT);
  const deps = withSandboxPlatforms({ config: testConfig(), env: {} } as unknown as ActivityDeps, sandbox, { requestTimeoutMs: 500 });
  ({ config, env } = deps);
  platforms = deps.platforms!;
  const { code } = await bundleWorkflowCode({ workflowsPath: path.join(__dirname, 'workflows.ts'), logger: silent });
  worker = await startTestWorker({ activities: activitiesOf(platforms), worker: { workflowBundle: { code } } });
  // One worker polls for the whole file; each test starts workflows against it.
  workerDone = worker.run(() => new Promise<void>((resolve) => (stopWorker = resolve)));
}, 60_000);

afterAll(async () => {
  stopWorker?.();
  await workerDone;
  await worker?.close();
  await sandbox?.stop();
});

beforeEach(() => {
  sandbox.clearFaults();
  sandbox.clearCalls();
});

function run(
  activity: keyof ReturnType<typeof activitiesOf>,
  args: unknown[],
  opts: { maximumAttempts?: number; initialIntervalMs?: number } = {},
) {
  const input: Parameters<typeof runPlatformActivity> = [
    activity,
    args,
    { maximumAttempts: opts.maximumAttempts ?? 4, initialIntervalMs: opts.initialIntervalMs ?? 200, startToCloseMs: 10_000 },
  ];
  return worker.client.workflow.execute<(...a: typeof input) => Promise<CallOutcome>>('runPlatformActivity', {
    taskQueue: worker.taskQueue,
    workflowId: uniqueName('platform-call'),
    args: input,
  });
}

const projectCalls = () => sandbox.calls({ vendor: 'vercel', method: 'GET', pathPrefix: `/v9/projects/${PROJECT}` });

test('two 429s with Retry-After: 2 → three attempts about 2 s apart, then success', async () => {
  sandbox.inject({ vendor: 'vercel', method: 'GET', path: '/v9/projects/*', kind: '429', times: 2, retryAfterSeconds: 2 });
  const outcome = await run('vercelGetProject', [PROJECT]);
  expect(outcome).toMatchObject({ ok: true, value: { name: PROJECT } });
  const calls = projectCalls();
  expect(calls.map((c) => c.status)).toEqual([429, 429, 200]);
  const gaps = calls.slice(1).map((c, i) => c.time - calls[i].time);
  // The policy's own interval is 200 ms: gaps of ~2 s come from Retry-After via nextRetryDelay.
  for (const gap of gaps) {
    expect(gap).toBeGreaterThanOrEqual(1900);
    expect(gap).toBeLessThan(3500);
  }
}, 30_000);

test('403 → exactly one attempt and a message naming the token variable', async () => {
  sandbox.inject({ vendor: 'vercel', method: 'GET', path: '/v9/projects/*', kind: '403', times: 5 });
  const outcome = await run('vercelGetProject', [PROJECT]);
  expect(outcome).toMatchObject({ ok: false, type: 'PlatformAuth', nonRetryable: true });
  expect(outcome.message).toContain(
    `Vercel answered 403 forbidden to GET /v9/projects/{idOrName}: the token in VERCEL_TOKEN lacks access to project ${PROJECT}`,
  );
  expect(outcome.message).not.toContain('sandbox-vercel_token');
  expect(projectCalls()).toHaveLength(1);
});

test('401 → not retried, says to put a valid token in the variable', async () => {
  sandbox.inject({ vendor: 'vercel', method: 'GET', path: '/v9/projects/*', kind: '401', times: 5 });
  const outcome = await run('vercelGetProject', [PROJECT]);
  expect(outcome).toMatchObject({ ok: false, type: 'PlatformAuth', nonRetryable: true });
  expect(outcome.message).toContain('put a valid one in VERCEL_TOKEN');
  expect(projectCalls()).toHaveLength(1);
});

test('5xx → retried on the policy backoff until the platform answers', async () => {
  sandbox.inject({ vendor: 'vercel', method: 'GET', path: '/v9/projects/*', kind: '5xx', status: 503, times: 2 });
  const outcome = await run('vercelGetProject', [PROJECT]);
  expect(outcome).toMatchObject({ ok: true });
  expect(projectCalls().map((c) => c.status)).toEqual([503, 503, 200]);
});

test('5xx every time → gives up after the policy attempts with a retryable failure', async () => {
  sandbox.inject({ vendor: 'vercel', method: 'GET', path: '/v9/projects/*', kind: '5xx', times: Infinity });
  const outcome = await run('vercelGetProject', [PROJECT], { maximumAttempts: 3 });
  expect(outcome).toMatchObject({ ok: false, type: 'PlatformUnavailable', nonRetryable: false });
  expect(outcome.message).toContain('Vercel answered 500');
  expect(projectCalls()).toHaveLength(3);
});

test('delay past the request timeout → timeout error, retried', async () => {
  sandbox.inject({ vendor: 'vercel', method: 'GET', path: '/v9/projects/*', kind: 'delay', delayMs: 2000, times: 2 });
  const outcome = await run('vercelGetProject', [PROJECT], { maximumAttempts: 2 });
  expect(outcome).toMatchObject({ ok: false, type: 'PlatformUnavailable', nonRetryable: false });
  expect(outcome.message).toContain(
    'Vercel gave no answer to GET /v9/projects/{idOrName}: no answer within 500 ms (platforms.requestTimeout)',
  );
  expect(projectCalls().map((c) => c.fault)).toEqual(['delay', 'delay']);
});

test('malformed JSON → error naming the endpoint, retried', async () => {
  sandbox.inject({ vendor: 'vercel', method: 'GET', path: '/v9/projects/*', kind: 'malformed', times: 1 });
  const outcome = await run('vercelGetProject', [PROJECT]);
  expect(outcome).toMatchObject({ ok: true });
  expect(projectCalls().map((c) => c.fault)).toEqual(['malformed', undefined]);
  sandbox.inject({ vendor: 'vercel', method: 'GET', path: '/v9/projects/*', kind: 'malformed', times: 1 });
  const err = await platforms.vercel.getProject(PROJECT).catch((e: Error) => e);
  expect((err as Error).message).toContain('Vercel answered 200 to GET /v9/projects/{idOrName}: the answer is not readable JSON');
});

test('creating a deployment twice with the same identity yields one create', async () => {
  const identity = uniqueName('deploy-crav-javari');
  const first = await run('vercelFindOrCreateDeployment', [identity]);
  const second = await run('vercelFindOrCreateDeployment', [identity]);
  expect(first).toMatchObject({ ok: true, value: { created: true } });
  expect(second).toMatchObject({ ok: true, value: { created: false } });
  const firstId = (first.value as { deployment: { id: string } }).deployment.id;
  expect((second.value as { deployment: { id: string } }).deployment.id).toBe(firstId);
  const creates = sandbox.calls({ vendor: 'vercel', method: 'POST', pathPrefix: '/v13/deployments' });
  expect(creates).toHaveLength(1);
  expect(creates[0].body).toMatchObject({ meta: { runbookId: identity } });
});

test('a create that timed out but happened is found, not repeated, on retry', async () => {
  const identity = uniqueName('deploy-crav-javari');
  // The sandbox holds the create for 1 s (past the 500 ms timeout) and then performs it.
  sandbox.inject({ vendor: 'vercel', method: 'POST', path: '/v13/deployments', kind: 'delay', delayMs: 1000, times: 1 });
  const outcome = await run('vercelFindOrCreateDeployment', [identity], { initialIntervalMs: 1500 });
  expect(outcome).toMatchObject({ ok: true, value: { created: false } });
  expect(sandbox.calls({ vendor: 'vercel', method: 'POST', pathPrefix: '/v13/deployments' })).toHaveLength(1);
  const tagged = await platforms.vercel.listDeployments({ projectId: PROJECT, meta: { runbookId: identity } });
  expect(tagged.deployments).toHaveLength(1);
});

test('no test reaches the internet: every URL the clients use is the sandbox', () => {
  const urls: string[] = [];
  const walk = (v: unknown): void => {
    if (typeof v === 'string' && /^https?:\/\//.test(v)) urls.push(v);
    else if (v && typeof v === 'object') Object.values(v).forEach(walk);
  };
  walk(config.platforms);
  walk(config.services.map((s) => s.productionUrl));
  walk(Object.values(env));
  expect(urls.length).toBeGreaterThan(8);
  for (const url of urls) expect(url.startsWith(sandbox.url)).toBe(true);
});

const silent = {
  log: () => undefined,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: (m: string) => console.error(m),
};
