/** How `runbook drill` finds the stack: flags, then RUNBOOK_DRILL_* / database variables, then stack.json, then default ports. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { drillStackFields } from '../../src/drill/stack-fields';
import { resolveTargets } from '../../src/drill/stack-info';
import { testConfig } from '../harness';

describe('drill targets', () => {
  const config = testConfig();

  it('reads what writeStackFile would record with drillStackFields spread into it', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'drill-stack-'));
    const stackConfig = { ...config, platforms: { ...config.platforms, vercel: { ...config.platforms.vercel, apiUrl: 'http://127.0.0.1:18790/vercel' } } };
    const fields = drillStackFields({
      config: stackConfig,
      env: { RUNBOOK_WEBHOOK_PORT: '18787' },
      databases: { opsUrl: 'postgres://postgres@127.0.0.1:15432/ops', urls: { ops: 'postgres://postgres@127.0.0.1:15432/ops', app: 'postgres://postgres@127.0.0.1:15432/app' }, embedded: true },
    });
    expect(fields).toEqual({
      sandboxUrl: 'http://127.0.0.1:18790',
      receiverUrl: 'http://127.0.0.1:18787',
      opsDatabaseUrl: 'postgres://postgres@127.0.0.1:15432/ops',
      databaseUrls: { ops: 'postgres://postgres@127.0.0.1:15432/ops', app: 'postgres://postgres@127.0.0.1:15432/app' },
    });
    writeFileSync(path.join(dir, 'stack.json'), JSON.stringify({ pid: process.pid, pids: [], ...fields }));
    const t = resolveTargets(config, { RUNBOOK_DATA_DIR: dir }, {});
    expect(t).toMatchObject({ sandboxUrl: 'http://127.0.0.1:18790', receiverUrl: 'http://127.0.0.1:18787', appDatabaseUrl: 'postgres://postgres@127.0.0.1:15432/app' });
    expect(t.sources).toEqual({ sandbox: 'stack.json', receiver: 'stack.json', 'app database': 'stack.json', 'ops database': 'stack.json' });

    // Flags and variables win; a real Vercel API URL is never taken for a sandbox.
    const over = resolveTargets(config, { RUNBOOK_DATA_DIR: dir, RUNBOOK_DRILL_RECEIVER_URL: 'http://127.0.0.1:1' }, { sandboxUrl: 'http://127.0.0.1:2' });
    expect(over).toMatchObject({ sandboxUrl: 'http://127.0.0.1:2', receiverUrl: 'http://127.0.0.1:1' });
    expect(drillStackFields({ config, env: {}, databases: undefined }).sandboxUrl).toBeUndefined();
  });

  it('falls back to the stack default ports when nothing records them', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'drill-nostack-'));
    const t = resolveTargets(config, { RUNBOOK_DATA_DIR: dir }, {});
    expect(t).toMatchObject({
      sandboxUrl: 'http://127.0.0.1:8790',
      receiverUrl: 'http://127.0.0.1:8787',
      appDatabaseUrl: 'postgres://postgres@127.0.0.1:54329/app',
      opsDatabaseUrl: 'postgres://postgres@127.0.0.1:54329/ops',
    });
  });
});
