import path from 'node:path';
import type { RunbookConfig } from '../config/schema';
import { DEFAULT_DATA_DIR, isAlive, readStackFile, type StackFile } from '../stack/state';

/** What a running stack's stack.json records (nothing when the stack that wrote it is gone). */
function runningStackFile(dataDir: string): Partial<StackFile> {
  const file = readStackFile(path.resolve(dataDir));
  return file && isAlive(file.pid) ? file : {};
}

export interface DrillTargets {
  sandboxUrl: string;
  receiverUrl: string;
  /** From stack.json (sandbox mode only); the environment's token wins. */
  webhookToken?: string;
  appDatabaseUrl: string;
  opsDatabaseUrl: string;
  /** Where each came from, for the report's header. */
  sources: Record<string, string>;
}

/** Flags, else RUNBOOK_DRILL_* variables, else stack.json, else the stack's defaults (ports 8790, 8787, 54329). */
export function resolveTargets(
  config: RunbookConfig,
  env: NodeJS.ProcessEnv,
  flags: { sandboxUrl?: string; receiverUrl?: string; appDbUrl?: string; opsDbUrl?: string },
): DrillTargets {
  const recorded = runningStackFile(env.RUNBOOK_DATA_DIR || DEFAULT_DATA_DIR);
  const sources: Record<string, string> = {};
  const pick = (name: string, flag: string | undefined, envName: string, fromFile: string | undefined, fallback: () => string): string => {
    if (flag) return ((sources[name] = 'flag'), flag);
    if (env[envName]) return ((sources[name] = envName), env[envName]!);
    if (fromFile) return ((sources[name] = 'stack.json'), fromFile);
    sources[name] = 'default';
    return fallback();
  };
  const dbKey = config.services[0]?.database ?? 'app';
  const pgPort = env.RUNBOOK_PG_PORT || '54329';
  const hooks = config.webhooks;
  return {
    sandboxUrl: pick(
      'sandbox',
      flags.sandboxUrl,
      'RUNBOOK_DRILL_SANDBOX_URL',
      recorded.sandboxUrl,
      () => `http://127.0.0.1:${env.SANDBOX_PORT || 8790}`,
    ),
    receiverUrl: pick(
      'receiver',
      flags.receiverUrl,
      'RUNBOOK_DRILL_RECEIVER_URL',
      recorded.receiverUrl,
      () => `http://${hooks.host === '0.0.0.0' ? '127.0.0.1' : hooks.host}:${env.RUNBOOK_WEBHOOK_PORT || hooks.port}`,
    ),
    appDatabaseUrl: pick(
      'app database',
      flags.appDbUrl,
      config.databases[dbKey]?.urlEnv ?? 'DATABASE_URL',
      recorded.databaseUrls?.[dbKey],
      () => `postgres://postgres@127.0.0.1:${pgPort}/${dbKey}`,
    ),
    opsDatabaseUrl: pick(
      'ops database',
      flags.opsDbUrl,
      'OPS_DATABASE_URL',
      recorded.opsDatabaseUrl,
      () => `postgres://postgres@127.0.0.1:${pgPort}/ops`,
    ),
    ...(recorded.sandboxWebhookToken ? { webhookToken: recorded.sandboxWebhookToken } : {}),
    sources,
  };
}
