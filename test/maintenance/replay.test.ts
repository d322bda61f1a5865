import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Worker } from '@temporalio/worker';
import { quietRuntime, testEnv } from '../harness';

/**
 * Histories of healthCheck and maintenance runs recorded from `npm start` (the embedded stack and sandbox,
 * `temporal workflow show --output json`), replayed against the current workflow code: a change that would
 * break a run in flight fails here instead of on a worker.
 */
const DIR = path.join(__dirname, 'histories');
const histories = readdirSync(DIR).filter((f) => f.endsWith('.json'));
type History = { workflowId: string; events: { eventType: string }[] };
const load = (file: string) => JSON.parse(readFileSync(path.join(DIR, file), 'utf8')) as History;

describe('healthCheck and maintenance history replay', () => {
  beforeAll(quietRuntime);

  it('has histories with alert transitions, a heartbeating cleanup and a child verifyBackup', () => {
    expect(histories.sort()).toEqual([
      'health-firing.json',
      'health-resolved.json',
      'maintenance-daily.json',
      'maintenance-monthly.json',
      'maintenance-weekly.json',
    ]);
    const types = (f: string) => new Set(load(f).events.map((e) => e.eventType));
    expect(types('maintenance-monthly.json')).toContain('EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED');
    for (const f of histories) expect(types(f)).toContain('EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED');
  });

  it.each(histories)('replays %s with the current code', async (file) => {
    const history = load(file);
    await Worker.runReplayHistory({ workflowBundle: { codePath: testEnv.workflowBundle } }, history, history.workflowId);
  });
});
