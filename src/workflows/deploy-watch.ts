import type { WatchSample } from '../shared/deploy';

/** How one watch sample compares with the runbook's alert thresholds (Monitoring & Alerts → Alert Thresholds). */

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
): { level: WatchSample['level']; reasons: string[] } {
  if (s.missing) return { level: 'warning', reasons: [`no sample (${s.detail})`] };
  const critical: string[] = [];
  const warning: string[] = [];
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
  if (s.errorRate === null || s.p99Ms === null) warning.push(`metrics unavailable (${s.detail})`);
  if (critical.length) return { level: 'critical', reasons: critical };
  if (warning.length) return { level: 'warning', reasons: warning };
  return { level: 'ok', reasons: [] };
}
