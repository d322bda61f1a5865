import type { AddressInfo } from 'node:net';
import type { AppDegradation, AppInstance, ProductionRoute } from './apps';
import type { CallFilter, CallRecord } from './calls';
import { controlPlugin } from './control';
import type { ActiveFault, FaultSpec } from './faults';
import { buildSandbox, type SandboxBaseUrls, type SandboxOptions } from './server';
import type { Timing } from './timing';

/**
 * A local stand-in for every third-party API the runbooks touch (contracts/platforms.md), on one
 * loopback port: same paths, status codes, bodies, pagination and asynchronous state changes, plus a
 * call log, fault injection and sample apps whose health and metrics can be degraded.
 */

export type Indicator = 'none' | 'minor' | 'major' | 'critical';

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
  clearFaults(): void;
  apps: {
    /** target: a deployment id, `production/<projectId>` (what is live there now) or `production` (the only project). */
    degrade(target: string, change: AppDegradation): string[];
    restore(target: string): string[];
    failNextBuild(project: string, outcome?: 'ERROR' | 'CANCELED'): void;
    /** Which deployment(s) `production/<project>` serves now. */
    production(project: string): ProductionRoute | undefined;
    /** Absolute URL of a deployment's app, or of a project's production. */
    deploymentUrl(deploymentId: string): string;
    productionUrl(project: string): string;
    instance(deploymentId: string): AppInstance | undefined;
  };
  providers: {
    set(name: string, status: { indicator: Indicator; description?: string }): void;
  };
  /** Read model of everything the sandbox holds. */
  state: {
    snapshot(): Record<string, unknown>;
  };
  vercel: {
    seedProject(idOrName: string, opts?: { envKeys?: string[]; autoAssignCustomDomains?: boolean }): { id: string; name: string };
  };
  /** Resolves when no asynchronous transition is pending. */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

export async function startSandbox(opts: SandboxOptions = {}): Promise<Sandbox> {
  const built = await buildSandbox(opts);
  const { app, log, faults, apps, vercel, scheduler, world, providerIndicators } = built;
  await app.register(controlPlugin(() => sandbox), { prefix: '/_sandbox' });
  await app.listen({ port: opts.port ?? 0, host: built.host });
  const port = (app.server.address() as AddressInfo).port;
  built.setPort(port);
  const url = world.origin();

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
    clearFaults: () => faults.clear(),
    apps: {
      degrade: (target, change) => apps.degrade(target, change),
      restore: (target) => apps.restore(target),
      failNextBuild: (project, outcome) => apps.failNextBuild(project, outcome),
      production: (project) => apps.production(project),
      deploymentUrl: (id) => `${url}/_apps/${id}`,
      productionUrl: (project) => `${url}/_apps/production/${project}`,
      instance: (id) => apps.instance(id),
    },
    providers: {
      set: (name, status) => {
        if (!['none', 'minor', 'major', 'critical'].includes(status.indicator)) {
          throw new Error('indicator: must be one of none, minor, major, critical');
        }
        providerIndicators.set(name, status.indicator);
      },
    },
    state: {
      snapshot: () =>
        structuredClone({
          vercel: {
            projects: [...vercel.projects.values()].map((p) => vercel.projectView(p)),
            deployments: [...vercel.deployments.values()],
          },
          apps: apps.snapshot(),
          providers: Object.fromEntries(providerIndicators),
        }),
    },
    vercel: {
      seedProject: (idOrName, o) => vercel.seedProject(idOrName, o),
    },
    idle: () => scheduler.idle(),
    stop: async () => {
      scheduler.stop();
      built.releaseDelays();
      await app.close();
    },
  };
  return sandbox;
}

export type { SandboxOptions, SandboxBaseUrls, CallFilter, CallRecord, FaultSpec, ActiveFault, AppDegradation };
