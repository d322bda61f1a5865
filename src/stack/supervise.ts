import { readFileSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import type { Logger as Pino } from 'pino';

/** How a server process ended. */
export interface ServerExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Settles once `child` has exited (never rejects). */
export function exitOf(child: ChildProcess): Promise<ServerExit> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve({ code: child.exitCode, signal: child.signalCode });
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
}

export function describeExit(e: ServerExit): string {
  return e.signal ? `killed by ${e.signal}` : `exited with code ${e.code}`;
}

/** A server process the stack started: enough to watch it and to stop it. */
export interface SupervisedServer {
  pid: number;
  exited: Promise<ServerExit>;
  logFile?: string;
  stop(): Promise<void>;
}

/**
 * How the stack restarts a server that died: at most `limit` restarts within `windowMs`, the n-th waiting
 * `backoffMs · 2^(n-1)` (capped at `maxBackoffMs`). One more failure inside the window ends the stack.
 */
export interface RestartPolicy {
  limit: number;
  windowMs: number;
  backoffMs: number;
  maxBackoffMs: number;
}

export const DEFAULT_RESTART_POLICY: RestartPolicy = { limit: 5, windowMs: 10 * 60_000, backoffMs: 1_000, maxBackoffMs: 30_000 };

/** Thrown for a setting the stack cannot use; the launcher reports it like a start-up failure. */
export class RestartPolicyError extends Error {}

/**
 * RUNBOOK_RESTART_LIMIT (restarts allowed per window, 0 = never restart), RUNBOOK_RESTART_WINDOW_MS and
 * RUNBOOK_RESTART_BACKOFF_MS (the first delay; it doubles up to 30 s).
 */
export function restartPolicyFromEnv(env: NodeJS.ProcessEnv): RestartPolicy {
  const read = (name: string, fallback: number, min: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min) throw new RestartPolicyError(`${name}: must be a whole number ≥ ${min}, got "${raw}"`);
    return n;
  };
  const backoffMs = read('RUNBOOK_RESTART_BACKOFF_MS', DEFAULT_RESTART_POLICY.backoffMs, 0);
  return {
    limit: read('RUNBOOK_RESTART_LIMIT', DEFAULT_RESTART_POLICY.limit, 0),
    windowMs: read('RUNBOOK_RESTART_WINDOW_MS', DEFAULT_RESTART_POLICY.windowMs, 1),
    backoffMs,
    maxBackoffMs: Math.max(backoffMs, DEFAULT_RESTART_POLICY.maxBackoffMs),
  };
}

/** Why supervision gave up on a server: names the component and the last reason. */
export class SupervisionError extends Error {
  constructor(
    readonly component: string,
    readonly reason: string,
    message: string,
  ) {
    super(message);
    this.name = 'SupervisionError';
  }
}

export interface SuperviseOptions<S extends SupervisedServer> {
  /** Component name, as in the logs ("temporal", "postgres"). */
  component: string;
  /** What the server is, for messages ("the Temporal dev server"). */
  what: string;
  first: S;
  /** Starts the server again on the same address and data; rejects when it does not come up. */
  restart(): Promise<S>;
  /** Called with each replacement once it is up (the stack records its pid). */
  restarted(next: S, previous: S): void;
  /** Called once when the restart budget is spent; the stack ends with this error. */
  giveUp(err: SupervisionError): void;
  policy: RestartPolicy;
  log: Pino;
  /**
   * The server ran in its own process group: after it dies, whatever is left of that group is killed
   * before the replacement starts, so no helper of the old server holds on to the port or data dir.
   * (PostgreSQL's backends are not in it, they call setsid(); on Linux they end on their own within
   * milliseconds of the postmaster's death, and a replacement that still finds them fails and is retried.)
   */
  processGroup?: boolean;
}

export interface Supervisor<S extends SupervisedServer> {
  current(): S;
  /** Stops supervising (waiting out a restart in progress) and stops the server. */
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Kills what is left of a dead leader's process group and waits (up to 10 s) until it is gone. */
async function reapGroup(pgid: number): Promise<void> {
  const alive = () => {
    try {
      process.kill(-pgid, 0);
      return true;
    } catch {
      return false;
    }
  };
  if (!alive()) return;
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    return;
  }
  for (let i = 0; i < 100 && alive(); i++) await sleep(100);
}

/**
 * Watches a server the stack started and restarts it when it exits on its own, with backoff, on the same
 * address and data directory. Every death and every failed restart attempt counts as a failure; more than
 * `policy.limit` of them within `policy.windowMs` end the stack through `giveUp`.
 */
export function supervise<S extends SupervisedServer>(opts: SuperviseOptions<S>): Supervisor<S> {
  const { component, what, policy } = opts;
  const log = opts.log.child({ component });
  let current = opts.first;
  let stopping = false;
  let wakeSleep: () => void = () => undefined;
  let recovering: Promise<void> = Promise.resolve();
  const failures: number[] = [];

  const watch = (server: S) => {
    void server.exited.then((exit) => {
      if (stopping || server !== current) return;
      recovering = recover(server, `${what} (pid ${server.pid}) ${describeExit(exit)}${server.logFile ? `; log ${server.logFile}` : ''}`);
    });
  };

  async function recover(dead: S, why: string): Promise<void> {
    log.error(`${why}`);
    let reason = why;
    for (;;) {
      const now = Date.now();
      failures.push(now);
      while (failures.length && failures[0] <= now - policy.windowMs) failures.shift();
      if (failures.length > policy.limit) {
        const window = `${Math.round(policy.windowMs / 1000)} s`;
        const message =
          policy.limit === 0
            ? `${component}: ${reason}; restarts are off (RUNBOOK_RESTART_LIMIT=0), stopping the stack`
            : `${component}: giving up after ${failures.length} failures within ${window} (restart limit ${policy.limit}); last: ${reason}`;
        opts.giveUp(new SupervisionError(component, reason, message));
        return;
      }
      const delay = Math.min(policy.maxBackoffMs, policy.backoffMs * 2 ** (failures.length - 1));
      log.warn(
        `restarting ${what} in ${delay} ms (failure ${failures.length} of at most ${policy.limit} within ${Math.round(policy.windowMs / 1000)} s)`,
      );
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay);
        wakeSleep = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      if (stopping) return;
      if (opts.processGroup) await reapGroup(dead.pid);
      try {
        const next = await opts.restart();
        if (stopping) {
          await next.stop();
          return;
        }
        current = next;
        opts.restarted(next, dead);
        log.info(`${what} restarted (pid ${next.pid}) after ${describeFailures(failures.length)}`);
        watch(next);
        return;
      } catch (err) {
        reason = `restarting ${what} failed: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`;
        log.error(reason);
      }
    }
  }

  watch(current);
  return {
    current: () => current,
    async stop() {
      stopping = true;
      wakeSleep();
      await recovering;
      await current.stop();
    },
  };
}

function describeFailures(n: number): string {
  return n === 1 ? '1 failure' : `${n} failures in the window`;
}

/** The last lines of a server's output, for an error message. */
export function lastLines(text: string, lines = 15): string {
  return text.trim().split('\n').slice(-lines).join('\n');
}

/** The last lines of a log file, or "(no log)". */
export function tail(file: string, lines = 15): string {
  try {
    return lastLines(readFileSync(file, 'utf8'), lines);
  } catch {
    return '(no log)';
  }
}
