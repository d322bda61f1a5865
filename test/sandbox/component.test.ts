import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { loadConfig } from '../../src/config/load';
import { sandbox } from '../../src/sandbox/component';
import type { Stack } from '../../src/stack/components';
import { call } from './http';

/** `npm start`'s sandbox component: on without platform tokens, pointing config and env at itself; off with them. */
let dataDir: string;
function fakeStack(file: string, env: NodeJS.ProcessEnv): Stack {
  return { config: loadConfig(file), env, dataDir, log: pino({ level: 'silent' }), pids: [], fail: () => undefined };
}

describe('npm start sandbox component', () => {
  beforeEach(() => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'runbook-sandbox-component-'));
  });
  afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

  it('without platform tokens: starts the sandbox, says so, and points every platform URL and secret at it', async () => {
    const stack = fakeStack('config/examples/vercel-supabase.yaml', {
      SANDBOX_PORT: '0',
      SANDBOX_STEP_MS: '5',
      SLACK_WEBHOOK_URL: 'https://hooks.slack.com/services/real',
    });
    const running = (await sandbox.start(stack))!;
    try {
      const line = running.banner!.find(([label]) => label === 'platforms')![1];
      expect(line).toMatch(/LOCAL SANDBOX at http:\/\/127\.0\.0\.1:\d+ \(none of VERCEL_TOKEN, SUPABASE_ACCESS_TOKEN is set\)/);
      const origin = line.match(/http:\/\/127\.0\.0\.1:\d+/)![0];
      const p = stack.config.platforms;
      for (const u of [
        p.vercel.apiUrl,
        p.netlify.apiUrl,
        p.supabase.apiUrl,
        p.supabase.projectUrl!,
        p.pagerduty.eventsUrl,
        p.statuspageApiUrl,
        p.telegramApiUrl,
        stack.config.services[0].productionUrl,
      ]) {
        expect(u.startsWith(origin)).toBe(true);
      }
      expect(Object.values(p.providers).every((x) => x.statusUrl.startsWith(origin))).toBe(true);
      expect(stack.env.SLACK_WEBHOOK_URL!.startsWith(origin)).toBe(true);
      expect(stack.env.VERCEL_TOKEN).toBeTruthy();
      expect(stack.config.source).toMatch(/vercel-supabase\.yaml$/);

      // Seeded from the config: the project, its critical env keys, and a healthy production.
      const envs = await call(`${p.vercel.apiUrl}/v10/projects/crav-javari/env`, {
        headers: { authorization: `Bearer ${stack.env.VERCEL_TOKEN}` },
      });
      expect((envs.json as { envs: Array<{ key: string }> }).envs.map((e) => e.key)).toEqual(stack.config.services[0].criticalEnv);
      const health = await call(`${stack.config.services[0].productionUrl}/api/health`);
      expect(health.status).toBe(200);
    } finally {
      await running.stop();
    }
  });

  it('with a platform token set: leaves the configuration alone and says real APIs are used', async () => {
    const stack = fakeStack('config/examples/netlify-supabase.yaml', { NETLIFY_TOKEN: 'real-token' });
    const before = JSON.stringify(stack.config);
    const running = (await sandbox.start(stack))!;
    expect(running.banner).toEqual([['platforms', 'real APIs (NETLIFY_TOKEN set)']]);
    expect(JSON.stringify(stack.config)).toBe(before);
    await running.stop();
  });
});
