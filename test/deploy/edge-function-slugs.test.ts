import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ActivityDeps } from '../../src/activities/deps';
import { createEdgeFunctionActivities } from '../../src/activities/deploy/edge-functions';
import { ConfigError } from '../../src/config/load';
import type { EdgeFunctionSource } from '../../src/platforms';
import { testConfig } from '../harness';

/** An Edge Function slug names a folder under deploy.functionsDir and nothing else: no path, no link out. */
describe('Edge Function slugs stay inside functionsDir', () => {
  let root: string;
  beforeAll(() => {
    root = mkdtempSync(path.join(os.tmpdir(), 'slugs-'));
    const functions = path.join(root, 'functions');
    for (const dir of ['functions/good', 'functions/_shared', 'private']) mkdirSync(path.join(root, dir), { recursive: true });
    writeFileSync(path.join(functions, 'good', 'index.ts'), 'Deno.serve(() => new Response("ok"));\n');
    writeFileSync(path.join(root, 'private', 'index.ts'), 'export const secret = "not for upload";\n');
    symlinkSync(path.join(root, 'private'), path.join(functions, 'linked'));
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('uploads a listed function, and refuses a slug that leaves the folder, without a platform call', async () => {
    const uploads: { slug: string; files: string[] }[] = [];
    const base = testConfig({}, 'netlify-supabase');
    const deps = {
      config: { ...base, deploy: { ...base.deploy, functionsDir: path.join(root, 'functions') } },
      platforms: {
        supabase: {
          deployFunction: async (slug: string, fn: EdgeFunctionSource) => {
            uploads.push({ slug, files: fn.files.map((f) => f.name) });
            return { slug, version: 1, status: 'ACTIVE' };
          },
        },
      },
    } as unknown as Pick<ActivityDeps, 'config' | 'platforms'>;
    const fns = createEdgeFunctionActivities(deps);
    expect(await fns.deployEdgeFunction({ slug: 'good' })).toMatchObject({ slug: 'good', version: 1 });
    for (const slug of ['../private', '..', '_shared', 'good/../../private', '/etc'])
      await expect(fns.deployEdgeFunction({ slug })).rejects.toThrow(/slug: ".*" is not a function name/);
    await expect(fns.deployEdgeFunction({ slug: 'linked' })).rejects.toThrow(/linked: .* leads outside/);
    expect(uploads).toEqual([{ slug: 'good', files: ['good/index.ts'] }]);
  });

  it('a configured function or bot webhook that is not a function name is a config error naming the field', () => {
    const base = testConfig({}, 'netlify-supabase');
    const problems = (overrides: Record<string, unknown>): string[] => {
      try {
        testConfig(overrides, 'netlify-supabase');
      } catch (err) {
        if (err instanceof ConfigError) return err.problems;
        throw err;
      }
      return [];
    };
    expect(
      problems({ platforms: { ...base.platforms, supabase: { ...base.platforms.supabase, edgeFunctions: ['ai-query', '../../etc'] } } }),
    ).toEqual([expect.stringMatching(/^platforms\.supabase\.edgeFunctions\.1: must be a function name/)]);
    expect(problems({ maintenance: { ...base.maintenance, botWebhooks: [{ name: 'bot', function: '../admin' }] } })).toEqual([
      expect.stringMatching(/^maintenance\.botWebhooks\.0\.function: must be a function name/),
    ]);
  });
});
