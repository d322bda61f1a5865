import { Context } from '@temporalio/activity';
import type { SelfCheckResult } from '../../workflows/self-check/contract';
import type { ActivityDeps } from '../deps';

export function createSelfCheckActivities(deps: Pick<ActivityDeps, 'ops'>) {
  return {
    /** Writes one row to the ops database and reads the server version back. */
    async recordSelfCheck(requestedBy: string): Promise<SelfCheckResult> {
      const { workflowId } = Context.current().info.workflowExecution ?? { workflowId: 'unknown' };
      const { rows } = await deps.ops.query<{ id: string; server_version: string; database: string }>(
        `INSERT INTO self_checks (requested_by, workflow_id, server_version)
         VALUES ($1, $2, current_setting('server_version'))
         RETURNING id, server_version, current_database() AS database`,
        [requestedBy, workflowId],
      );
      return { checkId: Number(rows[0].id), serverVersion: rows[0].server_version, database: rows[0].database };
    },
  };
}

export type SelfCheckActivities = ReturnType<typeof createSelfCheckActivities>;
