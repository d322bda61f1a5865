import type { Client } from '@temporalio/client';

export interface ReadinessOptions {
  /** Temporal's address, named in the 503 answer. */
  address?: string;
  /** How long the check RPC may take (default 1 s). */
  timeoutMs?: number;
  /** How long an answer is reused (default 2 s), so probes cannot turn into load on Temporal. */
  cacheMs?: number;
}

export type Readiness = { ready: true } | { ready: false; reason: string };

/**
 * Whether Temporal answers right now: one cheap GetSystemInfo RPC with a short deadline, its answer shared
 * by every request within `cacheMs` (concurrent requests wait for the same call).
 */
export function temporalReadiness(client: Client, opts: ReadinessOptions = {}): { check(): Promise<Readiness> } {
  const timeoutMs = opts.timeoutMs ?? 1_000;
  const cacheMs = opts.cacheMs ?? 2_000;
  const where = opts.address ? ` at ${opts.address}` : '';
  let last: { at: number; value: Readiness } | undefined;
  let pending: Promise<Readiness> | undefined;

  async function probe(): Promise<Readiness> {
    try {
      await client.connection.withDeadline(Date.now() + timeoutMs, () => client.workflowService.getSystemInfo({}));
      return { ready: true };
    } catch (err) {
      // gRPC DEADLINE_EXCEEDED (4): nothing answered in time, the usual way a dead server shows.
      const message =
        (err as { code?: unknown }).code === 4
          ? `no answer within ${timeoutMs} ms`
          : err instanceof Error
            ? err.message.split('\n')[0]
            : String(err);
      return { ready: false, reason: `Temporal unreachable${where}: ${message}` };
    }
  }

  return {
    check() {
      if (last && Date.now() - last.at < cacheMs) return Promise.resolve(last.value);
      pending ??= probe().then((value) => {
        last = { at: Date.now(), value };
        pending = undefined;
        return value;
      });
      return pending;
    },
  };
}
