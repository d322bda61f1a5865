import { decideRetention, type RetentionCandidate } from '../../src/workflows/backup/retention';

const policy = { daily: 7, weekly: 4, monthly: 12, timeZone: 'UTC' };
const day = (n: number, hour = 3) => new Date(Date.UTC(2025, 0, 1, hour) + n * 86_400_000).toISOString();
/** One completed backup a day for `days` days, ids d0…d(days-1), oldest first. */
const daily = (days: number, verified: (i: number) => boolean): RetentionCandidate[] =>
  Array.from({ length: days }, (_, i) => ({ id: `d${i}`, status: 'completed' as const, startedAt: day(i), verified: verified(i) }));

describe('retention rules', () => {
  it('deletes nothing while no backup is verified', () => {
    expect(
      decideRetention(
        daily(60, () => false),
        policy,
      ).remove,
    ).toEqual([]);
  });

  it('keeps 7 daily, 4 weekly and 12 monthly, and everything newer than the newest verified backup', () => {
    const backups = daily(400, (i) => i === 395);
    const d = decideRetention(backups, policy);
    const kept = new Set(d.keep.map((k) => k.id));
    // Newer than the newest verified, and the newest verified itself.
    for (const id of ['d399', 'd398', 'd397', 'd396', 'd395']) expect(kept.has(id)).toBe(true);
    // Seven daily: d393…d399.
    for (let i = 393; i <= 399; i++) expect(kept.has(`d${i}`)).toBe(true);
    expect(kept.has('d392')).toBe(false);
    // Twelve months and four weeks add a few older ones, never more than the policy allows.
    expect(d.keep.length).toBeLessThanOrEqual(7 + 4 + 12);
    expect(d.keep.length).toBeGreaterThan(12);
    expect(kept.has('d0')).toBe(false);
    expect(d.remove.length + d.keep.length).toBe(400);
  });

  it('never deletes the newest verified backup, even when the policy alone would', () => {
    const backups = daily(30, (i) => i === 2);
    const d = decideRetention(backups, { daily: 1, weekly: 0, monthly: 0, timeZone: 'UTC' });
    expect(d.keep.map((k) => k.id)).toContain('d2');
    // Everything after it stays too: no newer verified backup exists for them.
    for (let i = 3; i < 30; i++) expect(d.keep.map((k) => k.id)).toContain(`d${i}`);
    expect(d.remove.map((r) => r.id).sort()).toEqual(['d0', 'd1']);
  });

  it('buckets by day in the configured time zone', () => {
    // 23:30 UTC on Jan 1 and 00:30 UTC on Jan 2 are both Jan 2 in Tokyo and different days in UTC.
    const backups: RetentionCandidate[] = [
      { id: 'late', status: 'completed', startedAt: '2025-01-01T23:30:00Z', verified: false },
      { id: 'early', status: 'completed', startedAt: '2025-01-02T00:30:00Z', verified: false },
      { id: 'check', status: 'completed', startedAt: '2025-01-05T00:30:00Z', verified: true },
    ];
    const one = { daily: 2, weekly: 0, monthly: 0 };
    expect(decideRetention(backups, { ...one, timeZone: 'UTC' }).remove.map((r) => r.id)).toEqual(['late']);
    expect(decideRetention(backups, { ...one, timeZone: 'Asia/Tokyo' }).remove.map((r) => r.id)).toEqual(['late']);
    expect(decideRetention(backups, { daily: 3, weekly: 0, monthly: 0, timeZone: 'UTC' }).remove).toEqual([]);
    expect(decideRetention(backups, { daily: 3, weekly: 0, monthly: 0, timeZone: 'Asia/Tokyo' }).remove.map((r) => r.id)).toEqual(['late']);
  });

  it('keeps on-demand backups for `daily` days by age, beside the scheduled one of their day', () => {
    const now = new Date(day(10, 12));
    const backups: RetentionCandidate[] = [
      { id: 'manual-old', status: 'completed', startedAt: day(1, 10), verified: false, onDemand: true },
      { id: 'manual', status: 'completed', startedAt: day(9, 10), verified: false, onDemand: true },
      { id: 'daily', status: 'completed', startedAt: day(9, 23), verified: false },
      { id: 'verified', status: 'completed', startedAt: day(10), verified: true },
    ];
    const d = decideRetention(backups, { daily: 2, weekly: 0, monthly: 0, timeZone: 'UTC' }, now);
    expect(d.remove.map((r) => r.id)).toEqual(['manual-old']);
    expect(d.keep.find((k) => k.id === 'manual')?.reasons).toEqual(['on demand, under 2 days old']);
  });

  it('removes failed backups older than the newest verified one', () => {
    const backups: RetentionCandidate[] = [
      { id: 'f-old', status: 'failed', startedAt: day(0), verified: false },
      { id: 'ok', status: 'completed', startedAt: day(1), verified: true },
      { id: 'f-new', status: 'failed', startedAt: day(2), verified: false },
    ];
    const d = decideRetention(backups, policy);
    expect(d.remove).toEqual([{ id: 'f-old', reason: 'failed backup older than the newest verified backup' }]);
  });
});
