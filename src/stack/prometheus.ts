import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { MissingBinaryError, which } from './binaries';
import { freePort } from './ports';

/**
 * Real Prometheus and Alertmanager (Debian's `prometheus` and `prometheus-alertmanager`, installed by
 * scripts/setup.sh) on free loopback ports, configured from the files in config/prometheus/ with the
 * addresses and intervals of the run: for tests and benches.
 */

export const PROMETHEUS_CONFIG_DIR = path.join(__dirname, '..', '..', 'config', 'prometheus');

function binary(envName: string, names: string[], what: string): string {
  const explicit = process.env[envName];
  if (explicit) {
    if (!existsSync(explicit)) throw new MissingBinaryError(`${envName}=${explicit}`, `Point ${envName} at the ${what} binary.`);
    return explicit;
  }
  for (const n of names) {
    const found = which(n);
    if (found) return found;
  }
  throw new MissingBinaryError(
    what,
    `Run \`npm run setup\` (Debian: apt-get install prometheus prometheus-alertmanager) or set ${envName}.`,
  );
}

export interface RunningServer {
  url: string;
  port: number;
  stop(): Promise<void>;
}

async function run(bin: string, args: string[], dir: string, port: number, name: string): Promise<RunningServer> {
  const logFile = path.join(dir, `${name}.log`);
  const out = openSync(logFile, 'a');
  const child: ChildProcess = spawn(bin, args, { stdio: ['ignore', out, out] });
  closeSync(out);
  let exited: number | null | undefined;
  child.once('exit', (code) => (exited = code));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (exited !== undefined) return;
    const gone = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await gone;
    clearTimeout(timer);
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (exited !== undefined) throw new Error(`${name} exited (${exited}) while starting: ${readFileSync(logFile, 'utf8').slice(-1500)}`);
    const ready = await fetch(`${url}/-/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) return { url, port, stop };
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`${name} not ready on ${url} after 30 s: ${readFileSync(logFile, 'utf8').slice(-1500)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface PrometheusOptions {
  dir: string;
  /** host:port targets of the sandbox-apps job (the sandbox's /metrics). */
  targets: string[];
  scrapeInterval?: string;
  evaluationInterval?: string;
  /** Alerting rules file; default config/prometheus/rules.yml. */
  rulesFile?: string;
  /** host:port of an Alertmanager. */
  alertmanager?: string;
}

/** Prometheus with config/prometheus/prometheus.yml, its targets, intervals and Alertmanager replaced. */
export async function startPrometheus(opts: PrometheusOptions): Promise<RunningServer> {
  const dir = path.join(opts.dir, 'prometheus');
  mkdirSync(dir, { recursive: true });
  const cfg = parse(readFileSync(path.join(PROMETHEUS_CONFIG_DIR, 'prometheus.yml'), 'utf8'));
  cfg.global.scrape_interval = opts.scrapeInterval ?? cfg.global.scrape_interval;
  cfg.global.evaluation_interval = opts.evaluationInterval ?? opts.scrapeInterval ?? cfg.global.evaluation_interval;
  cfg.rule_files = [opts.rulesFile ?? path.join(PROMETHEUS_CONFIG_DIR, 'rules.yml')];
  if (opts.alertmanager) cfg.alerting.alertmanagers[0].static_configs[0].targets = [opts.alertmanager];
  else delete cfg.alerting;
  cfg.scrape_configs[0].static_configs[0].targets = opts.targets;
  const file = path.join(dir, 'prometheus.yml');
  writeFileSync(file, stringify(cfg));
  const port = await freePort();
  const bin = binary('PROMETHEUS_BIN', ['prometheus'], 'Prometheus');
  return run(
    bin,
    [
      `--config.file=${file}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    dir,
    port,
    'prometheus',
  );
}

export interface AlertmanagerOptions {
  dir: string;
  /** The receiver's Alertmanager webhook URL. */
  receiverUrl: string;
  /** The receiver's bearer token, written to a 0600 file the config points at. */
  token: string;
  groupWait?: string;
  groupInterval?: string;
}

/** Alertmanager with config/prometheus/alertmanager.yml, routing to `receiverUrl` with short waits when asked. */
export async function startAlertmanager(opts: AlertmanagerOptions): Promise<RunningServer> {
  const dir = path.join(opts.dir, 'alertmanager');
  mkdirSync(dir, { recursive: true });
  const tokenFile = path.join(dir, 'webhook-token');
  writeFileSync(tokenFile, opts.token, { mode: 0o600 });
  const cfg = parse(readFileSync(path.join(PROMETHEUS_CONFIG_DIR, 'alertmanager.yml'), 'utf8'));
  cfg.route.group_wait = opts.groupWait ?? cfg.route.group_wait;
  cfg.route.group_interval = opts.groupInterval ?? cfg.route.group_interval;
  const hook = cfg.receivers[0].webhook_configs[0];
  hook.url = opts.receiverUrl;
  hook.http_config.authorization.credentials_file = tokenFile;
  const file = path.join(dir, 'alertmanager.yml');
  writeFileSync(file, stringify(cfg));
  const port = await freePort();
  const bin = binary('ALERTMANAGER_BIN', ['prometheus-alertmanager', 'alertmanager'], 'Alertmanager');
  return run(
    bin,
    [
      `--config.file=${file}`,
      `--storage.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      `--cluster.listen-address=`,
      '--log.level=warn',
    ],
    dir,
    port,
    'alertmanager',
  );
}
