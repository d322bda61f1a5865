import type { IncidentRecord, IncidentState, TimelineEvent } from '../../workflows/incident/contract';
import type { ActivityDeps } from '../deps';
import { renderPostmortem } from './postmortem';

/** The incident's row, its timeline and its post-mortem in the ops database. */
export function createRecordActivities(deps: Pick<ActivityDeps, 'ops'>) {
  return {
    /** Upserts the incident row and appends timeline events; a retry inserts nothing twice. */
    async recordIncident(args: { record: IncidentRecord; events: TimelineEvent[] }): Promise<void> {
      const r = args.record;
      const db = await deps.ops.connect();
      try {
        await db.query('BEGIN');
        await db.query(
          `INSERT INTO incidents (id, workflow_id, dedup_key, title, severity, status, service, customer_facing, commander, opened_at,
             acknowledged_at, acknowledged_by, resolved_at, resolved_by, closed_at, statuspage_id, last_seq, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, now())
           ON CONFLICT (id) DO UPDATE SET
             title = EXCLUDED.title, severity = EXCLUDED.severity, status = EXCLUDED.status, service = EXCLUDED.service,
             customer_facing = EXCLUDED.customer_facing, commander = EXCLUDED.commander, acknowledged_at = EXCLUDED.acknowledged_at,
             acknowledged_by = EXCLUDED.acknowledged_by, resolved_at = EXCLUDED.resolved_at, resolved_by = EXCLUDED.resolved_by,
             closed_at = EXCLUDED.closed_at, statuspage_id = EXCLUDED.statuspage_id, last_seq = EXCLUDED.last_seq, updated_at = now()
           WHERE incidents.last_seq <= EXCLUDED.last_seq`,
          [
            r.chainId,
            r.workflowId,
            r.dedupKey,
            r.title,
            r.severity,
            r.status,
            r.service,
            r.customerFacing,
            r.commander ?? null,
            r.openedAt,
            r.acknowledgedAt ?? null,
            r.acknowledgedBy ?? null,
            r.resolvedAt ?? null,
            r.resolvedBy ?? null,
            r.closedAt ?? null,
            r.statuspageId ?? null,
            r.lastSeq,
          ],
        );
        if (args.events.length) {
          await db.query(
            `INSERT INTO incident_events (incident_id, seq, at, actor, kind, text, data)
             SELECT $1, e.seq, e.at, e.by, e.kind, e.text, e.data
             FROM jsonb_to_recordset($2::jsonb) AS e(seq integer, at timestamptz, by text, kind text, text text, data jsonb)
             ON CONFLICT (incident_id, seq) DO NOTHING`,
            [r.chainId, JSON.stringify(args.events)],
          );
        }
        await db.query('COMMIT');
      } catch (err) {
        await db.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        db.release();
      }
    },

    /** The post-mortem draft from the full stored timeline; stored (or replaced, after a reopen) in the ops database. */
    async storePostmortemDraft(args: { chainId: string; state: IncidentState }): Promise<{ actionItems: string[]; chars: number }> {
      const { rows } = await deps.ops.query<{
        seq: number;
        at: Date;
        actor: string;
        kind: TimelineEvent['kind'];
        text: string;
        data: Record<string, unknown> | null;
      }>('SELECT seq, at, actor, kind, text, data FROM incident_events WHERE incident_id = $1 ORDER BY seq', [args.chainId]);
      const events: TimelineEvent[] = rows.map((e) => ({
        seq: e.seq,
        at: e.at.toISOString(),
        by: e.actor,
        kind: e.kind,
        text: e.text,
        ...(e.data ? { data: e.data } : {}),
      }));
      const draft = renderPostmortem(args.state, events);
      await deps.ops.query(
        `INSERT INTO incident_postmortems (incident_id, markdown, action_items, drafted_at) VALUES ($1, $2, $3, now())
         ON CONFLICT (incident_id) DO UPDATE SET markdown = EXCLUDED.markdown, action_items = EXCLUDED.action_items, drafted_at = now()
         WHERE incident_postmortems.done_at IS NULL`,
        [args.chainId, draft.markdown, JSON.stringify(draft.actionItems)],
      );
      return { actionItems: draft.actionItems, chars: draft.markdown.length };
    },

    async completePostmortemRecord(args: {
      chainId: string;
      by: string;
      link?: string;
      rootCause?: string;
      actionItems?: string[];
    }): Promise<void> {
      await deps.ops.query(
        `UPDATE incident_postmortems SET done_at = COALESCE(done_at, now()), done_by = $2, link = COALESCE($3, link),
           root_cause = COALESCE($4, root_cause), action_items = COALESCE($5::jsonb, action_items)
         WHERE incident_id = $1`,
        [args.chainId, args.by, args.link ?? null, args.rootCause ?? null, args.actionItems ? JSON.stringify(args.actionItems) : null],
      );
    },
  };
}
