import type { Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import type { Alert } from '../../src/workflows/common/alerts';

export interface Recorded {
  /** Distinct incident workflow ids of the storm. */
  incidents: number;
  /** Executions, counting continue-as-new runs. */
  executions: number;
  /** `alerts` signals, i.e. Temporal calls that carried alerts. */
  signals: number;
  /** Distinct alert fingerprints found in the signals' payloads. */
  fingerprints: Set<string>;
  workflowIds: string[];
}

/** Reads back what Temporal holds for one storm: its incidents and every alert their histories carry. */
export async function recorded(client: Client, prefix: string, expected: number): Promise<Recorded> {
  const query = `WorkflowType = 'incident' AND WorkflowId STARTS_WITH '${prefix}'`;
  // Visibility lags a little behind: wait until the count stops moving.
  const deadline = Date.now() + 60_000;
  for (let last = -1, unchanged = 0; Date.now() < deadline;) {
    const { count } = await client.workflow.count(query);
    unchanged = count === last ? unchanged + 1 : 0;
    last = count;
    if ((count >= expected && unchanged >= 2) || unchanged >= 10) break;
    await new Promise((r) => setTimeout(r, 300));
  }
  const executions: { workflowId: string; runId: string }[] = [];
  for await (const wf of client.workflow.list({ query })) executions.push({ workflowId: wf.workflowId, runId: wf.runId });

  const fingerprints = new Set<string>();
  let signals = 0;
  let i = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (i < executions.length) {
        const { workflowId, runId } = executions[i++];
        const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
        for (const e of history.events ?? []) {
          const sig = e.workflowExecutionSignaledEventAttributes;
          if (sig?.signalName !== 'alerts') continue;
          signals++;
          for (const a of defaultPayloadConverter.fromPayload<Alert[]>(sig.input!.payloads![0])) fingerprints.add(a.fingerprint);
        }
      }
    }),
  );
  const workflowIds = [...new Set(executions.map((e) => e.workflowId))];
  return { incidents: workflowIds.length, executions: executions.length, signals, fingerprints, workflowIds };
}

/** Ends a storm's incidents so the next storm does not share the worker with their backlog. */
export async function terminateAll(client: Client, workflowIds: string[]): Promise<void> {
  let i = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (i < workflowIds.length) {
        const id = workflowIds[i++];
        await client.workflow
          .getHandle(id)
          .terminate('alert-storm benchmark finished')
          .catch(() => undefined);
      }
    }),
  );
}
