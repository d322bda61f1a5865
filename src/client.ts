#!/usr/bin/env tsx
/** The `runbook` command line: `runbook <noun> <verb>`, `--json` for scripts, exit codes in src/cli/exit-codes.ts. */
import { run } from './cli/program';

run(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`runbook: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
