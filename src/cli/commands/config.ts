import type { Command } from 'commander';
import { stringify as toYaml } from 'yaml';
import { ConfigError, loadConfig } from '../../config/load';
import { configErrorToCli, type CliContext, type LoadedConfig } from '../context';

/** The file named on the command line, else the global --config, else the usual resolution. */
function load(file: string | undefined, globalConfig: string | undefined): LoadedConfig {
  try {
    return loadConfig(file ?? globalConfig);
  } catch (err) {
    if (err instanceof ConfigError) throw configErrorToCli(err);
    throw err;
  }
}

export function register(program: Command, ctx: CliContext): void {
  const config = program.command('config').description('validate and inspect the configuration file');

  config
    .command('check [file]')
    .description('validate a configuration file: exit 0 when valid, else exit 2 with one line per bad field')
    .action((file: string | undefined) => {
      const cfg = load(file, program.opts<{ config?: string }>().config);
      const summary = {
        ok: true,
        file: cfg.source,
        name: cfg.name,
        services: cfg.services.map((s) => `${s.name} (${s.platform})`),
        databases: Object.keys(cfg.databases),
        taskQueue: cfg.temporal.taskQueue,
        namespace: cfg.temporal.namespace,
      };
      ctx.out.result(summary, (s) => [
        `ok: ${s.file} is valid`,
        `  name        ${s.name}`,
        `  services    ${s.services.join(', ')}`,
        `  databases   ${s.databases.join(', ') || '-'}`,
        `  temporal    namespace ${s.namespace}, task queue "${s.taskQueue}"`,
      ]);
    });

  config
    .command('show [file]')
    .description('print the effective configuration, defaults filled in (secrets are never in it: only env var names)')
    .action((file: string | undefined) => {
      const cfg = load(file, program.opts<{ config?: string }>().config);
      ctx.out.result(cfg, (c) => toYaml(c).trimEnd());
    });
}
