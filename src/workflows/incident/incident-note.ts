import { getExternalWorkflowHandle, log } from '@temporalio/workflow';
import { messageOf } from '../common';
import { noteSignal, RUNBOOK_ACTOR } from './contract';

/**
 * A line in a running incident's timeline, written by a playbook that runs beside it (a note by `runbook`).
 * An incident that has ended or never existed costs a warning, never the playbook.
 */
export async function noteToIncident(incidentId: string | undefined, text: string): Promise<void> {
  if (!incidentId) return;
  await getExternalWorkflowHandle(incidentId)
    .signal(noteSignal, { by: RUNBOOK_ACTOR, text })
    .catch((err: unknown) => log.warn('could not write to the incident timeline', { incidentId, error: messageOf(err) }));
}
