import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { savedPort, startSandbox, type Sandbox, type SandboxOptions } from '../../src/sandbox';
import { freePort } from '../../src/stack/ports';
import { cleanEnv, ROOT, TSX } from '../harness/cli';
import { bearer, call, until } from './http';

/** The sandbox keeps its world in a data directory: a stop, a torn write or kill -9 loses nothing it acknowledged. */

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const FAST = { buildStepMs: 5, aliasStepMs: 5, restoreStepMs: 5, stageMinuteMs: 40 };
const TOKEN = '123456:sandbox-bot-token';

describe('sandbox world across restarts', () => {
  let dir: string;
  const running: Sandbox[] = [];
  const start = async (opts: SandboxOptions = {}) => {
    const sb = await startSandbox({ timing: FAST, dataDir: dir, ...opts });
    running.push(sb);
    return sb;
  };

  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'runbook-sandbox-world-'));
  });
  afterEach(async () => {
    for (const sb of running.splice(0)) await sb.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A world with something of every kind: a promoted deployment, env, a Netlify deploy, incidents, pages, chat. */
  async function buildWorld(sb: Sandbox) {
    const v = (p: string) => `${sb.baseUrls.vercel}${p}`;
    const post = (url: string, body: unknown, headers: Record<string, string> = bearer) => call(url, { method: 'POST', headers, body });
    const created = (await post(v('/v13/deployments'), { name: 'shop', target: 'production', meta: { githubCommitSha: 'feedface' } }))
      .json as Json;
    await sb.idle();
    expect((await post(v(`/v10/projects/shop/promote/${created.id}`), {})).status).toBe(202);
    await sb.idle();
    await post(v('/v10/projects/shop/env'), { key: 'FEATURE_X', value: 'on', type: 'plain', target: ['production'] });
    sb.apps.degrade(created.id, { p99Ms: 900 });

    const build = (await post(`${sb.baseUrls.netlify}/sites/blog/builds`, { branch: 'main', commit_ref: 'abc1234def' })).json as Json;
    await sb.idle();

    const incident = (
      await post(
        `${sb.baseUrls.statuspage}/pages/page1/incidents`,
        { incident: { name: 'Elevated errors', status: 'investigating', body: 'Looking' } },
        { authorization: 'OAuth key' },
      )
    ).json as Json;
    await post(
      sb.baseUrls.pagerduty,
      {
        routing_key: 'rk',
        event_action: 'trigger',
        dedup_key: 'inc-p1',
        payload: { summary: 'P1: shop down', source: 'runbook', severity: 'critical' },
      },
      {},
    );
    await post(`${sb.baseUrls.slack}/services/T1/B1/x`, { text: 'P1 opened' }, {});
    await post(`${sb.baseUrls.telegram}/bot${TOKEN}/sendMessage`, { chat_id: 42, text: 'P1 opened' }, {});
    sb.providers.set('openai', { indicator: 'minor' });
    sb.inject({ vendor: 'vercel', method: 'DELETE', path: /^\/v9\/projects\/.*\/env\/.*$/, kind: '5xx', times: Infinity });
    return { deploymentId: created.id as string, deployId: build.deploy_id as string, incidentId: incident.id as string };
  }

  /** What a client sees: the same requests asked of both sandboxes, answers compared. */
  async function answers(sb: Sandbox, ids: Awaited<ReturnType<typeof buildWorld>>) {
    const get = async (url: string, headers: Record<string, string> = bearer) => {
      const r = await call(url, { headers });
      return { status: r.status, json: r.json as Json };
    };
    const health = await get(`${sb.apps.productionUrl('shop')}/api/health`, {});
    return {
      deployment: await get(`${sb.baseUrls.vercel}/v13/deployments/${ids.deploymentId}`),
      project: await get(`${sb.baseUrls.vercel}/v9/projects/shop`),
      list: await get(`${sb.baseUrls.vercel}/v7/deployments?projectId=shop&limit=10`),
      envs: await get(`${sb.baseUrls.vercel}/v10/projects/shop/env?decrypt=true`),
      deploy: await get(`${sb.baseUrls.netlify}/deploys/${ids.deployId}`),
      site: await get(`${sb.baseUrls.netlify}/sites/blog`),
      incidents: await get(`${sb.baseUrls.statuspage}/pages/page1/incidents/unresolved`, { authorization: 'OAuth key' }),
      alerts: sb.pagerduty.alerts(),
      slack: sb.slack.messages().map((m) => m.text),
      telegram: sb.telegram.messages().map((m) => [m.message_id, m.text]),
      production: sb.apps.production('shop'),
      health: { status: health.status, version: health.json.version, ai: health.json.checks.ai_providers },
      faults: sb.faults(),
    };
  }

  it('stopped and started again from the same directory, answers as before', async () => {
    const first = await start();
    const ids = await buildWorld(first);
    const before = await answers(first, ids);
    const snapshot = first.state.snapshot();
    const calls = first.calls();
    expect(before.production).toEqual({ current: ids.deploymentId, canary: undefined, canaryPercent: 0 });
    expect(before.incidents.json).toHaveLength(1);
    expect(before.alerts).toEqual({ 'inc-p1': 'triggered' });
    await first.stop();

    // On the port it had: the very same world, requests included.
    const port = savedPort(dir);
    expect(port).toBe(first.port);
    const second = await start({ port });
    expect(second.state.snapshot()).toEqual(snapshot);
    expect(second.calls()).toEqual(calls);
    // Answers compared without the call log's growth and the app's request counters, which asking changes.
    expect(await answers(second, ids)).toEqual(before);

    // Numbering goes on: the next Telegram message and call follow the saved ones.
    const sent = await call(`${second.baseUrls.telegram}/bot${TOKEN}/sendMessage`, {
      method: 'POST',
      body: { chat_id: 42, text: 'again' },
    });
    expect((sent.json as Json).result.message_id).toBe(Number(before.telegram[0][0]) + 1);
    const seqs = second.calls().map((c) => c.seq);
    expect(new Set(seqs).size).toBe(seqs.length);
    await second.stop();

    // On another port: the URLs the sandbox handed out follow it.
    const third = await start();
    expect(third.port).not.toBe(first.port);
    const d = (await call(`${third.baseUrls.vercel}/v13/deployments/${ids.deploymentId}`, { headers: bearer })).json as Json;
    expect(d.url).toBe(`127.0.0.1:${third.port}/_apps/${ids.deploymentId}`);
    const byUrl = await call(`${third.baseUrls.vercel}/v13/deployments/${encodeURIComponent(d.url)}`, { headers: bearer });
    expect((byUrl.json as Json).id).toBe(ids.deploymentId);
    expect((await call(`${third.apps.productionUrl('shop')}/`)).headers.get('x-sandbox-deployment')).toBe(ids.deploymentId);
  });

  it('a torn write (world file cut mid-way, half a call-log line) still loads the last good state', async () => {
    const first = await start();
    const ids = await buildWorld(first);
    const before = await answers(first, ids);
    const calls = first.calls();
    await first.save(); // the last good state twice: world.json and world.prev.json
    await first.stop();

    const world = path.join(dir, 'world.json');
    const text = readFileSync(world, 'utf8');
    expect(existsSync(path.join(dir, 'world.prev.json'))).toBe(true);
    // A crash half-way through writing the new file in place, one through writing its replacement,
    // and one through appending a call.
    writeFileSync(world, text.slice(0, Math.floor(text.length / 2)));
    writeFileSync(`${world}.tmp`, text.replace(/"generation":\d+/, '"generation":999999').slice(0, text.length - 100));
    appendFileSync(path.join(dir, 'calls.jsonl'), '{"seq":999999,"vendor":"vercel","meth');

    const second = await start({ port: first.port });
    expect(second.calls()).toEqual(calls);
    expect(await answers(second, ids)).toEqual(before);

    // The next save writes a good file again.
    await second.save();
    expect(readFileSync(world, 'utf8').split('\n')[0]).toMatch(/"generation":\d+/);
  });

  it('a complete world file of another shape is refused with the way out, not half-loaded', async () => {
    const body = JSON.stringify({ vercel: { projects: [], deployments: [], lastCreatedAt: 0 } });
    const header = {
      format: 1,
      generation: 1,
      savedAt: Date.now(),
      origin: 'http://127.0.0.1:1',
      sha256: createHash('sha256').update(body).digest('hex'),
      bytes: Buffer.byteLength(body),
    };
    writeFileSync(path.join(dir, 'world.json'), `${JSON.stringify(header)}\n${body}\n`);
    await expect(start()).rejects.toThrow(
      /cannot load the world saved in .*world\.json: it has no netlify, supabase, .* \(saved by another version\?\); move .* away/,
    );
  });

  it('a build and a promotion pending at stop complete after the restart, on their schedule', async () => {
    const slow = { ...FAST, buildStepMs: 400, aliasStepMs: 400 };
    const first = await start({ timing: slow });
    const v = (sb: Sandbox, p: string) => `${sb.baseUrls.vercel}${p}`;
    const ready = (
      await call(v(first, '/v13/deployments'), { method: 'POST', headers: bearer, body: { name: 'shop', target: 'production' } })
    ).json as Json;
    await first.idle();
    const promoted = await call(v(first, `/v10/projects/shop/promote/${ready.id}`), { method: 'POST', headers: bearer });
    expect(promoted.status).toBe(202);
    const pending = (
      await call(v(first, '/v13/deployments'), { method: 'POST', headers: bearer, body: { name: 'shop', target: 'production' } })
    ).json as Json;
    const netlify = first.netlify.createDeploy('blog', { commitRef: 'abc1234' });
    const stoppedAt = Date.now();
    await first.stop();
    expect(first.state.snapshot().vercel.deployments.find((d) => d.id === pending.id)?.readyState).toBe('QUEUED');

    // Down for longer than a step: the overdue step runs at once, the next one a step later.
    await new Promise((r) => setTimeout(r, 500));
    const second = await start({ timing: slow, port: first.port });
    const state = (id: string) => second.state.snapshot().vercel.deployments.find((d) => d.id === id)?.readyState;
    await until(() => (state(pending.id) === 'BUILDING' ? true : undefined), 300);
    expect(state(pending.id)).toBe('BUILDING');
    await second.idle();
    expect(Date.now() - stoppedAt).toBeGreaterThanOrEqual(900);
    expect(state(pending.id)).toBe('READY');
    expect(second.apps.production('shop')!.current).toBe(ready.id);
    const project = (await call(v(second, '/v9/projects/shop'), { headers: bearer })).json as Json;
    expect(project.lastAliasRequest).toMatchObject({ jobStatus: 'succeeded', toDeploymentId: ready.id });
    const deploy = (await call(`${second.baseUrls.netlify}/deploys/${netlify.id}`, { headers: bearer })).json as Json;
    expect(deploy.state).toBe('ready');
    expect(second.apps.production('blog')!.current).toBe(netlify.id);
  });

  it('kill -9 at any moment: the world loads, and every change the sandbox acknowledged is in it', async () => {
    const port = await freePort();
    const spawnSandbox = async (): Promise<ChildProcess> => {
      const child = spawn(TSX, [path.join(ROOT, 'src', 'sandbox', 'main.ts')], {
        cwd: ROOT,
        env: cleanEnv({ SANDBOX_PORT: String(port), SANDBOX_DATA_DIR: dir, SANDBOX_STEP_MS: '20' }),
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true, // its own process group: tsx and the node process it runs are killed together
      });
      let out = '';
      child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
      await until(
        () => (out.includes('listening') ? true : child.exitCode !== null ? Promise.reject(new Error(out)) : undefined),
        30_000,
        50,
      );
      return child;
    };
    const base = `http://127.0.0.1:${port}`;
    const acked: string[] = [];
    for (let round = 0; round < 3; round++) {
      const child = await spawnSandbox();
      const exited = new Promise((r) => child.once('exit', r));
      let stop = false;
      // Four writers at once: Slack messages, pages and deployments, until the kill.
      const writer = async (w: number) => {
        for (let i = 0; !stop; i++) {
          const text = `r${round}-w${w}-${i}`;
          try {
            const r = await call(`${base}/slack/services/T/B/${w}`, { method: 'POST', body: { text } });
            if (r.status === 200) acked.push(text);
            await call(`${base}/pagerduty/v2/enqueue`, {
              method: 'POST',
              body: {
                routing_key: 'rk',
                event_action: 'trigger',
                dedup_key: text,
                payload: { summary: text, source: 's', severity: 'info' },
              },
            });
            if (i % 5 === 0)
              await call(`${base}/vercel/v13/deployments`, {
                method: 'POST',
                headers: bearer,
                body: { name: 'shop', target: 'production', meta: { text } },
              });
          } catch {
            return; // killed
          }
        }
      };
      const writers = [0, 1, 2, 3].map(writer);
      await new Promise((r) => setTimeout(r, 600 + round * 250));
      process.kill(-child.pid!, 'SIGKILL');
      stop = true;
      await exited;
      await Promise.all(writers);
    }
    const child = await spawnSandbox();
    try {
      const state = (await call(`${base}/_sandbox/state`)).json as Json;
      const texts = new Set((state.slack.messages as Json[]).map((m) => m.text));
      expect(acked.length).toBeGreaterThan(20);
      expect(acked.filter((t) => !texts.has(t))).toEqual([]);
      // Every deployment created finished its build, whenever the kill came.
      await until(
        async () => {
          const s = (await call(`${base}/_sandbox/state`)).json as Json;
          return (s.vercel.deployments as Json[]).every((d) => d.readyState === 'READY') ? true : undefined;
        },
        5000,
        50,
      );
      const calls = (await call(`${base}/_sandbox/calls?vendor=slack`)).json as Json[];
      expect(calls.length).toBeGreaterThanOrEqual(acked.length);
    } finally {
      process.kill(-child.pid!, 'SIGKILL');
    }
  }, 120_000);
});
