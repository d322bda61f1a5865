/**
 * Exit codes scripts can trust; every command ends with one of these.
 * Documented in README.md ("CLI reference").
 */
export const EXIT = {
  /** The command did what was asked. */
  OK: 0,
  /** The operation ran and failed (a workflow failed, a check did not pass). */
  FAILED: 1,
  /** Usage error, invalid configuration or invalid input: nothing was started or changed. */
  USAGE: 2,
  /** Temporal could not be reached. */
  UNREACHABLE: 3,
  /** The workflow, incident, backup… named does not exist. */
  NOT_FOUND: 4,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** An error a command expects: printed as its lines (no stack trace), then the process exits with `code`. */
export class CliError extends Error {
  readonly lines: string[];
  constructor(
    readonly code: ExitCode,
    lines: string | string[],
    /** Machine-readable details for --json output. */
    readonly details?: Record<string, unknown>,
  ) {
    const all = Array.isArray(lines) ? lines : [lines];
    super(all.join('\n'));
    this.name = 'CliError';
    this.lines = all;
  }
}
