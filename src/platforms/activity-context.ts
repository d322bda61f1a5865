import { Context } from '@temporalio/activity';

/** The running activity's context, or undefined when called outside an activity (CLI, tests). */
export function currentActivity(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined;
  }
}

/**
 * The abort signal of one outbound request: its timeout, plus the running activity's cancellation.
 * After a failure, `rethrowIfCancelled` surfaces the activity's CancelledFailure instead of a network error.
 */
export function requestSignal(timeoutMs: number): { signal: AbortSignal; timedOut(): boolean; rethrowIfCancelled(): void } {
  const activity = currentActivity();
  const timeout = AbortSignal.timeout(timeoutMs);
  return {
    signal: activity ? AbortSignal.any([timeout, activity.cancellationSignal]) : timeout,
    timedOut: () => timeout.aborted,
    rethrowIfCancelled() {
      if (activity?.cancellationSignal.aborted) throw activity.cancellationSignal.reason;
    },
  };
}
