/** The platform sandbox with ops and app databases, for the suites whose activities call the platforms. */
import type { ActivityDeps } from '../../src/activities';
import type { RunbookConfig } from '../../src/config/schema';
import { seedFromConfig, startSandbox, type Sandbox, type SandboxOptions } from '../../src/sandbox';
import { scratchDatabase, testDeps, withSandboxPlatforms, type ScratchDatabase } from './index';

export interface SandboxStack {
  ops: ScratchDatabase;
  /** The config's `app` database. */
  app: ScratchDatabase;
  sandbox: Sandbox;
  /** Activity deps whose platform calls all go to the sandbox. */
  deps: ActivityDeps;
  close(): Promise<void>;
}

/**
 * Ops and app databases, a sandbox seeded from `config` (20 ms steps unless `timing` says otherwise), and activity
 * deps whose platform calls all go to it (within `requestTimeoutMs`, else the config's platform timeout).
 */
export async function openSandboxStack(
  config: RunbookConfig,
  opts: {
    prefix: string;
    timing?: SandboxOptions['timing'];
    requestTimeoutMs?: number;
    env?: Record<string, string | undefined>;
    /** The app database's cluster (default: the run's shared one). */
    appAdminUrl?: string;
  },
): Promise<SandboxStack> {
  const [ops, app, sandbox] = await Promise.all([
    scratchDatabase(`${opts.prefix}_ops`, { ops: true }),
    scratchDatabase(`${opts.prefix}_app`, { adminUrl: opts.appAdminUrl }),
    startSandbox({ timing: opts.timing ?? 20 }),
  ]);
  // An idle pooled connection ended by the server is discarded by the pool; without a listener it would crash the test.
  for (const db of [ops, app]) db.pool.on('error', () => undefined);
  seedFromConfig(sandbox, config);
  const deps = withSandboxPlatforms(testDeps(config, ops, { app: app.url }), sandbox, {
    requestTimeoutMs: opts.requestTimeoutMs,
    env: opts.env,
  });
  return {
    ops,
    app,
    sandbox,
    deps,
    async close() {
      await sandbox.stop();
      await Promise.all([ops.drop(), app.drop()]);
    },
  };
}

/**
 * Turns on rolling releases (manual approval at 10, 50 and 100 %) for a sandbox Vercel project, as after any
 * deploy of a service configured with them: production builds then serve only once released. Returns the
 * answer's HTTP status.
 */
export async function enableRollingReleases(sandbox: Sandbox, project: string): Promise<number> {
  const res = await fetch(`${sandbox.url}/vercel/v1/projects/${project}/rolling-release/config`, {
    method: 'PATCH',
    headers: { 'content-type': 'application/json', authorization: 'Bearer sandbox' },
    body: JSON.stringify({
      enabled: true,
      advancementType: 'manual-approval',
      stages: [{ targetPercentage: 10 }, { targetPercentage: 50 }, { targetPercentage: 100 }],
    }),
  });
  return res.status;
}
