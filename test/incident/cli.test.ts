import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify as toYaml } from 'yaml';
import type { IncidentState } from '../../src/workflows/incident/contract';
import { runCli } from '../harness/cli';
import { startTestWorker, testEnv, type TestWorker } from '../harness';
import { incidentConfig, incidentStack, pdTriggers, type IncidentStack } from './helpers';

/** `runbook incident …` as a user runs it, against a real Temporal server, a worker and the sandbox. */
describe('runbook incident (the CLI)', () => {
  let stack: IncidentStack;
  let worker: TestWorker;
  let env: Record<string, string>;

  beforeAll(async () => {
    const config = incidentConfig({ flapGuard: 1_000 });
    stack = await incidentStack({ ...config, deploy: { ...config.deploy, pollInterval: 100 } });
    worker = await startTestWorker({ deps: stack.deps });
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'incident-cli-')), 'runbook.yaml');
    // The sandbox-pointed configuration, on the test worker's task queue.
    writeFileSync(
      file,
      toYaml(
        JSON.parse(JSON.stringify({ ...stack.deps.config, temporal: { ...stack.deps.config.temporal, taskQueue: worker.taskQueue } })),
      ),
    );
    env = { TEMPORAL_ADDRESS: testEnv.temporalAddress, RUNBOOK_CONFIG: file, USER: 'tester' };
  });
  afterAll(async () => {
    await worker?.close();
    await stack?.close();
  });

  /** `incident list` output once visibility (indexed a moment after each change) shows `count` rows. */
  async function listed(args: string[], count: number, ok: (rows: { status: string }[]) => boolean = () => true): Promise<unknown[]> {
    for (let i = 0; ; i++) {
      const rows = (JSON.parse((await runCli(args, env)).stdout) as { incidents: { status: string }[] }).incidents;
      if ((rows.length === count && ok(rows)) || i === 5) return rows;
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  it('refuses bad input with exit 2 naming the field, and starts nothing', async () => {
    const bad = await runCli(['incident', 'declare', '--title', 'Checkout down', '--severity', 'P9'], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/Invalid option: expected one of "P0"\|"P1"\|"P2"\|"P3"|P0.*P1.*P2.*P3/);
    const service = await runCli(
      ['incident', 'declare', '--title', 'Checkout down', '--severity', 'P1', '--service', 'nope', '--json'],
      env,
    );
    expect(service.code).toBe(2);
    expect(JSON.parse(service.stdout).error.message).toMatch(/--service: no service "nope"/);
    const mitigate = await runCli(['incident', 'mitigate', 'incident-x', '--playbook', 'reboot'], env);
    expect(mitigate.code).toBe(2);
    expect(mitigate.stderr).toMatch(/--playbook: one of rollback, switch-provider/);
    const missing = await runCli(['incident', 'show', 'incident-does-not-exist'], env);
    expect(missing.code).toBe(4);
    expect(stack.sandbox.calls()).toEqual([]);
  }, 120_000);

  it('declare, list, ack, note, severity, mitigate (propose + approve), show, resolve, postmortem, close', async () => {
    await worker.run(async () => {
      const declared = await runCli(
        ['incident', 'declare', '--title', 'Users cannot sign in', '--severity', 'P1', '--customer-facing', '--by', 'roy', '--json'],
        env,
      );
      expect(declared.code).toBe(0);
      const { incidentId, state } = JSON.parse(declared.stdout) as { incidentId: string; state: IncidentState };
      expect(incidentId).toMatch(/^incident-declared-users-cannot-sign-in-/);
      expect(state).toMatchObject({ severity: 'P1', declaredBy: 'roy', title: 'Users cannot sign in' });

      expect(await listed(['incident', 'list', '--json'], 1)).toEqual([
        expect.objectContaining({ incidentId, severity: 'P1', service: 'javari-web' }),
      ]);

      const ack = await runCli(['incident', 'ack', incidentId, '--note', 'on it'], env);
      expect(ack.code).toBe(0);
      expect(ack.stdout).toMatch(/P1 acknowledged — Users cannot sign in/);
      expect(ack.stdout).toMatch(/acknowledged by cli:tester/);
      const again = await runCli(['incident', 'ack', incidentId], env);
      expect(again.code).toBe(2);
      expect(again.stderr).toMatch(/already acknowledged by cli:tester/);

      expect((await runCli(['incident', 'note', incidentId, 'auth', 'service', 'returns', '503'], env)).code).toBe(0);
      const sev = await runCli(['incident', 'severity', incidentId, 'P0', '--reason', 'every login fails'], env);
      expect(sev.stdout).toMatch(/P0 acknowledged/);

      const proposed = await runCli(
        ['incident', 'mitigate', incidentId, '--playbook', 'read-only', '--reason', 'stop writes while auth is down'],
        env,
      );
      expect(proposed.code).toBe(0);
      expect(proposed.stdout).toMatch(/m1: awaiting-approval .*approve with: runbook incident mitigate .* --approve m1/);
      const approved = await runCli(['incident', 'mitigate', incidentId, '--approve', 'm1', '--json'], env);
      expect(approved.code).toBe(0);
      expect(JSON.parse(approved.stdout)).toMatchObject({ id: 'm1', status: 'succeeded', approvedBy: 'cli:tester' });

      const show = await runCli(['incident', 'show', incidentId], env);
      expect(show.code).toBe(0);
      expect(show.stdout).toMatch(/MITIGATION\s+STATUS/);
      expect(show.stdout).toMatch(/m1\s+succeeded\s+cli:tester\s+cli:tester\s+READ_ONLY_MODE=true on javari-web/);
      expect(show.stdout).toMatch(/cli:tester\s+auth service returns 503/);
      expect(show.stdout).toMatch(/Severity P1 → P0: every login fails/);

      const resolved = await runCli(['incident', 'resolve', incidentId, '--reason', 'auth restarted'], env);
      expect(resolved.code).toBe(0);
      expect(resolved.stdout).toMatch(/resolved by cli:tester/);

      const draft = await runCli(['incident', 'postmortem', incidentId], env);
      expect(draft.code).toBe(0);
      expect(draft.stdout).toMatch(/^# Post-mortem: Users cannot sign in/m);
      expect(draft.stdout).toMatch(/Undo m1 \(put javari-web in read-only mode/);

      const done = await runCli(
        ['incident', 'postmortem', incidentId, '--done', '--link', 'https://wiki/pm/7', '--action-item', 'Alert on auth 5xx'],
        env,
      );
      expect(done.code).toBe(0);
      expect(done.stdout).toMatch(/closed: post-mortem done by cli:tester/);

      const late = await runCli(['incident', 'ack', incidentId], env);
      expect(late.code).toBe(1);
      expect(late.stderr).toMatch(/has ended \(completed\)/);
      expect(await listed(['incident', 'list', '--json'], 0)).toEqual([]);
      expect(await listed(['incident', 'list', '--all', '--json'], 1, (r) => r[0]?.status === 'closed')).toEqual([
        expect.objectContaining({ incidentId, status: 'closed', severity: 'P0' }),
      ]);

      // A declared P1 pages at once; nobody else was paged.
      expect(pdTriggers(stack.sandbox, incidentId)).toHaveLength(1);
    });
  }, 240_000);
});
