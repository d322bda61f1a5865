import type { RunbookConfig } from '../config/schema';
import { pointAtSandbox, sandboxSecrets } from '../platforms/sandbox-target';
import type { Sandbox } from './api';

/**
 * Creates in the sandbox what a configuration refers to: each service's Vercel project (with its
 * critical env keys) or Netlify site, and the Supabase project with its Edge Functions.
 */
export function seedFromConfig(sandbox: Sandbox, config: RunbookConfig): void {
  for (const s of config.services) {
    if (s.platform === 'vercel') sandbox.vercel.seedProject(s.projectId, { envKeys: s.criticalEnv });
    else sandbox.netlify.seedSite(s.projectId);
  }
  const sb = config.platforms.supabase;
  if (sb.projectRef) sandbox.supabase.seedProject(sb.projectRef, { functions: sb.edgeFunctions });
}

/**
 * Each `maintenance.tlsHosts` entry checked against the sandbox's TLS endpoint: the check connects to
 * it (tlsConnectTo) but still asks for and verifies the entry's host name, so the check and its key
 * (`health:tls:<entry>`) stay those of the real host; the sandbox CA is the one trusted (tlsCaFile).
 */
export function pointTlsAtSandbox(config: RunbookConfig, sandbox: Pick<Sandbox, 'tls'>): RunbookConfig {
  const m = config.maintenance;
  if (!m.tlsHosts.length) return config;
  return {
    ...config,
    maintenance: {
      ...m,
      tlsCaFile: sandbox.tls.caFile,
      tlsConnectTo: Object.fromEntries(m.tlsHosts.map((entry) => [entry, sandbox.tls.address])),
    },
  };
}

/**
 * The configuration pointed at the sandbox (platform URLs, each service's production URL, the
 * Supabase project gateway, the TLS hosts) plus placeholder values for every secret it names; seeds the sandbox.
 */
export function sandboxConfigOverrides(
  sandbox: Sandbox,
  config: RunbookConfig,
  opts: { requestTimeoutMs?: number } = {},
): { config: RunbookConfig; env: Record<string, string> } {
  seedFromConfig(sandbox, config);
  const pointed = pointTlsAtSandbox(pointAtSandbox(config, sandbox, opts), sandbox);
  return { config: pointed, env: sandboxSecrets(pointed, sandbox) };
}
