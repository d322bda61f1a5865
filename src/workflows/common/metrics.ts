/**
 * Judging one metric reading (deploy watch and health check alike): pure, so the rules are tested
 * without I/O and the watch can apply them in the workflow. The readings come from the providers in
 * src/activities/metrics/.
 */

export type MetricProviderType = 'prometheus' | 'sql' | 'endpoint';

/** A metric's thresholds, as configured (services[].metrics[]). */
export interface MetricRule {
  warning?: number;
  critical: number;
  unit: string;
  /** What a query that returns nothing means. */
  noData: 'ignore' | 'warning' | 'critical';
  /** Critical samples in a row before the watch rolls back. */
  failureLimit: number;
  /** Staged promotion: judged against the stable deployment too. */
  compareToStable: boolean;
}

/** One query of one metric: its value (null = no data), who answered and when. */
export interface MetricReading {
  name: string;
  /** Key of metricProviders. */
  provider: string;
  providerType: MetricProviderType;
  value: number | null;
  /** The stable deployment's value, when the metric was compared with it. */
  stable?: number | null;
  /** When the query ran (ISO). */
  queriedAt: string;
  tookMs: number;
  /** The query itself failed (provider down, bad query): neither ok nor a breach of the app. */
  error?: string;
  rule: MetricRule;
}

export type MetricLevel = 'ok' | 'warning' | 'critical';

const shown = (v: number, unit: string) => `${Math.round(v * 1000) / 1000}${unit === '%' ? '%' : unit ? ` ${unit}` : ''}`;

/**
 * critical: above `critical` (and, compared with the stable deployment, above k × its value too),
 * or no data where no data is critical; warning: above `warning`, an unreadable query, or no data
 * where no data is a warning; ok otherwise (no data ignored included).
 */
export function judgeMetric(r: MetricReading, k: number): { level: MetricLevel; reason: string } {
  const { rule } = r;
  const name = `${r.name} (${r.provider})`;
  if (r.error) return { level: 'warning', reason: `${name} unreadable: ${r.error}` };
  if (r.value === null) {
    const level = rule.noData === 'ignore' ? 'ok' : rule.noData;
    return { level, reason: `${name}: no data${rule.noData === 'ignore' ? ' (ignored)' : ''}` };
  }
  const v = r.value;
  if (v > rule.critical) {
    if (rule.compareToStable && typeof r.stable === 'number' && v <= k * r.stable)
      return {
        level: 'warning',
        reason: `${name} ${shown(v, rule.unit)} > ${shown(rule.critical, rule.unit)} but within ${k}× the stable deployment's ${shown(r.stable, rule.unit)}`,
      };
    const vsStable = rule.compareToStable && typeof r.stable === 'number' ? ` and > ${k}× stable ${shown(r.stable, rule.unit)}` : '';
    return { level: 'critical', reason: `${name} ${shown(v, rule.unit)} > ${shown(rule.critical, rule.unit)}${vsStable}` };
  }
  if (rule.warning !== undefined && v > rule.warning)
    return { level: 'warning', reason: `${name} ${shown(v, rule.unit)} > ${shown(rule.warning, rule.unit)}` };
  return { level: 'ok', reason: `${name} ${shown(v, rule.unit)}` };
}

/**
 * The watch's rule over time: a metric breaches critically only after `failureLimit` critical
 * samples in a row, so a single spike is a warning. `streaks` is each metric's current run.
 */
export function judgeMetricSample(
  readings: MetricReading[],
  streaks: Record<string, number>,
  k: number,
): { critical: string[]; warning: string[]; streaks: Record<string, number> } {
  const critical: string[] = [];
  const warning: string[] = [];
  const next: Record<string, number> = {};
  for (const r of readings) {
    const { level, reason } = judgeMetric(r, k);
    next[r.name] = level === 'critical' ? (streaks[r.name] ?? 0) + 1 : 0;
    if (level === 'critical' && next[r.name] >= r.rule.failureLimit) critical.push(`${reason} (${next[r.name]}× in a row)`);
    else if (level === 'critical') warning.push(`${reason} (${next[r.name]}/${r.rule.failureLimit} in a row)`);
    else if (level === 'warning') warning.push(reason);
  }
  return { critical, warning, streaks: next };
}
