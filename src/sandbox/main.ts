import { savedPort, startSandbox } from './index';

/**
 * `npm run sandbox`: the sandbox as its own process. SANDBOX_PORT (default 8790), SANDBOX_STEP_MS
 * (default 300); SANDBOX_DATA_DIR keeps its world there across restarts (default: in memory only);
 * SANDBOX_TLS_PORT for the TLS endpoint (default: the saved one, else any free port).
 */
async function main(): Promise<void> {
  const dataDir = process.env.SANDBOX_DATA_DIR || undefined;
  const port = process.env.SANDBOX_PORT ? Number(process.env.SANDBOX_PORT) : ((dataDir ? savedPort(dataDir) : undefined) ?? 8790);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`SANDBOX_PORT: "${process.env.SANDBOX_PORT}" is not a port number`);
  const step = process.env.SANDBOX_STEP_MS ? Number(process.env.SANDBOX_STEP_MS) : undefined;
  if (step !== undefined && !(step >= 0))
    throw new Error(`SANDBOX_STEP_MS: "${process.env.SANDBOX_STEP_MS}" is not a number of milliseconds`);
  const tlsPort = process.env.SANDBOX_TLS_PORT ? Number(process.env.SANDBOX_TLS_PORT) : undefined;
  if (tlsPort !== undefined && !(Number.isInteger(tlsPort) && tlsPort >= 0 && tlsPort <= 65535))
    throw new Error(`SANDBOX_TLS_PORT: "${process.env.SANDBOX_TLS_PORT}" is not a port number`);
  const sandbox = await startSandbox({ port, host: process.env.SANDBOX_HOST ?? '127.0.0.1', timing: step, dataDir, tlsPort });
  const b = sandbox.baseUrls;
  const lines = [
    `Platform sandbox listening on ${sandbox.url} (local stand-in for the platform APIs; nothing leaves this machine)`,
    `  Vercel            ${b.vercel}`,
    `  Netlify           ${b.netlify}`,
    `  Supabase API      ${b.supabase}`,
    `  Supabase project  ${b.supabaseProject}/<ref>`,
    `  Statuspage        ${b.statuspage}`,
    `  PagerDuty events  ${b.pagerduty}`,
    `  Slack webhooks    ${b.slack}/<hook path>`,
    `  Telegram          ${b.telegram}`,
    `  OpenAI status     ${b.providers.openai}`,
    `  Anthropic status  ${b.providers.anthropic}`,
    `  TLS endpoint      ${sandbox.tls.address} (every host name; CA ${sandbox.tls.caFile})`,
    `  Control           ${sandbox.url}/_sandbox/calls | /faults | /state | /apps/degrade | /tls`,
    `  World             ${dataDir ? `kept in ${dataDir}` : 'in memory (SANDBOX_DATA_DIR keeps it across restarts)'}`,
  ];
  process.stdout.write(lines.join('\n') + '\n');
  const shutdown = () => {
    void sandbox.stop().then(() => process.exit(0));
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

main().catch((err: unknown) => {
  process.stderr.write(`sandbox: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
