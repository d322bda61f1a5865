import { chmodSync, existsSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { MockActivityEnvironment } from '@temporalio/testing';
import type { ActivityDeps } from '../../src/activities';
import { createBackupActivities, type DumpRequest } from '../../src/activities/backup';
import { pgTools } from '../../src/activities/backup/pg-tools';
import { backup, verifyBackup } from '../../src/workflows';
import { startTestWorker, testDeps, testEnv, uniqueName } from '../harness';
import { backupConfig, backupDatabasesForFile, storeDir } from './helpers';
import { startWorkerProcess } from './worker-process-helper';

jest.setTimeout(180_000);

/** A bin directory whose pg_dump is `script`; pg_restore and pg_amcheck are the real ones. */
function fakeBinDir(name: string, script: string): string {
  const real = pgTools(undefined);
  const dir = path.join(testEnv.dir, uniqueName(name));
  mkdirSync(dir);
  writeFileSync(path.join(dir, 'pg_dump'), script);
  chmodSync(path.join(dir, 'pg_dump'), 0o755);
  symlinkSync(real.pgRestore, path.join(dir, 'pg_restore'));
  if (real.pgAmcheck) symlinkSync(real.pgAmcheck, path.join(dir, 'pg_amcheck'));
  return dir;
}

describe('backup failures', () => {
  const { ops, source } = backupDatabasesForFile('bkf');

  it('a pg_dump older than the server fails at once, naming both versions and the setting', async () => {
    const pgBinDir = fakeBinDir('old-pg', '#!/bin/sh\necho "pg_dump (PostgreSQL) 9.6.24"\n');
    const deps: ActivityDeps = testDeps(backupConfig(['app'], { store: { type: 'directory', path: storeDir('old') }, pgBinDir }), ops, {
      app: source.url,
    });
    const worker = await startTestWorker({ deps });
    const workflowId = uniqueName('backup-old');
    try {
      const run = worker.run(() =>
        worker.client.workflow.execute(backup, { taskQueue: worker.taskQueue, workflowId, args: [{ database: 'app' }] }),
      );
      await expect(run).rejects.toThrow(WorkflowFailedError);
      const err = (await run.catch((e: WorkflowFailedError) => e)) as WorkflowFailedError;
      const cause = err.cause?.cause as { type?: string; message: string; nonRetryable?: boolean };
      expect(cause.type).toBe('PgDumpTooOld');
      expect(cause.message).toMatch(/pg_dump 9\.6 .*older than the database server \(PostgreSQL 15\.\d+\)/);
      expect(cause.message).toContain('backup.pgBinDir');
      expect(cause.message).toContain('PG_BIN_DIR');
    } finally {
      await worker.close();
    }
    const { rows } = await ops.pool.query('SELECT status, attempt, error FROM backups WHERE id = $1', [workflowId]);
    expect(rows).toEqual([{ status: 'failed', attempt: 1, error: expect.stringContaining('older than the database server') }]);
  });

  it('a pg_dump that fails after writing part of its output leaves nothing in a directory store', async () => {
    const real = pgTools(undefined).pgDump;
    const pgBinDir = fakeBinDir(
      'dying-pg',
      `#!/bin/sh\nif [ "$1" = "--version" ]; then exec ${real} --version; fi\nhead -c 3000000 /dev/urandom\necho "pg_dump: error: connection lost" >&2\nexit 1\n`,
    );
    const dir = storeDir('dying');
    const deps = testDeps(backupConfig(['app'], { store: { type: 'directory', path: dir }, pgBinDir }), ops, { app: source.url });
    const id = uniqueName('backup-dying');
    const req: DumpRequest = { backupId: id, database: 'app', workflowId: id, trigger: 'manual', requestedBy: 'jest' };
    await expect(new MockActivityEnvironment().run(createBackupActivities(deps).dumpBackup, req)).rejects.toThrow(
      /pg_dump exited with code 1: pg_dump: error: connection lost/,
    );
    expect(existsSync(path.join(dir, 'app')) ? readdirSync(path.join(dir, 'app')) : []).toEqual([]);
    expect((await ops.pool.query('SELECT status FROM backups WHERE id = $1', [id])).rows).toEqual([{ status: 'failed' }]);
  });

  it('SIGKILL of the worker mid-backup leaves no backup marked complete; the retry produces a valid one', async () => {
    const real = pgTools(undefined).pgDump;
    // The real pg_dump, then a pause with the output still open: the kill lands while the archive is being written.
    const pgBinDir = fakeBinDir(
      'slow-pg',
      `#!/bin/sh\nif [ "$1" = "--version" ]; then exec ${real} --version; fi\n${real} "$@" || exit $?\nsleep "\${BACKUP_TEST_DUMP_PAUSE:-0}"\n`,
    );
    const dir = storeDir('kill');
    const config = backupConfig(['app'], { store: { type: 'directory', path: dir }, pgBinDir });
    const taskQueue = uniqueName('tq_kill');
    const first = await startWorkerProcess({
      config,
      databases: { app: source.url },
      opsUrl: ops.url,
      temporalAddress: testEnv.temporalAddress,
      taskQueue,
      bundle: testEnv.workflowBundle,
      env: { BACKUP_TEST_DUMP_PAUSE: '6' },
    });
    const deps = testDeps(config, ops, { app: source.url });
    const second = await startTestWorker({ deps, taskQueue });
    const workflowId = uniqueName('backup-kill');
    try {
      const handle = await second.client.workflow.start(backup, {
        taskQueue,
        workflowId,
        args: [{ database: 'app', heartbeatTimeout: '2s' }],
      });

      // Wait until the first worker is writing the archive, then kill it.
      const partial = () => readdirSync(path.join(dir, 'app'), { withFileTypes: true }).some((f) => f.name.endsWith('.partial'));
      for (let i = 0; i < 300 && !(existsSync(path.join(dir, 'app')) && partial()); i++) await new Promise((r) => setTimeout(r, 100));
      expect(partial()).toBe(true);
      process.kill(first.pid, 'SIGKILL');
      await first.exited;

      const { rows: during } = await ops.pool.query('SELECT status, attempt FROM backups WHERE id = $1', [workflowId]);
      expect(during).toEqual([{ status: 'running', attempt: 1 }]);
      expect(readdirSync(path.join(dir, 'app')).filter((f) => !f.endsWith('.partial'))).toEqual([]); // no archive, no manifest

      // A second worker picks the activity up after the heartbeat timeout and finishes the backup.
      const result = await second.run(async () => {
        const r = await handle.result();
        const verified = await second.client.workflow.execute(verifyBackup, {
          taskQueue,
          workflowId: uniqueName('verify-kill'),
          args: [{ backupId: r.backupId, retention: false }],
        });
        return { ...r, verified };
      });
      expect(result.verified.ok).toBe(true);
      const { rows } = await ops.pool.query('SELECT status, attempt, verification_status FROM backups WHERE id = $1', [workflowId]);
      expect(rows).toEqual([{ status: 'completed', attempt: 2, verification_status: 'passed' }]);
      expect(readdirSync(path.join(dir, 'app')).sort()).toEqual([`${workflowId}.dump.zst`, `${workflowId}.manifest.json`]);
    } finally {
      if (first.child.exitCode === null) first.child.kill('SIGKILL');
      await second.close();
    }
  });
});
