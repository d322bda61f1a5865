import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { sendError } from './vendors';
import { firstQuery, isRecord, params, randomId, requireAuth, type World } from './world';

/** Netlify API v1 (contracts/platforms.md): deploys, restore (publish an older deploy), rollback, cancel. */

export interface NetlifyDeploy {
  id: string;
  site_id: string;
  build_id: string;
  state: string;
  branch: string;
  commit_ref: string | null;
  context: 'production' | 'deploy-preview' | 'branch-deploy';
  title: string | null;
  error_message: string | null;
  created_at: string;
  updated_at: string;
  published_at: string | null;
}

export interface NetlifySite {
  id: string;
  name: string;
  publishedDeployId: string | null;
  /** Deploys published in order; rollback goes back one. */
  publishHistory: string[];
  /** Netlify's default: a finished production deploy goes live at once. */
  autoPublish: boolean;
}

export interface NewDeploy {
  branch?: string;
  commitRef?: string;
  context?: NetlifyDeploy['context'];
  title?: string;
  /** Ends in `error` instead of `ready`. */
  fail?: boolean;
}

export interface NetlifyState {
  sites: NetlifySite[];
  deploys: NetlifyDeploy[];
  lastCreated: number;
}

const iso = (ms = Date.now()) => new Date(ms).toISOString();
const ACTIVE = ['new', 'enqueued', 'building', 'uploading', 'uploaded', 'preparing', 'prepared', 'processing', 'processed', 'retrying'];

export class NetlifySandbox {
  readonly sites = new Map<string, NetlifySite>();
  readonly deploys = new Map<string, NetlifyDeploy>();
  private lastCreated = 0;

  constructor(
    private readonly world: World,
    private readonly autoProvision: boolean,
  ) {
    world.scheduler.define<{ deployId: string; fail: boolean }>('netlify.build', (a) => this.buildStep(a.deployId, a.fail));
  }

  dump(): NetlifyState {
    return { sites: [...this.sites.values()], deploys: [...this.deploys.values()], lastCreated: this.lastCreated };
  }

  load(state: NetlifyState): void {
    this.sites.clear();
    this.deploys.clear();
    for (const s of state.sites) this.sites.set(s.id, s);
    for (const d of state.deploys) this.deploys.set(d.id, d);
    this.lastCreated = state.lastCreated;
  }

  site(idOrName: string): NetlifySite | undefined {
    const found = this.sites.get(idOrName) ?? [...this.sites.values()].find((s) => s.name === idOrName);
    return found ?? (this.autoProvision ? this.seedSite(idOrName) : undefined);
  }

  /** A site with two published production deploys, so a rollback has somewhere to go. */
  seedSite(id: string): NetlifySite {
    const existing = this.sites.get(id);
    if (existing) return existing;
    const site: NetlifySite = { id, name: id, publishedDeployId: null, publishHistory: [], autoPublish: true };
    this.sites.set(id, site);
    this.world.apps.registerProject(id, []);
    const now = Date.now();
    for (const [age, ref] of [
      [2, 'c3d4e5f60718293a4b5c6d7e8f90123456789012'],
      [1, 'd4e5f60718293a4b5c6d7e8f9012345678901234'],
    ] as const) {
      const d = this.newDeploy(site, { branch: 'main', commitRef: ref, context: 'production' }, now - age * 86_400_000);
      this.finish(d, 'ready');
    }
    return site;
  }

  private newDeploy(site: NetlifySite, opts: NewDeploy, createdAt?: number): NetlifyDeploy {
    const id = randomId(24, '0123456789abcdef');
    const at = createdAt ?? Math.max(Date.now(), this.lastCreated + 1);
    if (createdAt === undefined) this.lastCreated = at;
    const branch = opts.branch ?? 'main';
    const d: NetlifyDeploy = {
      id,
      site_id: site.id,
      build_id: randomId(24, '0123456789abcdef'),
      state: 'new',
      branch,
      commit_ref: opts.commitRef ?? null,
      context: opts.context ?? (branch === 'main' ? 'production' : 'branch-deploy'),
      title: opts.title ?? null,
      error_message: null,
      created_at: iso(at),
      updated_at: iso(at),
      published_at: null,
    };
    this.deploys.set(id, d);
    this.world.apps.register({
      deploymentId: id,
      platform: 'netlify',
      projectId: site.id,
      version: opts.commitRef?.slice(0, 7) ?? id,
      phase: 'building',
    });
    return d;
  }

  /** A build as a git push or build hook would start it: new → building → ready (or error). */
  createDeploy(siteId: string, opts: NewDeploy = {}): NetlifyDeploy {
    const site = this.site(siteId);
    if (!site) throw new Error(`site: no sandbox Netlify site "${siteId}"`);
    const d = this.newDeploy(site, opts);
    const fail = opts.fail || this.world.apps.takeBuildFailure(site.id) !== undefined;
    this.world.scheduler.schedule('netlify.build', { deployId: d.id, fail }, this.world.scheduler.timing.buildStepMs);
    return d;
  }

  /** new → building → ready (or error), one build step apart. */
  private buildStep(deployId: string, fail: boolean): void {
    const d = this.deploys.get(deployId);
    if (d?.state === 'new') {
      d.state = 'building';
      d.updated_at = iso();
      this.world.scheduler.schedule('netlify.build', { deployId, fail }, this.world.scheduler.timing.buildStepMs);
    } else if (d?.state === 'building') {
      this.finish(d, fail ? 'error' : 'ready');
    }
  }

  private finish(d: NetlifyDeploy, state: 'ready' | 'error'): void {
    d.state = state;
    d.updated_at = iso();
    const app = this.world.apps.instance(d.id)!;
    if (state === 'error') {
      d.error_message = 'Build script returned non-zero exit code: 2';
      app.phase = 'failed';
      return;
    }
    app.phase = 'ready';
    const site = this.sites.get(d.site_id)!;
    if (d.context === 'production' && site.autoPublish) this.publish(site, d);
  }

  private publish(site: NetlifySite, d: NetlifyDeploy): void {
    d.published_at = iso();
    site.publishedDeployId = d.id;
    site.publishHistory.push(d.id);
    this.world.apps.setProduction(site.id, { current: d.id, canaryPercent: 0 });
  }

  deployView(d: NetlifyDeploy) {
    const site = this.sites.get(d.site_id)!;
    const siteUrl = `${this.world.origin()}/_apps/production/${site.id}`;
    const deployUrl = `${this.world.origin()}/_apps/${d.id}`;
    return {
      id: d.id,
      site_id: d.site_id,
      build_id: d.build_id,
      state: d.state,
      name: site.name,
      url: siteUrl,
      ssl_url: siteUrl,
      admin_url: `${this.world.origin()}/netlify-admin/sites/${site.name}`,
      deploy_url: deployUrl,
      deploy_ssl_url: deployUrl,
      branch: d.branch,
      commit_ref: d.commit_ref,
      commit_url: null,
      context: d.context,
      title: d.title,
      error_message: d.error_message,
      created_at: d.created_at,
      updated_at: d.updated_at,
      published_at: d.published_at,
      draft: false,
      locked: null,
      skipped: null,
      review_id: null,
    };
  }

  siteView(s: NetlifySite) {
    const url = `${this.world.origin()}/_apps/production/${s.id}`;
    const published = s.publishedDeployId ? this.deploys.get(s.publishedDeployId) : undefined;
    return {
      id: s.id,
      site_id: s.id,
      name: s.name,
      state: 'current',
      url,
      ssl_url: url,
      published_deploy: published ? this.deployView(published) : null,
    };
  }

  plugin = async (app: FastifyInstance): Promise<void> => {
    app.addHook('onRequest', requireAuth('netlify', 'Bearer'));
    const notFound = (reply: FastifyReply) => sendError(reply, 'netlify', 404, 'Not Found');

    app.get('/sites/:site_id', (req, reply) => {
      const s = this.site(params(req).site_id);
      return s ? reply.send(this.siteView(s)) : notFound(reply);
    });
    app.get('/sites/:site_id/deploys', (req, reply) => this.list(req, reply));
    app.get('/sites/:site_id/deploys/:deploy_id', (req, reply) => {
      const s = this.site(params(req).site_id);
      const d = this.deploys.get(params(req).deploy_id);
      return s && d && d.site_id === s.id ? reply.send(this.deployView(d)) : notFound(reply);
    });
    app.get('/deploys/:deploy_id', (req, reply) => {
      const d = this.deploys.get(params(req).deploy_id);
      return d ? reply.send(this.deployView(d)) : notFound(reply);
    });
    app.post('/sites/:site_id/builds', (req, reply) => {
      const s = this.site(params(req).site_id);
      if (!s) return notFound(reply);
      const b = isRecord(req.body) ? req.body : {};
      const str = (k: string) => (typeof b[k] === 'string' ? (b[k] as string) : undefined);
      const d = this.createDeploy(s.id, { branch: str('branch'), commitRef: str('commit_ref'), title: str('title') });
      return reply.send({ id: d.build_id, deploy_id: d.id, sha: d.commit_ref, done: false, error: null, created_at: d.created_at });
    });
    app.post('/sites/:site_id/deploys/:deploy_id/restore', (req, reply) => {
      const s = this.site(params(req).site_id);
      const d = this.deploys.get(params(req).deploy_id);
      if (!s || !d || d.site_id !== s.id) return notFound(reply);
      if (d.state !== 'ready')
        return sendError(reply, 'netlify', 422, `Deploy ${d.id} is ${d.state}; only a ready deploy can be published`);
      this.publish(s, d);
      return reply.code(201).send(this.deployView(d));
    });
    app.put('/sites/:site_id/rollback', (req, reply) => {
      const s = this.site(params(req).site_id);
      if (!s) return notFound(reply);
      const current = s.publishedDeployId;
      const previous = [...s.publishHistory].reverse().find((id) => id !== current);
      if (!previous) return sendError(reply, 'netlify', 422, 'No previously published deploy to roll back to');
      // Going back drops the current deploy from the history, as the UI's "rollback" does.
      s.publishHistory = s.publishHistory.slice(0, s.publishHistory.lastIndexOf(previous));
      this.publish(s, this.deploys.get(previous)!);
      return reply.code(204).send();
    });
    app.post('/deploys/:deploy_id/cancel', (req, reply) => {
      const d = this.deploys.get(params(req).deploy_id);
      if (!d) return notFound(reply);
      if (!ACTIVE.includes(d.state)) return sendError(reply, 'netlify', 422, `Deploy ${d.id} is ${d.state} and cannot be cancelled`);
      d.state = 'error';
      d.error_message = 'Canceled build';
      d.updated_at = iso();
      this.world.apps.instance(d.id)!.phase = 'failed';
      return reply.code(201).send(this.deployView(d));
    });
  };

  private list(req: FastifyRequest, reply: FastifyReply) {
    const s = this.site(params(req).site_id);
    if (!s) return sendError(reply, 'netlify', 404, 'Not Found');
    const page = Number(firstQuery(req, 'page') ?? 1);
    const perPage = Number(firstQuery(req, 'per_page') ?? 100);
    if (!Number.isInteger(page) || page < 1) return sendError(reply, 'netlify', 422, 'page must be a positive integer');
    if (!Number.isInteger(perPage) || perPage < 1 || perPage > 100)
      return sendError(reply, 'netlify', 422, 'per_page must be between 1 and 100');
    const state = firstQuery(req, 'state');
    const production = firstQuery(req, 'production');
    const branch = firstQuery(req, 'branch');
    const all = [...this.deploys.values()]
      .filter(
        (d) =>
          d.site_id === s.id &&
          (!state || d.state === state) &&
          (production === undefined || (production === 'true') === (d.context === 'production')) &&
          (!branch || d.branch === branch),
      )
      .sort((a, b) => b.created_at.localeCompare(a.created_at));
    const last = Math.max(1, Math.ceil(all.length / perPage));
    const link = (p: number, rel: string) => {
      const u = new URL(`${this.world.origin()}${req.url}`);
      u.searchParams.set('page', String(p));
      u.searchParams.set('per_page', String(perPage));
      return `<${u.toString()}>; rel="${rel}"`;
    };
    const links = [
      page < last ? link(page + 1, 'next') : '',
      page > 1 ? link(page - 1, 'prev') : '',
      link(1, 'first'),
      link(last, 'last'),
    ].filter(Boolean);
    reply.header('link', links.join(', '));
    return reply.send(all.slice((page - 1) * perPage, page * perPage).map((d) => this.deployView(d)));
  }
}
