import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import { EDGE_FUNCTION_SLUG } from '../../config/schema';
import { callPlatform, type EdgeFunctionSource } from '../../platforms';
import { invalidInput, requirePlatforms, type ActivityDeps } from '../deps';

/** Supabase's layout: `<functions>/<slug>/index.ts`, helpers shared by several functions in `<functions>/_shared/`. */
const ENTRYPOINT = 'index.ts';
const SHARED = '_shared';
/** Beyond this a function folder almost certainly holds something that is not source (node_modules, build output). */
const MAX_SOURCE_BYTES = 20 * 1024 * 1024;

export interface EdgeFunctionCheck {
  functions: { slug: string; files: number }[];
  problems: string[];
}

/** Files under `dir`, named relative to `root`, dotfiles left out. */
function filesUnder(root: string, dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name.startsWith('.')) continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...filesUnder(root, full));
    else if (entry.isFile()) out.push(path.relative(root, full).split(path.sep).join('/'));
  }
  return out;
}

/** The files `supabase functions deploy <slug>` would upload: the function's folder and `_shared/`. */
export function edgeFunctionSource(functionsDir: string, slug: string): EdgeFunctionSource | { problem: string } {
  if (!EDGE_FUNCTION_SLUG.test(slug) || slug === SHARED)
    return { problem: `slug: "${slug}" is not a function name (a letter, then letters, digits, _ or -)` };
  const folder = path.join(functionsDir, slug);
  if (!existsSync(path.join(folder, ENTRYPOINT))) return { problem: `${slug}: no ${path.join(folder, ENTRYPOINT)}` };
  // A folder that is a link elsewhere would upload files from outside functionsDir.
  const inside = path.relative(realpathSync(functionsDir), realpathSync(folder));
  if (inside !== slug) return { problem: `${slug}: ${folder} leads outside ${functionsDir} (a symbolic link?)` };
  const names = [...filesUnder(functionsDir, folder), ...filesUnder(functionsDir, path.join(functionsDir, SHARED))];
  const bytes = names.reduce((n, name) => n + statSync(path.join(functionsDir, name)).size, 0);
  if (bytes > MAX_SOURCE_BYTES)
    return { problem: `${slug}: ${bytes} bytes of source is more than ${MAX_SOURCE_BYTES}; is a build folder inside ${folder}?` };
  return {
    entrypointPath: `${slug}/${ENTRYPOINT}`,
    name: slug,
    files: names.map((name) => ({ name, content: readFileSync(path.join(functionsDir, name)) })),
  };
}

/** The second runbook's `supabase functions deploy`, from the folder `deploy.functionsDir` names. */
export function createEdgeFunctionActivities(deps: Pick<ActivityDeps, 'config' | 'platforms'>) {
  const { config } = deps;
  const functionsDir = (): string => {
    const dir = config.deploy.functionsDir;
    if (!dir) throw invalidInput('deploy.functionsDir: not set, so there is no Edge Function source to deploy');
    return path.resolve(dir);
  };

  return {
    /** Pre-deployment check: every listed function has its source, so a deploy never stops halfway for a missing folder. */
    async checkEdgeFunctions(): Promise<EdgeFunctionCheck> {
      const dir = functionsDir();
      const result: EdgeFunctionCheck = { functions: [], problems: [] };
      for (const slug of config.platforms.supabase.edgeFunctions) {
        const source = edgeFunctionSource(dir, slug);
        if ('problem' in source) result.problems.push(source.problem);
        else result.functions.push({ slug, files: source.files.length });
      }
      return result;
    },

    /** Uploads one function's source; a retry deploys the same source again as the next version, which is harmless. */
    async deployEdgeFunction(input: { slug: string }): Promise<{ slug: string; version: number; status: string }> {
      const platforms = requirePlatforms(deps);
      const source = edgeFunctionSource(functionsDir(), input.slug);
      if ('problem' in source) throw invalidInput(source.problem);
      const fn = await callPlatform(() => platforms.supabase.deployFunction(input.slug, source));
      return { slug: fn.slug, version: fn.version, status: fn.status };
    },
  };
}

export type EdgeFunctionActivities = ReturnType<typeof createEdgeFunctionActivities>;
