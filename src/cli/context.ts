import { Client, Connection } from '@temporalio/client';
import { ConfigError, loadConfig } from '../config/load';
import type { RunbookConfig } from '../config/schema';
import { clientOptions, connectionOptions, temporalTargetFromEnv, type TemporalTarget } from '../temporal/connection';
import { canConnect } from '../stack/ports';
import { DEFAULT_DATA_DIR, runningTemporal } from '../stack/state';
import { CliError, EXIT, type ExitCode } from './exit-codes';
import { createOutput, type Output } from './output';

export type LoadedConfig = RunbookConfig & { source: string };

/**
 * What every command gets: the global options, the configuration and a Temporal client, both loaded
 * on first use so `runbook --help` or `config check` never need a server.
 */
export interface CliContext {
  /** `--json` was given: print one JSON document on stdout. */
  readonly json: boolean;
  readonly out: Output;
  readonly env: NodeJS.ProcessEnv;
  /** The configuration (`--config`, else RUNBOOK_CONFIG, else ./runbook.config.yaml, else the embedded example). Exit 2 when invalid. */
  config(): LoadedConfig;
  /** Where Temporal is, from the environment (TEMPORAL_ADDRESS…) and the config's namespace. */
  target(): TemporalTarget;
  /** A connected client; exit 3 with one line when Temporal cannot be reached. */
  client(): Promise<Client>;
  /** The config's task queue, where this service's worker polls. */
  taskQueue(): string;
  /** Set by a command that printed its result but did not succeed (e.g. EXIT.FAILED when a check fails). */
  exitCode: ExitCode;
  close(): Promise<void>;
}

/** Who a request is from: `--by` when given, else the shell's user as `cli:<user>`. */
export const who = (ctx: Pick<CliContext, 'env'>, by?: string): string => by ?? `cli:${ctx.env.USER ?? 'unknown'}`;

export interface GlobalOptions {
  json?: boolean;
  config?: string;
}

/** How long to wait for Temporal before declaring it unreachable. */
const CONNECT_TIMEOUT_MS = 5_000;

export function configErrorToCli(err: ConfigError): CliError {
  return new CliError(EXIT.USAGE, err.lines(), { file: err.file, problems: err.problems });
}

/** The single line printed when Temporal does not answer. */
export function unreachableMessage(target: TemporalTarget): string {
  const how = process.env.TEMPORAL_ADDRESS
    ? 'check TEMPORAL_ADDRESS (and TLS/API key settings), or unset it and start the local stack with `npm start`'
    : 'start the local stack with `npm start` (or set TEMPORAL_ADDRESS to your cluster)';
  return `Temporal is not reachable at ${target.address} (namespace ${target.namespace}): ${how}`;
}

/** "host:port" or "[v6]:port" → [host, port]; Temporal's port 7233 when none is given. */
function hostPort(address: string): [string, number] {
  const m = /^\[?([^\]]+?)\]?(?::(\d+))?$/.exec(address.trim());
  return m ? [m[1], Number(m[2] ?? 7233)] : [address, 7233];
}

export function createContext(globals: () => GlobalOptions, env: NodeJS.ProcessEnv = process.env): CliContext {
  let config: LoadedConfig | undefined;
  let connecting: Promise<{ client: Client; connection: Connection }> | undefined;
  const json = () => Boolean(globals().json);

  const ctx: CliContext = {
    get json() {
      return json();
    },
    out: createOutput(json),
    env,
    exitCode: EXIT.OK,
    config() {
      if (!config) {
        try {
          config = loadConfig(globals().config);
        } catch (err) {
          if (err instanceof ConfigError) throw configErrorToCli(err);
          throw err;
        }
      }
      return config;
    },
    target() {
      const namespace = ctx.config().temporal.namespace;
      if (!env.TEMPORAL_ADDRESS) {
        // `npm start` may have put the embedded server on another port; it says where in <data>/stack.json.
        const local = runningTemporal(env.RUNBOOK_DATA_DIR || DEFAULT_DATA_DIR);
        if (local) return { ...temporalTargetFromEnv(env, namespace), address: local.address };
      }
      return temporalTargetFromEnv(env, namespace);
    },
    taskQueue() {
      return ctx.config().temporal.taskQueue;
    },
    client() {
      if (!connecting) {
        const target = ctx.target();
        connecting = (async () => {
          let connection: Connection;
          // A refused TCP connection answers at once; the gRPC connect would wait out its timeout.
          const [host, port] = hostPort(target.address);
          if (!(await canConnect(port, host, CONNECT_TIMEOUT_MS))) {
            throw new CliError(EXIT.UNREACHABLE, unreachableMessage(target), { address: target.address, namespace: target.namespace });
          }
          try {
            connection = await Connection.connect({ ...connectionOptions(target), connectTimeout: CONNECT_TIMEOUT_MS });
          } catch {
            throw new CliError(EXIT.UNREACHABLE, unreachableMessage(target), { address: target.address, namespace: target.namespace });
          }
          return { connection, client: new Client(clientOptions(connection, target)) };
        })();
      }
      return connecting.then((c) => c.client);
    },
    async close() {
      const c = await connecting?.catch(() => undefined);
      await c?.connection.close();
    },
  };
  return ctx;
}
