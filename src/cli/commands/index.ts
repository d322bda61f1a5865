import type { Command } from 'commander';
import type { CliContext } from '../context';
import * as config from './config';
import * as doctor from './doctor';
import * as status from './status';
import * as schedules from './schedules';
import * as maintenance from './maintenance';
import * as health from './health';
import * as backup from './backup';
import * as restore from './restore';
import * as deploy from './deploy';
import * as incident from './incident';
import * as drill from './drill';
import * as db from './db';

/**
 * A noun of the CLI (`runbook <noun> <verb>`): one file per noun exporting `register`, e.g.
 *
 *   export function register(program: Command, ctx: CliContext) {
 *     const incident = program.command('incident').description('…');
 *     incident.command('ack <id>').action(async (id: string) => {
 *       const client = await ctx.client();          // exit 3 when Temporal is down
 *       …                                           // throw new CliError(EXIT.NOT_FOUND, '…') for expected failures
 *       ctx.out.result(data, (d) => [`acknowledged ${d.id}`]);  // JSON with --json, else these lines
 *     });
 *   }
 *
 * A result that is printed but is a failure (a check did not pass) sets `ctx.exitCode = EXIT.FAILED`.
 * Unexpected errors are mapped to exit codes in ../program.ts (toCliError); never call process.exit.
 */
export interface CommandModule {
  register(program: Command, ctx: CliContext): void;
}

/** Every noun, in the order `runbook --help` lists them. Add one line per new file. */
const modules: CommandModule[] = [status, doctor, config, schedules, maintenance, health, backup, restore, deploy, incident, drill, db];

export function registerCommands(program: Command, ctx: CliContext): void {
  for (const m of modules) m.register(program, ctx);
}
