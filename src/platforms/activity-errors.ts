import { ApplicationFailure } from '@temporalio/common';
import { PlatformError, type PlatformErrorKind } from './errors';

/** ApplicationFailure types workflows can branch on (ActivityFailure.cause.type). */
export const PLATFORM_FAILURE_TYPE: Record<PlatformErrorKind, string> = {
  'rate-limited': 'PlatformRateLimited',
  unavailable: 'PlatformUnavailable',
  auth: 'PlatformAuth',
  'not-found': 'PlatformNotFound',
  rejected: 'PlatformRejected',
  contract: 'PlatformContract',
};

/**
 * Maps a PlatformError onto Temporal's retry machinery instead of sleeping inside the activity:
 * a rate limit retries after the delay the platform named, outages retry on the policy's backoff,
 * everything else fails at once. Other errors pass through unchanged.
 */
export function toActivityFailure(err: unknown): unknown {
  if (!(err instanceof PlatformError)) return err;
  const delay = err.retryAfterMs !== undefined && err.retryAfterMs > 0 ? err.retryAfterMs : undefined;
  return ApplicationFailure.create({
    type: PLATFORM_FAILURE_TYPE[err.kind],
    message: err.message,
    nonRetryable: !err.retryable,
    ...(err.retryable && delay !== undefined ? { nextRetryDelay: delay } : {}),
    details: [err.toJSON()],
  });
}

/** Wrap every platform call of an activity in this. */
export async function callPlatform<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toActivityFailure(err);
  }
}
