import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from '../harness/cli';

/**
 * Lints probe files with the project's own eslint.config.mjs and tsconfig.json, copied verbatim into a
 * scratch project so the probes never appear in the shared source tree. Returns "rule: message" per file.
 */
function lintProbes(files: Record<string, string>): Record<string, string[]> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'runbook-lint-'));
  try {
    copyFileSync(path.join(ROOT, 'eslint.config.mjs'), path.join(dir, 'eslint.config.mjs'));
    copyFileSync(path.join(ROOT, 'tsconfig.json'), path.join(dir, 'tsconfig.json'));
    symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
    for (const [rel, code] of Object.entries(files)) {
      mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
      writeFileSync(path.join(dir, rel), code);
    }
    const res = spawnSync(path.join(ROOT, 'node_modules', '.bin', 'eslint'), ['--format', 'json', 'src'], {
      cwd: dir,
      encoding: 'utf8',
      timeout: 120_000,
    });
    if (res.status !== 0 && res.status !== 1) throw new Error(`eslint exited ${res.status}: ${res.stderr}`);
    const report = JSON.parse(res.stdout) as { filePath: string; messages: { ruleId: string | null; message: string }[] }[];
    return Object.fromEntries(report.map((r) => [path.relative(dir, r.filePath), r.messages.map((m) => `${m.ruleId}: ${m.message}`)]));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('lint keeps workflows deterministic', () => {
  let results: Record<string, string[]>;
  beforeAll(() => {
    results = lintProbes({
      'src/workflows/imports-fs.ts': "import { readFileSync } from 'fs';\nexport const f = () => readFileSync('x');\n",
      'src/workflows/imports-node-fs.ts': "import { readFileSync } from 'node:fs';\nexport const f = () => readFileSync('x');\n",
      'src/workflows/imports-pg.ts': "import { Pool } from 'pg';\nexport const p = () => new Pool();\n",
      'src/workflows/imports-undici.ts': "import { request } from 'undici';\nexport const r = () => request('http://x');\n",
      'src/workflows/activity-value.ts': "import { createActivities } from '../activities';\nexport const a = createActivities;\n",
      'src/workflows/deploy/config-value.ts': "import { severity } from '../../config/schema';\nexport const s = severity;\n",
      'src/workflows/deploy/sibling-values.ts': [
        "import type { RunbookConfig } from '../../config/schema';",
        "import type { Pool } from 'pg';",
        "import { ok } from '../common';",
        "import { plan } from './contract';",
        'export const f = (c: RunbookConfig, p: Pool) => [ok, plan, c, p];',
        '',
      ].join('\n'),
      'src/workflows/common/index.ts': 'export const ok = 1;\n',
      'src/workflows/deploy/contract.ts': 'export const plan = 1;\n',
      'src/config/schema.ts': 'export const severity = 1;\nexport type RunbookConfig = { name: string };\n',
      'src/workflows/clean.ts': [
        "import { proxyActivities } from '@temporalio/workflow';",
        "import { z } from 'zod';",
        "const { count } = proxyActivities<{ count(): Promise<number> }>({ startToCloseTimeout: '1m' });",
        'export async function probe(): Promise<number> {',
        '  return z.number().parse(1) + (await count());',
        '}',
        '',
      ].join('\n'),
      'src/activities/index.ts': 'export const createActivities = () => ({});\n',
      'src/activities/io.ts':
        "import { readFileSync } from 'node:fs';\nimport { Pool } from 'pg';\nexport const f = () => [readFileSync('x'), new Pool()];\n",
      'src/activities/floating.ts': 'async function f(): Promise<void> {}\nexport function g(): void {\n  f();\n}\n',
    });
  }, 150_000);

  it.each(['fs', 'node-fs', 'pg', 'undici'])('fails on a workflow file importing %s', (name) => {
    expect(results[`src/workflows/imports-${name}.ts`]).toEqual([
      expect.stringMatching(/^@typescript-eslint\/no-restricted-imports: .*Workflows must be deterministic/),
    ]);
  });

  it('fails on a workflow importing activities as values', () => {
    expect(results['src/workflows/activity-value.ts']).toEqual([
      expect.stringMatching(/'\.\.\/activities' import is restricted.*import type/),
    ]);
  });

  it('fails on a capability workflow importing a value from outside src/workflows', () => {
    expect(results['src/workflows/deploy/config-value.ts']).toEqual([
      expect.stringMatching(/'\.\.\/\.\.\/config\/schema' import is restricted/),
    ]);
  });

  it('passes values from src/workflows and types from anywhere', () => {
    expect(results['src/workflows/deploy/sibling-values.ts']).toEqual([]);
  });

  it('passes a workflow using only the workflow API and zod', () => {
    expect(results['src/workflows/clean.ts']).toEqual([]);
  });

  it('allows the same imports in activities, where I/O belongs', () => {
    expect(results['src/activities/io.ts']).toEqual([]);
  });

  it('fails on a floating promise', () => {
    expect(results['src/activities/floating.ts']).toEqual([expect.stringMatching(/^@typescript-eslint\/no-floating-promises/)]);
  });
});
