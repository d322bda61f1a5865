import type { Vendor } from './calls';

export type FaultKind = '429' | '5xx' | 'delay' | 'malformed' | '401' | '403';

export interface FaultSpec {
  vendor: Vendor | string;
  /** HTTP method; any when omitted. */
  method?: string;
  /**
   * Path after the vendor's mount point. A string is a glob (`*` = one segment or part of it,
   * `**` = anything); a RegExp is tested as is.
   */
  path: string | RegExp;
  kind: FaultKind;
  /** Matching requests answered by this fault; default 1; Infinity for every one. */
  times?: number;
  /** For 429: the Retry-After seconds (default 1). */
  retryAfterSeconds?: number;
  /** For 5xx: the status (default 500). */
  status?: number;
  /** For delay: how long to hold the request before answering it normally (default 30 s). */
  delayMs?: number;
}

export interface ActiveFault extends Required<Pick<FaultSpec, 'vendor' | 'kind'>> {
  id: string;
  method?: string;
  path: string;
  remaining: number;
  retryAfterSeconds: number;
  status: number;
  delayMs: number;
  /** Requests this fault answered so far. */
  hits: number;
}

export interface FaultsState {
  nextId: number;
  faults: Array<Omit<ActiveFault, 'remaining'> & { remaining: number | null; pattern: string; flags: string }>;
}

export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*' && glob[i + 1] === '*') {
      re += '.*';
      i++;
    } else if (c === '*') re += '[^/]*';
    else re += c.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

export class FaultInjector {
  private faults: Array<ActiveFault & { re: RegExp }> = [];
  private nextId = 0;

  add(spec: FaultSpec): ActiveFault {
    const kinds: FaultKind[] = ['429', '5xx', 'delay', 'malformed', '401', '403'];
    if (!kinds.includes(spec.kind)) throw new Error(`kind: must be one of ${kinds.join(', ')}`);
    if (!spec.vendor) throw new Error('vendor: required');
    if (spec.path === undefined || spec.path === '') throw new Error('path: required (a glob such as /v13/deployments/* or a RegExp)');
    const times = spec.times ?? 1;
    if (!(times > 0)) throw new Error('times: must be a positive number (Infinity for every request)');
    const re = spec.path instanceof RegExp ? spec.path : globToRegExp(spec.path);
    const fault = {
      id: `fault_${++this.nextId}`,
      vendor: spec.vendor,
      method: spec.method?.toUpperCase(),
      path: String(spec.path),
      kind: spec.kind,
      remaining: times,
      retryAfterSeconds: spec.retryAfterSeconds ?? 1,
      status: spec.status ?? (spec.kind === '401' ? 401 : spec.kind === '403' ? 403 : spec.kind === '429' ? 429 : 500),
      delayMs: spec.delayMs ?? 30_000,
      hits: 0,
      re,
    };
    this.faults.push(fault);
    return this.view(fault);
  }

  /** Takes one use of the first fault matching this request, if any. */
  take(vendor: string, method: string, path: string): ActiveFault | undefined {
    const f = this.faults.find((x) => x.vendor === vendor && (!x.method || x.method === method) && x.re.test(path));
    if (!f) return undefined;
    f.remaining -= 1;
    f.hits += 1;
    if (f.remaining <= 0) this.faults = this.faults.filter((x) => x !== f);
    return this.view(f);
  }

  list(): ActiveFault[] {
    return this.faults.map((f) => this.view(f));
  }

  remove(id: string): boolean {
    const before = this.faults.length;
    this.faults = this.faults.filter((f) => f.id !== id);
    return this.faults.length < before;
  }

  clear(): void {
    this.faults = [];
  }

  /** Active faults as JSON (the pattern as regex source and flags; `remaining` Infinity as null). */
  dump(): FaultsState {
    return {
      nextId: this.nextId,
      faults: this.faults.map(({ re, remaining, ...f }) => ({
        ...f,
        remaining: Number.isFinite(remaining) ? remaining : null,
        pattern: re.source,
        flags: re.flags,
      })),
    };
  }

  load(state: FaultsState): void {
    this.nextId = state.nextId;
    this.faults = state.faults.map(({ pattern, flags, remaining, ...f }) => ({
      ...f,
      remaining: remaining ?? Infinity,
      re: new RegExp(pattern, flags),
    }));
  }

  private view(f: ActiveFault & { re: RegExp }): ActiveFault {
    const { re: _re, ...rest } = f;
    return { ...rest };
  }
}
