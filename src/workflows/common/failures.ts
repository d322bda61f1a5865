import { ActivityFailure, ApplicationFailure, rootCause } from '@temporalio/common';
import type { z } from 'zod';

/** What went wrong, without the "Activity task failed" wrapping: the deepest cause's message. */
export function messageOf(err: unknown): string {
  return rootCause(err) ?? (err instanceof Error ? err.message : String(err));
}

/**
 * Bad input or configuration, or a request the workflow refuses: not retried, and the message names
 * the field. The one way workflows and activities build it.
 */
export function invalidInput(message: string, details?: unknown[]): ApplicationFailure {
  return ApplicationFailure.create({ type: 'InvalidInput', nonRetryable: true, message, ...(details ? { details } : {}) });
}

/** An activity's InvalidInput failure, unwrapped so the workflow fails with the activity's own reason. */
export function rethrowInvalidInput(err: unknown): never {
  if (err instanceof ActivityFailure && err.cause instanceof ApplicationFailure && err.cause.type === 'InvalidInput') throw err.cause;
  throw err;
}

/** "field.path: reason" for each problem, the format every bad input is reported in. */
export function describeIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.map((i) => `${i.path.length ? i.path.map(String).join('.') : '(input)'}: ${i.message}`);
}

/**
 * Parses workflow or update input. A bad input fails with a non-retryable ApplicationFailure of type
 * `InvalidInput` naming each bad field, instead of a workflow task retrying forever on a ZodError.
 */
export function parseInput<S extends z.ZodType>(schema: S, raw: unknown, what = 'input'): z.infer<S> {
  const result = schema.safeParse(raw);
  if (result.success) return result.data;
  const problems = describeIssues(result.error.issues);
  throw invalidInput(`invalid ${what}: ${problems.join('; ')}`, problems);
}
