import { setCurrentDetails, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import { RunbookKind, RunbookService, RunbookSeverity, RunbookStage, RunbookStatus } from './search-attributes';

/** What a run shows in the Temporal UI's list (search attributes) and on its page (current details). */
export interface Published {
  kind?: string;
  service?: string;
  severity?: string;
  status?: string;
  stage?: string;
  /** Markdown shown as the run's current details. */
  details?: string;
}

/**
 * Publishes a run's state. Search attributes are upserted only where the start set `RunbookKind`: the
 * time-skipping test server knows no custom attributes, and every start of this service sets it.
 */
export function publish(p: Published): void {
  if (p.details !== undefined) setCurrentDetails(p.details);
  if (workflowInfo().typedSearchAttributes.get(RunbookKind) === undefined) return;
  const updates = [
    ...(p.kind !== undefined ? [{ key: RunbookKind, value: p.kind }] : []),
    ...(p.service !== undefined ? [{ key: RunbookService, value: p.service }] : []),
    ...(p.severity !== undefined ? [{ key: RunbookSeverity, value: p.severity }] : []),
    ...(p.status !== undefined ? [{ key: RunbookStatus, value: p.status }] : []),
    ...(p.stage !== undefined ? [{ key: RunbookStage, value: p.stage }] : []),
  ];
  if (updates.length) upsertSearchAttributes(updates);
}
