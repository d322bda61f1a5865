/** The sandbox's record of every request it answered, so tests can assert which side effects happened. */

export type Vendor =
  'vercel' | 'netlify' | 'supabase' | 'supabase-project' | 'statuspage' | 'pagerduty' | 'slack' | 'telegram' | 'status' | 'ai' | 'app';

export interface CallRecord {
  seq: number;
  vendor: Vendor;
  method: string;
  /** Path after the vendor's mount point, without the query string (e.g. `/v13/deployments`). */
  path: string;
  query: Record<string, string | string[]>;
  body: unknown;
  /** Request headers; credentials are replaced by "[redacted]". */
  headers: Record<string, string>;
  /** Arrival time, epoch ms. */
  time: number;
  /** Response status; undefined while the request is still being answered (e.g. an injected delay). */
  status?: number;
  /** Injected fault that answered (or delayed) this request. */
  fault?: string;
}

export interface CallFilter {
  vendor?: Vendor | string;
  method?: string;
  pathPrefix?: string;
}

const SECRET_HEADERS = new Set(['authorization', 'apikey', 'cookie', 'x-api-key', 'proxy-authorization', 'x-vercel-signature']);

export function redactHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined) continue;
    out[k] = SECRET_HEADERS.has(k.toLowerCase()) ? '[redacted]' : Array.isArray(v) ? v.join(', ') : v;
  }
  return out;
}

/** How many calls the log keeps by default (the oldest are dropped beyond it). */
export const CALL_LOG_LIMIT = 20_000;

export class CallLog {
  private records: CallRecord[] = [];
  private seq = 0;

  constructor(readonly limit = CALL_LOG_LIMIT) {}

  add(entry: Omit<CallRecord, 'seq'>): CallRecord {
    const rec = { seq: ++this.seq, ...entry };
    this.records.push(rec);
    // Trimmed in batches, so a full log does not copy itself on every call.
    if (this.records.length > this.limit + Math.ceil(this.limit / 10)) this.records = this.records.slice(-this.limit);
    return rec;
  }

  /** The newest `limit` records, oldest first (what a restart must keep). */
  recent(): CallRecord[] {
    return this.records.slice(-this.limit);
  }

  /** Replaces the log with saved records; numbering continues after `seq` (or the highest one loaded). */
  load(records: CallRecord[], seq = 0): void {
    this.records = records.slice(-this.limit);
    this.seq = this.records.reduce((max, r) => Math.max(max, r.seq), seq);
  }

  get lastSeq(): number {
    return this.seq;
  }

  list(filter: CallFilter = {}): CallRecord[] {
    const method = filter.method?.toUpperCase();
    return this.records
      .filter(
        (r) =>
          (!filter.vendor || r.vendor === filter.vendor) &&
          (!method || r.method === method) &&
          (!filter.pathPrefix || r.path.startsWith(filter.pathPrefix)),
      )
      .map((r) => structuredClone(r));
  }

  clear(): void {
    this.records = [];
  }
}
