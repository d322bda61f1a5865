import { LRUCache } from 'lru-cache';
import { isRepeat, type Alert, type KnownAlert } from '../workflows/common/alerts';

export interface AcceptedMemoryOptions {
  /** Dedup keys remembered; the least recently used are forgotten first. */
  maxKeys: number;
  /** Fingerprints remembered per key; alerts beyond it always go to Temporal. */
  maxAlertsPerKey: number;
  /** How long what a key's run accepted is trusted before the next delivery goes to Temporal again. */
  ttlMs: number;
  now?: () => number;
}

interface KeyMemory {
  workflowId: string;
  /** The run that accepted the alerts, when the call said (signal-with-start does). */
  runId?: string;
  /** When the first call this memory rests on started: a run closed before it is an earlier one. */
  since: number;
  alerts: Map<string, KnownAlert>;
  /** The last delivery answered from memory per fingerprint, and when: sent on if the run turns out closed. */
  answered: Map<string, { alert: Alert; at: number }>;
}

/** One key's alerts split by what its incident already has. */
export interface Split {
  /** Alerts that change something, in order. */
  fresh: Alert[];
  /** Repeats of what the incident has (or of an earlier alert of the same batch): nothing to send. */
  repeats: Alert[];
}

/** How the state of an alert moves with a delivery that changes it (as the incident tracks it). */
function applied(known: KnownAlert | undefined, a: Alert): KnownAlert {
  return { status: a.status, episodeStartsAt: a.status === 'firing' || !known ? a.startsAt : known.episodeStartsAt };
}

/**
 * What each dedup key's incident run has durably accepted, per process and bounded: fingerprint → status and
 * episode. A delivery that the incident would only count as a repeat is answered from here, without a
 * Temporal call. Only calls Temporal accepted fill it; a restart starts empty, so the first delivery of each key
 * goes to Temporal. When a key's run closes, the memory of it is dropped (see `closed`), and a firing that
 * arrives after that goes to Temporal, which opens a new run.
 */
export class AcceptedMemory {
  private readonly keys: LRUCache<string, KeyMemory>;
  private readonly byWorkflow = new Map<string, string>();
  private readonly now: () => number;

  constructor(private readonly opts: AcceptedMemoryOptions) {
    this.now = opts.now ?? Date.now;
    this.keys = new LRUCache<string, KeyMemory>({
      max: opts.maxKeys,
      ttl: opts.ttlMs,
      ttlResolution: 0,
      perf: { now: this.now },
      dispose: (m, key) => {
        if (this.byWorkflow.get(m.workflowId) === key) this.byWorkflow.delete(m.workflowId);
      },
    });
  }

  get size(): number {
    return this.keys.size;
  }

  /** Whether every alert only repeats what the key's run accepted: `split` would find nothing fresh. Changes nothing. */
  onlyRepeats(key: string, alerts: Alert[]): boolean {
    const m = this.keys.get(key);
    if (!m) return false;
    for (const a of alerts) {
      const known = m.alerts.get(a.fingerprint);
      if (!known || !isRepeat(known, a)) return false;
    }
    return true;
  }

  /** Splits one key's alerts, in order, into those that change the incident and repeats; remembers the repeats as answered. */
  split(key: string, alerts: Alert[]): Split {
    const m = this.keys.get(key);
    const seen = new Map<string, KnownAlert>();
    const fresh: Alert[] = [];
    const repeats: Alert[] = [];
    for (const a of alerts) {
      const known = seen.get(a.fingerprint) ?? m?.alerts.get(a.fingerprint);
      if (known && isRepeat(known, a)) {
        repeats.push(a);
        continue;
      }
      seen.set(a.fingerprint, applied(known, a));
      fresh.push(a);
    }
    if (m) {
      const at = this.now();
      for (const a of repeats) if (m.alerts.has(a.fingerprint)) m.answered.set(a.fingerprint, { alert: a, at });
    }
    return { fresh, repeats };
  }

  /**
   * Records alerts Temporal accepted for the key's incident. `runId` is the run that took them; a run other than
   * the one remembered starts the key's memory afresh. `startedAt` is when the call started.
   */
  accept(key: string, workflowId: string, alerts: Alert[], runId: string | undefined, startedAt: number): void {
    let m = this.keys.get(key);
    if (m && runId !== undefined && m.runId !== undefined && m.runId !== runId) m = undefined;
    if (!m) {
      // A memory that does not know its run cannot be told apart from a closed run: only signal-with-start starts one.
      if (runId === undefined) return;
      m = { workflowId, runId, since: startedAt, alerts: new Map(), answered: new Map() };
      this.keys.set(key, m);
      this.byWorkflow.set(workflowId, key);
    }
    for (const a of alerts) {
      const known = m.alerts.get(a.fingerprint);
      if (known && isRepeat(known, a)) continue;
      if (!known && m.alerts.size >= this.opts.maxAlertsPerKey) continue;
      m.alerts.set(a.fingerprint, applied(known, a));
      m.answered.delete(a.fingerprint);
    }
  }

  /** Forgets a key (e.g. its incident was not found). */
  forget(key: string): void {
    this.keys.delete(key);
  }

  /**
   * A run of `workflowId` closed at `closedAt`. If it is the remembered run (same id, or closed after the memory
   * began), the key is forgotten and the deliveries answered from memory since shortly before the close are
   * returned: they must go to Temporal after all, where they open the next run.
   */
  closed(workflowId: string, runId: string, closedAt: number, skewMs = 2_000): { key: string; alerts: Alert[] } | undefined {
    const key = this.byWorkflow.get(workflowId);
    const m = key === undefined ? undefined : this.keys.peek(key);
    if (key === undefined || !m) return undefined;
    if (m.runId !== runId && closedAt < m.since) return undefined; // an earlier run
    this.keys.delete(key);
    const alerts = [...m.answered.values()].filter((x) => x.at >= closedAt - skewMs).map((x) => x.alert);
    return { key, alerts };
  }
}
