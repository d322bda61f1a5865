import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { startLocalPostgres } from '../../src/stack/postgres';
import { startLocalTemporal } from '../../src/stack/temporal';
import { WORKFLOWS_PATH } from '../../src/worker';

/**
 * Once per `jest` run: a real Temporal dev server (in memory, headless), a real PostgreSQL cluster
 * in a temp dir, and one workflow bundle every test worker reuses. Test files read them from env.
 * RUNBOOK_TEST_TEMPORAL_ADDRESS / RUNBOOK_TEST_PG_URL point at servers you already run instead.
 */
export default async function globalSetup(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'durable-runbooks-test-'));
  chmodSync(dir, 0o755); // PostgreSQL runs as the postgres account when we are root
  const stops: (() => Promise<void>)[] = [];

  const [pgUrl, temporalAddress, bundlePath] = await Promise.all([
    (async () => {
      if (process.env.RUNBOOK_TEST_PG_URL) return process.env.RUNBOOK_TEST_PG_URL;
      const pg = await startLocalPostgres({ dir: path.join(dir, 'pg'), settings: { max_connections: '300', fsync: 'off' } });
      stops.push(() => pg.stop());
      return pg.url('postgres');
    })(),
    (async () => {
      if (process.env.RUNBOOK_TEST_TEMPORAL_ADDRESS) return process.env.RUNBOOK_TEST_TEMPORAL_ADDRESS;
      const temporal = await startLocalTemporal({ headless: true });
      stops.push(() => temporal.stop());
      return temporal.address;
    })(),
    (async () => {
      const { code } = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quietLogger });
      const file = path.join(dir, 'workflow-bundle.js');
      writeFileSync(file, code);
      return file;
    })(),
  ]);

  process.env.RUNBOOK_TEST_DIR = dir;
  process.env.RUNBOOK_TEST_PG_URL = pgUrl;
  process.env.RUNBOOK_TEST_TEMPORAL_ADDRESS = temporalAddress;
  process.env.RUNBOOK_TEST_WORKFLOW_BUNDLE = bundlePath;
  (globalThis as Record<string, unknown>).__runbookTestStack = { dir, stops };
}

const quietLogger = {
  log: () => undefined,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: (m: string) => console.warn(m),
  error: (m: string) => console.error(m),
};
