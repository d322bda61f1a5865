/**
 * The incident's timeline and its record in the ops database, which keeps both beyond Temporal's
 * retention. The workflow appends events; `createRecorder` writes them, in order, as they come.
 */
import { condition, proxyActivities } from '@temporalio/workflow';
import type { IncidentActivities } from '../../activities/incident';
import { formatElapsed, type IncidentRecord, type IncidentState, type TimelineEvent, type TimelineKind } from './contract';

/** The ops-database record must land eventually: retried until it does. */
export const records = proxyActivities<IncidentActivities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', maximumInterval: '30s' },
});

/** Timeline events kept in workflow state across continue-as-new; the full timeline is in the ops database. */
const TIMELINE_CARRIED = 200;

export function addEvent(
  s: IncidentState,
  at: number,
  by: string,
  kind: TimelineKind,
  text: string,
  data?: Record<string, unknown>,
): TimelineEvent {
  const event: TimelineEvent = { seq: s.nextSeq++, at: new Date(at).toISOString(), by, kind, text, ...(data ? { data } : {}) };
  s.timeline.push(event);
  return event;
}

/** "12m": how long ago `fromIso` was, for the timeline's texts. */
export function since(fromIso: string, toMs: number): string {
  return formatElapsed(toMs - Date.parse(fromIso));
}

/** The incident's row; `chainId` (the first run id) names it across continue-as-new. */
export function incidentRecord(s: IncidentState, chainId: string): IncidentRecord {
  return {
    chainId,
    workflowId: s.incidentId,
    dedupKey: s.dedupKey,
    title: s.title,
    severity: s.severity,
    status: s.status,
    service: s.service,
    customerFacing: s.customerFacing,
    openedAt: s.openedAt,
    lastSeq: s.nextSeq - 1,
    ...(s.commander ? { commander: s.commander } : {}),
    ...(s.acknowledgedAt ? { acknowledgedAt: s.acknowledgedAt, acknowledgedBy: s.acknowledgedBy } : {}),
    ...(s.resolvedAt ? { resolvedAt: s.resolvedAt, resolvedBy: s.resolvedBy } : {}),
    ...(s.closedAt ? { closedAt: s.closedAt } : {}),
    ...(s.statuspage ? { statuspageId: s.statuspage.id } : {}),
  };
}

export function createRecorder(s: IncidentState, chainId: string) {
  let recording = false;
  return {
    /** Writes new timeline events and the incident row, in order, whenever the timeline grows. Runs for the whole run. */
    async keep(): Promise<void> {
      for (;;) {
        await condition(() => s.nextSeq > s.recordedSeq && Boolean(s.detectedAt));
        recording = true;
        const upTo = s.nextSeq;
        const events = s.timeline.filter((e) => e.seq >= s.recordedSeq && e.seq < upTo);
        await records.recordIncident({ record: { ...incidentRecord(s, chainId), lastSeq: upTo - 1 }, events });
        s.recordedSeq = upTo;
        recording = false;
      }
    },
    /** Until every event so far is in the ops database. */
    async recorded(): Promise<void> {
      await condition(() => !recording && s.recordedSeq === s.nextSeq);
    },
  };
}

/** Before continue-as-new: only the recent timeline travels on; the rest stays in the ops database. */
export function trimCarriedTimeline(s: IncidentState): void {
  const keep = s.timeline.slice(-TIMELINE_CARRIED);
  s.timelineOffset += s.timeline.length - keep.length;
  s.timeline = keep;
}
