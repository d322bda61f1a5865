import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml, stringify } from 'yaml';
import { parseConfig } from '../../src/config/load';
import { runCli } from '../harness/cli';
import { scratchDatabase, startTestWorker, testDeps, testEnv, uniqueName, type ScratchDatabase } from '../harness';
import { fixtureDatabase, storeDir } from './helpers';

jest.setTimeout(180_000);

describe('runbook backup / restore on the command line', () => {
  let ops: ScratchDatabase;
  let source: ScratchDatabase;
  let target: ScratchDatabase;
  beforeAll(async () => {
    [ops, source, target] = await Promise.all([
      scratchDatabase('bkc_ops', { ops: true }),
      fixtureDatabase('bkc_src'),
      scratchDatabase('bkc_dst'),
    ]);
  });
  afterAll(async () => {
    await Promise.all([ops?.drop(), source?.drop(), target?.drop()]);
  });

  it('runs, lists and verifies a backup, and restores only with the right name typed', async () => {
    const example = path.join(__dirname, '..', '..', 'config', 'examples', 'vercel-supabase.yaml');
    const raw = parseYaml(readFileSync(example, 'utf8')) as Record<string, unknown>;
    const file = path.join(storeDir('cli-config'), 'runbook.config.yaml');
    writeFileSync(
      file,
      stringify({
        ...raw,
        temporal: { taskQueue: uniqueName('tq_cli') },
        databases: { app: { urlEnv: 'DB_APP_URL' }, copy: { urlEnv: 'DB_COPY_URL' } },
        backup: { databases: ['app'], store: { type: 'directory', path: storeDir('cli-store') } },
      }),
    );
    const config = parseConfig(parseYaml(readFileSync(file, 'utf8')), file);
    const worker = await startTestWorker({
      deps: testDeps(config, ops, { app: source.url, copy: target.url }),
      taskQueue: config.temporal.taskQueue,
    });
    const cli = (...args: string[]) => runCli(['--config', file, ...args], { TEMPORAL_ADDRESS: testEnv.temporalAddress });
    try {
      await worker.run(async () => {
        const run = await cli('--json', 'backup', 'run', '--reason', 'before the billing migration');
        expect(run.code).toBe(0);
        const backup = JSON.parse(run.stdout) as { backupId: string; database: string; tables: number; workflowId: string };
        expect(backup).toMatchObject({ database: 'app', tables: 4 });
        expect(backup.workflowId).toMatch(/^backup-app-\d{4}-\d{2}-\d{2}-manual-\d{6}$/);

        const list = await cli('--json', 'backup', 'list');
        expect(list.code).toBe(0);
        expect((JSON.parse(list.stdout) as { backups: { backupId: string; trigger: string; status: string }[] }).backups).toEqual([
          expect.objectContaining({ backupId: backup.backupId, trigger: 'manual', status: 'completed' }),
        ]);

        const verify = await cli('backup', 'verify', '--backup', backup.backupId);
        expect(verify.code).toBe(0);
        expect(verify.stdout).toContain(`backup ${backup.backupId} verified`);
        expect(verify.stdout).toMatch(/row-counts\s+ok/);

        const wrong = await cli('restore', '--into', 'copy', '--backup', backup.backupId, '--confirm', 'copy');
        expect(wrong.code).toBe(2);
        expect(wrong.stderr).toContain('does not name the target database');
        expect(wrong.stderr).toContain('nothing was touched');
        expect((await target.pool.query("SELECT count(*)::int AS n FROM pg_namespace WHERE nspname = 'app'")).rows[0].n).toBe(0);

        const noReason = await cli('restore', '--into', 'copy', '--backup', backup.backupId, '--allow-unverified');
        expect(noReason.code).toBe(2);
        expect(noReason.stderr).toContain('needs a reason');

        const ok = await cli('--json', 'restore', '--into', 'copy', '--backup', backup.backupId, '--confirm', target.name);
        expect(ok.code).toBe(0);
        // The plan went out before the confirmation, even with --json (on stderr: stdout stays one document).
        expect(ok.stderr).toContain(`from backup ${backup.backupId}`);
        expect(ok.stderr).toMatch(/taken \S+ \(\d+ (s|min) ago\)/);
        expect(ok.stderr).toContain('verification: passed');
        expect(JSON.parse(ok.stdout)).toMatchObject({ stage: 'completed', mismatches: [], plan: { backupId: backup.backupId } });
        expect((await target.pool.query('SELECT count(*)::int AS n FROM app.users')).rows[0].n).toBe(500);

        const bad = await cli('backup', 'run', '--database', 'nope');
        expect(bad.code).toBe(2);
        expect(bad.stderr).toContain('--database: no database "nope"');
      });
    } finally {
      await worker.close();
    }
  });
});
