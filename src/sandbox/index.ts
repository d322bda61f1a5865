import type { AddressInfo } from 'node:net';
import type { AppDegradation, AppInstance, ProductionRoute } from './apps';
import type { CallFilter, CallRecord } from './calls';
import type { SlackMessage, TelegramMessage } from './chat';
import { controlPlugin } from './control';
import type { ActiveFault, FaultSpec } from './faults';
import type { NetlifyDeploy, NewDeploy } from './netlify';
import type { PagerdutyEvent } from './pagerduty';
import type { Indicator, ProviderIncident } from './providers';
import { buildSandbox, type SandboxBaseUrls, type SandboxOptions } from './server';
import type { StatuspageIncident } from './statuspage';
import { SUPABASE_SERVICES, type PitrRestore, type QueryHandler, type ServiceStatus, type SupabaseService } from './supabase';
import type { Timing } from './timing';

/**
 * A local stand-in for every third-party API the runbooks touch (contracts/platforms.md), on one
 * loopback port: same paths, status codes, bodies, pagination and asynchronous state changes, plus a
 * call log, fault injection and sample apps whose health and metrics can be degraded.
 */
export interface Sandbox {
  /** `http://127.0.0.1:<port>`. */
  url: string;
  port: number;
  baseUrls: SandboxBaseUrls;
  timing: Timing;

  calls(filter?: CallFilter): CallRecord[];
  clearCalls(): void;
  /** Answers the next `times` requests matching vendor + method + path with the fault. */
  inject(fault: FaultSpec): ActiveFault;
  faults(): ActiveFault[];
  removeFault(id: string): boolean;
  clearFaults(): void;

  apps: {
    /** target: a deployment id, `production/<project>` (whatever is live there now) or `production` (the only project). */
    degrade(target: string, change: AppDegradation): string[];
    restore(target: string): string[];
    /** The next build of this Vercel project or Netlify site fails. */
    failNextBuild(project: string, outcome?: 'ERROR' | 'CANCELED'): void;
    /** Which deployment(s) `production/<project>` serves now. */
    production(project: string): ProductionRoute | undefined;
    deploymentUrl(deploymentId: string): string;
    productionUrl(project: string): string;
    instance(deploymentId: string): AppInstance | undefined;
  };
  providers: {
    set(name: string, status: { indicator: Indicator; description?: string; incidents?: ProviderIncident[] }): void;
  };
  vercel: {
    seedProject(idOrName: string, opts?: { envKeys?: string[]; autoAssignCustomDomains?: boolean }): { id: string; name: string };
  };
  netlify: {
    seedSite(siteId: string): { id: string };
    /** A build as a git push would start it: new → building → ready (production context publishes). */
    createDeploy(siteId: string, opts?: NewDeploy): NetlifyDeploy;
  };
  supabase: {
    seedProject(ref: string, opts?: { functions?: string[] }): { ref: string };
    setStatus(ref: string, status: string): void;
    setServiceHealth(ref: string, service: SupabaseService, status: ServiceStatus): void;
    failNextRestore(ref: string): void;
    setPitrEnabled(ref: string, enabled: boolean): void;
    setFunctionDown(ref: string, slug: string, down: boolean): void;
    /** The deployed function as the sandbox holds it, with the files of its last deploy. */
    deployedFunction(ref: string, slug: string): { version: number; entrypointPath: string; files: Record<string, string> } | undefined;
    /** Answers POST …/database/query (default: `select 1` → one row, else no rows). */
    onQuery(handler: QueryHandler): void;
    restores(ref: string): PitrRestore[];
  };
  statuspage: { incidents(pageId?: string): StatuspageIncident[] };
  pagerduty: {
    events(dedupKey?: string): PagerdutyEvent[];
    /** Where each dedup_key's alert stands: triggered, acknowledged or resolved. */
    alerts(): Record<string, 'triggered' | 'acknowledged' | 'resolved'>;
  };
  slack: { messages(hook?: string): SlackMessage[]; revoke(hook: string): void };
  telegram: { messages(chatId?: string | number): TelegramMessage[]; revokeToken(token: string): void };

  /** Read model of everything the sandbox holds (JSON-safe copy; also GET /_sandbox/state). */
  state: { snapshot(): SandboxState };
  /** Resolves when no asynchronous transition is pending. */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

export type SandboxState = ReturnType<typeof snapshotOf>;

function snapshotOf(built: Awaited<ReturnType<typeof buildSandbox>>) {
  const { vercel, netlify, supabase, statuspage, pagerduty, slack, telegram, providers, apps } = built;
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
  });
}

export async function startSandbox(opts: SandboxOptions = {}): Promise<Sandbox> {
  const built = await buildSandbox(opts);
  const { app, log, faults, apps, vercel, netlify, supabase, statuspage, pagerduty, slack, telegram, providers, scheduler, world } = built;
  await app.register(controlPlugin(() => sandbox), { prefix: '/_sandbox' });
  await app.listen({ port: opts.port ?? 0, host: built.host });
  const port = (app.server.address() as AddressInfo).port;
  built.setPort(port);
  const url = world.origin();
  const sbProject = (ref: string) => {
    const p = supabase.project(ref);
    if (!p) throw new Error(`ref: no sandbox Supabase project "${ref}"`);
    return p;
  };

  const sandbox: Sandbox = {
    url,
    port,
    timing: scheduler.timing,
    baseUrls: {
      vercel: `${url}/vercel`,
      netlify: `${url}/netlify/api/v1`,
      supabase: `${url}/supabase`,
      supabaseProject: `${url}/supabase-project`,
      statuspage: `${url}/statuspage/v1`,
      pagerduty: `${url}/pagerduty/v2/enqueue`,
      slack: `${url}/slack`,
      telegram: `${url}/telegram`,
      providers: { openai: `${url}/status/openai/api/v2/status.json`, anthropic: `${url}/status/anthropic/api/v2/status.json` },
    },
    calls: (filter) => log.list(filter),
    clearCalls: () => log.clear(),
    inject: (fault) => faults.add(fault),
    faults: () => faults.list(),
    removeFault: (id) => faults.remove(id),
    clearFaults: () => faults.clear(),
    apps: {
      degrade: (target, change) => apps.degrade(target, change),
      restore: (target) => apps.restore(target),
      failNextBuild: (project, outcome) => {
        // Provision on first mention, like any other reference to a project.
        if (!apps.projectIdOf(project) && !vercel.project(project)) netlify.site(project);
        apps.failNextBuild(project, outcome);
      },
      production: (project) => apps.production(project),
      deploymentUrl: (id) => `${url}/_apps/${id}`,
      productionUrl: (project) => `${url}/_apps/production/${project}`,
      instance: (id) => apps.instance(id),
    },
    providers: { set: (name, status) => providers.set(name, status) },
    vercel: { seedProject: (idOrName, o) => vercel.seedProject(idOrName, o) },
    netlify: {
      seedSite: (id) => netlify.seedSite(id),
      createDeploy: (siteId, o) => structuredClone(netlify.createDeploy(siteId, o)),
    },
    supabase: {
      seedProject: (ref, o) => supabase.seedProject(ref, o),
      setStatus: (ref, status) => {
        sbProject(ref).status = status;
      },
      setServiceHealth: (ref, service, status) => {
        if (!(SUPABASE_SERVICES as readonly string[]).includes(service)) throw new Error(`service: must be one of ${SUPABASE_SERVICES.join(', ')}`);
        if (!['COMING_UP', 'ACTIVE_HEALTHY', 'UNHEALTHY'].includes(status)) throw new Error('status: must be COMING_UP, ACTIVE_HEALTHY or UNHEALTHY');
        sbProject(ref).services[service] = status;
      },
      failNextRestore: (ref) => {
        sbProject(ref).failNextRestore = true;
      },
      setPitrEnabled: (ref, enabled) => {
        sbProject(ref).pitrEnabled = enabled;
      },
      deployedFunction: (ref, slug) => {
        const fn = sbProject(ref).functions.get(slug);
        return fn && { version: fn.version, entrypointPath: fn.entrypoint_path, files: { ...fn.source } };
      },
      setFunctionDown: (ref, slug, down) => {
        const fn = sbProject(ref).functions.get(slug);
        if (!fn) throw new Error(`slug: no function "${slug}" in project ${ref}`);
        fn.down = down;
      },
      onQuery: (handler) => {
        supabase.queryHandler = handler;
      },
      restores: (ref) => structuredClone(sbProject(ref).restores),
    },
    statuspage: { incidents: (pageId) => structuredClone(statuspage.incidents.filter((i) => !pageId || i.page_id === pageId)) },
    pagerduty: {
      events: (dedupKey) => structuredClone(pagerduty.events.filter((e) => !dedupKey || e.dedup_key === dedupKey)),
      alerts: () => pagerduty.alerts(),
    },
    slack: {
      messages: (hook) => structuredClone(slack.messages.filter((m) => !hook || m.hook === hook)),
      revoke: (hook) => void slack.revoked.add(hook),
    },
    telegram: {
      messages: (chatId) => structuredClone(telegram.messages.filter((m) => chatId === undefined || String(m.chat_id) === String(chatId))),
      revokeToken: (token) => void telegram.revokedTokens.add(token),
    },
    state: { snapshot: () => snapshotOf(built) },
    idle: () => scheduler.idle(),
    stop: async () => {
      scheduler.stop();
      built.releaseDelays();
      await app.close();
    },
  };
  return sandbox;
}

export { sandboxConfigOverrides, seedFromConfig } from './config';
export type { SandboxOptions, SandboxBaseUrls, CallFilter, CallRecord, FaultSpec, ActiveFault, AppDegradation, Indicator };
