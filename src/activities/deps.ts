import type { Pool } from 'pg';
import { ApplicationFailure } from '@temporalio/common';
import type { Client } from '@temporalio/client';
import type { RunbookConfig } from '../config/schema';
import type { PlatformClients } from '../platforms/types';

/**
 * Everything activities touch in the outside world. The worker builds real ones; tests pass real
 * PostgreSQL and the sandbox, or fakes typed from this interface.
 */
export interface ActivityDeps {
  config: RunbookConfig;
  /** The ops database: incidents, deployments, backups catalogue, reports. */
  ops: Pool;
  /** Connection string of a configured database (key of `config.databases`). */
  databaseUrl(name: string): string;
  /** Environment the secrets are read from (process.env in production). */
  env: NodeJS.ProcessEnv;
  /** For activities that start or signal other workflows (raising an alert opens an incident). */
  temporal?: { client: Client; taskQueue: string };
  /** Vercel, Netlify, Supabase, Statuspage, PagerDuty, Slack, Telegram, provider pages and app probes. */
  platforms?: PlatformClients;
}

/** Bad input or configuration: not retried, and the message names the field (the one builder, shared with workflows). */
export { invalidInput } from '../workflows/common/failures';

/** The platform clients, or a non-retryable failure saying the worker runs without them. */
export function requirePlatforms(deps: Pick<ActivityDeps, 'platforms'>): PlatformClients {
  if (!deps.platforms)
    throw ApplicationFailure.nonRetryable('no platform clients: the worker was started without them', 'PlatformUnavailable');
  return deps.platforms;
}
