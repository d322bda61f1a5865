/**
 * Which backups to keep: the newest of each of the last `daily` days, `weekly` ISO weeks and `monthly`
 * months that have backups (grandfather-father-son), in the configured time zone. Two guards come first:
 * the newest verified backup is never deleted, and nothing is deleted unless a newer verified backup exists.
 * On-demand backups (manual, pre-restore) are kept for `daily` days by age.
 */

export interface RetentionCandidate {
  id: string;
  status: 'completed' | 'failed';
  startedAt: string;
  verified: boolean;
  /** Manual and pre-restore backups are kept `daily` days by age rather than competing for a day's slot. */
  onDemand?: boolean;
}

export interface RetentionPolicy {
  daily: number;
  weekly: number;
  monthly: number;
  timeZone: string;
}

export interface RetentionDecision {
  keep: { id: string; reasons: string[] }[];
  remove: { id: string; reason: string }[];
}

function localDate(at: Date, timeZone: string): { y: number; m: number; d: number } {
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).formatToParts(at);
  const get = (t: string) => Number(parts.find((p) => p.type === t)!.value);
  return { y: get('year'), m: get('month'), d: get('day') };
}

/** ISO 8601 week, e.g. "2025-W01" (the week with the year's first Thursday). */
function isoWeek({ y, m, d }: { y: number; m: number; d: number }): string {
  const date = new Date(Date.UTC(y, m - 1, d));
  const day = date.getUTCDay() || 7;
  date.setUTCDate(date.getUTCDate() + 4 - day);
  const yearStart = Date.UTC(date.getUTCFullYear(), 0, 1);
  const week = Math.ceil(((date.getTime() - yearStart) / 86_400_000 + 1) / 7);
  return `${date.getUTCFullYear()}-W${String(week).padStart(2, '0')}`;
}

export function decideRetention(
  candidates: readonly RetentionCandidate[],
  policy: RetentionPolicy,
  now: Date = new Date(),
): RetentionDecision {
  const newestFirst = [...candidates].sort((a, b) => Date.parse(b.startedAt) - Date.parse(a.startedAt));
  const reasons = new Map<string, string[]>();
  const keep = (id: string, why: string) => reasons.set(id, [...(reasons.get(id) ?? []), why]);

  const newestVerified = newestFirst.find((c) => c.status === 'completed' && c.verified);
  if (!newestVerified) {
    newestFirst.forEach((c) => keep(c.id, 'no verified backup yet'));
  } else {
    keep(newestVerified.id, 'newest verified backup');
    const verifiedAt = Date.parse(newestVerified.startedAt);
    for (const c of newestFirst) if (Date.parse(c.startedAt) > verifiedAt) keep(c.id, 'newer than the newest verified backup');

    // A backup taken by hand before a risky change (or before a restore) is not displaced by that day's scheduled one.
    for (const c of newestFirst) {
      if (c.onDemand && c.status === 'completed' && now.getTime() - Date.parse(c.startedAt) < policy.daily * 86_400_000)
        keep(c.id, `on demand, under ${policy.daily} days old`);
    }
    const completed = newestFirst.filter((c) => c.status === 'completed' && !c.onDemand);
    const buckets: [keyof Omit<RetentionPolicy, 'timeZone'>, (c: RetentionCandidate) => string][] = [
      [
        'daily',
        (c) => {
          const l = localDate(new Date(c.startedAt), policy.timeZone);
          return `${l.y}-${l.m}-${l.d}`;
        },
      ],
      ['weekly', (c) => isoWeek(localDate(new Date(c.startedAt), policy.timeZone))],
      [
        'monthly',
        (c) => {
          const l = localDate(new Date(c.startedAt), policy.timeZone);
          return `${l.y}-${l.m}`;
        },
      ],
    ];
    for (const [period, bucketOf] of buckets) {
      const seen = new Set<string>();
      for (const c of completed) {
        const bucket = bucketOf(c);
        if (seen.has(bucket)) continue;
        if (seen.size >= policy[period]) break;
        seen.add(bucket);
        keep(c.id, `${period} ${bucket}`);
      }
    }
  }

  const decision: RetentionDecision = { keep: [], remove: [] };
  for (const c of newestFirst) {
    const why = reasons.get(c.id);
    if (why) decision.keep.push({ id: c.id, reasons: why });
    else
      decision.remove.push({
        id: c.id,
        reason: c.status === 'failed' ? 'failed backup older than the newest verified backup' : 'outside the retention policy',
      });
  }
  return decision;
}
