import { close, fdatasync, fdatasyncSync, ftruncate, ftruncateSync, mkdirSync, openSync, readFileSync, write, writeSync } from 'node:fs';
import { promisify } from 'node:util';
import path from 'node:path';
import type { Alert } from '../workflows/common/alerts';

/** One journalled delivery: its alerts, in the order they arrived. */
export interface JournalRecord {
  seq: number;
  alerts: Alert[];
}

/**
 * An append-only file of accepted alerts, so the receiver can answer 202 once the alerts are on disk instead
 * of once Temporal has them. Appends arriving together share one write and one fdatasync (group commit);
 * `append` settles only after that fdatasync. A record is marked done once Temporal has it (markers are not
 * synced: after a crash a done record may be sent again, which its incident counts as a repeat). On start the
 * records not marked done are handed back (`pending`) to be sent; the file is emptied when nothing is pending.
 */
export class AlertJournal {
  private readonly fd: number;
  private seq = 0;
  private readonly outstanding = new Set<number>();
  private batch: { line: string; resolve(): void; reject(err: unknown): void }[] = [];
  private markers: string[] = [];
  private flushing = false;
  private size = 0;
  private closed = false;
  /** Records found undone when the file was opened, oldest first. */
  readonly pending: JournalRecord[];

  constructor(readonly file: string) {
    mkdirSync(path.dirname(file), { recursive: true });
    this.pending = readPending(file);
    for (const r of this.pending) {
      this.outstanding.add(r.seq);
      this.seq = Math.max(this.seq, r.seq);
    }
    this.fd = openSync(file, 'a');
    // Rewrite the file with only what is pending, so it does not grow across restarts.
    ftruncateSync(this.fd, 0);
    const text = this.pending.map((r) => `${JSON.stringify(r)}\n`).join('');
    if (text) writeSync(this.fd, text);
    fdatasyncSync(this.fd);
    this.size = text.length;
  }

  /** Records not yet marked done. */
  get backlog(): number {
    return this.outstanding.size;
  }

  /** Writes the alerts durably; resolves with the record's sequence number once they are fsync'd. */
  async append(alerts: Alert[]): Promise<number> {
    if (this.closed) throw new Error('the alert journal is closed');
    const seq = ++this.seq;
    this.outstanding.add(seq);
    const line = `${JSON.stringify({ seq, alerts } satisfies JournalRecord)}\n`;
    try {
      await new Promise<void>((resolve, reject) => {
        this.batch.push({ line, resolve, reject });
        this.schedule();
      });
    } catch (err) {
      this.outstanding.delete(seq);
      throw err;
    }
    return seq;
  }

  /** Temporal has the record's alerts. */
  done(seq: number): void {
    if (!this.outstanding.delete(seq) || this.closed) return;
    this.markers.push(`${JSON.stringify({ done: seq })}\n`);
    this.schedule();
  }

  /** Waits for what is being written, then closes the file; undone records stay for the next start. */
  async close(): Promise<void> {
    while (this.flushing) await new Promise((resolve) => setTimeout(resolve, 5));
    this.closed = true;
    await new Promise<void>((resolve) => close(this.fd, () => resolve()));
  }

  private schedule(): void {
    if (this.flushing) return;
    this.flushing = true;
    setImmediate(() => void this.flush());
  }

  /** One write and one fdatasync for everything queued (off the event loop); what arrives meanwhile forms the next group. */
  private async flush(): Promise<void> {
    while (this.batch.length || this.markers.length) {
      const batch = this.batch;
      const markers = this.markers;
      this.batch = [];
      this.markers = [];
      try {
        if (!batch.length && this.outstanding.size === 0 && this.size > 1 << 20) {
          await promisify(ftruncate)(this.fd, 0); // everything forwarded: start the file afresh
          this.size = 0;
          continue;
        }
        const text = markers.join('') + batch.map((b) => b.line).join('');
        await promisify(write)(this.fd, text);
        if (batch.length) await promisify(fdatasync)(this.fd);
        this.size += text.length;
        for (const b of batch) b.resolve();
      } catch (err) {
        for (const b of batch) b.reject(err);
      }
    }
    this.flushing = false;
  }
}

function readPending(file: string): JournalRecord[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return []; // first start
  }
  const records = new Map<number, JournalRecord>();
  for (const line of text.split('\n')) {
    if (!line) continue;
    let entry: Partial<JournalRecord> & { done?: number };
    try {
      entry = JSON.parse(line) as typeof entry;
    } catch {
      continue; // a line torn by a crash was never acknowledged
    }
    if (typeof entry.done === 'number') records.delete(entry.done);
    else if (typeof entry.seq === 'number' && Array.isArray(entry.alerts)) records.set(entry.seq, { seq: entry.seq, alerts: entry.alerts });
  }
  return [...records.values()].sort((a, b) => a.seq - b.seq);
}
