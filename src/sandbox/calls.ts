/** The sandbox's record of every request it answered, so tests can assert which side effects happened. */

export type Vendor =
  | 'vercel'
  | 'netlify'
  | 'supabase'
  | 'supabase-project'
  | 'statuspage'
  | 'pagerduty'
  | 'slack'
  | 'telegram'
  | 'status'
  | 'app';

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

export class CallLog {
  private records: CallRecord[] = [];
  private seq = 0;

  add(entry: Omit<CallRecord, 'seq'>): CallRecord {
    const rec = { seq: ++this.seq, ...entry };
    this.records.push(rec);
    return rec;
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
