/** How `runbook drill` finds the stack: flags, then RUNBOOK_DRILL_* / database variables, then stack.json, then default ports. */
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { resolveTargets } from '../../src/drill/stack-info';
import { stackFilePath, writeStackFile } from '../../src/stack/state';
import { testConfig } from '../harness';

describe('drill targets', () => {
  const config = testConfig();

  it('reads what the running stack recorded in stack.json', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'drill-stack-'));
    writeStackFile({
      dataDir: dir,
      pids: [],
      databases: {
        opsUrl: 'postgres://postgres@127.0.0.1:15432/ops',
        urls: {
          ops: 'postgres://postgres@127.0.0.1:15432/ops',
          app: 'postgres://postgres@127.0.0.1:15432/app',
          secret: 'postgres://u:pw@db.example/x',
        },
      },
      sandbox: { url: 'http://127.0.0.1:18790' },
      receiver: { url: 'http://127.0.0.1:18787', sandboxToken: 'session-token' },
    });
    // It may hold the sandbox session's token: owner-only, and a URL with a password is never written.
    expect(statSync(stackFilePath(dir)).mode & 0o077).toBe(0);
    expect(readFileSync(stackFilePath(dir), 'utf8')).not.toContain('pw@');
    const t = resolveTargets(config, { RUNBOOK_DATA_DIR: dir }, {});
    expect(t).toMatchObject({
      sandboxUrl: 'http://127.0.0.1:18790',
      receiverUrl: 'http://127.0.0.1:18787',
      appDatabaseUrl: 'postgres://postgres@127.0.0.1:15432/app',
      webhookToken: 'session-token',
    });
    expect(t.sources).toEqual({
      sandbox: 'stack.json',
      receiver: 'stack.json',
      'app database': 'stack.json',
      'ops database': 'stack.json',
    });

    // Flags and variables win; a real Vercel API URL is never taken for a sandbox.
    const over = resolveTargets(
      config,
      { RUNBOOK_DATA_DIR: dir, RUNBOOK_DRILL_RECEIVER_URL: 'http://127.0.0.1:1' },
      { sandboxUrl: 'http://127.0.0.1:2' },
    );
    expect(over).toMatchObject({ sandboxUrl: 'http://127.0.0.1:2', receiverUrl: 'http://127.0.0.1:1' });
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
