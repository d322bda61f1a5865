import { condition } from '@temporalio/workflow';
import { messageOf, publish } from '../common';
import { judgeMetricSample, type MetricReading } from '../common/metrics';
import type { AbortRequest, DeployPlan, DeployProgress, DeployStage, EndWatchRequest, WatchSample } from './contract';
import type { DeployProxies } from './proxies';

/**
 * Standard Deployment 7 and each rolling-release stage: sample health and metrics every interval and
 * classify each sample against the runbook's alert thresholds (Monitoring & Alerts → Alert Thresholds).
 * The rollback condition is one `critical` sample (classifySample): error rate above
 * `thresholds.errorRate.critical` (runbook: 5 %), p99 above `thresholds.p99Ms.critical` (10 s), or
 * `deploy.unhealthySamplesForRollback` (3) unhealthy samples in a row. Warnings (1 %, 5 s) only notify.
 * The figures reach the workflow in its plan (planFrom in contract.ts). A service with configured metrics
 * (services[].metrics) is judged by those instead: a metric breaches after its failureLimit critical
 * samples in a row (judgeMetricSample), and during a staged promotion a compared metric only above
 * k × the stable deployment's value too.
 */

export interface WatchThresholds {
  errorRate: { warning: number; critical: number };
  p99Ms: { warning: number; critical: number };
  /** Unhealthy samples in a row that make a critical breach. */
  unhealthySamples: number;
}

export interface RawSample {
  /** No observation at all (our sampling failed, e.g. the worker died): says nothing about the app. */
  missing?: boolean;
  healthy: boolean;
  errorRate: number | null;
  p99Ms: number | null;
  detail: string;
  /** Readings of the configured metrics; present → they replace the error-rate and p99 rules. */
  metrics?: MetricReading[];
}

/**
 * critical: error rate > critical, p99 > critical, or unhealthy `unhealthySamples` times in a row;
 * warning: error rate > warning, p99 > warning, an unhealthy sample short of that run, no metrics, or no
 * sample at all (which neither starts nor breaks a run of unhealthy samples).
 */
export function classifySample(
  s: RawSample,
  consecutiveUnhealthy: number,
  t: WatchThresholds,
  metricVerdict?: { critical: string[]; warning: string[] },
): { level: WatchSample['level']; reasons: string[] } {
  if (s.missing) return { level: 'warning', reasons: [`no sample (${s.detail})`] };
  const critical: string[] = [...(metricVerdict?.critical ?? [])];
  const warning: string[] = [...(metricVerdict?.warning ?? [])];
  if (s.errorRate !== null) {
    if (s.errorRate > t.errorRate.critical) critical.push(`error rate ${s.errorRate}% > ${t.errorRate.critical}%`);
    else if (s.errorRate > t.errorRate.warning) warning.push(`error rate ${s.errorRate}% > ${t.errorRate.warning}%`);
  }
  if (s.p99Ms !== null) {
    if (s.p99Ms > t.p99Ms.critical) critical.push(`p99 ${s.p99Ms} ms > ${t.p99Ms.critical} ms`);
    else if (s.p99Ms > t.p99Ms.warning) warning.push(`p99 ${s.p99Ms} ms > ${t.p99Ms.warning} ms`);
  }
  if (!s.healthy) {
    const line = `unhealthy ${consecutiveUnhealthy}× in a row (${s.detail})`;
    if (consecutiveUnhealthy >= t.unhealthySamples) critical.push(line);
    else warning.push(line);
  }
  if (!s.metrics && (s.errorRate === null || s.p99Ms === null)) warning.push(`metrics unavailable (${s.detail})`);
  if (critical.length) return { level: 'critical', reasons: critical };
  if (warning.length) return { level: 'warning', reasons: warning };
  return { level: 'ok', reasons: [] };
}

export type WatchOutcome =
  { kind: 'passed' } | { kind: 'critical'; reasons: string[] } | { kind: 'aborted' } | { kind: 'ended'; by: string; reason: string };

const RECENT_SAMPLES = 20;

/** What the watch reads and writes of the deploy run it belongs to. */
export interface WatchRun {
  state: DeployProgress;
  /** Set by the abort and endWatch updates while the watch waits. */
  requests: { abort?: AbortRequest; endWatch?: EndWatchRequest };
  plan: DeployPlan;
  sampler: DeployProxies['sampler'];
  enter(stage: DeployStage): void;
  notify(text: string): void;
  /** `ref@sha` as notices name it. */
  what: string;
}

/** Watches `url` at `percent` for `durationMs`: passes, breaches critically, or stops early on abort or endWatch. */
export async function watch(run: WatchRun, percent: number, durationMs: number, url: string): Promise<WatchOutcome> {
  const { state, requests, plan: p, sampler } = run;
  const service = state.service;
  const now = () => new Date().toISOString();
  const interval = p.durations.sampleInterval;
  const startedAt = Date.now();
  const planned = Math.max(1, Math.floor(durationMs / interval));
  requests.endWatch = undefined;
  const w = {
    percent,
    startedAt: new Date(startedAt).toISOString(),
    endsAt: new Date(startedAt + durationMs).toISOString(),
    samplesTaken: 0,
    samplesPlanned: planned,
    lastErrorRate: null as number | null,
    lastP99Ms: null as number | null,
    lastHealthy: null as boolean | null,
    consecutiveUnhealthy: 0,
    metricStreaks: undefined as Record<string, number> | undefined,
    warnings: 0,
    timeLeftMs: durationMs,
  };
  state.watch = w;
  run.enter('watching');
  let warned = false;
  for (let k = 1; k <= planned; k++) {
    await condition(
      () => requests.abort !== undefined || requests.endWatch !== undefined,
      Math.max(1, startedAt + k * interval - Date.now()),
    );
    if (requests.abort) return { kind: 'aborted' };
    // Set by the endWatch update while this loop waited (TypeScript still narrows it to undefined).
    const ended = requests.endWatch as EndWatchRequest | undefined;
    if (ended) {
      state.watch = { ...w, endedEarly: ended };
      return { kind: 'ended', ...ended };
    }
    // The new deployment, and during a staged promotion the stable one it is compared with.
    const s: RawSample = await sampler
      .sampleHealth({
        service,
        baseUrl: url,
        deployment: state.production?.id,
        stableDeployment: percent < 100 ? state.previousProduction?.id : undefined,
      })
      .catch((err) => ({ missing: true, healthy: false, status: null, errorRate: null, p99Ms: null, detail: messageOf(err) }));
    if (!s.missing) w.consecutiveUnhealthy = s.healthy ? 0 : w.consecutiveUnhealthy + 1;
    let metricVerdict;
    if (s.metrics) {
      metricVerdict = judgeMetricSample(s.metrics, w.metricStreaks ?? {}, p.baselineFactor ?? 2);
      w.metricStreaks = metricVerdict.streaks;
    }
    const { level, reasons } = classifySample(
      s,
      w.consecutiveUnhealthy,
      { ...p.thresholds, unhealthySamples: p.unhealthySamplesForRollback },
      metricVerdict,
    );
    const sample: WatchSample = {
      at: now(),
      percent,
      healthy: s.healthy,
      errorRate: s.errorRate,
      p99Ms: s.p99Ms,
      level,
      reasons,
      ...(s.metrics
        ? {
            metrics: s.metrics.map((r) => ({
              name: r.name,
              provider: r.provider,
              value: r.value,
              ...(r.stable !== undefined ? { stable: r.stable } : {}),
              queriedAt: r.queriedAt,
              ...(r.error ? { error: r.error } : {}),
            })),
          }
        : {}),
    };
    Object.assign(w, {
      samplesTaken: k,
      lastErrorRate: s.errorRate,
      lastP99Ms: s.p99Ms,
      lastHealthy: s.healthy,
      timeLeftMs: Math.max(0, startedAt + durationMs - Date.now()),
    });
    state.samplesTaken += 1;
    state.recentSamples = [...state.recentSamples, sample].slice(-RECENT_SAMPLES);
    // Shown in the Temporal UI beside the run's summary.
    const shown = s.metrics
      ? s.metrics.map((r) => `${r.name} ${r.value ?? '-'}${r.rule.unit === '%' ? '%' : r.rule.unit ? ` ${r.rule.unit}` : ''}`).join(', ')
      : `error rate ${s.errorRate ?? '-'}%, p99 ${s.p99Ms ?? '-'} ms`;
    publish({ details: `watching at ${percent}%: ${k}/${planned} samples, ${shown}, ${level}` });
    if (level === 'critical') return { kind: 'critical', reasons };
    if (level === 'warning') {
      w.warnings += 1;
      // Warning thresholds notify and carry on; one notice per run of warning samples.
      if (!warned) run.notify(`⚠️ ${service} ${run.what} at ${percent}%: ${reasons.join('; ')} (watch continues)`);
      warned = true;
    } else warned = false;
  }
  return { kind: 'passed' };
}
