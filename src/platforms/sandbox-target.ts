import type { RunbookConfig } from '../config/schema';

/** Where each imitated vendor lives on the sandbox's one port: the layout the sandbox serves and clients use. */
export function sandboxBaseUrls(origin: string) {
  return {
    vercel: `${origin}/vercel`,
    netlify: `${origin}/netlify/api/v1`,
    supabase: `${origin}/supabase`,
    /** `${supabaseProject}/<ref>` stands for https://<ref>.supabase.co. */
    supabaseProject: `${origin}/supabase-project`,
    statuspage: `${origin}/statuspage/v1`,
    pagerduty: `${origin}/pagerduty/v2/enqueue`,
    slack: `${origin}/slack`,
    telegram: `${origin}/telegram`,
    /** AI provider APIs by name: `${ai}/<name>/v1`. */
    ai: `${origin}/ai`,
    /** Status pages by provider; any other provider's page is at the same place under its own name. */
    providers: {
      openai: `${origin}/status/openai/api/v2/status.json`,
      anthropic: `${origin}/status/anthropic/api/v2/status.json`,
    } as Record<string, string>,
  };
}

export type SandboxBaseUrls = ReturnType<typeof sandboxBaseUrls>;

/** What the local sandbox tells about itself (structurally `Sandbox` from src/sandbox). */
export interface SandboxTarget {
  baseUrls: SandboxBaseUrls;
  apps: { productionUrl(project: string): string };
}

/**
 * The configuration with every platform URL (and each service's production URL) pointing at the
 * sandbox, so nothing leaves the machine. Secrets still come from the environment: see sandboxSecrets.
 */
export function pointAtSandbox(config: RunbookConfig, sandbox: SandboxTarget, opts: { requestTimeoutMs?: number } = {}): RunbookConfig {
  const b = sandbox.baseUrls;
  const p = config.platforms;
  const ref = p.supabase.projectRef;
  return {
    ...config,
    services: config.services.map((s) => ({ ...s, productionUrl: sandbox.apps.productionUrl(s.projectId) })),
    platforms: {
      ...p,
      vercel: { ...p.vercel, apiUrl: b.vercel },
      netlify: { ...p.netlify, apiUrl: b.netlify },
      supabase: { ...p.supabase, apiUrl: b.supabase, projectUrl: ref ? `${b.supabaseProject}/${ref}` : undefined },
      pagerduty: { ...p.pagerduty, eventsUrl: b.pagerduty },
      statuspageApiUrl: b.statuspage,
      telegramApiUrl: b.telegram,
      providers: Object.fromEntries(
        Object.entries(p.providers).map(([name, provider]) => [
          name,
          {
            ...provider,
            statusUrl: b.providers[name] ?? `${new URL(b.vercel).origin}/status/${name}/api/v2/status.json`,
            ...(provider.apiUrl ? { apiUrl: `${b.ai}/${name}/v1` } : {}),
          },
        ]),
      ),
      statusPages: Object.fromEntries(
        Object.keys(p.statusPages).map((name) => [name, { statusUrl: `${new URL(b.vercel).origin}/status/${name}/api/v2/status.json` }]),
      ),
      requestTimeout: opts.requestTimeoutMs ?? p.requestTimeout,
    },
  };
}

/** Placeholder values for every secret the configuration names; the sandbox accepts any non-empty one. */
export function sandboxSecrets(config: RunbookConfig, sandbox: SandboxTarget): Record<string, string> {
  const env: Record<string, string> = {};
  const p = config.platforms;
  for (const name of [p.vercel.tokenEnv, p.netlify.tokenEnv, p.supabase.tokenEnv, p.supabase.anonKeyEnv, p.supabase.serviceRoleKeyEnv])
    env[name] = `sandbox-${name.toLowerCase()}`;
  for (const provider of Object.values(p.providers)) if (provider.keyEnv) env[provider.keyEnv] = `sandbox-${provider.keyEnv.toLowerCase()}`;
  for (const level of config.oncall.levels) {
    if (level.pagerdutyRoutingKeyEnv) env[level.pagerdutyRoutingKeyEnv] = `sandbox-${level.pagerdutyRoutingKeyEnv.toLowerCase()}`;
  }
  const n = config.notifications;
  if (n.statuspage) env[n.statuspage.apiKeyEnv] = 'sandbox-statuspage-key';
  if (n.telegram) env[n.telegram.botTokenEnv] = '123456:sandbox-telegram-token';
  if (n.slack) env[n.slack.webhookUrlEnv] = `${sandbox.baseUrls.slack}/services/T0SANDBOX/B0SANDBOX/sandboxwebhooksecret`;
  return env;
}
