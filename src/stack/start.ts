/**
 * `npm start`: the whole service in the foreground. Temporal, PostgreSQL, the worker (and the
 * components listed below) start in order and print where they are; Ctrl-C or SIGTERM stops them in
 * reverse order, leaving no server process behind.
 *
 * Exit codes: 0 after a clean stop, 1 when something failed to start or crashed, 2 for a bad configuration.
 */
import { rmSync } from 'node:fs';
import type { Logger as Pino } from 'pino';
import { createLogger } from '../logging';
import {
  claimDataDir,
  finishRun,
  openStack,
  postgres,
  runEntry,
  temporal,
  worker,
  type Component,
  type Running,
  type Stack,
} from './components';
import { stackFilePath, writeStackFile } from './state';
import { appDatabases } from './app-databases';
import { receiver } from '../receiver/component';
import { sandbox } from '../sandbox/component';
import { schedules } from '../schedules/component';
import { codecServer } from '../temporal/codec-component';

/** Started top to bottom, stopped bottom to top. Add a component with one line in its place. */
const components: Component[] = [
  temporal, // Temporal: TEMPORAL_ADDRESS, else the embedded dev server (Web UI on 8233)
  codecServer, // the codec server for the UI and CLI, when payloads are encrypted (RUNBOOK_PAYLOAD_KEY)
  postgres, // PostgreSQL: OPS_DATABASE_URL / DATABASE_URL, else the embedded cluster; ops schema migrations
  appDatabases, // the embedded app databases: the app's migrations (deploy.migrationsDir), a sample app's first-start history
  sandbox, // platform sandbox (src/sandbox/) when no platform credentials are set; before the worker, which calls the platforms
  worker, // the Temporal worker, in this process
  receiver, // the webhook receiver: alerts → incidents (src/receiver/)
  schedules, // Temporal Schedules for health checks, maintenance and backups, applied on the embedded Temporal
];

function banner(stack: Stack, started: { name: string; running: Running }[]): string {
  const rows: [string, string][] = [
    ['config', `${stack.config.source} (${stack.config.name})`],
    ['data dir', stack.dataDir],
    ...started.flatMap((s) => s.running.banner ?? []),
  ];
  const width = Math.max(...rows.map(([label]) => label.length));
  return [
    '',
    'Durable Runbooks is running. Ctrl-C stops everything.',
    ...rows.map(([label, value]) => `  ${label.padEnd(width)}  ${value}`),
    '',
    `  try: npx runbook doctor   |   npx runbook status${stack.temporal?.uiUrl ? `   |   open ${stack.temporal.uiUrl}` : ''}`,
    '',
  ].join('\n');
}

export async function main(env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const log: Pino = createLogger(env);
  const say = (msg: string) => log.info({ component: 'stack' }, msg);

  // 1–2. The configuration (a bad file stops here, one line per bad field) and the data directory.
  const run = openStack(env, log);
  if (run === 2) return 2;
  const { stack, stopRequested } = run;
  const dataDir = stack.dataDir;

  // 3. Signals: the first one stops everything in order, a second one kills at once.
  let signalled: NodeJS.Signals | undefined;
  let signalledAt = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    // The same Ctrl-C can arrive twice within milliseconds (directly and relayed by npm/tsx): not a second press.
    if (signalled && Date.now() - signalledAt < 1000) return;
    if (signalled) {
      log.warn({ component: 'stack' }, `${signal} again: killing servers now`);
      for (const pid of stack.pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      process.exit(130);
    }
    signalled = signal;
    signalledAt = Date.now();
    say(`${signal}: stopping (again to force)`);
    run.requestStop();
  };
  for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(s, onSignal);

  // 4. Components in order; whatever started is stopped in reverse, whatever happens.
  const started: { name: string; running: Running }[] = [];
  let claimed = false;
  try {
    await claimDataDir(dataDir, log);
    claimed = true;
    for (const component of components) {
      if (signalled || run.failure) break;
      say(`starting ${component.name}`);
      const running = await component.start(stack);
      if (running) started.push({ name: component.name, running });
      writeStackFile(stack);
    }
    if (!signalled && !run.failure) {
      process.stdout.write(banner(stack, started));
      await stopRequested;
    }
  } catch (err) {
    stack.fail(err);
  } finally {
    for (const { name, running } of started.reverse()) {
      say(`stopping ${name}`);
      try {
        await running.stop();
      } catch (err) {
        log.error({ component: 'stack' }, `stopping ${name}: ${(err as Error).message}`);
      }
    }
    if (claimed) rmSync(stackFilePath(dataDir), { force: true });
  }

  return finishRun(run, 'stack');
}

if (require.main === module) runEntry(main);
