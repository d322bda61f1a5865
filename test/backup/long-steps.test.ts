import fsp from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import path from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createBackupActivities } from '../../src/activities/backup';
import { DirectoryStore } from '../../src/activities/backup/directory-store';
import { S3Store } from '../../src/activities/backup/s3-store';
import type { TransferProgress } from '../../src/workflows/backup/contract';
import { testDeps, uniqueName } from '../harness';
import { backupConfig, backupDatabasesForFile, storeDir } from './helpers';

jest.setTimeout(120_000);

/** Runs an activity in a mock environment, keeping every heartbeat it sends. */
async function withHeartbeats<R>(fn: () => Promise<R>): Promise<{ result: R; beats: TransferProgress[] }> {
  const env = new MockActivityEnvironment();
  const beats: TransferProgress[] = [];
  env.on('heartbeat', (d: TransferProgress) => beats.push(d));
  return { result: await env.run(fn), beats };
}

describe('long backup steps heartbeat with progress', () => {
  const { ops, source } = backupDatabasesForFile('bkl');

  it('compareRestoredDatabase and the scratch verification report the tables they have checked', async () => {
    const deps = testDeps(backupConfig(['app'], { store: { type: 'directory', path: storeDir('long') } }), ops, { app: source.url });
    const activities = createBackupActivities(deps);
    const backupId = uniqueName('backup-long');
    await new MockActivityEnvironment().run(activities.dumpBackup, {
      backupId,
      database: 'app',
      workflowId: backupId,
      trigger: 'manual' as const,
      requestedBy: 'jest',
    });

    // The source itself is a database "restored" from this backup: every table matches.
    const compared = await withHeartbeats(() => activities.compareRestoredDatabase({ backupId, into: 'app' }));
    expect(compared.result).toEqual([]);
    expect(compared.beats).toContainEqual(expect.objectContaining({ phase: 'compare tables', tables: { done: 0, total: 4 } }));

    const scratch = await withHeartbeats(() =>
      activities.restoreBackupIntoScratch({ backupId, scratchDatabase: uniqueName('runbook_verify_long') }),
    );
    expect(scratch.result.checks.filter((c) => !c.ok)).toEqual([]);
    expect(scratch.beats).toContainEqual(expect.objectContaining({ tables: expect.objectContaining({ total: 4 }) }));
  });
});

describe('stores', () => {
  it('a directory store makes the manifest durable (fsync) before it appears under its name', async () => {
    const dir = storeDir('fsync');
    const store = new DirectoryStore(dir);
    const events: string[] = [];
    const realOpen = fsp.open;
    const open = jest.spyOn(fsp, 'open').mockImplementation(async (...args: Parameters<typeof fsp.open>) => {
      const fh = await realOpen(...args);
      const sync = fh.sync.bind(fh);
      fh.sync = async () => {
        events.push(`sync ${path.basename(String(args[0]))}`);
        return sync();
      };
      return fh;
    });
    const realRename = fsp.rename;
    const rename = jest.spyOn(fsp, 'rename').mockImplementation(async (from, to) => {
      events.push(`rename ${path.basename(String(from))} ${path.basename(String(to))}`);
      return realRename(from, to);
    });
    try {
      await store.putText('app/b.manifest.json', '{"formatVersion":1}');
    } finally {
      open.mockRestore();
      rename.mockRestore();
    }
    expect(events).toEqual(['sync b.manifest.json.partial', 'rename b.manifest.json.partial b.manifest.json']);
    expect(await store.getText('app/b.manifest.json')).toBe('{"formatVersion":1}');
  });

  describe('an S3 endpoint that accepts connections and never answers', () => {
    let server: Server;
    const sockets: Socket[] = [];
    let port = 0;
    beforeAll(async () => {
      server = createServer((s) => void sockets.push(s));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      port = (server.address() as { port: number }).port;
    });
    afterAll(async () => {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    });

    it('fails the request after the request timeout instead of hanging the backup', async () => {
      const store = new S3Store({
        bucket: 'backups',
        prefix: '',
        region: 'us-east-1',
        endpoint: `http://127.0.0.1:${port}`,
        forcePathStyle: true,
        credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
        requestTimeoutMs: 500,
      });
      const started = Date.now();
      const hung = new Promise<'still waiting'>((resolve) => setTimeout(() => resolve('still waiting'), 20_000).unref());
      const outcome = await Promise.race([
        store.getText('app/x.manifest.json').then(
          () => 'answered',
          (err: Error) => err.name,
        ),
        hung,
      ]);
      expect(outcome).toBe('TimeoutError');
      expect(Date.now() - started).toBeLessThan(15_000);
      store.client.destroy();
    });
  });
});
