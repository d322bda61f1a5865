import { performance } from 'node:perf_hooks';
import type { Client } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import { incidentWorkflowId, type Alert, type AlertsAccepted } from '../workflows/common/alerts';
import { alertsSignal, incidentStartOptions, severityOfAlert, type IncidentInput, type IncidentPlan } from '../workflows/incident/contract';

/** Temporal did not durably accept the alerts (unreachable, timed out, refused), or the queue is full: answer 503. */
export class IngestUnavailable extends Error {
  constructor(
    message: string,
    readonly reason: 'temporal' | 'overloaded' | 'closed',
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
  /** Identical alerts (same fingerprint and status) merged within one batch. */
  duplicates?(alerts: number): void;
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
  private inFlight = 0;
  private queued = 0;
  private closed = false;
  private readonly coalesce: boolean;
  private readonly maxQueued: number;
  private readonly maxCalls: number;
  private readonly maxBatch: number;
  private readonly timeoutMs: number;

  constructor(private readonly opts: IngestorOptions) {
    this.coalesce = opts.coalesce ?? true;
    this.maxQueued = opts.maxQueuedAlerts ?? 50_000;
    this.maxCalls = opts.maxConcurrentCalls ?? 256;
    this.maxBatch = opts.maxBatch ?? 500;
    this.timeoutMs = opts.timeoutMs ?? 5_000;
  }

  async ingest(alerts: Alert[]): Promise<AlertsAccepted> {
    if (this.closed) throw new IngestUnavailable('the receiver is shutting down', 'closed');
    if (alerts.length === 0) return { incidents: [], accepted: 0 };
    const byKey = new Map<string, Alert[]>();
    for (const a of alerts) {
      const list = byKey.get(a.dedupKey);
      if (list) list.push(a);
      else byKey.set(a.dedupKey, [a]);
    }
    let results: KeyResult[];
    if (!this.coalesce) {
      results = await Promise.all(alerts.map((a) => this.send(a.dedupKey, [a])));
    } else {
      if (this.queued + alerts.length > this.maxQueued) {
        throw new IngestUnavailable(`too many alerts waiting for Temporal (${this.queued}); retry later`, 'overloaded');
      }
      results = await Promise.all([...byKey].map(([key, list]) => this.enqueue(key, list)));
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

  /** Alerts waiting, calls in flight, keys with work. */
  stats(): { queuedAlerts: number; inFlight: number; keys: number } {
    return { queuedAlerts: this.queued, inFlight: this.inFlight, keys: this.keys.size };
  }

  /** Refuses new alerts and waits for the queued ones to be settled. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.drains.size > 0) await Promise.allSettled([...this.drains]);
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
      while (queue.waiting.length > 0) {
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
          const result = await this.send(
            key,
            dedupe(
              taken.flatMap((w) => w.alerts),
              this.opts.observer,
            ),
          );
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

  /** Records a batch of one key's alerts; several signals when it exceeds `maxBatch`. */
  private async send(key: string, alerts: Alert[]): Promise<KeyResult> {
    const workflowId = incidentWorkflowId(key);
    let recorded = false;
    for (let i = 0; i < alerts.length; i += this.maxBatch) {
      recorded = (await this.signal(key, workflowId, alerts.slice(i, i + this.maxBatch))) || recorded;
    }
    return { workflowId, recorded };
  }

  private async signal(key: string, workflowId: string, alerts: Alert[]): Promise<boolean> {
    const { client, taskQueue, observer } = this.opts;
    const firing = alerts.find((a) => a.status === 'firing');
    const call = firing ? 'signalWithStart' : 'signal';
    const started = performance.now();
    try {
      await client.withDeadline(Date.now() + this.timeoutMs, async () => {
        if (firing) {
          await client.workflow.signalWithStart('incident', {
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
        } else {
          // Only resolutions: they settle an open incident, but must never open one.
          await client.workflow.getHandle(workflowId).signal(alertsSignal, alerts);
        }
      });
      observer?.temporalCall?.(call, 'ok', (performance.now() - started) / 1000);
      return true;
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

/** Keeps the last of identical alerts (same fingerprint and status) and the order of the rest. */
function dedupe(alerts: Alert[], observer?: IngestObserver): Alert[] {
  if (alerts.length < 2) return alerts;
  const seen = new Set<string>();
  const kept: Alert[] = [];
  for (let i = alerts.length - 1; i >= 0; i--) {
    const id = `${alerts[i].status}\u0000${alerts[i].fingerprint}`;
    if (seen.has(id)) continue;
    seen.add(id);
    kept.push(alerts[i]);
  }
  if (kept.length < alerts.length) observer?.duplicates?.(alerts.length - kept.length);
  return kept.reverse();
}
