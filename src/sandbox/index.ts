import { sandboxBaseUrls } from '../platforms/sandbox-target';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Sandbox } from './api';
import type { AppDegradation } from './apps';
import type { CallFilter, CallRecord } from './calls';
import { controlPlugin } from './control';
import type { ActiveFault, FaultSpec } from './faults';
import type { Indicator } from './providers';
import { buildSandbox, type SandboxBaseUrls, type SandboxOptions } from './server';
import { snapshotOf } from './snapshot';
import { readCallJournal, readSavedWorld, SandboxStore } from './store';
import { SUPABASE_SERVICES } from './supabase';
import type { TlsCertificateChange, TlsCertificateView } from './tls';
import { dumpWorld, loadWorld, type WorldState } from './world-state';

/**
 * Starts the sandbox. With `dataDir`, the world saved there is loaded first (on the port it used, when
 * `port` is not given and that port is free — see savedPort) and every change is saved back.
 */
export async function startSandbox(opts: SandboxOptions = {}): Promise<Sandbox> {
  const built = await buildSandbox(opts);
  const {
    app,
    log,
    hooks,
    faults,
    apps,
    vercel,
    netlify,
    supabase,
    statuspage,
    pagerduty,
    slack,
    telegram,
    providers,
    tls,
    scheduler,
    world,
  } = built;
  const dataDir = opts.dataDir ? path.resolve(opts.dataDir) : undefined;
  // Read before listening, so a bad file fails the start before anything is served.
  const saved = dataDir ? readSavedWorld(dataDir) : undefined;
  await app.register(
    controlPlugin(() => sandbox),
    { prefix: '/_sandbox' },
  );
  await app.listen({ port: opts.port ?? 0, host: built.host });
  const port = (app.server.address() as AddressInfo).port;
  built.setPort(port);
  const url = world.origin();

  let store: SandboxStore | undefined;
  if (dataDir) {
    // Loaded with no await since listening, so no request sees a half-loaded world. URLs the sandbox
    // handed out name its origin; on another port they are rewritten.
    const journal = readCallJournal(dataDir);
    if (saved) {
      const body = saved.origin === url ? saved.body : saved.body.split(hostOf(saved.origin)).join(world.hostPort());
      try {
        const w = JSON.parse(body) as WorldState;
        loadWorld(built, w);
        log.load(journal, w.callSeq);
      } catch (err) {
        await app.close();
        throw new Error(
          `sandbox: cannot load the world saved in ${saved.file}: ${(err as Error).message}; move ${dataDir} away (or delete it) to start with a fresh one`,
        );
      }
    } else {
      log.load(journal);
    }
    store = new SandboxStore(
      dataDir,
      {
        collect: () => dumpWorld(built),
        recentCalls: () => log.recent(),
        origin: () => url,
        limit: log.limit,
        onError: opts.onSaveError ?? ((err) => process.stderr.write(`sandbox: saving to ${dataDir}: ${err.message}\n`)),
      },
      { generation: saved?.generation ?? 0, journalLines: journal.length },
    );
    const s = store;
    hooks.callDone = (record) => s.call(record);
    hooks.beforeReply = (req) => (req.method === 'GET' || req.method === 'HEAD' ? (s.touch(), Promise.resolve()) : s.commit());
    scheduler.onTransition = () => s.touch();
    tls.onChange = () => s.touch();
  }
  try {
    // The app's TLS endpoint: its CA (made now in a new world) is written beside the world as ca.pem.
    await tls.start({ dataDir, port: opts.tlsPort });
  } catch (err) {
    await app.close();
    await store?.close();
    throw new Error(`sandbox: cannot start the TLS endpoint: ${(err as Error).message}`);
  }
  /** In-process controls change the world too. */
  const changed = <T>(result: T): T => {
    store?.touch();
    return result;
  };
  const sbProject = (ref: string) => {
    const p = supabase.project(ref);
    if (!p) throw new Error(`ref: no sandbox Supabase project "${ref}"`);
    return p;
  };

  const sandbox: Sandbox = {
    url,
    port,
    timing: scheduler.timing,
    baseUrls: sandboxBaseUrls(url),
    calls: (filter) => log.list(filter),
    clearCalls: () => {
      log.clear();
      store?.clearCalls();
    },
    inject: (fault) => changed(faults.add(fault)),
    faults: () => faults.list(),
    removeFault: (id) => changed(faults.remove(id)),
    clearFaults: () => changed(faults.clear()),
    apps: {
      degrade: (target, change) => changed(apps.degrade(target, change)),
      restore: (target) => changed(apps.restore(target)),
      failNextBuild: (project, outcome) => {
        // Provision on first mention, like any other reference to a project.
        if (!apps.projectIdOf(project) && !vercel.project(project)) netlify.site(project);
        changed(apps.failNextBuild(project, outcome));
      },
      production: (project) => apps.production(project),
      deploymentUrl: (id) => `${url}/_apps/${id}`,
      productionUrl: (project) => `${url}/_apps/production/${project}`,
      instance: (id) => apps.instance(id),
    },
    providers: {
      set: (name, status) => changed(providers.set(name, status)),
      setApi: (name, api) => changed(providers.setApi(name, api)),
    },
    vercel: { seedProject: (idOrName, o) => changed(vercel.seedProject(idOrName, o)) },
    netlify: {
      seedSite: (id) => changed(netlify.seedSite(id)),
      createDeploy: (siteId, o) => changed(structuredClone(netlify.createDeploy(siteId, o))),
    },
    supabase: {
      seedProject: (ref, o) => changed(supabase.seedProject(ref, o)),
      setStatus: (ref, status) => {
        sbProject(ref).status = status;
        store?.touch();
      },
      setServiceHealth: (ref, service, status) => {
        if (!(SUPABASE_SERVICES as readonly string[]).includes(service))
          throw new Error(`service: must be one of ${SUPABASE_SERVICES.join(', ')}`);
        if (!['COMING_UP', 'ACTIVE_HEALTHY', 'UNHEALTHY'].includes(status))
          throw new Error('status: must be COMING_UP, ACTIVE_HEALTHY or UNHEALTHY');
        sbProject(ref).services[service] = status;
        store?.touch();
      },
      failNextRestore: (ref) => {
        sbProject(ref).failNextRestore = true;
        store?.touch();
      },
      setPitrEnabled: (ref, enabled) => {
        sbProject(ref).pitrEnabled = enabled;
        store?.touch();
      },
      deployedFunction: (ref, slug) => {
        const fn = sbProject(ref).functions.get(slug);
        return fn && { version: fn.version, entrypointPath: fn.entrypoint_path, files: { ...fn.source } };
      },
      setFunctionDown: (ref, slug, down) => {
        const fn = sbProject(ref).functions.get(slug);
        if (!fn) throw new Error(`slug: no function "${slug}" in project ${ref}`);
        fn.down = down;
        store?.touch();
      },
      onQuery: (handler) => {
        supabase.queryHandler = handler;
      },
      restores: (ref) => structuredClone(sbProject(ref).restores),
      seedAuthUser: (ref, user) => {
        supabase.seedAuthUser(sbProject(ref), user);
        store?.touch();
      },
      authUser: (ref, id) => structuredClone(sbProject(ref).authUsers.find((u) => u.id === id)),
    },
    statuspage: { incidents: (pageId) => structuredClone(statuspage.incidents.filter((i) => !pageId || i.page_id === pageId)) },
    pagerduty: {
      events: (dedupKey) => structuredClone(pagerduty.events.filter((e) => !dedupKey || e.dedup_key === dedupKey)),
      alerts: () => pagerduty.alerts(),
    },
    slack: {
      messages: (hook) => structuredClone(slack.messages.filter((m) => !hook || m.hook === hook)),
      revoke: (hook) => void changed(slack.revoked.add(hook)),
    },
    telegram: {
      messages: (chatId) => structuredClone(telegram.messages.filter((m) => chatId === undefined || String(m.chat_id) === String(chatId))),
      revokeToken: (token) => void changed(telegram.revokedTokens.add(token)),
    },
    tls: {
      address: tls.address(),
      port: tls.port,
      caFile: tls.caFile,
      caPem: () => tls.caPem(),
      certificate: (host) => tls.certificate(host),
      set: (host, change) => tls.set(host, change),
      list: () => tls.list(),
    },
    state: { snapshot: () => snapshotOf(built) },
    dataDir,
    save: () => store?.commit() ?? Promise.resolve(),
    idle: () => scheduler.idle(),
    stop: async () => {
      // Transitions stop but stay pending, and are saved with the world to resume on the next start.
      scheduler.stop();
      built.releaseDelays();
      await Promise.all([app.close(), tls.stop()]);
      await store?.close();
    },
  };
  return sandbox;
}

const hostOf = (origin: string) => new URL(origin).host;

export { pointTlsAtSandbox, sandboxConfigOverrides, seedFromConfig } from './config';
export { savedPort } from './store';
export type { Sandbox, SandboxState } from './api';
export type {
  SandboxOptions,
  SandboxBaseUrls,
  CallFilter,
  CallRecord,
  FaultSpec,
  ActiveFault,
  AppDegradation,
  Indicator,
  TlsCertificateChange,
  TlsCertificateView,
};
