import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify as toYaml } from 'yaml';
import type { DeployProgress } from '../../src/workflows/deploy/contract';
import { runCli } from '../harness/cli';
import { testEnv } from '../harness';
import { openStage, type Stage } from './stage';

const SHA = '1111111111111111111111111111111111111111';

describe('runbook deploy … (the CLI, as a user runs it, against the sandbox and a real Temporal server)', () => {
  let stage: Stage;
  let env: Record<string, string>;
  beforeAll(async () => {
    stage = await openStage({ service: { rollingRelease: undefined } });
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'deploy-cli-')), 'runbook.yaml');
    // The sandbox-pointed configuration, on the test worker's task queue.
    writeFileSync(
      file,
      toYaml(JSON.parse(JSON.stringify({ ...stage.config, temporal: { ...stage.config.temporal, taskQueue: stage.worker.taskQueue } }))),
    );
    env = { TEMPORAL_ADDRESS: testEnv.temporalAddress, RUNBOOK_CONFIG: file };
  });
  afterAll(async () => {
    await stage?.close();
  });

  it('refuses bad input with exit 2 naming the option, and starts nothing', async () => {
    const unknown = await runCli(['deploy', 'start', '--service', 'nope', '--ref', 'main'], env);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/--service: no service "nope" in the configuration \(known: javari-web\)/);
    const hotfix = await runCli(['deploy', 'start', '--service', 'javari-web', '--ref', 'main', '--hotfix'], env);
    expect(hotfix.code).toBe(2);
    expect(hotfix.stderr).toMatch(/--hotfix: needs --reason/);
    const sha = await runCli(['deploy', 'start', '--service', 'javari-web', '--ref', 'main', '--sha', 'xyz', '--json'], env);
    expect(sha.code).toBe(2);
    expect(JSON.parse(sha.stdout).error.message).toMatch(/^sha: must be a git commit sha/);
    expect(stage.sandbox.calls()).toEqual([]);
  });

  it('start --follow shows the live watch and ends with the verdict; status --json, abort too late, rollback', async () => {
    await stage.worker.run(async () => {
      const started = await runCli(
        [
          'deploy',
          'start',
          '--service',
          'javari-web',
          '--ref',
          'main',
          '--sha',
          SHA,
          '--watch',
          '3s',
          '--sample-interval',
          '1s',
          '--by',
          'roy',
          '--follow',
        ],
        env,
        120_000,
      );
      expect(started.code).toBe(0);
      expect(started.stderr).toMatch(
        /deploy-javari-web-111111111111: watching · samples \d\/3 · error rate 0\.02% · p99 480 ms · health ok · \d+s left/,
      );
      expect(started.stdout).toMatch(/verdict: succeeded — watched 3s: no critical breach/);
      expect(started.stdout).toMatch(/critical-env\s+pass/);

      const status = await runCli(['deploy', 'status', 'deploy-javari-web-111111111111', '--json'], env);
      expect(status.code).toBe(0);
      const progress = JSON.parse(status.stdout) as DeployProgress;
      expect(progress).toMatchObject({ verdict: 'succeeded', requestedBy: 'roy', watch: { samplesTaken: 3 } });

      const late = await runCli(['deploy', 'abort', 'deploy-javari-web-111111111111', '--reason', 'changed my mind'], env);
      expect(late.code).toBe(1);
      expect(late.stderr).toMatch(/too late to abort/);

      const missing = await runCli(['deploy', 'status', 'deploy-javari-web-nothing'], env);
      expect(missing.code).toBe(4);

      const rolled = await runCli(
        ['deploy', 'rollback', '--service', 'javari-web', '--reason', 'test the way back', '--json'],
        env,
        120_000,
      );
      expect(rolled.code).toBe(0);
      expect(JSON.parse(rolled.stdout)).toMatchObject({
        from: { id: progress.production!.id },
        to: { id: progress.previousProduction!.id },
        verified: true,
      });
    });
    expect(stage.sandbox.apps.production('crav-javari')!.current).not.toBe(undefined);
    expect(stage.sideEffects().filter((e) => e.includes('/rollback/'))).toHaveLength(1);
  });
});
