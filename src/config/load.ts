import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { describeIssues } from '../workflows/common/failures';
import { configSchema, type RunbookConfig } from './schema';

/** The embedded default: the first runbook's Vercel + Supabase app, wired to the local sandbox. */
export const DEFAULT_CONFIG_PATH = path.join(__dirname, '..', '..', 'config', 'examples', 'vercel-supabase.yaml');

export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`invalid configuration in ${file}:\n${problems.map((p) => `  ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }

  /** One line per bad field, "file: field.path: reason", the form the CLI and `npm start` print. */
  lines(): string[] {
    return this.problems.map((p) => `${this.file}: ${p}`);
  }
}

export function resolveConfigPath(explicit?: string): string {
  const chosen = explicit ?? process.env.RUNBOOK_CONFIG;
  if (chosen) return path.resolve(chosen);
  const local = path.resolve('runbook.config.yaml');
  return existsSync(local) ? local : DEFAULT_CONFIG_PATH;
}

export function parseConfig(raw: unknown, file = '<inline>'): RunbookConfig {
  const result = configSchema.safeParse(raw);
  if (!result.success) throw new ConfigError(file, describeIssues(result.error.issues));
  return result.data;
}

export function loadConfig(explicit?: string): RunbookConfig & { source: string } {
  const file = resolveConfigPath(explicit);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError(file, [`(file): cannot read: ${code === 'ENOENT' ? 'no such file' : (code ?? String(err))}`]);
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new ConfigError(file, [`(file): not valid YAML: ${(err as Error).message.split('\n')[0]}`]);
  }
  return { ...parseConfig(raw, file), source: file };
}

/** Reads a secret named by the config; the value is never logged or put into a workflow input. */
export function secretFromEnv(name: string | undefined, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (!name) return undefined;
  const value = env[name];
  return value && value.length > 0 ? value : undefined;
}
