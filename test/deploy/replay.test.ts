import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { historyFromJSON, historyToJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { testEnv } from '../harness';
import { FAST, openStage, ROLLBACK_FROM_INCIDENT, rollbackRequestTo, waitForProgress } from './stage';

/**
 * Recorded deploy and rollback histories replayed with the current workflow code: a change that would break
 * determinism for runs in flight fails here, not in a live deployment. `RECORD_DEPLOY_HISTORIES=1`
 * records them again (after a deliberate, patched() change).
 */
const DIR = path.join(__dirname, '..', 'fixtures', 'deploy-histories');

const record = process.env.RECORD_DEPLOY_HISTORIES === '1';

(record ? describe : describe.skip)('record deploy histories', () => {
  it('records a staged promotion breached at 50 % and a run with an approval and an early end of the watch', async () => {
    mkdirSync(DIR, { recursive: true });
    const staged = await openStage();
    try {
      const h = await staged.start({
        service: 'javari-web',
        ref: 'main',
        sha: '3333333333333333333333333333333333333333',
        requestedBy: 'roy',
        durations: FAST,
      });
      await staged.worker.run(async () => {
        const p = await waitForProgress(h, (x) => x.stage === 'watching' && x.watch?.percent === 50);
        staged.sandbox.apps.degrade(p.production!.id, { errorRate: 30 });
        await h.result();
      });
      writeFileSync(path.join(DIR, 'staged-breach-at-50.json'), historyToJSON(await h.fetchHistory()));
    } finally {
      await staged.close();
    }
    const plain = await openStage({ service: { rollingRelease: undefined } });
    try {
      const h = await plain.start({
        service: 'javari-web',
        ref: 'main',
        requestedBy: 'roy',
        requireApproval: true,
        durations: { ...FAST, watch: 60_000 },
      });
      await plain.worker.run(async () => {
        await waitForProgress(h, (x) => x.stage === 'awaiting-approval');
        await h.executeUpdate('approve', { args: [{ by: 'ana' }] });
        await waitForProgress(h, (x) => x.stage === 'watching' && (x.watch?.samplesTaken ?? 0) >= 1);
        await h.executeUpdate('endWatch', { args: [{ by: 'ana', reason: 'looks good' }] });
        await h.result();
      });
      writeFileSync(path.join(DIR, 'approval-and-end-watch.json'), historyToJSON(await h.fetchHistory()));
    } finally {
      await plain.close();
    }
  }, 120_000);
});

(record ? describe : describe.skip)('record rollback histories', () => {
  it('records a rollback to the previous deployment (from an incident), one that finds production already there, and one whose target is unknown', async () => {
    mkdirSync(DIR, { recursive: true });
    const stage = await openStage({ service: { rollingRelease: undefined } });
    try {
      const list = await stage.deps.platforms!.vercel.listDeployments({ projectId: 'crav-javari', target: 'production' });
      const older = list.deployments[1].uid;
      await stage.worker.run(async () => {
        const first = await stage.startRollback(ROLLBACK_FROM_INCIDENT);
        await first.result();
        writeFileSync(path.join(DIR, 'rollback-to-previous.json'), historyToJSON(await first.fetchHistory()));
        const second = await stage.startRollback(rollbackRequestTo(older));
        await second.result();
        writeFileSync(path.join(DIR, 'rollback-already-current.json'), historyToJSON(await second.fetchHistory()));
        const third = await stage.startRollback({
          service: 'javari-web',
          toDeploymentId: 'dpl_nosuchdeployment',
          reason: 'wrong id',
          requestedBy: 'ana',
          durations: FAST,
        });
        await expect(third.result()).rejects.toThrow();
        writeFileSync(path.join(DIR, 'rollback-unknown-target.json'), historyToJSON(await third.fetchHistory()));
      });
    } finally {
      await stage.close();
    }
  }, 120_000);
});

describe('deploy and rollback histories replay with the current workflow code', () => {
  const files = readdirSync(DIR).filter((f) => f.endsWith('.json'));
  it.each(files)('%s', async (file) => {
    const history = historyFromJSON(JSON.parse(readFileSync(path.join(DIR, file), 'utf8')));
    await Worker.runReplayHistory({ workflowBundle: { codePath: testEnv.workflowBundle } }, history, file);
  });
});
