import { appendFileSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { LRUCache } from 'lru-cache';
import { formatDuration } from '../workflows/common/duration';

export interface DeliveryMemoryOptions {
  /** Most ids remembered; the oldest are forgotten first. */
  max: number;
  /** How long an id is remembered. */
  ttlMs: number;
  /**
   * Append-only journal that lets a restart remember recent ids. Appends are synchronous (deliveries that carry
   * ids are deploy events, a few a minute) but not fsynced: a machine crash can forget the last few ids, and a
   * replay of one of those only repeats an alert in the incident it already joined.
   */
  journal?: string;
  now?: () => number;
}

/**
 * Webhook delivery ids already recorded, for sources without a signed timestamp (Vercel): a replayed delivery
 * is recognised and ignored. An id is remembered only once its alerts are durable, so a sender's retry after
 * a 503 still goes through.
 */
export class DeliveryMemory {
  private readonly cache: LRUCache<string, number>;
  private readonly pending = new Map<string, Promise<unknown>>();
  private readonly now: () => number;
  private appended = 0;

  constructor(private readonly opts: DeliveryMemoryOptions) {
    this.now = opts.now ?? Date.now;
    this.cache = new LRUCache<string, number>({ max: opts.max, ttl: opts.ttlMs, ttlResolution: 0, perf: { now: this.now } });
    if (opts.journal) {
      this.load(opts.journal);
      this.compact();
    }
  }

  /** Runs `record` once per id. Replays, and duplicates arriving while the first is still in flight, get `replayed`. */
  async once<T>(id: string, record: () => Promise<T>): Promise<{ replayed: true } | { replayed: false; result: T }> {
    if (this.cache.has(id)) return { replayed: true };
    const inFlight = this.pending.get(id);
    if (inFlight) {
      await inFlight; // the original's failure fails the duplicate too, so the sender retries
      return { replayed: true };
    }
    const run = record();
    this.pending.set(id, run);
    try {
      const result = await run;
      this.remember(id);
      return { replayed: false, result };
    } finally {
      this.pending.delete(id);
    }
  }

  has(id: string): boolean {
    return this.cache.has(id);
  }

  get size(): number {
    return this.cache.size;
  }

  private remember(id: string): void {
    const expiresAt = this.now() + this.opts.ttlMs;
    this.cache.set(id, expiresAt);
    if (!this.opts.journal) return;
    appendFileSync(this.opts.journal, `${expiresAt} ${JSON.stringify(id)}\n`);
    // Keep the journal near the size of what is remembered.
    if (++this.appended > this.opts.max) this.compact();
  }

  private load(file: string): void {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      return; // first start
    }
    const now = this.now();
    for (const line of text.split('\n')) {
      const space = line.indexOf(' ');
      if (space <= 0) continue;
      const expiresAt = Number(line.slice(0, space));
      let id: unknown;
      try {
        id = JSON.parse(line.slice(space + 1));
      } catch {
        continue; // a line torn by a crash
      }
      if (typeof id === 'string' && Number.isFinite(expiresAt) && expiresAt > now) this.cache.set(id, expiresAt, { ttl: expiresAt - now });
    }
  }

  /** Rewrites the journal with only the live ids, oldest first. */
  private compact(): void {
    const file = this.opts.journal;
    if (!file) return;
    mkdirSync(path.dirname(file), { recursive: true });
    const lines: string[] = [];
    for (const [id, expiresAt] of this.cache.rentries()) lines.push(`${expiresAt} ${JSON.stringify(id)}\n`);
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, lines.join(''));
    renameSync(tmp, file);
    this.appended = 0;
  }
}

/**
 * Sentry-Hook-Timestamp (unix seconds) within `toleranceMs` of `now`, or what is wrong with it. Sentry does not
 * sign the header, so this stops a captured request replayed as is; a replay with a new header is caught by the
 * remembered body digest.
 */
export function sentryTimestampProblem(header: string | undefined, now: number, toleranceMs: number): string | undefined {
  if (header === undefined || header.trim() === '') return 'missing';
  if (!/^\d{1,12}(\.\d+)?$/.test(header.trim())) return `not a unix time in seconds: "${header.slice(0, 40)}"`;
  const skew = now - Number(header.trim()) * 1000;
  if (Math.abs(skew) > toleranceMs)
    return `${skew > 0 ? 'older' : 'newer'} than the ${formatDuration(toleranceMs)} window (${Math.round(Math.abs(skew) / 1000)} s ${skew > 0 ? 'ago' : 'ahead'})`;
  return undefined;
}

/**
 * Vercel signs `createdAt` (ms) in the body: a delivery older than the replay window is refused, so a replay is
 * either still remembered by id or too old to pass.
 */
export function vercelCreatedAtProblem(createdAt: number, now: number, windowMs: number, toleranceMs: number): string | undefined {
  const age = now - createdAt;
  // Beyond ±8.64e15 ms a Date is invalid and has no ISO form.
  const when = Math.abs(createdAt) <= 8.64e15 ? new Date(createdAt).toISOString() : `${createdAt} ms after 1970`;
  if (!(age <= windowMs)) return `the delivery was created ${when}, older than the ${formatDuration(windowMs)} replay window`;
  if (-age > toleranceMs) return `the delivery was created ${when}, more than ${formatDuration(toleranceMs)} ahead of this clock`;
  return undefined;
}
