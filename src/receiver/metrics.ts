import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { AlertIngestor, IngestObserver } from './ingest';

/** The receiver's Prometheus metrics, on a registry of its own so several receivers can share a process. */
export function receiverMetrics(opts: { processMetrics?: boolean } = {}) {
  const registry = new Registry();
  const registers = [registry];
  if (opts.processMetrics) collectDefaultMetrics({ register: registry });

  const requests = new Counter({
    name: 'runbook_webhook_requests_total',
    help: 'Webhook requests by route and response status',
    labelNames: ['route', 'status'] as const,
    registers,
  });
  const accepted = new Counter({
    name: 'runbook_alerts_accepted_total',
    help: 'Alerts durably recorded in an incident workflow, by source',
    labelNames: ['source'] as const,
    registers,
  });
  const coalesced = new Counter({
    name: 'runbook_alerts_coalesced_total',
    help: 'Alerts that joined a signal sent for another request instead of a Temporal call of their own',
    registers,
  });
  const duplicates = new Counter({
    name: 'runbook_alerts_duplicate_total',
    help: 'Alerts answered without a Temporal call: repeats of what their incident already has, or of an alert in the same signal',
    registers,
  });
  const forwarded = new Counter({
    name: 'runbook_alerts_forwarded_total',
    help: 'Repeats answered from memory, then sent to Temporal after all because the incident run that had them closed',
    registers,
  });
  const replays = new Counter({
    name: 'runbook_webhook_replays_total',
    help: 'Webhook deliveries ignored because their delivery id was already recorded',
    labelNames: ['source'] as const,
    registers,
  });
  const temporalSeconds = new Histogram({
    name: 'runbook_temporal_call_seconds',
    help: 'Latency of Temporal calls that record alerts',
    labelNames: ['call', 'outcome'] as const,
    buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers,
  });
  // Gauges read the ingestor's state when scraped.
  let ingestor: AlertIngestor | undefined;
  const stateGauge = (name: string, help: string, stat: 'queuedAlerts' | 'journalBacklog' | 'inFlight') =>
    new Gauge({
      name,
      help,
      registers,
      collect() {
        this.set(ingestor?.stats()[stat] ?? 0);
      },
    });
  stateGauge('runbook_alerts_queued', 'Alerts waiting for Temporal', 'queuedAlerts');
  stateGauge('runbook_alerts_journal_backlog', 'Journal records acknowledged but not yet taken by Temporal', 'journalBacklog');
  stateGauge('runbook_temporal_calls_in_flight', 'Temporal calls in flight', 'inFlight');

  const observer: IngestObserver = {
    temporalCall: (call, outcome, seconds) => temporalSeconds.observe({ call, outcome }, seconds),
    coalesced: (n) => coalesced.inc(n),
    duplicates: (n) => duplicates.inc(n),
    forwarded: (n) => forwarded.inc(n),
  };

  return {
    registry,
    requests,
    accepted,
    replays,
    observer,
    watch(source: AlertIngestor): void {
      ingestor = source;
    },
  };
}
export type ReceiverMetrics = ReturnType<typeof receiverMetrics>;
