import { z } from 'zod';
import { msToNumber, type Duration } from '@temporalio/common/lib/time';

/**
 * A duration written as milliseconds or as a string such as "30s", "15m", "1h", "2d".
 * Parsed to milliseconds so workflows compute with plain numbers.
 */
export const durationMs = z.union([z.number().int().nonnegative(), z.string().min(1)]).transform((value, ctx) => {
  if (typeof value === 'number') return value;
  try {
    const n = msToNumber(value as Duration);
    if (!Number.isFinite(n) || n < 0) throw new Error('not finite');
    return n;
  } catch {
    ctx.addIssue({ code: 'custom', message: `"${value}" is not a duration (use e.g. "30s", "15m", "1h", "2d")` });
    return z.NEVER;
  }
});

export function formatDuration(ms: number): string {
  if (ms % 86_400_000 === 0 && ms > 0) return `${ms / 86_400_000}d`;
  if (ms % 3_600_000 === 0 && ms > 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0 && ms > 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0 && ms > 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}
