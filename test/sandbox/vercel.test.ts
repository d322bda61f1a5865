import { startSandbox, type Sandbox } from '../../src/sandbox';

const auth = { authorization: 'Bearer sandbox-token', 'content-type': 'application/json' };

describe('sandbox: Vercel deployments, promote and rollback', () => {
  let sb: Sandbox;
  beforeAll(async () => {
    sb = await startSandbox({ timing: 150 });
    sb.vercel.seedProject('crav-javari', { envKeys: ['OPENAI_API_KEY'] });
  });
  afterAll(() => sb.stop());

  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${sb.baseUrls.vercel}${path}`, {
      method,
      headers: auth,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
  };

  it('moves a deployment QUEUED → BUILDING → READY and serves its app once READY', async () => {
    const created = await api('POST', '/v13/deployments', {
      name: 'crav-javari',
      target: 'production',
      meta: { runbookWorkflowId: 'deploy-x' },
    });
    expect(created.status).toBe(200);
    expect(created.body.readyState).toBe('QUEUED');
    const appUrl = `http://${created.body.url}`;
    expect((await fetch(`${appUrl}/api/health`)).status).toBe(503);
    const seen = new Set<string>();
    for (let i = 0; i < 100; i++) {
      const d = await api('GET', `/v13/deployments/${created.body.id}`);
      seen.add(d.body.readyState);
      if (d.body.readyState === 'READY') break;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect([...seen]).toEqual(expect.arrayContaining(['BUILDING', 'READY']));
    const health = await fetch(`${appUrl}/api/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'healthy', checks: { database: { status: 'healthy' } } });
  });

  it('promote switches production only when the alias job succeeds; rollback switches it back', async () => {
    const before = sb.apps.production('crav-javari')!.current!;
    const created = await api('POST', '/v13/deployments', { name: 'crav-javari', target: 'production' });
    await sb.idle();
    expect((await api('POST', `/v10/projects/crav-javari/promote/${created.body.id}`)).status).toBe(202);
    const pending = await api('GET', '/v9/projects/crav-javari');
    expect(pending.body.lastAliasRequest).toMatchObject({
      jobStatus: 'pending',
      type: 'promote',
      toDeploymentId: created.body.id,
      fromDeploymentId: before,
    });
    expect(sb.apps.production('crav-javari')!.current).toBe(before);
    await sb.idle();
    expect((await api('GET', '/v9/projects/crav-javari')).body.lastAliasRequest.jobStatus).toBe('succeeded');
    const prod = await fetch(`${sb.apps.productionUrl('crav-javari')}/`);
    expect(prod.headers.get('x-sandbox-deployment')).toBe(created.body.id);

    expect((await api('POST', `/v1/projects/crav-javari/rollback/${before}?description=bad`)).status).toBe(201);
    await sb.idle();
    expect(sb.apps.production('crav-javari')!.current).toBe(before);
    expect((await api('GET', '/v9/projects/crav-javari')).body.lastAliasRequest).toMatchObject({
      type: 'rollback',
      jobStatus: 'succeeded',
    });
  });

  it('refuses to promote a preview deployment with a message saying what to do', async () => {
    const preview = await api('POST', '/v13/deployments', { name: 'crav-javari' });
    await sb.idle();
    const res = await api('POST', `/v10/projects/crav-javari/promote/${preview.body.id}`);
    expect(res.status).toBe(400);
    expect(res.body.error.message).toMatch(/create a production deployment/);
  });

  it('pages the deployment list with until=pagination.next, items keyed by uid', async () => {
    const all: string[] = [];
    let until: number | null | undefined;
    do {
      const page = await api('GET', `/v7/deployments?projectId=crav-javari&limit=2${until ? `&until=${until}` : ''}`);
      all.push(...page.body.deployments.map((d: { uid: string }) => d.uid));
      until = page.body.pagination.next;
    } while (until);
    const ids = sb.state.snapshot() as { vercel: { deployments: Array<{ id: string }> } };
    expect(all.sort()).toEqual(ids.vercel.deployments.map((d) => d.id).sort());
  });
});

describe('sandbox: Vercel list filters', () => {
  it('target=preview lists deployments without a target; state takes a comma list', async () => {
    const sb = await startSandbox({ timing: 1 });
    try {
      const post = (body: object) =>
        fetch(`${sb.baseUrls.vercel}/v13/deployments`, {
          method: 'POST',
          headers: auth,
          body: JSON.stringify({ name: 'lists', ...body }),
        }).then((r) => r.json() as Promise<{ id: string }>);
      const preview = await post({});
      const failed = await post({ target: 'production', meta: { sandboxOutcome: 'ERROR' } });
      await sb.idle();
      const list = async (q: string) =>
        (
          (await (await fetch(`${sb.baseUrls.vercel}/v7/deployments?projectId=lists&${q}`, { headers: auth })).json()) as {
            deployments: Array<{ uid: string }>;
          }
        ).deployments.map((d) => d.uid);
      expect(await list('target=preview')).toEqual([preview.id]);
      expect(await list('state=ERROR,CANCELED')).toEqual([failed.id]);
      expect((await list('target=production&state=READY')).length).toBe(2);
    } finally {
      await sb.stop();
    }
  });
});
