import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { splitPassword, withSessionSettings } from '../../src/activities/backup/pg-tools';
import { dependencyReport } from '../../src/activities/maintenance/dependencies';
import { childEnv } from '../../src/host/child-env';
import { ROOT, runTs } from '../harness/cli';

/** Child processes (pg_dump, pg_restore, zstd, npm) see no token of the worker's, and no password on their command line. */
describe('least secrets for child processes', () => {
  const secrets = {
    VERCEL_TOKEN: 'vercel-secret-1',
    RUNBOOK_WEBHOOK_TOKEN: 'webhook-secret-2',
    DATABASE_URL: 'postgres://app:db-secret-3@db/app',
    npm_config__authToken: 'npm-secret-4',
  };
  const saved: Record<string, string | undefined> = {};
  let dir: string;
  beforeAll(() => {
    for (const [k, v] of Object.entries(secrets)) {
      saved[k] = process.env[k];
      process.env[k] = v;
    }
    dir = mkdtempSync(path.join(os.tmpdir(), 'child-env-'));
  });
  afterAll(() => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    rmSync(dir, { recursive: true, force: true });
  });
  const leaked = (text: string) => Object.values(secrets).filter((s) => text.includes(s));

  it('a backup tool started without an explicit environment sees PATH and locale, no token', async () => {
    // A worker process with the tokens in its environment starts a tool the way the backup activities do.
    const script = path.join(dir, 'start-tool.ts');
    writeFileSync(
      script,
      `import { startChild } from ${JSON.stringify(path.join(ROOT, 'src', 'activities', 'backup', 'streams'))};
       const child = startChild('sh', ['-c', 'env'], { stdio: ['ignore', 'inherit', 'pipe'] });
       void child.exited;`,
    );
    const { stdout: out } = await runTs(script, [], secrets);
    expect(out).toMatch(/^PATH=/m);
    expect(leaked(out)).toEqual([]);
    // The password a tool needs goes to that child only.
    expect(childEnv({ PGPASSWORD: 'pw' })).toMatchObject({ PGPASSWORD: 'pw', PATH: process.env.PATH });
    expect(leaked(JSON.stringify(childEnv({ PGPASSWORD: 'pw' })))).toEqual([]);
  });

  it('npm of the dependency report runs without the worker tokens', async () => {
    const bin = path.join(dir, 'bin');
    const checkout = path.join(dir, 'app');
    for (const d of [bin, checkout]) mkdirSync(d, { recursive: true });
    writeFileSync(path.join(checkout, 'package.json'), '{"name":"app","version":"1.0.0"}');
    // A stand-in npm on PATH that records the environment it was given.
    writeFileSync(path.join(bin, 'npm'), `#!/bin/sh\nenv > "${dir}/npm-env-$1"\necho '{}'\n`);
    chmodSync(path.join(bin, 'npm'), 0o755);
    await dependencyReport(checkout, { env: { PATH: `${bin}:${process.env.PATH}` } });
    const seen = readFileSync(path.join(dir, 'npm-env-outdated'), 'utf8') + readFileSync(path.join(dir, 'npm-env-audit'), 'utf8');
    expect(seen).toMatch(/npm_config_fund=false/);
    expect(leaked(seen)).toEqual([]);
  });

  it('a connection string loses its password, in the authority or as ?password=, to PGPASSWORD', () => {
    expect(splitPassword('postgres://app:s3cret@db:5432/app?sslmode=require')).toEqual({
      url: 'postgres://app@db:5432/app?sslmode=require',
      password: 's3cret',
    });
    expect(splitPassword('postgres://app@db/app?password=q%20secret&sslmode=require')).toEqual({
      url: 'postgres://app@db/app?sslmode=require',
      password: 'q secret',
    });
    expect(splitPassword('postgres://app@db/app')).toEqual({ url: 'postgres://app@db/app' });
  });

  it('session settings survive the password split: their spaces stay %20, as libpq decodes them', () => {
    const url = withSessionSettings('postgres://app:s3cret@db/app', { maintenance_work_mem: '256MB', synchronous_commit: 'off' });
    const options = '-c%20maintenance_work_mem%3D256MB%20-c%20synchronous_commit%3Doff';
    expect(splitPassword(url)).toEqual({ url: `postgres://app@db/app?options=${options}`, password: 's3cret' });
    expect(splitPassword(`${url}&password=q%20secret`)).toEqual({ url: `postgres://app@db/app?options=${options}`, password: 'q secret' });
  });
});
