import { ApplicationFailure, CancellationScope } from '@temporalio/workflow';
import type { AliasOutcome } from '../../activities/deploy';
import type { DeployProxies } from './proxies';

export interface RollbackJob {
  service: string;
  toDeploymentId: string;
  reason: string;
  pollIntervalMs: number;
}

/**
 * Rolling Back → Option 1, the steps both the rollback workflow and the deploy workflow's own rollback
 * take: production back to the target (asked once, never cancelled halfway), then production health
 * verified on it. A rollback job that does not succeed fails with `RollbackFailed`.
 */
export async function rollBackProduction(
  long: DeployProxies['long'],
  req: RollbackJob,
  on: { asked?(r: AliasOutcome): void; verifying?(): void } = {},
): Promise<{ healthy: boolean; detail: string }> {
  const { service, toDeploymentId, pollIntervalMs } = req;
  const r = await CancellationScope.nonCancellable(() => long.rollbackProduction(req));
  on.asked?.(r);
  if (!r.ok)
    throw ApplicationFailure.create({
      type: 'RollbackFailed',
      nonRetryable: true,
      message: `the rollback job to ${toDeploymentId} ended ${r.status}${r.message ? `: ${r.message}` : ''}`,
    });
  on.verifying?.();
  return long.verifyProduction({ service, deploymentId: toDeploymentId, pollIntervalMs });
}
