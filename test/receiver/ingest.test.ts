/**
 * What outlives one request: Vercel delivery ids across a receiver restart (and never for a delivery that got
 * a 503), and the `raiseAlerts` activity the service's own checks use, against the run's real Temporal.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { createAlertActivities } from '../../src/activities/incident/alerts';
import { incidentWorkflowId } from '../../src/workflows/common/alerts';
import { uniqueName } from '../harness';
import { fileTemporalClient } from '../harness/fixtures';
import {
  post,
  receiverConfig,
  signalledAlerts,
  startOfflineReceiver,
  startTestReceiver,
  vercelFixture,
  vercelHeaders,
  workflowExists,
} from './helpers';

type VercelPayload = { id: string; payload: { project: { id: string } } };

const client = fileTemporalClient();

test('Vercel: a delivery refused with 503 is accepted on retry; once recorded, its replay is ignored even after a restart', async () => {
  const config = receiverConfig({ temporalTimeout: '1s' });
  const deliveryJournal = path.join(mkdtempSync(path.join(os.tmpdir(), 'receiver-')), 'vercel-deliveries.log');
  const failed = vercelFixture<VercelPayload>('vercel-deployment-error');
  failed.id = uniqueName('dlv');
  failed.payload.project.id = uniqueName('prj');
  const raw = JSON.stringify(failed);
  const id = incidentWorkflowId(`vercel:${failed.payload.project.id}:deployment.error`);
  const broken = await startOfflineReceiver({ config, deliveryJournal });
  try {
    expect((await post(`${broken.url}/webhooks/vercel`, raw, vercelHeaders(raw))).status).toBe(503);
  } finally {
    await broken.stop();
  }
  expect(await workflowExists(client, id)).toBe(false);

  const first = await startTestReceiver({ config, client, deliveryJournal });
  try {
    const retried = await post(`${first.url}/webhooks/vercel`, raw, vercelHeaders(raw));
    expect(retried.status).toBe(202);
    expect(retried.body.incidents).toEqual([id]);
  } finally {
    await first.stop();
  }

  const restarted = await startTestReceiver({ config, client, deliveryJournal });
  try {
    const replay = await post(`${restarted.url}/webhooks/vercel`, raw, vercelHeaders(raw));
    expect(replay.status).toBe(200);
    expect(replay.body.ignored).toContain(failed.id);
    const metrics = await fetch(`${restarted.url}/metrics`).then((r) => r.text());
    expect(metrics).toMatch(/runbook_webhook_replays_total\{source="vercel"\} 1/);
  } finally {
    await restarted.stop();
  }
  expect(await signalledAlerts(client, id)).toHaveLength(1);
});

describe('raiseAlerts activity', () => {
  const config = receiverConfig();
  const activities = () => createAlertActivities({ config, temporal: { client, taskQueue: config.temporal.taskQueue } });

  test('opens or joins the incident of each dedup key, filling in what the service leaves out', async () => {
    const key = `health:${uniqueName('javari-web')}`;
    const { raiseAlerts } = activities();
    const first = await raiseAlerts([
      { dedupKey: key, status: 'firing', summary: 'Health endpoint returned 503', service: 'javari-web', severity: 'P1' },
    ]);
    const again = await raiseAlerts([
      { dedupKey: key, status: 'firing', summary: 'Health endpoint returned 503', service: 'javari-web', severity: 'P1' },
      {
        source: 'deploy-watch',
        dedupKey: key,
        fingerprint: 'error-rate',
        status: 'firing',
        summary: 'error rate 7%',
        startsAt: '2025-11-20T14:00:00Z',
        receivedAt: '2025-11-20T14:00:01Z',
      },
    ]);
    const id = incidentWorkflowId(key);
    expect(first).toEqual({ incidents: [id], accepted: 1 });
    expect(again).toEqual({ incidents: [id], accepted: 2 });
    const desc = await client.workflow.getHandle(id).describe();
    expect(desc.taskQueue).toBe(config.temporal.taskQueue);
    const batches = await signalledAlerts(client, id);
    expect(batches).toHaveLength(2);
    expect(batches[0][0]).toMatchObject({ source: 'runbook', fingerprint: key, severity: 'P1', service: 'javari-web' });
    expect(batches[1][1]).toMatchObject({ source: 'deploy-watch', fingerprint: 'error-rate', startsAt: '2025-11-20T14:00:00Z' });
  });

  test('bad alerts fail without retries, naming the field, and start nothing', async () => {
    const key = uniqueName('bad');
    const { raiseAlerts } = activities();
    const err = await raiseAlerts([{ dedupKey: key, status: 'burning' as 'firing', summary: '' }]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect(err).toMatchObject({ type: 'InvalidInput', nonRetryable: true });
    expect((err as ApplicationFailure).details).toEqual([expect.stringMatching(/^0\.status: /), expect.stringMatching(/^0\.summary: /)]);
    expect(await workflowExists(client, incidentWorkflowId(key))).toBe(false);
  });
});
