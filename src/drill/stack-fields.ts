import type { RunbookConfig } from '../config/schema';
import type { Stack } from '../stack/components';

/**
 * Where a running `npm start` keeps what a drill needs, beyond what .data/stack.json records today.
 * `drillStackFields(stack)` is meant to be spread into the object `writeStackFile` writes
 * (src/stack/state.ts), so `runbook drill` finds the sandbox, the receiver and the databases by itself;
 * until then they come from flags, the environment, or the stack's default ports.
 */
export interface DrillStackFields {
  /** The platform sandbox's origin (only in sandbox mode). */
  sandboxUrl?: string;
  /** The webhook receiver's origin. */
  receiverUrl?: string;
  opsDatabaseUrl?: string;
  /** Connection strings of the configured databases, by key (`app`). */
  databaseUrls?: Record<string, string>;
  /**
   * The receiver's bearer token, only when the stack made one up for sandbox mode (none was set):
   * read by the drill when RUNBOOK_WEBHOOK_TOKEN is not in its environment. Never written for a real token.
   */
  sandboxWebhookToken?: string;
}

/** What the stack knows once its components started; the sandbox's origin is where its config points. */
export function drillStackFields(stack: { config: RunbookConfig; env: Stack['env']; databases?: Stack['databases'] }): DrillStackFields {
  const out: DrillStackFields = {};
  const vercel = stack.config.platforms.vercel.apiUrl;
  if (vercel && /\/vercel\/?$/.test(vercel) && /^http:\/\/(127\.0\.0\.1|localhost)[:/]/.test(vercel)) out.sandboxUrl = new URL(vercel).origin;
  const hooks = stack.config.webhooks;
  const port = stack.env.RUNBOOK_WEBHOOK_PORT ? Number(stack.env.RUNBOOK_WEBHOOK_PORT) : hooks.port;
  out.receiverUrl = `http://${hooks.host === '0.0.0.0' ? '127.0.0.1' : hooks.host}:${port}`;
  if (stack.databases) {
    out.opsDatabaseUrl = stack.databases.opsUrl;
    out.databaseUrls = stack.databases.urls;
  }
  return out;
}
