import { Command, CommanderError } from 'commander';
import { isGrpcServiceError, ServiceError, WorkflowFailedError, WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure, TemporalFailure, WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/common';
import { ConfigError } from '../config/load';
import { registerCommands } from './commands';
import { configErrorToCli, createContext, unreachableMessage, type CliContext, type GlobalOptions } from './context';
import { CliError, EXIT, type ExitCode } from './exit-codes';

/** gRPC status codes Temporal answers with (google.rpc.Code). */
const grpcStatus = { INVALID_ARGUMENT: 3, NOT_FOUND: 5, UNAVAILABLE: 14 } as const;

export function buildProgram(ctx: CliContext, program: Command): Command {
  program
    .name('runbook')
    .description('Operations runbooks as durable Temporal workflows: incidents, deployments, backups and maintenance.')
    .option('--json', 'print one JSON document on stdout (for scripts)')
    .option('-c, --config <file>', 'configuration file (default: $RUNBOOK_CONFIG, ./runbook.config.yaml, or the embedded example)')
    .showSuggestionAfterError(true)
    // Usage errors throw instead of exiting so they get exit code 2 (see run()).
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(text) });
  registerCommands(program, ctx);
  return program;
}

/** The innermost message of a Temporal failure chain: what actually went wrong. */
function rootMessage(err: unknown): string {
  let e: unknown = err;
  let message = err instanceof Error ? err.message : String(err);
  while (e instanceof Error) {
    if (e.message) message = e.message;
    e = e.cause;
  }
  return message;
}

function failureChain(err: unknown): unknown[] {
  const chain: unknown[] = [];
  for (let e: unknown = err; e instanceof Error && chain.length < 20; e = e.cause) chain.push(e);
  return chain;
}

/** Maps anything a command throws to the lines to print and an exit code. */
export function toCliError(err: unknown, ctx: CliContext): CliError {
  if (err instanceof CliError) return err;
  if (err instanceof ConfigError) return configErrorToCli(err);
  const chain = failureChain(err);
  // Workflow input or update validation rejected the request before anything changed.
  const invalid = chain.find((e): e is ApplicationFailure => e instanceof ApplicationFailure && e.type === 'InvalidInput');
  if (invalid) return new CliError(EXIT.USAGE, invalid.message, { type: 'InvalidInput', details: invalid.details });
  if (err instanceof WorkflowNotFoundError) {
    return new CliError(EXIT.NOT_FOUND, `not found: workflow ${err.workflowId}${err.runId ? ` (run ${err.runId})` : ''}`, {
      workflowId: err.workflowId,
    });
  }
  if (err instanceof WorkflowExecutionAlreadyStartedError) {
    return new CliError(EXIT.FAILED, `already running: workflow ${err.workflowId}`, { workflowId: err.workflowId });
  }
  const grpc = chain.find((e) => isGrpcServiceError(e)) as { code?: number } | undefined;
  if (grpc?.code === grpcStatus.UNAVAILABLE || (err instanceof ServiceError && /connect/i.test(err.message))) {
    let target;
    try {
      target = ctx.target();
    } catch {
      target = { address: ctx.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233', namespace: ctx.env.TEMPORAL_NAMESPACE ?? 'default' };
    }
    return new CliError(EXIT.UNREACHABLE, unreachableMessage(target));
  }
  if (grpc?.code === grpcStatus.NOT_FOUND) return new CliError(EXIT.NOT_FOUND, `not found: ${rootMessage(err)}`);
  if (grpc?.code === grpcStatus.INVALID_ARGUMENT) return new CliError(EXIT.USAGE, `rejected by Temporal: ${rootMessage(err)}`);
  if (err instanceof WorkflowFailedError || err instanceof WorkflowUpdateFailedError || err instanceof TemporalFailure) {
    return new CliError(EXIT.FAILED, `failed: ${rootMessage(err)}`);
  }
  return new CliError(EXIT.FAILED, err instanceof Error ? err.message : String(err));
}

/** Parses argv, runs the command, prints errors as plain lines, and returns the exit code. */
export async function run(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<ExitCode> {
  const program = new Command();
  const ctx = createContext(() => program.opts<GlobalOptions>(), env);
  buildProgram(ctx, program);
  try {
    await program.parseAsync(argv);
    return ctx.exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Commander already printed its one-line message (or the help text).
      // Asked-for help and --version exit 0; a missing command or bad option is a usage error.
      return err.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    }
    const cli = toCliError(err, ctx);
    if (ctx.json) {
      process.stdout.write(`${JSON.stringify({ error: { code: cli.code, message: cli.message, ...cli.details } }, null, 2)}\n`);
    }
    process.stderr.write(`${cli.lines.map((l) => `runbook: ${l}`).join('\n')}\n`);
    if (env.RUNBOOK_DEBUG && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
    return cli.code;
  } finally {
    await ctx.close();
  }
}
