import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FAST, openStage, waitForProgress, type Stage } from './stage';

const SHA = '3333333333333333333333333333333333333333';
const SITE = 'aiqueryhub-site';
const SLUGS = ['ai-query', 'telegram-webhook', 'slack-webhook']; // the netlify-supabase example's list

/** A `supabase/functions` folder: one folder per function, helpers in `_shared/`. */
function functionsFolder(slugs: string[]): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'functions-'));
  for (const slug of slugs) {
    mkdirSync(path.join(dir, slug));
    writeFileSync(
      path.join(dir, slug, 'index.ts'),
      `import { cors } from '../_shared/cors.ts';\nDeno.serve(() => new Response('${slug}', { headers: cors }));\n`,
    );
  }
  mkdirSync(path.join(dir, '_shared'));
  writeFileSync(path.join(dir, '_shared', 'cors.ts'), "export const cors = { 'access-control-allow-origin': '*' };\n");
  return dir;
}

const deployCalls = (stage: Stage) => stage.calls('supabase').filter((c) => c.method === 'POST' && c.path.endsWith('/functions/deploy'));

describe('deploy: Supabase Edge Functions (the second runbook: supabase functions deploy)', () => {
  let stage: Stage | undefined;
  let dir: string | undefined;
  afterEach(async () => {
    await stage?.close();
    stage = undefined;
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('deploys every listed function from its folder after the checklist and before the frontend goes live, each once', async () => {
    dir = functionsFolder(SLUGS);
    stage = await openStage({ example: 'netlify-supabase', deploy: { functionsDir: dir } });
    const s = stage;
    const before = await s.deps.platforms!.supabase.listFunctions();
    const handle = await s.start({
      service: 'aiqueryhub-web',
      ref: 'main',
      sha: SHA,
      requestedBy: 'ops',
      durations: { ...FAST, watch: 1_000 },
    });
    const result = await s.worker.run(async () => {
      await waitForProgress(handle, (p) => p.stage === 'preview');
      expect(deployCalls(s)).toHaveLength(0); // nothing deployed while the preview is still being checked
      s.sandbox.netlify.createDeploy(SITE, { branch: 'main', commitRef: SHA, context: 'production' });
      return handle.result();
    });
    expect(result.verdict).toBe('succeeded');
    expect(result.gates.find((g) => g.name === 'edge-functions')).toMatchObject({
      status: 'pass',
      reason: expect.stringContaining('3 to deploy'),
    });

    const calls = deployCalls(s);
    expect(calls.map((c) => c.query.slug)).toEqual(SLUGS);
    // Each upload is the function's folder and _shared, with the entrypoint named in the metadata.
    const ref = s.config.platforms.supabase.projectRef!;
    for (const slug of SLUGS) {
      const fn = s.sandbox.supabase.deployedFunction(ref, slug)!;
      expect(fn.entrypointPath).toBe(`${slug}/index.ts`);
      expect(Object.keys(fn.files).sort()).toEqual(['_shared/cors.ts', `${slug}/index.ts`]);
      expect(fn.files[`${slug}/index.ts`]).toContain(`new Response('${slug}'`);
    }
    // Each function is one version newer, and the run says which version it made.
    const after = await s.deps.platforms!.supabase.listFunctions();
    const version = (list: typeof after, slug: string) => list.find((f) => f.slug === slug)!.version;
    expect(SLUGS.map((slug) => version(after, slug) - version(before, slug))).toEqual([1, 1, 1]);
    expect(result.edgeFunctions).toEqual(SLUGS.map((slug) => ({ slug, version: version(after, slug) })));
  });

  it('a listed function without its source fails the checklist: nothing is deployed and production is untouched', async () => {
    dir = functionsFolder(['ai-query', 'slack-webhook']);
    stage = await openStage({ example: 'netlify-supabase', deploy: { functionsDir: dir } });
    const s = stage;
    const handle = await s.start({ service: 'aiqueryhub-web', ref: 'main', sha: SHA, requestedBy: 'ops', durations: FAST });
    const missing = path.join(dir, 'telegram-webhook', 'index.ts');
    await s.worker.run(() =>
      expect(handle.result()).rejects.toMatchObject({
        cause: { type: 'DeployFailed', message: expect.stringContaining(`edge-functions: telegram-webhook: no ${missing}`) },
      }),
    );
    expect(deployCalls(s)).toHaveLength(0);
    expect(s.sideEffects('netlify')).toEqual([]);
  });

  it('a rejected token stops the deployment at the first function, once, naming the variable; the frontend is not promoted', async () => {
    dir = functionsFolder(SLUGS);
    stage = await openStage({ example: 'netlify-supabase', deploy: { functionsDir: dir } });
    const s = stage;
    s.sandbox.inject({ vendor: 'supabase', method: 'POST', path: '/v1/projects/*/functions/deploy', kind: '401' });
    const handle = await s.start({ service: 'aiqueryhub-web', ref: 'main', sha: SHA, requestedBy: 'ops', durations: FAST });
    await s.worker.run(async () => {
      await waitForProgress(handle, (p) => p.stage === 'preview');
      s.sandbox.netlify.createDeploy(SITE, { branch: 'main', commitRef: SHA, context: 'production' });
      await expect(handle.result()).rejects.toMatchObject({
        cause: { type: 'DeployFailed', message: expect.stringMatching(/^Edge Function ai-query did not deploy: .*SUPABASE_ACCESS_TOKEN/) },
      });
    });
    expect(deployCalls(s).map((c) => c.query.slug)).toEqual(['ai-query']);
    expect(s.sideEffects('netlify')).toEqual([]);
  });
});
