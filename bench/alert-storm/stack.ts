import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { DEFAULT_CONFIG_PATH } from '../../src/config/load';
import { freePort } from '../../src/stack/ports';
import { readStackFile } from '../../src/stack/state';
import { BENCH_SENTRY_SECRET, BENCH_TOKEN } from './config';

const ROOT = path.join(__dirname, '..', '..');

export interface RunningStack {
  receiverUrl: string;
  temporalAddress: string;
  pid: number;
  stop(): Promise<void>;
}

/**
 * `npm start` as an operator runs it (the worker, the receiver and the sandbox beside an embedded Temporal and
 * PostgreSQL), on free ports and a data dir of its own, with `webhooks` settings laid over the example config.
 * With `profileDir`, V8 CPU profiles of the stack's node processes are written there when it stops.
 */
export async function startNpmStack(opts: {
  webhooks?: Record<string, unknown>;
  profileDir?: string;
  env?: Record<string, string>;
}): Promise<RunningStack> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'alert-storm-stack-'));
  if (process.getuid?.() === 0) chmodSync(dir, 0o755); // PostgreSQL runs as the postgres account when we are root
  const dataDir = path.join(dir, 'data');
  const raw = parseYaml(readFileSync(DEFAULT_CONFIG_PATH, 'utf8')) as Record<string, unknown>;
  const configFile = path.join(dir, 'runbook.yaml');
  writeFileSync(configFile, toYaml({ ...raw, webhooks: { ...((raw.webhooks as object) ?? {}), ...opts.webhooks } }));
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(TEMPORAL_|RUNBOOK_|NODE_OPTIONS)|DATABASE_URL$/.test(k)) env[k] = v;
  Object.assign(env, {
    RUNBOOK_DATA_DIR: dataDir,
    RUNBOOK_CONFIG: configFile,
    RUNBOOK_TEMPORAL_PORT: String(await freePort()),
    RUNBOOK_UI_PORT: String(await freePort()),
    RUNBOOK_PG_PORT: String(await freePort()),
    RUNBOOK_WEBHOOK_PORT: String(await freePort()),
    SANDBOX_PORT: String(await freePort()),
    RUNBOOK_METRICS_PORT: '0',
    RUNBOOK_LOG_LEVEL: 'warn',
    RUNBOOK_WEBHOOK_TOKEN: BENCH_TOKEN,
    SENTRY_CLIENT_SECRET: BENCH_SENTRY_SECRET,
    ...opts.env,
  });
  const profile = opts.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(opts.profileDir)}`] : [];
  const child = spawn(process.execPath, [...profile, '--import', 'tsx', path.join(ROOT, 'src', 'stack', 'start.ts')], {
    cwd: ROOT,
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 180_000;
  while (!out.includes('Durable Runbooks is running')) {
    if (child.exitCode !== null || Date.now() > deadline) {
      if (child.exitCode === null) process.kill(-child.pid!, 'SIGKILL');
      throw new Error(`npm start did not come up:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  const stack = readStackFile(dataDir);
  if (!stack?.receiverUrl || !stack.temporalAddress) throw new Error(`no receiver or Temporal address in ${dataDir}/stack.json`);
  return {
    receiverUrl: stack.receiverUrl,
    temporalAddress: stack.temporalAddress,
    pid: child.pid!,
    async stop() {
      if (child.exitCode === null) process.kill(-child.pid!, 'SIGINT');
      const timer = setTimeout(() => child.exitCode === null && process.kill(-child.pid!, 'SIGKILL'), 60_000);
      await exited;
      clearTimeout(timer);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
