import type { Client } from 'pg';
import { connect } from '../../db/connect';

/**
 * Runs one long statement (VACUUM, ANALYZE) while `beat` is called every `everyMs`; when `signal` aborts,
 * the statement is cancelled on the server through a second connection.
 */
export async function runLong<T>(
  client: Client,
  url: string,
  run: () => Promise<T>,
  opts: { beat: () => void; everyMs: number; signal?: AbortSignal },
): Promise<T> {
  const timer = setInterval(opts.beat, opts.everyMs);
  const pid = (client as unknown as { processID?: number }).processID;
  const cancel = async () => {
    if (!pid) return;
    const c = await connect(url, 'runbook-cancel');
    try {
      await c.query('SELECT pg_cancel_backend($1)', [pid]);
    } finally {
      await c.end();
    }
  };
  const onAbort = () => void cancel().catch(() => undefined);
  opts.signal?.addEventListener('abort', onAbort);
  try {
    return await run();
  } finally {
    clearInterval(timer);
    opts.signal?.removeEventListener('abort', onAbort);
  }
}
