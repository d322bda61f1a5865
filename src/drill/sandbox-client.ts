/**
 * The platform sandbox's control API (`/_sandbox/…`) over HTTP, so a drill works the same against the
 * sandbox of a running `npm start` and one started in-process by a test.
 */

export interface SandboxCall {
  seq: number;
  vendor: string;
  method: string;
  path: string;
  body: unknown;
  time: number;
  status?: number;
}

export interface PagerdutyEventView {
  dedup_key: string;
  event_action: 'trigger' | 'acknowledge' | 'resolve';
  routing_key: string;
  time: number;
}

export interface SandboxControl {
  url: string;
  /** Answers when the control API is there (it is only in sandbox mode). */
  reachable(): Promise<boolean>;
  calls(filter?: { vendor?: string; method?: string; pathPrefix?: string }): Promise<SandboxCall[]>;
  pagerdutyEvents(dedupKey?: string): Promise<PagerdutyEventView[]>;
  degrade(target: string, change: { errorRate?: number; p99Ms?: number; healthy?: boolean; maintenance?: boolean }): Promise<string[]>;
  restore(target: string): Promise<string[]>;
  setProvider(name: string, indicator: 'none' | 'minor' | 'major' | 'critical', description?: string): Promise<void>;
  /** The providers' states (`/_sandbox/state` → providers). */
  providers(): Promise<Record<string, { indicator: string }>>;
  /** Vercel projects as the sandbox holds them: production deployment and env vars. */
  vercelProjects(): Promise<{ id: string; name: string; productionDeploymentId?: string; envs?: { key: string; value?: string }[] }[]>;
  /** Every Vercel deployment the sandbox holds, with its creation time (epoch ms). */
  vercelDeployments(): Promise<{ id: string; name: string; createdAt: number; target?: string | null }[]>;
}

async function http(url: string, init: { method?: string; body?: unknown } = {}): Promise<unknown> {
  const res = await fetch(url, {
    method: init.method ?? 'GET',
    headers: init.body === undefined ? {} : { 'content-type': 'application/json' },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`sandbox ${init.method ?? 'GET'} ${new URL(url).pathname} answered ${res.status}: ${text.slice(0, 300)}`);
  return text ? JSON.parse(text) : undefined;
}

export function sandboxControl(url: string): SandboxControl {
  const base = url.replace(/\/+$/, '');
  const ctl = `${base}/_sandbox`;
  const state = () =>
    http(`${ctl}/state`) as Promise<{
      providers: Record<string, { indicator: string }>;
      vercel: { projects: unknown[]; deployments: unknown[] };
    }>;
  return {
    url: base,
    async reachable() {
      try {
        const s = await state();
        return typeof s === 'object' && s !== null && 'vercel' in s;
      } catch {
        return false;
      }
    },
    async calls(filter = {}) {
      const q = new URLSearchParams(Object.entries(filter).filter(([, v]) => v !== undefined) as [string, string][]);
      return (await http(`${ctl}/calls?${q.toString()}`)) as SandboxCall[];
    },
    async pagerdutyEvents(dedupKey) {
      return (await http(`${ctl}/pagerduty/events${dedupKey ? `?dedup_key=${encodeURIComponent(dedupKey)}` : ''}`)) as PagerdutyEventView[];
    },
    async degrade(target, change) {
      return ((await http(`${ctl}/apps/degrade`, { method: 'POST', body: { target, ...change } })) as { degraded: string[] }).degraded;
    },
    async restore(target) {
      return ((await http(`${ctl}/apps/restore`, { method: 'POST', body: { target } })) as { restored: string[] }).restored;
    },
    async setProvider(name, indicator, description) {
      await http(`${ctl}/providers/${encodeURIComponent(name)}`, {
        method: 'POST',
        body: { indicator, ...(description ? { description } : {}) },
      });
    },
    async providers() {
      return (await state()).providers ?? {};
    },
    async vercelProjects() {
      return (await state()).vercel.projects as Awaited<ReturnType<SandboxControl['vercelProjects']>>;
    },
    async vercelDeployments() {
      return (await state()).vercel.deployments as Awaited<ReturnType<SandboxControl['vercelDeployments']>>;
    },
  };
}
