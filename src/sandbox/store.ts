import { createHash } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { appendFile, open, rename } from 'node:fs/promises';
import path from 'node:path';
import type { CallRecord } from './calls';

/**
 * The sandbox's world on disk, in `<dir>` (npm start: `<RUNBOOK_DATA_DIR>/sandbox`):
 *
 * - `world.json`: everything but the call log, rewritten whole after each change. A header line
 *   (generation, origin, sha256 and length of the body) and the body. Written to `world.json.tmp`,
 *   fsync'd, then the current file is renamed to `world.prev.json` and the new one into place; on load
 *   the valid candidate (checksum matches) with the highest generation wins, so a write torn by
 *   kill -9 or a crash falls back to the last complete one.
 * - `calls.jsonl`: the call log, one record per line, appended as calls are answered. A torn last line
 *   is skipped on load. Rewritten with only the newest `limit` records once it holds twice that.
 *
 * Changes that answer a request (anything but GET/HEAD) are saved before the reply leaves, batched
 * with whatever else is waiting (`commit`); the rest (GET side effects, transitions, in-process
 * controls) within `throttleMs` (`touch`).
 */

export const WORLD_FILE = 'world.json';
const FORMAT = 1;

interface Header {
  format: number;
  generation: number;
  savedAt: number;
  /** `http://host:port` the sandbox listened on: URLs in the body contain it. */
  origin: string;
  sha256: string;
  bytes: number;
}

export interface SavedWorld {
  generation: number;
  savedAt: number;
  origin: string;
  /** The body, JSON text. */
  body: string;
  file: string;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

function readCandidate(file: string): SavedWorld | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const nl = text.indexOf('\n');
  if (nl < 0) return undefined;
  try {
    const header = JSON.parse(text.slice(0, nl)) as Header;
    if (header.format !== FORMAT) return undefined;
    const body = text.slice(nl + 1).replace(/\n$/, '');
    if (Buffer.byteLength(body) !== header.bytes || sha256(body) !== header.sha256) return undefined;
    return { generation: header.generation, savedAt: header.savedAt, origin: header.origin, body, file };
  } catch {
    return undefined;
  }
}

/** The newest complete world saved in `dir`, if any. */
export function readSavedWorld(dir: string): SavedWorld | undefined {
  const found = [WORLD_FILE, `${WORLD_FILE}.tmp`, 'world.prev.json']
    .map((f) => readCandidate(path.join(dir, f)))
    .filter((c): c is SavedWorld => !!c)
    .sort((a, b) => b.generation - a.generation);
  return found[0];
}

/** The port the sandbox saved in `dir` last listened on, to listen there again (URLs handed out stay valid). */
export function savedPort(dir: string): number | undefined {
  const saved = readSavedWorld(dir);
  if (!saved) return undefined;
  const port = Number(new URL(saved.origin).port);
  return Number.isInteger(port) && port > 0 ? port : undefined;
}

/** The call log journal: every parseable line (a torn last line is skipped). */
export function readCallJournal(dir: string): CallRecord[] {
  let text: string;
  try {
    text = readFileSync(path.join(dir, 'calls.jsonl'), 'utf8');
  } catch {
    return [];
  }
  const out: CallRecord[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    try {
      out.push(JSON.parse(line) as CallRecord);
    } catch {
      // torn write
    }
  }
  return out;
}

function fsyncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // not supported on every platform; the rename itself is atomic
  }
}

export interface StoreOptions {
  /** Everything to save, as a JSON-safe value (serialized at once). */
  collect(): unknown;
  /** The newest records of the call log, for compaction. */
  recentCalls(): CallRecord[];
  origin(): string;
  /** Calls kept; the journal is compacted at twice this. */
  limit: number;
  /** A save failed (the sandbox goes on in memory). */
  onError?: (err: Error) => void;
  throttleMs?: number;
}

export class SandboxStore {
  private generation: number;
  private journalLines: number;
  private pendingLines: string[] = [];
  /** The write running now, and the one queued behind it (shared by every commit that arrives meanwhile). */
  private writing: Promise<void> = Promise.resolve();
  private queued?: Promise<void>;
  private timer?: NodeJS.Timeout;
  private closed = false;
  private readonly throttleMs: number;
  private readonly journal: string;

  constructor(
    readonly dir: string,
    private readonly opts: StoreOptions,
    loaded: { generation: number; journalLines: number },
  ) {
    mkdirSync(dir, { recursive: true });
    this.generation = loaded.generation;
    this.journalLines = loaded.journalLines;
    this.throttleMs = opts.throttleMs ?? 500;
    this.journal = path.join(dir, 'calls.jsonl');
  }

  /** A call was answered: journaled with the next write. */
  call(record: CallRecord): void {
    if (this.closed) return;
    this.pendingLines.push(JSON.stringify(record));
    this.touch();
  }

  /** Something changed: saved within `throttleMs`. */
  touch(): void {
    if (this.closed || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.commit().catch(() => undefined);
    }, this.throttleMs);
    this.timer.unref();
  }

  /** Saves now (after the write in progress, batched with every commit waiting for it). */
  commit(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.queued ??= this.writing
      .catch(() => undefined)
      .then(() => {
        this.queued = undefined;
        return this.write();
      });
    this.writing = this.queued;
    return this.queued;
  }

  /** The call log was cleared: the journal starts over. */
  clearCalls(): void {
    this.pendingLines = [];
    this.journalLines = Number.POSITIVE_INFINITY; // compacted (to nothing) by the next write
    void this.commit().catch(() => undefined);
  }

  /** Final save; later changes are not written. */
  async close(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.commit().catch(() => undefined);
    this.closed = true;
  }

  private async write(): Promise<void> {
    try {
      await this.writeCalls();
      await this.writeWorld();
    } catch (err) {
      this.opts.onError?.(err as Error);
      throw err;
    }
  }

  private async writeCalls(): Promise<void> {
    const lines = this.pendingLines;
    this.pendingLines = [];
    if (this.journalLines + lines.length > 2 * this.opts.limit) {
      // Compaction: the newest records only, swapped in whole.
      const recent = this.opts.recentCalls();
      const text = recent.map((r) => JSON.stringify(r) + '\n').join('');
      await writeDurably(`${this.journal}.tmp`, text);
      await rename(`${this.journal}.tmp`, this.journal);
      this.journalLines = recent.length;
      return;
    }
    if (!lines.length) return;
    await appendFile(this.journal, lines.map((l) => l + '\n').join(''));
    this.journalLines += lines.length;
  }

  private async writeWorld(): Promise<void> {
    const body = JSON.stringify(this.opts.collect());
    const header: Header = {
      format: FORMAT,
      generation: ++this.generation,
      savedAt: Date.now(),
      origin: this.opts.origin(),
      sha256: sha256(body),
      bytes: Buffer.byteLength(body),
    };
    const file = path.join(this.dir, WORLD_FILE);
    await writeDurably(`${file}.tmp`, `${JSON.stringify(header)}\n${body}\n`);
    if (existsSync(file)) await rename(file, path.join(this.dir, 'world.prev.json'));
    await rename(`${file}.tmp`, file);
    fsyncDir(this.dir);
  }
}

async function writeDurably(file: string, text: string): Promise<void> {
  const fh = await open(file, 'w');
  try {
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
}
