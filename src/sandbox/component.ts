import path from 'node:path';
import { secretFromEnv } from '../config/load';
import type { RunbookConfig } from '../config/schema';
import { StartError, type Component } from '../stack/components';
import { freePort } from '../stack/ports';
import { startStackTraffic } from '../stack/app-databases';
import { sandboxConfigOverrides, savedPort, startSandbox } from './index';

/** The hosting-platform tokens the configured services need: Vercel or Netlify, and Supabase when a project is named. */
export function platformTokenEnvs(config: RunbookConfig): string[] {
  const names = new Set<string>();
  for (const s of config.services)
    names.add(s.platform === 'vercel' ? config.platforms.vercel.tokenEnv : config.platforms.netlify.tokenEnv);
  if (config.platforms.supabase.projectRef) names.add(config.platforms.supabase.tokenEnv);
  return [...names];
}

/**
 * Sandbox mode when none of the platform tokens is set (RUNBOOK_SANDBOX=1 forces it, =0 forbids it).
 * Returns why, for the banner.
 */
export function sandboxDecision(config: RunbookConfig, env: NodeJS.ProcessEnv): { use: boolean; reason: string } {
  const tokens = platformTokenEnvs(config);
  const set = tokens.filter((name) => secretFromEnv(name, env));
  if (env.RUNBOOK_SANDBOX === '1') return { use: true, reason: 'RUNBOOK_SANDBOX=1' };
  if (env.RUNBOOK_SANDBOX === '0') return { use: false, reason: 'RUNBOOK_SANDBOX=0' };
  if (set.length) return { use: false, reason: `${set.join(', ')} set` };
  return { use: true, reason: `none of ${tokens.join(', ')} is set` };
}

/**
 * `npm start`'s platform sandbox: with no platform credentials, every platform call (hosting, Supabase,
 * status pages, pager, chat) goes to a local imitation instead of the internet. The configuration and
 * environment the later components read are pointed at it.
 */
export const sandbox: Component = {
  name: 'sandbox',
  async start(stack) {
    const decision = sandboxDecision(stack.config, stack.env);
    if (!decision.use) return { banner: [['platforms', `real APIs (${decision.reason})`]], stop: async () => undefined };
    // The world lives in <data dir>/sandbox across restarts, on the port it had (URLs it handed out stay valid).
    const dataDir = path.join(stack.dataDir, 'sandbox');
    const preferred = stack.env.SANDBOX_PORT ? Number(stack.env.SANDBOX_PORT) : (savedPort(dataDir) ?? 8790);
    if (!Number.isInteger(preferred) || preferred < 0 || preferred > 65535)
      throw new StartError(`SANDBOX_PORT: must be a port number, got "${stack.env.SANDBOX_PORT}"`);
    const step = stack.env.SANDBOX_STEP_MS ? Number(stack.env.SANDBOX_STEP_MS) : undefined;
    if (step !== undefined && !(step >= 0))
      throw new StartError(`SANDBOX_STEP_MS: must be a number of milliseconds, got "${stack.env.SANDBOX_STEP_MS}"`);
    const sb = await startSandbox({
      port: await freePort(preferred),
      timing: step,
      dataDir,
      onSaveError: (err) => stack.log.error({ component: 'sandbox' }, `saving the sandbox world to ${dataDir}: ${err.message}`),
    });
    const { config, env } = sandboxConfigOverrides(sb, stack.config);
    stack.config = { ...config, source: stack.config.source };
    // In sandbox mode nothing may leave the machine, so even a real Slack URL in the environment is replaced.
    Object.assign(stack.env, env);
    stack.sandbox = { url: sb.url };
    stack.log.warn(
      { component: 'sandbox' },
      `SANDBOX MODE (${decision.reason}): platform calls go to the local sandbox at ${sb.url}, not to Vercel/Netlify/Supabase/Statuspage/PagerDuty/Slack/Telegram`,
    );
    const traffic = startStackTraffic(stack, sb); // the sample app's rows follow its deployments' health
    return {
      banner: [
        ['platforms', `LOCAL SANDBOX at ${sb.url} (${decision.reason}); call log ${sb.url}/_sandbox/calls; world kept in ${dataDir}`],
        ...(config.maintenance.tlsHosts.length
          ? ([
              [
                'tls hosts',
                `${config.maintenance.tlsHosts.join(', ')} checked at the sandbox's TLS endpoint ${sb.tls.address} (CA ${sb.tls.caFile})`,
              ],
            ] as Array<[string, string]>)
          : []),
        ...traffic.banner,
      ],
      stop: () => {
        stack.sandbox = undefined;
        return traffic.stop().then(() => sb.stop());
      },
    };
  },
};
