import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { DeterminismViolationError } from '@temporalio/workflow';
import { Worker } from '@temporalio/worker';
import { quietRuntime, testEnv } from '../harness';
import { HISTORIES_DIR } from './helpers';

/**
 * Recorded incident histories (RECORD_INCIDENT_HISTORIES=1, see helpers.recordHistory) replayed against the current
 * workflow code: a change that would break a running incident fails here instead of in production.
 */
const histories = readdirSync(HISTORIES_DIR).filter((f) => f.endsWith('.json'));
const load = (file: string) =>
  JSON.parse(readFileSync(path.join(HISTORIES_DIR, file), 'utf8')) as { workflowId: string; events: { eventType: string }[] };

describe('incident history replay', () => {
  beforeAll(quietRuntime);

  it('has recorded histories that exercise updates, timers, activities and a child workflow', () => {
    expect(histories).toEqual(expect.arrayContaining(['lifecycle.json', 'flapping.json', 'diagnosis.json']));
    const types = new Set(load('lifecycle.json').events.map((e) => e.eventType));
    for (const t of [
      'EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED',
      'EVENT_TYPE_TIMER_FIRED',
      'EVENT_TYPE_ACTIVITY_TASK_COMPLETED',
      'EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED',
      'EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED',
    ]) {
      expect(types).toContain(t);
    }
  });

  it.each(histories)('replays %s with the current code', async (file) => {
    const history = load(file);
    await Worker.runReplayHistory({ workflowBundle: { codePath: testEnv.workflowBundle } }, history, history.workflowId);
  });

  it('would catch a change that does not match the history', async () => {
    // The same history claimed by another workflow type must not replay: proof that replay compares commands.
    const history = load('lifecycle.json') as ReturnType<typeof load> & {
      events: { workflowExecutionStartedEventAttributes?: { workflowType: { name: string } } }[];
    };
    history.events[0].workflowExecutionStartedEventAttributes!.workflowType.name = 'selfCheck';
    await expect(
      Worker.runReplayHistory({ workflowBundle: { codePath: testEnv.workflowBundle } }, history, history.workflowId),
    ).rejects.toThrow(DeterminismViolationError);
  });
});
