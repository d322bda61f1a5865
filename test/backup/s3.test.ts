import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ListMultipartUploadsCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createBackupActivities, type DumpRequest } from '../../src/activities/backup';
import { backup, restore } from '../../src/workflows';
import { pgTools } from '../../src/activities/backup/pg-tools';
import { confirmRestoreUpdate, restoreStatusQuery, type BackupManifest } from '../../src/workflows/backup/contract';
import { scratchDatabase, testDeps, testEnv, uniqueName, withTestWorker, type ScratchDatabase } from '../harness';
import { backupConfig, statsOf } from './helpers';
import { startLocalS3, type LocalS3 } from './moto';

jest.setTimeout(180_000);

describe('S3-compatible backup store (moto server)', () => {
  const bucket = 'runbook-backups';
  let s3: LocalS3;
  let ops: ScratchDatabase;
  let source: ScratchDatabase;
  let target: ScratchDatabase;

  beforeAll(async () => {
    [s3, ops, source, target] = await Promise.all([
      startLocalS3(bucket),
      scratchDatabase('bks_ops', { ops: true }),
      scratchDatabase('bks_src'),
      scratchDatabase('bks_dst'),
    ]);
    // ~14 MB of incompressible bytes: the upload needs more than one 8 MB part.
    await source.pool.query(`
      CREATE TABLE blobs (id int PRIMARY KEY, data bytea NOT NULL);
      INSERT INTO blobs SELECT g, decode(md5(random()::text) || md5(random()::text) || md5(random()::text) || md5(random()::text), 'hex')
        FROM generate_series(1, 220000) g;`);
  });
  afterAll(async () => {
    await Promise.all([s3?.stop(), ops?.drop(), source?.drop(), target?.drop()]);
  });

  function s3Config(pgBinDir?: string) {
    return backupConfig(['app', 'copy'], {
      store: {
        type: 's3',
        bucket,
        prefix: 'db/',
        endpoint: s3.endpoint,
        forcePathStyle: true,
        accessKeyIdEnv: 'BK_S3_KEY',
        secretAccessKeyEnv: 'BK_S3_SECRET',
      },
      ...(pgBinDir ? { pgBinDir } : {}),
    });
  }
  const env = () => ({ BK_S3_KEY: s3.credentials.accessKeyId, BK_S3_SECRET: s3.credentials.secretAccessKey });

  async function keys(): Promise<string[]> {
    const { Contents } = await s3.client.send(new ListObjectsV2Command({ Bucket: bucket }));
    return (Contents ?? []).map((c) => c.Key!).sort();
  }

  it('uploads by multipart, verifies from S3 and restores from S3 with identical rows', async () => {
    const deps = { ...testDeps(s3Config(), ops, { app: source.url, copy: target.url }), env: env() };
    const backupWf = uniqueName('backup-s3');
    const result = await withTestWorker({ deps }, async (worker) => {
      const r = await worker.client.workflow.execute(backup, {
        taskQueue: worker.taskQueue,
        workflowId: backupWf,
        args: [{ database: 'app', verify: true }],
      });
      const handle = await worker.client.workflow.start(restore, {
        taskQueue: worker.taskQueue,
        workflowId: uniqueName('restore-s3'),
        args: [{ into: 'copy', backupId: r.backupId }],
      });
      for (let i = 0; i < 200 && (await handle.query(restoreStatusQuery)).stage !== 'awaiting-confirmation'; i++)
        await new Promise((res) => setTimeout(res, 100));
      await handle.executeUpdate(confirmRestoreUpdate, { args: [{ confirm: target.name }] });
      const restored = await handle.result();
      return { ...r, restored };
    });
    expect(result.location).toBe(`s3://${bucket}/db/app/${backupWf}.dump.zst`);
    expect(result.sizeBytes).toBeGreaterThan(8 * 1024 * 1024);
    expect(result.verified?.ok).toBe(true);
    expect(result.restored.stage).toBe('completed');
    expect(await statsOf(target.url)).toEqual(await statsOf(source.url));

    const stored = await keys();
    expect(stored).toContain(`db/app/${backupWf}.dump.zst`);
    expect(stored).toContain(`db/app/${backupWf}.manifest.json`);
    // A multipart object's ETag is "<md5 of part md5s>-<parts>".
    const { Contents } = await s3.client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `db/app/${backupWf}.dump` }));
    expect(Contents?.[0].ETag).toMatch(/-[2-9]"?$/);
    const manifest = JSON.parse(
      await (
        await s3.client.send(
          new (await import('@aws-sdk/client-s3')).GetObjectCommand({ Bucket: bucket, Key: `db/app/${backupWf}.manifest.json` }),
        )
      ).Body!.transformToString(),
    ) as BackupManifest;
    expect(manifest.sha256).toBe(result.sha256);
    // Above backup.md5MaxRows (100 000) a table gets its count only.
    expect(manifest.tables).toEqual([{ table: 'public.blobs', rows: 220000 }]);
  });

  it('a pg_dump that dies mid-stream leaves no object and no open multipart upload', async () => {
    const real = pgTools(undefined);
    const dir = path.join(testEnv.dir, uniqueName('dying-pg'));
    mkdirSync(dir);
    // Writes 20 MB (more than two parts), then fails.
    writeFileSync(
      path.join(dir, 'pg_dump'),
      `#!/bin/sh\nif [ "$1" = "--version" ]; then exec ${real.pgDump} --version; fi\nhead -c 20000000 /dev/urandom\necho "pg_dump: error: connection lost" >&2\nexit 1\n`,
    );
    chmodSync(path.join(dir, 'pg_dump'), 0o755);
    symlinkSync(real.pgRestore, path.join(dir, 'pg_restore'));
    const deps = { ...testDeps(s3Config(dir), ops, { app: source.url }), env: env() };
    const before = await keys();
    const workflowId = uniqueName('backup-dies');
    const req: DumpRequest = { backupId: workflowId, database: 'app', workflowId, trigger: 'manual', requestedBy: 'jest' };
    await expect(new MockActivityEnvironment().run(createBackupActivities(deps).dumpBackup, req)).rejects.toThrow('connection lost');
    expect(await keys()).toEqual(before);
    const uploads = await s3.client.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
    expect(uploads.Uploads ?? []).toEqual([]);
    const { rows } = await ops.pool.query('SELECT status, error FROM backups WHERE id = $1', [workflowId]);
    expect(rows[0].status).toBe('failed');
    expect(rows[0].error).toContain('connection lost');
  });
});
