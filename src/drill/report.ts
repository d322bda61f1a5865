import { table } from '../cli/output';
import type { Measure, ScenarioResult } from './types';
import { formatMs } from './util';

function cell(m: Measure): string {
  if (m.ms === undefined) return '-';
  return m.slaMs === undefined ? formatMs(m.ms) : `${formatMs(m.ms)} / ${formatMs(m.slaMs)}`;
}

/** The game-day report: one row per scenario (measures as "took / target"), then notes and failures. */
export function reportLines(results: ScenarioResult[]): string[] {
  const rows = results.map((r) => [
    r.scenario,
    r.outcome.toUpperCase(),
    cell(r.detection),
    cell(r.firstPage),
    cell(r.mitigation),
    cell(r.resolution),
    formatMs(r.durationMs),
    r.clean ? 'yes' : 'NO',
  ]);
  const lines = table(['SCENARIO', 'OUTCOME', 'DETECTION', 'FIRST PAGE', 'MITIGATION', 'RESOLUTION', 'TOOK', 'CLEAN'], rows);
  lines.push('', 'times from fault injection, as took / runbook target');
  for (const r of results) {
    lines.push('', `${r.scenario}: ${r.outcome}${r.incidentId ? ` (${r.incidentId})` : ''}`);
    for (const n of r.notes) lines.push(`  - ${n}`);
    for (const f of r.failures) lines.push(`  ✗ ${f}`);
    for (const c of r.cleanupProblems) lines.push(`  ✗ cleanup: ${c}`);
  }
  const passed = results.filter((r) => r.outcome === 'pass').length;
  lines.push('', `${passed} of ${results.length} drills passed`);
  return lines;
}
