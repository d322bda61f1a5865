/**
 * From HTTP to the pager: an Alertmanager group refused with 503 while Temporal is down, then retried,
 * repeated and sent by both members of an HA pair, runs the real incident workflow once and pages once.
 */
import { alertsSignal, incidentStateQuery } from '../../src/workflows/incident/contract';
import { startReceiver, type StartedReceiver } from '../../src/receiver/server';
import { incidentWorkflowId } from '../../src/workflows/common/alerts';
import { startTestWorker, uniqueName, type TestWorker } from '../harness';
import { incidentConfig, incidentStack, pdTriggers, waitForState, type IncidentStack } from '../incident/helpers';
import { bearer, env, fixture, post, runsOf, unreachableClient } from './helpers';

type AmPayload = { groupKey: string; [k: string]: unknown };

let stack: IncidentStack;
let worker: TestWorker;
let rcv: StartedReceiver;
const config = incidentConfig({ flapGuard: 60_000 });
config.temporal.taskQueue = uniqueName('receiver_incident');
config.webhooks.temporalTimeout = 1_000;

beforeAll(async () => {
  stack = await incidentStack(config);
  worker = await startTestWorker({ deps: stack.deps, taskQueue: config.temporal.taskQueue });
  rcv = await startReceiver({ config, client: worker.client, env, port: 0, host: '127.0.0.1', deliveryJournal: null });
});
afterAll(async () => {
  await rcv?.stop();
  await worker?.close();
  await stack?.close();
});

test('a retry after 503, a repeat and an HA duplicate → one incident, one PagerDuty trigger', async () => {
  const body = fixture<AmPayload>('alertmanager-firing');
  body.groupKey = `${body.groupKey}{run="${uniqueName('g')}"}`;
  const id = incidentWorkflowId(`alertmanager:${body.groupKey}`);
  const url = `${rcv.url}/webhooks/alertmanager`;

  const down = await unreachableClient();
  const broken = await startReceiver({ config, client: down.client, env, port: 0, host: '127.0.0.1', deliveryJournal: null });
  try {
    expect((await post(`${broken.url}/webhooks/alertmanager`, body, bearer())).status).toBe(503);
  } finally {
    await broken.stop();
    await down.close();
  }

  await worker.run(async () => {
    const answers = [await post(url, body, bearer())];
    const handle = worker.client.workflow.getHandle(id);
    await waitForState(handle, (s) => s.escalation.pages.length === 1, 'the first page');
    answers.push(await post(url, body, bearer())); // Alertmanager's repeat_interval
    answers.push(...(await Promise.all([post(url, body, bearer()), post(url, body, bearer())]))); // both HA members
    for (const a of answers) expect(a).toMatchObject({ status: 202, body: { incidents: [id], accepted: 2 } });

    // Every delivery reached the workflow before we count pages.
    const signals = (await handle.fetchHistory()).events!.filter(
      (e) => e.workflowExecutionSignaledEventAttributes?.signalName === alertsSignal.name,
    ).length;
    const state = await waitForState(
      handle,
      (s) => Object.values(s.alerts).reduce((n, a) => n + (a.deliveries ?? 0), 0) >= signals * 2,
      'all deliveries recorded',
    );
    expect(state.severity).toBe('P0');
    expect(Object.keys(state.alerts).sort()).toEqual(['5f1b2c3d4e5f6a7b', 'a9b8c7d6e5f40312']);
    expect((await handle.query(incidentStateQuery)).escalation.pages).toHaveLength(1);
  });
  expect(await runsOf(worker.client, id)).toBe(1);
  expect(pdTriggers(stack.sandbox, id)).toHaveLength(1);
});
