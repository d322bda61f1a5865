import { WorkflowFailedError, WorkflowUpdateFailedError } from '@temporalio/client';
import type { ActivityDeps } from '../../src/activities';
import { startSandbox, type Sandbox } from '../../src/sandbox';
import { confirmRestoreUpdate, restoreStatusQuery, type PitrRestoreInput, type RestoreResult } from '../../src/workflows/backup/contract';
import { pitrRestore } from '../../src/workflows';
import {
  scratchDatabase,
  testConfig,
  testDeps,
  uniqueName,
  withSandboxPlatforms,
  withTestWorker,
  type ScratchDatabase,
  type TestWorker,
} from '../harness';

jest.setTimeout(120_000);

/** The project of the vercel-supabase example (platforms.supabase.projectRef). */
const REF = 'kteobfyferrukqeolofj';

/** A sandbox whose restores take `restoreStepMs` a step, holding the project REF; an ops database; deps pointed at the sandbox. */
async function openPitrSandbox(
  prefix: string,
  restoreStepMs: number,
): Promise<{ sandbox: Sandbox; ops: ScratchDatabase; deps: ActivityDeps }> {
  const [sandbox, ops] = await Promise.all([startSandbox({ timing: { restoreStepMs } }), scratchDatabase(prefix, { ops: true })]);
  sandbox.supabase.seedProject(REF);
  return { sandbox, ops, deps: withSandboxPlatforms(testDeps(testConfig(), ops), sandbox, { requestTimeoutMs: 2000 }) };
}

describe('Supabase point-in-time restore through the Management API (sandbox)', () => {
  let sandbox: Sandbox;
  let ops: ScratchDatabase;
  let deps: ActivityDeps;

  beforeAll(async () => {
    ({ sandbox, ops, deps } = await openPitrSandbox('bkp_ops', 600));
  });
  afterAll(async () => {
    await Promise.all([sandbox?.stop(), ops?.drop()]);
  });
  beforeEach(() => sandbox.clearCalls());

  const restoreCalls = () => sandbox.calls({ vendor: 'supabase', method: 'POST' }).filter((c) => c.path.endsWith('/restore-pitr'));

  async function run(
    input: PitrRestoreInput,
    drive: (w: TestWorker, handle: Awaited<ReturnType<TestWorker['client']['workflow']['start']>>) => Promise<void>,
  ): Promise<RestoreResult> {
    return await withTestWorker({ deps }, async (worker) => {
      const handle = await worker.client.workflow.start(pitrRestore, {
        taskQueue: worker.taskQueue,
        workflowId: uniqueName('restore-pitr'),
        args: [input],
      });
      await drive(worker, handle);
      return handle.result();
    });
  }

  async function awaitingConfirmation(handle: { query: (q: typeof restoreStatusQuery) => Promise<{ stage: string }> }) {
    for (let i = 0; i < 200 && (await handle.query(restoreStatusQuery)).stage !== 'awaiting-confirmation'; i++)
      await new Promise((r) => setTimeout(r, 100));
  }

  it('restores to the chosen moment once the project ref is typed, waits for ACTIVE_HEALTHY, and tells chat', async () => {
    const to = new Date(Date.now() - 3_600_000);
    to.setMilliseconds(0);
    const result = await run({ to: to.toISOString(), pollInterval: '200ms' }, async (_w, handle) => {
      await awaitingConfirmation(handle);
      expect(restoreCalls()).toEqual([]);
      await expect(handle.executeUpdate(confirmRestoreUpdate, { args: [{ confirm: 'aaaaaaaaaaaaaaaaaaaa' }] })).rejects.toThrow(
        WorkflowUpdateFailedError,
      );
      expect(restoreCalls()).toEqual([]);
      await handle.executeUpdate(confirmRestoreUpdate, { args: [{ confirm: REF, by: 'jest' }] });
    });
    expect(result).toMatchObject({
      stage: 'completed',
      confirmedBy: 'jest',
      plan: { target: REF, confirmName: REF, pitr: { to: to.toISOString() } },
    });

    // One restore request, for exactly that second; the project is healthy again.
    expect(restoreCalls().map((c) => c.body)).toEqual([{ recovery_time_target_unix: to.getTime() / 1000 }]);
    expect(sandbox.supabase.restores(REF).at(-1)).toMatchObject({
      recovery_time_target_unix: to.getTime() / 1000,
      outcome: 'ACTIVE_HEALTHY',
    });
    // Polled while RESTORING.
    expect(
      sandbox.calls({ vendor: 'supabase', method: 'GET' }).filter((c) => c.path === `/v1/projects/${REF}`).length,
    ).toBeGreaterThanOrEqual(2);
    expect(sandbox.slack.messages().map((m) => JSON.stringify(m))).toEqual(
      expect.arrayContaining([expect.stringContaining(`project ${REF} restored to ${to.toISOString()}`)]),
    );
    const { rows } = await ops.pool.query('SELECT kind, target, status, confirmed_by FROM restores WHERE id = $1', [result.restoreId]);
    expect(rows).toEqual([{ kind: 'pitr', target: REF, status: 'completed', confirmed_by: 'jest' }]);
  });

  it('refuses a moment outside the PITR window before asking for confirmation', async () => {
    const to = new Date(Date.now() - 8 * 86_400_000).toISOString();
    const outcome = run({ to, pollInterval: '200ms' }, async () => undefined);
    await expect(outcome).rejects.toThrow(WorkflowFailedError);
    await expect(outcome).rejects.toMatchObject({ cause: { cause: { message: expect.stringContaining('outside the PITR window') } } });
    expect(restoreCalls()).toEqual([]);
  });

  it('reports RESTORE_FAILED as a failed restore and raises the problem', async () => {
    sandbox.supabase.failNextRestore(REF);
    const to = new Date(Date.now() - 600_000).toISOString();
    let restoreId = '';
    const outcome = run({ to, pollInterval: '200ms' }, async (_w, handle) => {
      restoreId = handle.workflowId;
      await awaitingConfirmation(handle);
      await handle.executeUpdate(confirmRestoreUpdate, { args: [{ confirm: REF }] });
    });
    await expect(outcome).rejects.toMatchObject({ cause: { type: 'RestoreFailed', message: expect.stringContaining('RESTORE_FAILED') } });
    expect(restoreCalls()).toHaveLength(1);
    expect((await ops.pool.query('SELECT status FROM restores WHERE id = $1', [restoreId])).rows).toEqual([{ status: 'failed' }]);
    expect(sandbox.slack.messages().map((m) => JSON.stringify(m))).toEqual(
      expect.arrayContaining([expect.stringContaining('Point-in-time restore')]),
    );
    sandbox.supabase.setStatus(REF, 'ACTIVE_HEALTHY');
  });

  it('without the typed ref nothing is asked of Supabase', async () => {
    const to = new Date(Date.now() - 600_000).toISOString();
    const result = await run({ to, pollInterval: '200ms', confirmTimeout: '2s' }, async () => undefined);
    expect(result.stage).toBe('not-confirmed');
    expect(restoreCalls()).toEqual([]);
  });
});

describe('a point-in-time restore request is sent at most once', () => {
  let sandbox: Sandbox;
  let ops: ScratchDatabase;
  let deps: ActivityDeps;

  beforeAll(async () => {
    // Restores finish almost at once: a retry finds the project ACTIVE_HEALTHY again, as after a real restore it missed.
    ({ sandbox, ops, deps } = await openPitrSandbox('bkq_ops', 50));
  });
  afterAll(async () => {
    await Promise.all([sandbox?.stop(), ops?.drop()]);
  });

  it('a request Supabase accepted after the client gave up is not sent again by the retry', async () => {
    // Held past the 2 s request timeout, then carried out: the first attempt never hears that it was accepted.
    sandbox.inject({
      vendor: 'supabase',
      method: 'POST',
      path: `/v1/projects/${REF}/database/backups/restore-pitr`,
      kind: 'delay',
      delayMs: 2100,
    });
    const to = new Date(Date.now() - 600_000);
    to.setMilliseconds(0);
    const workflowId = uniqueName('restore-pitr-once');
    const outcome = await withTestWorker({ deps }, async (worker) => {
      const handle = await worker.client.workflow.start(pitrRestore, {
        taskQueue: worker.taskQueue,
        workflowId,
        args: [{ to: to.toISOString(), pollInterval: '200ms' } satisfies PitrRestoreInput],
      });
      for (let i = 0; i < 200 && (await handle.query(restoreStatusQuery)).stage !== 'awaiting-confirmation'; i++)
        await new Promise((r) => setTimeout(r, 100));
      await handle.executeUpdate(confirmRestoreUpdate, { args: [{ confirm: REF, by: 'jest' }] });
      return handle.result().then(
        (r) => r,
        (err: WorkflowFailedError) => err,
      );
    });
    // One restore reached Supabase; the retry said it could not tell instead of restoring a second time.
    expect(sandbox.supabase.restores(REF)).toHaveLength(1);
    expect(sandbox.calls({ vendor: 'supabase', method: 'POST' }).filter((c) => c.path.endsWith('/restore-pitr'))).toHaveLength(1);
    expect(outcome).toBeInstanceOf(WorkflowFailedError);
    expect((outcome as WorkflowFailedError).cause?.cause).toMatchObject({
      type: 'PitrRequestUnconfirmed',
      message: expect.stringContaining('No second request was sent'),
    });
    const { rows } = await ops.pool.query('SELECT status, pitr_request FROM restores WHERE id = $1', [workflowId]);
    expect(rows).toEqual([{ status: 'failed', pitr_request: 'sent' }]);
  });
});
