import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { StepOutcome } from '../../workflows/maintenance/contract';
import { childEnv } from '../../host/child-env';
import { mdTable } from './markdown';

interface NpmRun {
  json?: Record<string, unknown>;
  error?: string;
}

/** Runs `npm <args> --json` in `cwd`; npm exits 1 when something is outdated or vulnerable, so the exit code is not the verdict. */
function npmJson(cwd: string, args: string[], timeoutMs: number, env: NodeJS.ProcessEnv): Promise<NpmRun> {
  return new Promise((resolve) => {
    execFile('npm', [...args, '--json'], { cwd, timeout: timeoutMs, maxBuffer: 32 * 1024 * 1024, env }, (err, stdout, stderr) => {
      let json: Record<string, unknown> | undefined;
      try {
        json = stdout.trim() ? (JSON.parse(stdout) as Record<string, unknown>) : {};
      } catch {
        json = undefined;
      }
      const npmError = json?.error as { code?: string; summary?: string; detail?: string } | undefined;
      if (npmError) return resolve({ error: [npmError.code, npmError.summary ?? npmError.detail].filter(Boolean).join(': ') });
      if (json) return resolve({ json });
      const killed = (err as { killed?: boolean } | null)?.killed;
      const firstLine = (stderr || String(err?.message ?? '')).split('\n').find((l) => l.trim()) ?? 'no output';
      resolve({ error: killed ? `timed out after ${Math.round(timeoutMs / 1000)} s` : firstLine.trim() });
    });
  });
}

const SEVERITIES = ['critical', 'high', 'moderate', 'low', 'info'] as const;

/**
 * Monthly → Update dependencies: what `npm outdated` and `npm audit` say about the application checkout.
 * It only reports; updating stays a reviewed change that goes through the deploy workflow.
 */
export async function dependencyReport(checkout: string, opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<StepOutcome> {
  if (!existsSync(path.join(checkout, 'package.json'))) {
    return { status: 'failed', summary: `no package.json in ${checkout} (maintenance.appCheckout)` };
  }
  const timeoutMs = opts.timeoutMs ?? 120_000;
  // npm gets what it needs to run and reach its registry, not the worker's tokens.
  const env = childEnv({ npm_config_update_notifier: 'false', npm_config_fund: 'false' }, { ...process.env, ...opts.env });
  const [outdated, audit] = await Promise.all([
    npmJson(checkout, ['outdated'], timeoutMs, env),
    npmJson(checkout, ['audit'], timeoutMs, env),
  ]);

  const lines: string[] = [];
  const summary: string[] = [];
  let outdatedCount: number | undefined;
  if (outdated.json) {
    const entries = Object.entries(outdated.json as Record<string, { current?: string; wanted?: string; latest?: string }>);
    outdatedCount = entries.length;
    summary.push(`${entries.length} outdated packages`);
    lines.push(
      '### npm outdated',
      '',
      entries.length
        ? mdTable(
            ['package', 'current', 'wanted', 'latest'],
            entries.map(([n, v]) => [n, v.current, v.wanted, v.latest]),
          )
        : 'Everything is up to date.',
    );
  } else {
    summary.push(`npm outdated failed: ${outdated.error}`);
    lines.push('### npm outdated', '', `Could not run: ${outdated.error}`);
  }
  let vulnerabilities: Record<string, number> | undefined;
  if (audit.json) {
    const meta = (audit.json.metadata as { vulnerabilities?: Record<string, number> } | undefined)?.vulnerabilities ?? {};
    vulnerabilities = Object.fromEntries(SEVERITIES.map((s) => [s, Number(meta[s] ?? 0)]));
    const total = SEVERITIES.reduce((n, s) => n + vulnerabilities![s], 0);
    summary.push(
      total
        ? `${total} vulnerabilities (${SEVERITIES.filter((s) => vulnerabilities![s])
            .map((s) => `${vulnerabilities![s]} ${s}`)
            .join(', ')})`
        : 'no known vulnerabilities',
    );
    lines.push('', '### npm audit', '', mdTable([...SEVERITIES], [SEVERITIES.map((s) => vulnerabilities![s])]));
  } else {
    summary.push(`npm audit failed: ${audit.error}`);
    lines.push('', '### npm audit', '', `Could not run: ${audit.error}`);
  }
  lines.push('', 'Updating stays a reviewed change: `npm update`, `npm audit fix`, then the deploy workflow (preview, promote, watch).');
  return {
    status: outdated.json && audit.json ? 'ok' : 'failed',
    summary: summary.join('; '),
    markdown: lines.join('\n'),
    data: { outdated: outdatedCount, vulnerabilities, errors: [outdated.error, audit.error].filter(Boolean) },
  };
}
