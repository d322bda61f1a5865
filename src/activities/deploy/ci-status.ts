import { ApplicationFailure } from '@temporalio/common';
import { request } from 'undici';
import { z } from 'zod';
import { secretFromEnv } from '../../config/load';
import type { RunbookConfig } from '../../config/schema';
import { describeIssues } from '../../workflows/common/failures';

/**
 * The CI gate's check source: GitHub's view of a commit, combining commit statuses (most CI
 * services) and check runs (GitHub Actions). Success needs every status and check run to have
 * succeeded (neutral and skipped count as success) and every required context to be present.
 */

export type CiConfig = NonNullable<RunbookConfig['deploy']['ci']>;

const combinedStatus = z.object({
  state: z.enum(['success', 'pending', 'failure', 'error']),
  statuses: z.array(
    z.object({ context: z.string(), state: z.enum(['success', 'pending', 'failure', 'error']), description: z.string().nullish() }),
  ),
});
const checkRuns = z.object({
  check_runs: z.array(
    z.object({
      name: z.string(),
      status: z.string(),
      conclusion: z.string().nullish(),
    }),
  ),
});

interface Verdict {
  state: 'success' | 'pending' | 'failure';
  reason: string;
}

async function getJson<S extends z.ZodType>(
  url: string,
  token: string | undefined,
  tokenEnv: string,
  timeoutMs: number,
  schema: S,
): Promise<z.output<S>> {
  const endpoint = `GET ${new URL(url).pathname}`;
  let res;
  try {
    res = await request(url, {
      headers: {
        accept: 'application/vnd.github+json',
        'user-agent': 'durable-runbooks',
        'x-github-api-version': '2022-11-28',
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    throw ApplicationFailure.create({ type: 'CiUnavailable', message: `GitHub gave no answer to ${endpoint}: ${(err as Error).message}` });
  }
  const text = await res.body.text();
  if (res.statusCode === 401 || res.statusCode === 403 || res.statusCode === 404) {
    throw ApplicationFailure.create({
      type: 'CiRejected',
      nonRetryable: true,
      message: `GitHub answered ${res.statusCode} to ${endpoint}: check the repository in services[].git and the token in ${tokenEnv}`,
    });
  }
  if (res.statusCode >= 300)
    throw ApplicationFailure.create({ type: 'CiUnavailable', message: `GitHub answered ${res.statusCode} to ${endpoint}` });
  const parsed = schema.safeParse(JSON.parse(text));
  if (!parsed.success) {
    throw ApplicationFailure.create({
      type: 'CiContract',
      nonRetryable: true,
      message: `GitHub's answer to ${endpoint} does not match: ${describeIssues(parsed.error.issues).join('; ')}`,
    });
  }
  return parsed.data;
}

export function combineCiResults(
  statuses: z.infer<typeof combinedStatus>['statuses'],
  runs: z.infer<typeof checkRuns>['check_runs'],
  required: string[],
): Verdict {
  const results = new Map<string, 'success' | 'pending' | 'failure'>();
  for (const s of statuses) results.set(s.context, s.state === 'error' ? 'failure' : s.state);
  for (const r of runs) {
    const state =
      r.status !== 'completed' ? 'pending' : ['success', 'neutral', 'skipped'].includes(r.conclusion ?? '') ? 'success' : 'failure';
    // A re-run reports the same name twice; any failure or pending wins over success.
    const prev = results.get(r.name);
    if (!prev || prev === 'success') results.set(r.name, state);
  }
  const failed = [...results].filter(([, s]) => s === 'failure').map(([n]) => n);
  if (failed.length) return { state: 'failure', reason: `failing: ${failed.join(', ')}` };
  const missing = required.filter((c) => !results.has(c));
  const pending = [...results].filter(([, s]) => s === 'pending').map(([n]) => n);
  if (results.size === 0) return { state: 'pending', reason: 'no CI result reported for the commit yet' };
  if (pending.length || missing.length) return { state: 'pending', reason: `waiting for: ${[...pending, ...missing].join(', ')}` };
  return { state: 'success', reason: `${results.size} check(s) passed: ${[...results.keys()].join(', ')}` };
}

export async function checkCommitStatus(
  ci: CiConfig,
  env: NodeJS.ProcessEnv,
  target: { org: string; repo: string; commit: string; timeoutMs: number },
): Promise<Verdict> {
  const token = secretFromEnv(ci.tokenEnv, env);
  const base = `${ci.apiUrl.replace(/\/+$/, '')}/repos/${encodeURIComponent(target.org)}/${encodeURIComponent(target.repo)}/commits/${encodeURIComponent(target.commit)}`;
  const [status, runs] = await Promise.all([
    getJson(`${base}/status`, token, ci.tokenEnv, target.timeoutMs, combinedStatus),
    getJson(`${base}/check-runs?per_page=100`, token, ci.tokenEnv, target.timeoutMs, checkRuns),
  ]);
  return combineCiResults(status.statuses, runs.check_runs, ci.requiredContexts);
}
