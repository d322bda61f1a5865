import type { Command } from 'commander';
import { secretFromEnv } from '../../config/load';
import { platformTokenEnvs } from '../../sandbox/component';
import { durationMs } from '../../workflows/common/duration';
import { cliWorld } from '../../drill/cli-world';
import { reportLines } from '../../drill/report';
import { runDrills, scenarioNames, selectScenarios, SCENARIOS } from '../../drill/runner';
import { sandboxControl } from '../../drill/sandbox-client';
import { resolveTargets } from '../../drill/stack-info';
import { DEFAULT_OPTIONS, type DrillOptions } from '../../drill/types';
import type { CliContext } from '../context';
import { CliError, EXIT } from '../exit-codes';

interface DrillFlags {
  slaScale?: string;
  watch?: string;
  sampleInterval?: string;
  dbThreshold?: string;
  runaway?: string;
  storm?: string;
  timeout?: string;
  sandboxUrl?: string;
  receiverUrl?: string;
  appDbUrl?: string;
  opsDbUrl?: string;
}

function duration(flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const parsed = durationMs.safeParse(/^\d+$/.test(value) ? Number(value) : value);
  if (!parsed.success) throw new CliError(EXIT.USAGE, `${flag}: "${value}" is not a duration (use e.g. 3s, 500, 1m)`);
  return parsed.data;
}

function positive(flag: string, value: string | undefined, fallback: number, integer = true): number {
  if (value === undefined) return fallback;
  const n = /^\d+\/\d+$/.test(value) ? Number(value.split('/')[0]) / Number(value.split('/')[1]) : Number(value);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n)))
    throw new CliError(EXIT.USAGE, `${flag}: must be a positive ${integer ? 'integer' : 'number'}, got "${value}"`);
  return n;
}

/** `runbook drill <scenario>|all`: game days against the embedded world of `npm start` (never against real platforms). */
export function register(program: Command, ctx: CliContext): void {
  program
    .command('drill <scenario>')
    .description(
      `game day: inject a fault into the local sandbox world, wait for the automation, check and time it, clean up (${scenarioNames().join(', ')}, or all)`,
    )
    .addHelpText(
      'after',
      `\nScenarios:\n${SCENARIOS.map((s) => `  ${s.name.padEnd(16)} ${s.description}`).join('\n')}\n\nExit 0 when every drill passed, 1 when one failed, 2 when it refuses to run (real platform tokens, no sandbox).`,
    )
    .option('--sla-scale <factor>', 'multiply the incident response SLAs the escalation drill waits for (default 1/360: P1 1h → 10s)')
    .option('--watch <duration>', 'deploy watch at each rolling stage and after promotion (default 3s; the runbook: 30m)')
    .option('--sample-interval <duration>', 'deploy watch sampling interval (default 1s; the runbook: 30s)')
    .option('--db-threshold <n>', 'connection count the db-overload alert fires above (default 20; the runbook: 180)')
    .option('--runaway <n>', 'runaway pg_sleep queries db-overload starts (default 3)')
    .option('--storm <n>', 'deliveries per Alertmanager replica in alert-storm (default 5)')
    .option('--timeout <duration>', 'longest one drill may take (default 3m)')
    .option('--sandbox-url <url>', 'the platform sandbox (default: stack.json, RUNBOOK_DRILL_SANDBOX_URL, http://127.0.0.1:8790)')
    .option('--receiver-url <url>', 'the webhook receiver (default: stack.json, RUNBOOK_DRILL_RECEIVER_URL, webhooks.host:port)')
    .option('--app-db-url <url>', 'the app database (default: stack.json, DATABASE_URL, the embedded cluster on 54329)')
    .option('--ops-db-url <url>', 'the ops database (default: stack.json, OPS_DATABASE_URL, the embedded cluster on 54329)')
    .action(async (which: string, flags: DrillFlags) => {
      let scenarios;
      try {
        scenarios = selectScenarios(which);
      } catch (err) {
        throw new CliError(EXIT.USAGE, (err as Error).message);
      }
      const options: DrillOptions = {
        ...DEFAULT_OPTIONS,
        slaScale: positive('--sla-scale', flags.slaScale, DEFAULT_OPTIONS.slaScale, false),
        watchMs: duration('--watch', flags.watch, DEFAULT_OPTIONS.watchMs),
        sampleIntervalMs: duration('--sample-interval', flags.sampleInterval, DEFAULT_OPTIONS.sampleIntervalMs),
        dbThreshold: positive('--db-threshold', flags.dbThreshold, DEFAULT_OPTIONS.dbThreshold),
        runawayQueries: positive('--runaway', flags.runaway, DEFAULT_OPTIONS.runawayQueries),
        stormRepeats: positive('--storm', flags.storm, DEFAULT_OPTIONS.stormRepeats),
        scenarioTimeoutMs: duration('--timeout', flags.timeout, DEFAULT_OPTIONS.scenarioTimeoutMs),
        log: (m) => ctx.out.note(m),
      };
      const config = ctx.config();

      // A game day only ever runs against the sandbox: never with a real platform token in reach.
      const tokens = platformTokenEnvs(config).filter((name) => secretFromEnv(name, ctx.env));
      if (tokens.length || ctx.env.RUNBOOK_SANDBOX === '0') {
        const reason = tokens.length ? `${tokens.join(', ')} set` : 'RUNBOOK_SANDBOX=0';
        throw new CliError(
          EXIT.USAGE,
          `refusing to drill: real platforms are configured (${reason}); drills run only against the embedded sandbox`,
          { reason },
        );
      }
      const targets = resolveTargets(config, ctx.env, flags);
      if (!(await sandboxControl(targets.sandboxUrl).reachable())) {
        throw new CliError(
          EXIT.USAGE,
          `refusing to drill: no embedded platform sandbox answers at ${targets.sandboxUrl} (${targets.sources.sandbox}); start the stack with \`npm start\` without platform tokens, or pass --sandbox-url`,
          { sandboxUrl: targets.sandboxUrl },
        );
      }
      const world = cliWorld({
        client: await ctx.client(),
        target: ctx.target(),
        config,
        taskQueue: ctx.taskQueue(),
        env: ctx.env,
        targets,
      });
      if (!world.receiver?.token)
        ctx.out.note(
          `${config.webhooks.bearerTokenEnv} is not set: alerts go to Temporal directly instead of through the webhook receiver, and alert-storm cannot run`,
        );
      ctx.out.note(`drilling against sandbox ${targets.sandboxUrl}, receiver ${targets.receiverUrl}, task queue ${ctx.taskQueue()}`);

      const started = Date.now();
      const results = await runDrills(world, scenarios, options);
      const passed = results.filter((r) => r.outcome === 'pass').length;
      if (passed < results.length) ctx.exitCode = EXIT.FAILED;
      ctx.out.result({ passed, total: results.length, durationMs: Date.now() - started, scenarios: results }, (d) =>
        reportLines(d.scenarios),
      );
    });
}
