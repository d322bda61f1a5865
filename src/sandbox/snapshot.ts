import type { BuiltSandbox } from './server';

/** Read model of everything the sandbox holds (JSON-safe copy; also GET /_sandbox/state). */
export function snapshotOf(built: BuiltSandbox) {
  const { vercel, netlify, supabase, statuspage, pagerduty, slack, telegram, providers, apps, tls } = built;
  return structuredClone({
    vercel: {
      projects: [...vercel.projects.values()].map((p) => ({
        ...vercel.projectView(p),
        productionDeploymentId: p.productionDeploymentId,
        rollingConfig: p.rollingConfig,
        rollingReleases: p.rollingReleases.map((r) => vercel.releaseView(r)),
        envs: p.envs,
      })),
      deployments: [...vercel.deployments.values()],
    },
    netlify: {
      sites: [...netlify.sites.values()],
      deploys: [...netlify.deploys.values()],
    },
    supabase: {
      projects: [...supabase.projects.values()].map((p) => ({ ...p, functions: [...p.functions.values()] })),
    },
    statuspage: { incidents: statuspage.incidents },
    pagerduty: { events: pagerduty.events, alerts: pagerduty.alerts() },
    slack: { messages: slack.messages },
    telegram: { messages: telegram.messages },
    providers: providers.snapshot(),
    apps: apps.snapshot(),
    tls: { address: tls.address(), caFile: tls.caFile, certificates: tls.list() },
  });
}

export type SandboxState = ReturnType<typeof snapshotOf>;
