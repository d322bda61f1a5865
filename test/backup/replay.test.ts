import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { historyFromJSON, historyToJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import type { ActivityDeps } from '../../src/activities';
import { confirmRestoreUpdate, restoreStatusQuery, type RestoreInput } from '../../src/workflows/backup/contract';
import { backup, restore, verifyBackup } from '../../src/workflows';
import { RunbookKind } from '../../src/workflows/common/search-attributes';
import { quietRuntime, startTestWorker, testEnv, uniqueName, type ScratchDatabase } from '../harness';
import { openRestoreStage, type RestoreStage } from './helpers';

/**
 * Recorded backup, verifyBackup and restore histories replayed with the current workflow code: a change
 * that would break a run in flight (a nightly backup, a monthly verification, a restore waiting for its
 * confirmation) fails here instead of on a worker. `RECORD_BACKUP_HISTORIES=1` records them again from
 * real runs against the test stack's Temporal and PostgreSQL (after a deliberate, patched() change).
 */
const DIR = path.join(__dirname, 'histories');

type Recorded = { workflowId: string; history: unknown };
const load = (file: string): Recorded => JSON.parse(readFileSync(path.join(DIR, file), 'utf8')) as Recorded;

async function save(handle: WorkflowHandle, name: string): Promise<void> {
  // The workflow id is not in the events, and replay needs it: backup ids and child ids derive from it.
  const recorded = { workflowId: handle.workflowId, history: JSON.parse(historyToJSON(await handle.fetchHistory())) as unknown };
  writeFileSync(path.join(DIR, `${name}.json`), `${JSON.stringify(recorded, null, 1)}\n`);
}

const record = process.env.RECORD_BACKUP_HISTORIES === '1';

(record ? describe : describe.skip)('record backup histories', () => {
  let target: ScratchDatabase;
  let deps: ActivityDeps;
  let stage: RestoreStage | undefined;

  beforeAll(async () => {
    stage = await openRestoreStage('bk', 'before restore');
    ({ target, deps } = stage);
  });
  afterAll(() => stage?.drop());

  it('records a backup verified by its child, a verifyBackup with retention, and a confirmed restore', async () => {
    mkdirSync(DIR, { recursive: true });
    const worker = await startTestWorker({ deps });
    try {
      await worker.run(async () => {
        const backupHandle = await worker.client.workflow.start(backup, {
          taskQueue: worker.taskQueue,
          workflowId: `backup-app-2026-01-01-${uniqueName('manual')}`,
          args: [{ database: 'app', trigger: 'manual', requestedBy: 'jest', verify: true }],
          typedSearchAttributes: [{ key: RunbookKind, value: 'backup' }],
        });
        const taken = await backupHandle.result();
        await save(backupHandle, 'backup-verified');

        const verifyHandle = await worker.client.workflow.start(verifyBackup, {
          taskQueue: worker.taskQueue,
          workflowId: uniqueName('verify-backup'),
          args: [{ backupId: taken.backupId, requestedBy: 'jest', retention: true }],
          typedSearchAttributes: [{ key: RunbookKind, value: 'verifyBackup' }],
        });
        await verifyHandle.result();
        await save(verifyHandle, 'verify-backup');

        const restoreHandle = await worker.client.workflow.start(restore, {
          taskQueue: worker.taskQueue,
          workflowId: uniqueName('restore-copy'),
          args: [{ into: 'copy', backupId: taken.backupId, requestedBy: 'jest' } satisfies RestoreInput],
          typedSearchAttributes: [{ key: RunbookKind, value: 'restore' }],
        });
        for (let i = 0; (await restoreHandle.query(restoreStatusQuery).catch(() => undefined))?.stage !== 'awaiting-confirmation'; i++) {
          if (i > 200) throw new Error('restore never reached awaiting-confirmation');
          await new Promise((r) => setTimeout(r, 100));
        }
        await restoreHandle.executeUpdate(confirmRestoreUpdate, { args: [{ confirm: target.name, by: 'jest' }] });
        await restoreHandle.result();
        await save(restoreHandle, 'restore-confirmed');
      });
    } finally {
      await worker.close();
    }
  }, 180_000);
});

// Recording rewrites the files this block reads, so a recording run replays nothing.
(record ? describe.skip : describe)('backup histories replay with the current workflow code', () => {
  const files = record ? [] : readdirSync(DIR).filter((f) => f.endsWith('.json'));

  beforeAll(quietRuntime);

  it('has a backup with a child verification, a verification with retention, and a restore confirmed by update', () => {
    expect(files.sort()).toEqual(['backup-verified.json', 'restore-confirmed.json', 'verify-backup.json']);
    const types = (f: string) => new Set((load(f).history as { events: { eventType: string }[] }).events.map((e) => e.eventType));
    for (const f of files) {
      expect(types(f)).toContain('EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED');
      expect(types(f)).toContain('EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES');
    }
    expect(types('backup-verified.json')).toContain('EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED');
    expect(types('restore-confirmed.json')).toContain('EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED');
    expect(types('restore-confirmed.json')).toContain('EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED');
  });

  it('replays every recorded history', async () => {
    const histories = files.map((f) => {
      const { workflowId, history } = load(f);
      return { workflowId, history: historyFromJSON(history) };
    });
    const failures: string[] = [];
    for await (const result of Worker.runReplayHistories({ workflowBundle: { codePath: testEnv.workflowBundle } }, histories)) {
      if (result.error) failures.push(`${result.workflowId}: ${result.error.message}`);
    }
    expect(failures).toEqual([]);
    expect(histories).toHaveLength(3);
  });

  it('reports a history that does not match the code', async () => {
    // The backup's history claimed by verifyBackup must fail: proof that replay compares commands.
    const { workflowId, history } = load('backup-verified.json') as {
      workflowId: string;
      history: { events: { workflowExecutionStartedEventAttributes?: { workflowType: { name: string } } }[] };
    };
    history.events[0].workflowExecutionStartedEventAttributes!.workflowType.name = 'verifyBackup';
    const results = [];
    for await (const r of Worker.runReplayHistories({ workflowBundle: { codePath: testEnv.workflowBundle } }, [
      { workflowId, history: historyFromJSON(history) },
    ]))
      results.push(r);
    expect(results[0].error).toBeDefined();
  });
});
