import { ApplicationFailure } from '@temporalio/common';
import type { z } from 'zod';

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
  throw ApplicationFailure.create({
    type: 'InvalidInput',
    nonRetryable: true,
    message: `invalid ${what}: ${problems.join('; ')}`,
    details: problems,
  });
}
