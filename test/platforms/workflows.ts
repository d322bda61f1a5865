/** A test-only workflow: runs one activity under a given retry policy and reports how it ended. */
import { ActivityFailure, ApplicationFailure, proxyActivities } from '@temporalio/workflow';

export interface CallOutcome {
  ok: boolean;
  value?: unknown;
  type?: string | null;
  message?: string;
  nonRetryable?: boolean;
}

export async function runPlatformActivity(
  activity: string,
  args: unknown[],
  opts: { maximumAttempts: number; initialIntervalMs: number; startToCloseMs: number },
): Promise<CallOutcome> {
  const acts = proxyActivities<Record<string, (...a: unknown[]) => Promise<unknown>>>({
    startToCloseTimeout: opts.startToCloseMs,
    retry: { maximumAttempts: opts.maximumAttempts, initialInterval: opts.initialIntervalMs, backoffCoefficient: 1 },
  });
  try {
    return { ok: true, value: await acts[activity](...args) };
  } catch (err) {
    if (err instanceof ActivityFailure && err.cause instanceof ApplicationFailure) {
      return { ok: false, type: err.cause.type, message: err.cause.message, nonRetryable: err.cause.nonRetryable ?? undefined };
    }
    throw err;
  }
}
