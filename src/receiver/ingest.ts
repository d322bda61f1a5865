import { performance } from 'node:perf_hooks';
import type { Client } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import { incidentWorkflowId, type Alert, type AlertsAccepted } from '../workflows/common/alerts';
import { AcceptedMemory, type AcceptedMemoryOptions } from './accepted';
import type { AlertJournal } from './journal';
import { alertsSignal, incidentStartOptions, severityOfAlert, type IncidentInput, type IncidentPlan } from '../workflows/incident/contract';

/** Temporal did not durably accept the alerts (unreachable, timed out, refused), or the queue is full: answer 503. */
export class IngestUnavailable extends Error {
  constructor(
    message: string,
    readonly reason: 'temporal' | 'overloaded' | 'closed' | 'journal',
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'IngestUnavailable';
  }
}

/** What the ingestor reports, for metrics; kept free of any metrics library so activities can use it bare. */
export interface IngestObserver {
  temporalCall?(call: 'signalWithStart' | 'signal', outcome: 'ok' | 'error', seconds: number): void;
  /** Alerts that rode in a signal started for another request instead of a call of their own. */
  coalesced?(alerts: number): void;
  /** Alerts answered without a Temporal call: the incident already has them (or an identical one rode in the same signal). */
  duplicates?(alerts: number): void;
  /** Alerts sent to Temporal after all because the run that had them closed. */
  forwarded?(alerts: number): void;
  error?(err: unknown, workflowId: string): void;
}

export interface IngestorOptions {
  client: Client;
  taskQueue: string;
  /** Coalesce per dedup key (default). `false` is the plain baseline: one signal-with-start per alert. */
  coalesce?: boolean;
  /** Alerts waiting across all keys; beyond it new alerts are refused at once (back-pressure). */
  maxQueuedAlerts?: number;
  /** Temporal calls in flight at once. */
  maxConcurrentCalls?: number;
  /** Alerts per signal. */
  maxBatch?: number;
  /** Per Temporal call. */
  timeoutMs?: number;
  /**
   * While a key is hot (a call for it just returned and more alerts wait), its next signal waits this long to
   * gather more. 0 sends at once.
   */
  lingerMs?: number;
  /** What each key's incident has accepted, remembered to answer repeats without a Temporal call; `false` turns it off. */
  repeats?: AcceptedMemoryOptions | false;
  /** How often the runs closed lately are listed, so a closed incident's memory is dropped. */
  closedPollMs?: number;
  /**
   * Acknowledge once the alerts are fsync'd here, then send them to Temporal in the background (retrying until
   * Temporal takes them); what the journal holds undone when the ingestor starts is sent first.
   */
  journal?: AlertJournal;
  observer?: IngestObserver;
  /** Label → severity mapping (config `incidents`), so a new incident is findable by severity from the start. */
  severityPolicy?: Pick<IncidentPlan, 'severityFromLabels' | 'defaultSeverity'>;
}

interface Waiter {
  alerts: Alert[];
  resolve(r: KeyResult): void;
  reject(err: unknown): void;
}
interface KeyQueue {
  waiting: Waiter[];
}
interface KeyResult {
  workflowId: string;
  /** False when only resolutions arrived and no incident was open to take them. */
  recorded: boolean;
}
/** How long closing waits for journalled alerts still being sent. */
const JOURNAL_CLOSE_WAIT_MS = 3_000;
/** Per Temporal call when alerts are sent from the journal. */
const JOURNAL_CALL_TIMEOUT_MS = 30_000;
/** Visibility is eventually consistent: each listing of closed runs reaches back this far before the last one. */
const VISIBILITY_LAG_MS = 5_000;
/** The run statuses that end a chain (continue-as-new goes on in a new run with the same state). */
const CLOSED = `ExecutionStatus IN ('Completed', 'Failed', 'Terminated', 'TimedOut', 'Canceled')`;

/**
 * Hands alerts to their incident workflows by signal-with-start, which joins the running incident of the
 * dedup key or starts one. While a call for a key is in flight, later alerts of that key queue; when it
 * returns they all go in one signal. Every caller's promise settles only after Temporal accepted (or
 * refused) the signal that carries its alerts, so "accepted" always means durable.
 */
export class AlertIngestor {
  private readonly keys = new Map<string, KeyQueue>();
  private readonly slotWaiters: (() => void)[] = [];
  private readonly drains = new Set<Promise<void>>();
  /** Keys with alerts being written to the journal, per key how many writes. */
  private readonly writing = new Map<string, number>();
  private inFlight = 0;
  private queued = 0;
  private closed = false;
  private readonly coalesce: boolean;
  private readonly maxQueued: number;
  private readonly maxCalls: number;
  private readonly maxBatch: number;
  private readonly timeoutMs: number;
  private readonly lingerMs: number;
  private readonly memory?: AcceptedMemory;
  private readonly closedPollMs: number;
  private closedTimer?: NodeJS.Timeout;
  private closedSince = Date.now();
  private calls = 0;
  private readonly aborter = new AbortController();

  constructor(private readonly opts: IngestorOptions) {
    this.coalesce = opts.coalesce ?? true;
    this.maxQueued = opts.maxQueuedAlerts ?? 50_000;
    this.maxCalls = opts.maxConcurrentCalls ?? 256;
    this.maxBatch = opts.maxBatch ?? 500;
    // Journalled alerts have been answered already: a call may take longer than a sender would wait, and a
    // timed-out call that Temporal took after all only costs a second one.
    this.timeoutMs = Math.max(opts.timeoutMs ?? 5_000, opts.journal ? JOURNAL_CALL_TIMEOUT_MS : 0);
    this.lingerMs = opts.lingerMs ?? 0;
    this.closedPollMs = opts.closedPollMs ?? 1_000;
    const repeats = opts.repeats ?? { maxKeys: 10_000, maxAlertsPerKey: 1_000, ttlMs: 60_000 };
    // The one-call-per-alert baseline remembers nothing.
    if (this.coalesce && repeats) this.memory = new AcceptedMemory(repeats);
    if (opts.journal) {
      if (!this.coalesce) throw new Error('a journal needs coalescing');
      for (const r of opts.journal.pending) this.forward(r.seq, byDedupKey(r.alerts));
    }
  }

  async ingest(alerts: Alert[]): Promise<AlertsAccepted> {
    if (this.closed) throw new IngestUnavailable('the receiver is shutting down', 'closed');
    if (alerts.length === 0) return { incidents: [], accepted: 0 };
    const byKey = byDedupKey(alerts);
    if (this.opts.journal) return this.journalled(this.opts.journal, byKey, alerts.length);
    let results: KeyResult[];
    if (!this.coalesce) {
      results = await Promise.all(alerts.map((a) => this.send(a.dedupKey, [a])));
    } else {
      if (this.queued + alerts.length > this.maxQueued) {
        throw new IngestUnavailable(`too many alerts waiting for Temporal (${this.queued}); retry later`, 'overloaded');
      }
      results = await Promise.all([...byKey].map(([key, list]) => this.answerOrEnqueue(key, list)));
    }
    const incidents = new Set<string>();
    let accepted = 0;
    if (this.coalesce) {
      [...byKey.values()].forEach((list, i) => {
        if (!results[i].recorded) return;
        incidents.add(results[i].workflowId);
        accepted += list.length;
      });
    } else {
      results.forEach((r) => {
        if (!r.recorded) return;
        incidents.add(r.workflowId);
        accepted += 1;
      });
    }
    return { incidents: [...incidents], accepted };
  }

  /**
   * The answer `ingest` would give when every alert of the delivery is a repeat of what its incident run accepted
   * and no key has alerts on their way (queued, in flight or being journalled): the same judgement, made without
   * queueing. Otherwise undefined, and the delivery goes through `ingest`.
   */
  answerRepeats(alerts: Alert[]): AlertsAccepted | undefined {
    if (this.closed || !this.memory || alerts.length === 0) return undefined;
    const byKey = byDedupKey(alerts);
    for (const [key, list] of byKey) {
      if (this.keys.has(key) || this.writing.has(key) || !this.memory.onlyRepeats(key, list)) return undefined;
    }
    for (const [key, list] of byKey) this.memory.split(key, list);
    this.opts.observer?.duplicates?.(alerts.length);
    return { incidents: [...byKey.keys()].map((key) => incidentWorkflowId(key)), accepted: alerts.length };
  }

  /** Alerts waiting, calls in flight, keys with work, keys remembered, Temporal calls made, journal records not yet sent. */
  stats(): { queuedAlerts: number; inFlight: number; keys: number; remembered: number; temporalCalls: number; journalBacklog: number } {
    return {
      journalBacklog: this.opts.journal?.backlog ?? 0,
      queuedAlerts: this.queued,
      inFlight: this.inFlight,
      keys: this.keys.size,
      remembered: this.memory?.size ?? 0,
      temporalCalls: this.calls,
    };
  }

  /** Refuses new alerts and waits for the queued ones to be settled. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.closedTimer);
    this.closedTimer = undefined;
    // Journalled alerts are safe on disk: give the calls in flight a moment, then abort them (the journal keeps
    // their alerts for the next start).
    const patience = this.opts.journal ? setTimeout(() => this.aborter.abort(), JOURNAL_CLOSE_WAIT_MS) : undefined;
    while (this.drains.size > 0) await Promise.allSettled([...this.drains]);
    clearTimeout(patience);
  }

  /** Alerts on disk are accepted: they go to Temporal in the background, and come back from the journal after a crash. */
  private async journalled(journal: AlertJournal, byKey: Map<string, Alert[]>, count: number): Promise<AlertsAccepted> {
    const fresh = new Map<string, Alert[]>();
    for (const [key, list] of byKey) {
      // A key with alerts on their way (queued, or being written) must not be judged against a memory they will change.
      const kept = this.memory && !this.keys.has(key) && !this.writing.has(key) ? this.withoutRepeats(key, list) : list;
      if (kept.length) fresh.set(key, kept);
    }
    const incidents = [...byKey.keys()].map((key) => incidentWorkflowId(key));
    if (fresh.size === 0) return { incidents, accepted: count };
    const journalling = [...fresh.values()].flat();
    if (this.queued + journalling.length > this.maxQueued) {
      throw new IngestUnavailable(`too many alerts waiting for Temporal (${this.queued}); retry later`, 'overloaded');
    }
    let seq: number;
    for (const key of fresh.keys()) this.writing.set(key, (this.writing.get(key) ?? 0) + 1);
    try {
      seq = await journal.append(journalling);
    } catch (err) {
      this.opts.observer?.error?.(err, '(alert journal)');
      throw new IngestUnavailable('the alerts could not be written to the journal; retry later', 'journal', { cause: err });
    } finally {
      for (const key of fresh.keys()) {
        const n = this.writing.get(key)! - 1;
        if (n) this.writing.set(key, n);
        else this.writing.delete(key);
      }
    }
    this.forward(seq, fresh);
    return { incidents, accepted: count };
  }

  /** Sends a journal record's alerts, key by key, and marks it done once Temporal has all of them. */
  private forward(seq: number, byKey: Map<string, Alert[]>): void {
    void Promise.all([...byKey].map(([key, list]) => this.enqueue(key, list))).then(
      () => this.opts.journal!.done(seq),
      () => undefined, // only when closing: the record stays in the journal for the next start
    );
  }

  /** A key with nothing in flight is answered from memory when every alert is a repeat; the rest queue. */
  private answerOrEnqueue(key: string, alerts: Alert[]): Promise<KeyResult> {
    if (this.memory && !this.keys.has(key)) {
      const { fresh, repeats } = this.memory.split(key, alerts);
      if (repeats.length) this.opts.observer?.duplicates?.(repeats.length);
      if (fresh.length === 0) return Promise.resolve({ workflowId: incidentWorkflowId(key), recorded: true });
      alerts = fresh;
    }
    return this.enqueue(key, alerts);
  }

  /** While keys are remembered, lists the incident runs closed lately and drops their memory. */
  private watchClosedRuns(): void {
    if (!this.memory || this.closedTimer || this.closed) return;
    this.closedTimer = setTimeout(() => {
      void this.pollClosedRuns().finally(() => {
        this.closedTimer = undefined;
        if (this.memory!.size > 0) this.watchClosedRuns();
      });
    }, this.closedPollMs);
    this.closedTimer.unref();
  }

  private async pollClosedRuns(): Promise<void> {
    const memory = this.memory!;
    const started = Date.now();
    const since = new Date(this.closedSince - VISIBILITY_LAG_MS).toISOString();
    const query = `WorkflowType = 'incident' AND TaskQueue = '${this.opts.taskQueue}' AND ${CLOSED} AND CloseTime >= '${since}'`;
    try {
      for await (const info of this.opts.client.workflow.list({ query, pageSize: 1000 })) {
        if (!info.closeTime) continue;
        const gone = memory.closed(info.workflowId, info.runId, info.closeTime.getTime());
        if (gone?.alerts.length) {
          // Answered from the memory of a run that had closed: they go to Temporal after all (a new run).
          this.opts.observer?.forwarded?.(gone.alerts.length);
          this.enqueue(gone.key, gone.alerts).catch((err: unknown) => this.opts.observer?.error?.(err, info.workflowId));
        }
      }
      this.closedSince = started;
    } catch (err) {
      this.opts.observer?.error?.(err, '(closed incident runs)');
    }
  }

  private enqueue(key: string, alerts: Alert[]): Promise<KeyResult> {
    return new Promise<KeyResult>((resolve, reject) => {
      this.queued += alerts.length;
      const existing = this.keys.get(key);
      if (existing) {
        existing.waiting.push({ alerts, resolve, reject });
        return;
      }
      const queue: KeyQueue = { waiting: [{ alerts, resolve, reject }] };
      this.keys.set(key, queue);
      const drain = this.drain(key, queue).finally(() => this.drains.delete(drain));
      this.drains.add(drain);
    });
  }

  /** One key's calls, strictly in order, so a resolution never overtakes the firing it resolves. */
  private async drain(key: string, queue: KeyQueue): Promise<void> {
    try {
      let hot = false;
      while (queue.waiting.length > 0) {
        // A key whose call just returned with more waiting is hot: let its next batch gather a little longer.
        if (hot && this.lingerMs > 0) await new Promise((resolve) => setTimeout(resolve, this.lingerMs));
        hot = true;
        // Waiting for a slot is when a storm coalesces best: everything arriving meanwhile joins this batch.
        await this.acquire();
        const taken: Waiter[] = [];
        let count = 0;
        while (queue.waiting.length > 0 && (taken.length === 0 || count + queue.waiting[0].alerts.length <= this.maxBatch)) {
          const w = queue.waiting.shift()!;
          taken.push(w);
          count += w.alerts.length;
        }
        this.queued -= count;
        if (taken.length > 1) this.opts.observer?.coalesced?.(count - taken[0].alerts.length);
        try {
          const alerts = this.withoutRepeats(
            key,
            taken.flatMap((w) => w.alerts),
          );
          const result = this.opts.journal ? await this.sendUntilTaken(key, alerts) : await this.send(key, alerts);
          for (const w of taken) w.resolve(result);
        } catch (err) {
          for (const w of taken) w.reject(err);
        } finally {
          this.release();
        }
      }
    } finally {
      this.keys.delete(key);
    }
  }

  private async acquire(): Promise<void> {
    if (this.inFlight < this.maxCalls) {
      this.inFlight++;
      return;
    }
    await new Promise<void>((resolve) => this.slotWaiters.push(resolve));
  }

  private release(): void {
    const next = this.slotWaiters.shift();
    if (next)
      next(); // the slot passes straight on
    else this.inFlight--;
  }

  /** The alerts of a batch that change something: against the key's memory, else only identical ones merged. */
  private withoutRepeats(key: string, alerts: Alert[]): Alert[] {
    const { fresh, repeats } = this.memory ? this.memory.split(key, alerts) : dedupe(alerts);
    if (repeats.length) this.opts.observer?.duplicates?.(repeats.length);
    return fresh;
  }

  /** Journalled alerts are already acknowledged: retried (in order, holding the key) until Temporal takes them or the receiver stops. */
  private async sendUntilTaken(key: string, alerts: Alert[]): Promise<KeyResult> {
    for (let wait = 100; ; wait = Math.min(wait * 2, 5_000)) {
      try {
        return await this.send(key, alerts);
      } catch (err) {
        if (this.closed) throw err;
        await new Promise((resolve) => setTimeout(resolve, wait));
        if (this.closed) throw err;
      }
    }
  }

  /** Records a batch of one key's alerts; several signals when it exceeds `maxBatch`; none when all were repeats. */
  private async send(key: string, alerts: Alert[]): Promise<KeyResult> {
    const workflowId = incidentWorkflowId(key);
    if (alerts.length === 0) return { workflowId, recorded: true };
    let recorded = false;
    for (let i = 0; i < alerts.length; i += this.maxBatch) {
      const batch = alerts.slice(i, i + this.maxBatch);
      const startedAt = Date.now();
      const outcome = await this.signal(key, workflowId, batch);
      if (outcome === false) {
        this.memory?.forget(key);
      } else {
        recorded = true;
        if (this.memory) {
          this.memory.accept(key, workflowId, batch, outcome.runId, startedAt);
          this.watchClosedRuns();
        }
      }
    }
    return { workflowId, recorded };
  }

  /** False when only resolutions were sent and no incident was open; else the run that took them, when known. */
  private async signal(key: string, workflowId: string, alerts: Alert[]): Promise<false | { runId?: string }> {
    const { client, taskQueue, observer } = this.opts;
    const firing = alerts.find((a) => a.status === 'firing');
    const call = firing ? 'signalWithStart' : 'signal';
    const started = performance.now();
    this.calls++;
    try {
      const runId = await client.withAbortSignal(this.aborter.signal, () =>
        client.withDeadline(Date.now() + this.timeoutMs, async () => {
          if (firing) {
            const handle = await client.workflow.signalWithStart('incident', {
              workflowId,
              taskQueue,
              args: [{ dedupKey: key } satisfies IncidentInput],
              signal: alertsSignal,
              signalArgs: [alerts],
              ...incidentStartOptions({
                dedupKey: key,
                title: firing.summary,
                severity: this.opts.severityPolicy ? severityOfAlert(firing, this.opts.severityPolicy) : firing.severity,
                service: firing.service,
              }),
            });
            return handle.signaledRunId;
          }
          // Only resolutions: they settle an open incident, but must never open one.
          await client.workflow.getHandle(workflowId).signal(alertsSignal, alerts);
          return undefined;
        }),
      );
      observer?.temporalCall?.(call, 'ok', (performance.now() - started) / 1000);
      return { runId };
    } catch (err) {
      if (!firing && err instanceof WorkflowNotFoundError) {
        observer?.temporalCall?.(call, 'ok', (performance.now() - started) / 1000);
        return false;
      }
      observer?.temporalCall?.(call, 'error', (performance.now() - started) / 1000);
      observer?.error?.(err, workflowId);
      throw new IngestUnavailable('Temporal did not accept the alerts; retry later', 'temporal', { cause: err });
    }
  }
}

function byDedupKey(alerts: Alert[]): Map<string, Alert[]> {
  const byKey = new Map<string, Alert[]>();
  for (const a of alerts) {
    const list = byKey.get(a.dedupKey);
    if (list) list.push(a);
    else byKey.set(a.dedupKey, [a]);
  }
  return byKey;
}

/** Keeps the last of identical alerts (same fingerprint and status) and the order of the rest. */
function dedupe(alerts: Alert[]): { fresh: Alert[]; repeats: Alert[] } {
  if (alerts.length < 2) return { fresh: alerts, repeats: [] };
  const seen = new Set<string>();
  const fresh: Alert[] = [];
  const repeats: Alert[] = [];
  for (let i = alerts.length - 1; i >= 0; i--) {
    const id = `${alerts[i].status}\u0000${alerts[i].fingerprint}`;
    if (seen.has(id)) {
      repeats.push(alerts[i]);
      continue;
    }
    seen.add(id);
    fresh.push(alerts[i]);
  }
  return { fresh: fresh.reverse(), repeats };
}
