import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { DEFAULT_CONFIG_PATH, parseConfig } from '../../src/config/load';
import type { RunbookConfig } from '../../src/config/schema';

export const BENCH_TOKEN = 'alert-storm-bench-token';

/** The first runbook's example config on the bench's own task queue. */
export function benchConfig(taskQueue: string, webhooks: Record<string, unknown> = {}): RunbookConfig {
  const raw = parseYaml(readFileSync(DEFAULT_CONFIG_PATH, 'utf8')) as Record<string, unknown>;
  return parseConfig({ ...raw, temporal: { taskQueue }, webhooks }, DEFAULT_CONFIG_PATH);
}

/** Messages between the bench and its child processes. */
export type ChildMessage = { ready: string } | { stopped: true } | { error: string };
export const BENCH_SENTRY_SECRET = 'alert-storm-bench-sentry-secret';
