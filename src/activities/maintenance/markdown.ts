import type { MaintenanceKind, MaintenanceStep } from '../../workflows/maintenance/contract';

type Cell = string | number | boolean | null | undefined;

const escapeCell = (c: Cell) => (c === null || c === undefined || c === '' ? '–' : String(c).replace(/\|/g, '\\|').replace(/\n/g, ' '));

/** A GitHub-flavoured markdown table. */
export function mdTable(headers: string[], rows: Cell[][]): string {
  return [
    `| ${headers.join(' | ')} |`,
    `|${headers.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.map(escapeCell).join(' | ')} |`),
  ].join('\n');
}

export function formatBytes(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let v = Math.abs(n);
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${n < 0 ? '-' : ''}${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

const ICON = { ok: '✅', failed: '❌', skipped: '⏭️' } as const;

/** The stored and posted maintenance report: failures first, then every step in the order it ran. */
export function renderMaintenanceReport(r: {
  name: string;
  kind: MaintenanceKind;
  workflowId: string;
  startedAt: string;
  steps: MaintenanceStep[];
}): string {
  const failed = r.steps.filter((s) => s.status === 'failed');
  const lines = [
    `# ${r.kind[0].toUpperCase()}${r.kind.slice(1)} maintenance — ${r.name}`,
    '',
    `Started ${r.startedAt} · workflow \`${r.workflowId}\``,
    '',
  ];
  lines.push(
    failed.length
      ? `**${failed.length} of ${r.steps.length} steps failed:** ${failed.map((s) => `${s.name} (${s.summary})`).join('; ')}`
      : `All ${r.steps.length} steps completed (${r.steps.filter((s) => s.status === 'skipped').length} skipped).`,
    '',
    mdTable(
      ['', 'step', 'result', 'time'],
      r.steps.map((s) => [ICON[s.status], s.name, s.summary, `${(s.durationMs / 1000).toFixed(1)} s`]),
    ),
  );
  for (const s of r.steps) {
    if (!s.markdown) continue;
    lines.push('', `## ${s.name}`, '', s.markdown);
  }
  return `${lines.join('\n')}\n`;
}

/** A short plain-text version for chat: the headline and one line per failed or noteworthy step. */
export function chatSummary(r: { name: string; kind: MaintenanceKind; steps: MaintenanceStep[] }, reportRef: string): string {
  const failed = r.steps.filter((s) => s.status === 'failed');
  const head = failed.length
    ? `${ICON.failed} ${r.kind} maintenance of ${r.name}: ${failed.length} of ${r.steps.length} steps failed`
    : `${ICON.ok} ${r.kind} maintenance of ${r.name}: ${r.steps.length} steps done`;
  const body = r.steps.map((s) => `${ICON[s.status]} ${s.name}: ${s.summary}`);
  return [head, ...body, `Full report: ${reportRef}`].join('\n');
}
