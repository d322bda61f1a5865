import path from 'node:path';
import { createMetricReader } from '../../src/activities/metrics';
import { loadConfig } from '../../src/config/load';
import { prepareAppDatabase } from '../../src/stack/app-databases';
import { scratchDatabase, type ScratchDatabase } from '../harness';

/** The examples' metrics (both runbooks) run through the sql provider against the sample apps' migrated, seeded schemas. */
const ROOT = path.join(__dirname, '..', '..');
const cases = [
  ['vercel-supabase', path.join(ROOT, 'examples', 'javari-ai', 'migrations'), ['error-rate', 'p99']],
  ['netlify-supabase', path.join(ROOT, 'examples', 'ai-query-hub', 'supabase', 'migrations'), ['edge-function-errors', 'gateway-errors']],
] as const;

describe("the example configs' metrics", () => {
  const dbs: ScratchDatabase[] = [];
  afterAll(async () => {
    await Promise.all(dbs.map((d) => d.drop()));
  });

  it.each(cases)('%s: every metric reads a number or no data from the sample app, never an error', async (example, dir, names) => {
    const db = await scratchDatabase('metrics-example');
    dbs.push(db);
    const prepared = await prepareAppDatabase(db.url, dir, { historyDays: 1, seed: 7 });
    expect(prepared.failed).toBeUndefined();
    const config = loadConfig(path.join(ROOT, 'config', 'examples', `${example}.yaml`));
    const reader = createMetricReader({ config, env: {}, databaseUrl: () => db.url });
    const service = config.services[0];
    // A whole day as the window, so the seeded history is in it; and a deployment nobody served: no data.
    const day = { ...service, metrics: service.metrics.map((m) => ({ ...m, window: 86_400_000 })) };
    const readings = await reader.readMetrics(day, { baseUrl: service.productionUrl });
    expect(readings.map((r) => [r.name, r.providerType, r.error])).toEqual(names.map((n) => [n, 'sql', undefined]));
    for (const r of readings) expect(Number.isFinite(r.value)).toBe(true);
    const none = await reader.readMetrics(service, { baseUrl: service.productionUrl, deployment: 'dpl_never_served' });
    expect(none.filter((r) => r.value !== null && r.name !== 'gateway-errors')).toEqual([]);
  });
});
