/**
 * `npm run cluster`: the production topology on this machine, without Docker (see cluster.ts). Ctrl-C stops
 * all of it; a second Ctrl-C kills at once.
 *
 *   npm run cluster -- --workers 2 --receivers 2
 */
import path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { redactUrl } from '../../src/stack/components';
import { startCluster, type Cluster } from './cluster';

const count = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${name} must be a whole number`);
  return n;
};
const port = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new InvalidArgumentError(`${name} must be a port number`);
  return n;
};

const program = new Command('cluster')
  .description('Temporal on PostgreSQL (built from its Go module), the Temporal UI, and this service as separate processes')
  .option('--workers <n>', 'workers of this service', count('--workers'), 2)
  .option('--receivers <n>', 'webhook receivers of this service', count('--receivers'), 2)
  .option('--data-dir <dir>', 'where PostgreSQL, configs and logs live', path.join(process.env.RUNBOOK_DATA_DIR || '.data', 'cluster'))
  .option('--temporal-port <port>', 'preferred Temporal frontend port', port('--temporal-port'), 7233)
  .option('--ui-port <port>', 'preferred Temporal UI port', port('--ui-port'), 8233)
  .option('--no-ui', 'do not build or start the Temporal UI')
  .parse();
const opts = program.opts<{ workers: number; receivers: number; dataDir: string; temporalPort: number; uiPort: number; ui: boolean }>();
if (opts.workers < 1) program.error('--workers must be at least 1');

function banner(c: Cluster): string {
  const rows: [string, string][] = [
    ['Temporal', `${c.address} (namespace ${c.namespace}), PostgreSQL persistence and SQL visibility, log ${c.server.logFile}`],
    ['Temporal UI', c.uiUrl ?? 'not started (--no-ui)'],
    ['PostgreSQL', `127.0.0.1:${c.postgres.port}, data in ${c.postgres.dataDir}`],
    ['ops database', redactUrl(c.opsUrl)],
    ...c.workers.map((w): [string, string] => [w.name, `pid ${w.pid}, task queue "${c.config.temporal.taskQueue}", log ${w.logFile}`]),
    ['backup worker', `pid ${c.backupWorker.pid}, task queue "${c.config.backup.transferTaskQueue}", log ${c.backupWorker.logFile}`],
    ...c.receivers.map((r): [string, string] => [
      r.process.name,
      `${r.url}/webhooks/{alertmanager,grafana,sentry,vercel,generic}, pid ${r.process.pid}, log ${r.process.logFile}`,
    ]),
    ['platforms', c.sandbox ? `LOCAL SANDBOX at ${c.sandbox.url} (call log ${c.sandbox.url}/_sandbox/calls)` : 'real APIs'],
    ['config', c.configFile],
  ];
  const width = Math.max(...rows.map(([label]) => label.length));
  const envFile = path.join(path.resolve(opts.dataDir), 'cluster.env');
  return [
    '',
    'The cluster is running. Ctrl-C stops everything.',
    ...rows.map(([label, value]) => `  ${label.padEnd(width)}  ${value}`),
    '',
    `  try: (set -a; . ${envFile}; npx runbook doctor)`,
    `  ${envFile} (owner-only) holds the addresses, database URLs and the receivers' bearer token (${c.config.webhooks.bearerTokenEnv})`,
    '',
  ].join('\n');
}

async function main(): Promise<number> {
  const say = (line: string) => process.stdout.write(`cluster: ${line}\n`);
  let stopping = false;
  let wake: () => void = () => undefined;
  const stopRequested = new Promise<void>((resolve) => (wake = resolve));
  let cluster: Cluster | undefined;
  const pids = () =>
    cluster ? [cluster.server, cluster.backupWorker, ...cluster.workers, ...cluster.receivers.map((r) => r.process)] : [];
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      say(`${signal} again: killing now`);
      for (const p of pids()) void p.kill();
      if (cluster) process.kill(cluster.postgres.pid, 'SIGKILL');
      process.exit(130);
    }
    stopping = true;
    say(`${signal}: stopping (again to force)`);
    wake();
  };
  for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(s, onSignal);

  try {
    cluster = await startCluster({
      dataDir: opts.dataDir,
      workers: opts.workers,
      receivers: opts.receivers,
      ui: opts.ui,
      temporalPort: opts.temporalPort,
      uiPort: opts.uiPort,
      log: say,
    });
  } catch (err) {
    process.stderr.write(`cluster: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
  if (stopping) {
    await cluster.stop();
    return 0;
  }
  process.stdout.write(banner(cluster));
  // A process that dies is reported; the rest keep running, as they would on separate machines.
  for (const p of pids())
    void p.exited.then((e) => !stopping && say(`${p.name} (pid ${p.pid}) exited (${e.signal ?? e.code}); see ${p.logFile}`));
  await stopRequested;
  await cluster.stop();
  say('stopped');
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`cluster: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
