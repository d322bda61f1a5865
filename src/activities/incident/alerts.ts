import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import { AlertIngestor } from '../../receiver/ingest';
import { completeAlert } from '../../receiver/normalize/generic';
import { describeIssues, invalidInput, raisedAlertSchema, type AlertsAccepted, type RaisedAlertInput } from '../../workflows/common';
import type { ActivityDeps } from '../deps';

const raisedAlerts = z.array(raisedAlertSchema).min(1).max(1000);

/**
 * The service's own checks (health checks, deploy watch, backup verification) raise alerts through the same
 * path as webhooks: normalized, coalesced per dedup key, and signal-with-start into the key's incident.
 */
export function createAlertActivities(deps: Pick<ActivityDeps, 'config' | 'temporal'>) {
  let ingestor: AlertIngestor | undefined;
  return {
    /** Opens or joins the incident of each alert's dedup key. `source` defaults to "runbook". */
    async raiseAlerts(alerts: RaisedAlertInput[]): Promise<AlertsAccepted> {
      const parsed = raisedAlerts.safeParse(alerts);
      if (!parsed.success) {
        const problems = describeIssues(parsed.error.issues);
        throw invalidInput(`invalid alerts: ${problems.join('; ')}`, problems);
      }
      if (!deps.temporal) {
        throw ApplicationFailure.create({
          type: 'NotConfigured',
          nonRetryable: true,
          message: 'raiseAlerts needs a Temporal client in the activity dependencies',
        });
      }
      const { client, taskQueue } = deps.temporal;
      const hooks = deps.config.webhooks;
      ingestor ??= new AlertIngestor({
        client,
        taskQueue,
        maxBatch: hooks.maxBatch,
        maxConcurrentCalls: hooks.maxConcurrentCalls,
        maxQueuedAlerts: hooks.maxQueuedAlerts,
        timeoutMs: hooks.temporalTimeout,
        severityPolicy: deps.config.incidents,
        // A few alerts a minute, each meant to be recorded: no memory of repeats.
        repeats: false,
      });
      const now = new Date();
      // An unreachable Temporal fails the attempt; the activity's retry policy tries again.
      return ingestor.ingest(parsed.data.map((a) => completeAlert(a, 'runbook', now)));
    },
  };
}
