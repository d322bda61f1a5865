/**
 * `runbook drill` as a user runs it, in a child process: it refuses without a sandbox or with real platform
 * tokens, and runs drills against a world (Temporal, sandbox, receiver, worker) it is pointed at.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { freePort } from '../../src/stack/ports';
import type { ScenarioResult } from '../../src/drill/types';
import { ROOT, runCli } from '../harness/cli';
import { worldProblems } from './assert-clean';
import { openDrillWorld, TOKEN, type TestDrillWorld } from './world';

jest.setTimeout(240_000);

function configOnQueue(taskQueue: string): string {
  const raw = parseYaml(readFileSync(path.join(ROOT, 'config', 'examples', 'vercel-supabase.yaml'), 'utf8')) as Record<string, unknown>;
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'runbook-drill-')), 'config.yaml');
  writeFileSync(file, toYaml({ ...raw, temporal: { taskQueue } }));
  return file;
}

describe('runbook drill (CLI)', () => {
  it('refuses with a real platform token, without a sandbox, and for an unknown scenario (exit 2, nothing done)', async () => {
    const token = await runCli(['drill', 'all'], { VERCEL_TOKEN: 'a-real-looking-token' });
    expect(token.code).toBe(2);
    expect(token.stderr).toContain('refusing to drill: real platforms are configured (VERCEL_TOKEN set)');

    const port = await freePort();
    const none = await runCli(['drill', 'all', '--json', '--sandbox-url', `http://127.0.0.1:${port}`]);
    expect(none.code).toBe(2);
    expect(JSON.parse(none.stdout).error.message).toContain(`no embedded platform sandbox answers at http://127.0.0.1:${port} (flag)`);

    const unknown = await runCli(['drill', 'fire-drill']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain(
      'unknown scenario "fire-drill": one of alert-storm, escalation, bad-release, data-loss, provider-outage, db-overload, or all',
    );
  });

  describe('against a running world', () => {
    let t: TestDrillWorld;
    beforeAll(async () => {
      t = await openDrillWorld();
    });
    afterAll(async () => {
      await t?.close();
    });

    it('runs alert-storm and escalation, prints the report as JSON and exits 0', async () => {
      const res = await runCli(
        [
          'drill',
          'alert-storm,escalation',
          '--json',
          '--sla-scale',
          '1/900',
          '--sandbox-url',
          t.world.sandbox.url,
          '--receiver-url',
          t.world.receiver!.url,
          '--app-db-url',
          t.world.appDatabaseUrl,
          '--ops-db-url',
          t.world.opsDatabaseUrl!,
        ],
        { TEMPORAL_ADDRESS: t.temporalAddress, RUNBOOK_CONFIG: configOnQueue(t.world.taskQueue), RUNBOOK_WEBHOOK_TOKEN: TOKEN },
        200_000,
      );
      const report = JSON.parse(res.stdout) as { passed: number; total: number; scenarios: ScenarioResult[] };
      expect({ code: res.code, failures: report.scenarios.flatMap((s) => s.failures) }).toEqual({ code: 0, failures: [] });
      expect(report).toMatchObject({ passed: 2, total: 2 });
      expect(report.scenarios.map((s) => s.clean)).toEqual([true, true]);
      const escalation = report.scenarios.find((s) => s.scenario === 'escalation')!;
      expect(escalation.firstPage.slaMs).toBe(4_000);
      expect(escalation.notes.join('\n')).toMatch(/P1 escalation steps scaled: primary at 0\.0s, vendor-support at 4\.0s/);
      expect(await worldProblems(t)).toEqual([]);
    });
  });
});
