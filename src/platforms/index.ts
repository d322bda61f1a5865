import type { RunbookConfig } from '../config/schema';
import { createSlackClient, createTelegramClient } from './chat';
import { createNetlifyClient } from './netlify';
import { createPagerdutyClient } from './pagerduty';
import { createAppProbe } from './probe';
import { createProviderStatusClient, createStatuspageClient } from './statuspage';
import { createSupabaseClient } from './supabase';
import type { PlatformClients } from './types';
import { createVercelClient } from './vercel';

export * from './types';
export { PlatformError, type PlatformErrorKind, type PlatformName } from './errors';
export { callPlatform, toActivityFailure, PLATFORM_FAILURE_TYPE } from './activity-errors';
export { deploymentUrl, joinUrl } from './urls';
export { RUNBOOK_META_KEY } from './vercel';
export { identityFromName, nameWithIdentity } from './statuspage';

/**
 * Every platform client, from the configuration (base URLs) and the environment (secrets, read per
 * call so a missing one fails that call with the variable to set, not the worker start).
 */
export function createPlatformClients(config: RunbookConfig, env: NodeJS.ProcessEnv): PlatformClients {
  return {
    vercel: createVercelClient(config, env),
    netlify: createNetlifyClient(config, env),
    supabase: createSupabaseClient(config, env),
    statuspage: createStatuspageClient(config, env),
    pagerduty: createPagerdutyClient(config, env),
    slack: createSlackClient(config, env),
    telegram: createTelegramClient(config, env),
    providers: createProviderStatusClient(config, env),
    probe: createAppProbe(config, env),
  };
}
