import pino, { type Logger as Pino } from 'pino';
import pretty from 'pino-pretty';
import { DefaultLogger, type LogEntry, type Logger as TemporalLogger } from '@temporalio/worker';

/**
 * Service logs: one readable line per event in a terminal, JSON lines in production
 * (NODE_ENV=production) or with RUNBOOK_LOG_FORMAT=json. RUNBOOK_LOG_LEVEL sets the level (default info).
 */
export function createLogger(env: NodeJS.ProcessEnv = process.env, stream: NodeJS.WritableStream = process.stdout): Pino {
  const level = env.RUNBOOK_LOG_LEVEL || 'info';
  const json = env.RUNBOOK_LOG_FORMAT === 'json' || (env.NODE_ENV === 'production' && env.RUNBOOK_LOG_FORMAT !== 'pretty');
  if (json) return pino({ level }, pino.destination({ dest: 1, sync: true }));
  return pino(
    { level },
    pretty({
      // Synchronous so the last lines of a shutdown are not lost when the process exits.
      sync: true,
      destination: stream,
      colorize: Boolean((stream as NodeJS.WriteStream).isTTY),
      singleLine: true,
      translateTime: 'HH:MM:ss.l',
      ignore: 'pid,hostname,component',
      messageFormat: '{if component}[{component}] {end}{msg}',
    }),
  );
}

/** Metadata the SDK attaches to every entry that only repeats what the worker banner says. */
const NOISE = new Set([
  'namespace',
  'taskQueue',
  'sdkComponent',
  'runId',
  'isLocal',
  'attempt',
  'activityId',
  'workflowRunId',
  'workflowNamespace',
]);

const LEVELS = { TRACE: 'trace', DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERROR: 'error' } as const;

/** The Temporal SDK's logger (worker, core, workflow and activity context loggers) writing into `log`. */
export function temporalLogger(log: Pino): TemporalLogger {
  const level = (log.level.toUpperCase() in LEVELS ? log.level.toUpperCase() : 'INFO') as keyof typeof LEVELS;
  return new DefaultLogger(level, (entry: LogEntry) => {
    // The bundler's multi-line webpack report is detail, not news.
    if (entry.level === 'INFO' && entry.message.includes('\n')) {
      log.debug({ component: entry.meta?.sdkComponent ?? 'temporal' }, entry.message);
      return;
    }
    const meta: Record<string, unknown> = { component: entry.meta?.sdkComponent ?? 'temporal' };
    for (const [k, v] of Object.entries(entry.meta ?? {})) if (!NOISE.has(k) && v !== undefined) meta[k] = v;
    log[LEVELS[entry.level]](meta, entry.message);
  });
}
