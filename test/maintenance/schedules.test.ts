import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Client, Connection, ScheduleDescription } from '@temporalio/client';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { applySchedules, desiredSchedules, listSchedules, MANAGED_BY } from '../../src/schedules';
import { runCli, ROOT } from '../harness/cli';
import { testClient, testConfig, testEnv, uniqueName } from '../harness';

/** Temporal Schedules from the configuration, against the run's real Temporal server. */

const config = (overrides: Record<string, unknown> = {}) =>
  testConfig({
    temporal: { namespace: 'default', taskQueue: uniqueName('sched') },
    databases: { app: { urlEnv: 'DATABASE_URL' }, analytics: { urlEnv: 'ANALYTICS_URL' } },
    backup: { databases: ['app', 'analytics'] },
    ...overrides,
  });

/** What a user can see of a schedule, minus what changes by itself as time passes. */
function stable(d: ScheduleDescription) {
  return {
    spec: d.spec,
    action: d.action,
    policies: d.policies,
    state: d.state,
    memo: d.memo,
    createdAt: d.info.createdAt,
    lastUpdatedAt: d.info.lastUpdatedAt,
  };
}

describe('schedules apply', () => {
  let client: Client;
  let connection: Connection;
  beforeAll(async () => {
    ({ client, connection } = await testClient());
  });
  const removeAll = async () => {
    for await (const s of client.schedule.list()) {
      if (s.memo?.managedBy === MANAGED_BY) await client.schedule.getHandle(s.scheduleId).delete();
    }
  };
  afterAll(async () => {
    await removeAll();
    await connection.close();
  });

  it('creates every schedule once; applying again changes nothing; a config change updates only what changed', async () => {
    const cfg = config();
    const first = await applySchedules(client, cfg);
    const ids = [
      'schedule-health',
      'schedule-maintenance-daily',
      'schedule-maintenance-weekly',
      'schedule-maintenance-monthly',
      'schedule-maintenance-quarterly',
      'schedule-backup-app',
      'schedule-backup-analytics',
    ];
    expect(first).toEqual(ids.map((scheduleId) => ({ scheduleId, action: 'created' })));

    const before = await Promise.all(ids.map((id) => client.schedule.getHandle(id).describe()));
    // Explicit policies, timezone and the action each schedule starts.
    const health = before[0];
    expect(health.spec.intervals).toMatchObject([{ every: 300_000 }]);
    expect(health.policies).toMatchObject({ overlap: 'SKIP', pauseOnFailure: false });
    expect(health.action).toMatchObject({ type: 'startWorkflow', workflowType: 'healthCheck', taskQueue: cfg.temporal.taskQueue });
    const weekly = before[2];
    expect(weekly.spec.timezone).toBe('America/New_York');
    expect(weekly.policies).toMatchObject({ overlap: 'SKIP', catchupWindow: 3_600_000 });
    expect(weekly.action).toMatchObject({ workflowType: 'maintenance', args: [{ kind: 'weekly', requestedBy: 'schedule' }] });
    expect(before[5].action).toMatchObject({ workflowType: 'backup', args: [{ database: 'app', trigger: 'schedule' }] });

    // "First Monday": day-of-month 1-7 AND Monday, at 09:00 New York time.
    const monthly = before[3];
    expect(monthly.info.nextActionTimes.length).toBeGreaterThan(0);
    for (const t of monthly.info.nextActionTimes) {
      const local = new Intl.DateTimeFormat('en-US', {
        timeZone: 'America/New_York',
        weekday: 'short',
        day: 'numeric',
        hour: 'numeric',
        hour12: false,
      }).formatToParts(t);
      const part = (type: string) => local.find((p) => p.type === type)!.value;
      expect(part('weekday')).toBe('Mon');
      expect(Number(part('day'))).toBeLessThanOrEqual(7);
      expect(Number(part('hour'))).toBe(9);
    }

    const second = await applySchedules(client, cfg);
    expect(second).toEqual(ids.map((scheduleId) => ({ scheduleId, action: 'unchanged' })));
    const after = await Promise.all(ids.map((id) => client.schedule.getHandle(id).describe()));
    expect(after.map(stable)).toEqual(before.map(stable));

    // An operator's pause survives an apply; a changed interval updates that one schedule only.
    await client.schedule.getHandle('schedule-maintenance-weekly').pause('investigating');
    const changed = config({ temporal: cfg.temporal, schedules: { healthCheck: { every: '1m' } }, backup: { databases: ['app'] } });
    const third = await applySchedules(client, changed);
    expect(third).toEqual([
      { scheduleId: 'schedule-health', action: 'updated' },
      ...ids.slice(1, 6).map((scheduleId) => ({ scheduleId, action: 'unchanged' })),
      { scheduleId: 'schedule-backup-analytics', action: 'deleted' },
    ]);
    const health2 = await client.schedule.getHandle('schedule-health').describe();
    expect(health2.spec.intervals).toMatchObject([{ every: 60_000 }]);
    expect(health2.info.createdAt).toEqual(health.info.createdAt);
    expect((await client.schedule.getHandle('schedule-maintenance-weekly').describe()).state).toMatchObject({
      paused: true,
      note: 'investigating',
    });

    const rows = await listSchedules(client, changed);
    expect(rows.map((r) => [r.scheduleId, r.paused])).toEqual([
      ['schedule-health', false],
      ['schedule-maintenance-daily', false],
      ['schedule-maintenance-weekly', true],
      ['schedule-maintenance-monthly', false],
      ['schedule-maintenance-quarterly', false],
      ['schedule-backup-app', false],
    ]);
    expect(rows[0].when).toBe('every 1 min');
    expect(rows[2].nextRuns.length).toBeGreaterThan(0);
  });

  it('ids and hashes are stable for an unchanged configuration', () => {
    const a = desiredSchedules(config({ temporal: { taskQueue: 'q' } }));
    const b = desiredSchedules(config({ temporal: { taskQueue: 'q' } }));
    expect(a.map((d) => [d.options.scheduleId, d.hash])).toEqual(b.map((d) => [d.options.scheduleId, d.hash]));
    const c = desiredSchedules(config({ temporal: { taskQueue: 'other' } }));
    expect(c[0].hash).not.toBe(a[0].hash);
  });

  it('runbook schedules apply|list|pause|trigger from the CLI; a second apply changes nothing; bad names exit 2', async () => {
    await removeAll();
    const raw = parseYaml(readFileSync(path.join(ROOT, 'config', 'examples', 'netlify-supabase.yaml'), 'utf8')) as Record<string, unknown>;
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'sched-cli-')), 'runbook.config.yaml');
    writeFileSync(file, toYaml({ ...raw, temporal: { taskQueue: uniqueName('sched_cli') } }));
    const env = { TEMPORAL_ADDRESS: testEnv.temporalAddress, RUNBOOK_CONFIG: file };
    const cli = async (...args: string[]) => {
      const r = await runCli(['--json', ...args], env, 120_000);
      return { ...r, json: r.stdout.trim() ? JSON.parse(r.stdout) : undefined };
    };

    const first = await cli('schedules', 'apply');
    expect(first.code).toBe(0);
    const ids = [
      'schedule-health',
      ...['daily', 'weekly', 'monthly', 'quarterly'].map((k) => `schedule-maintenance-${k}`),
      'schedule-backup-app',
    ];
    expect(first.json.schedules).toEqual(ids.map((scheduleId) => ({ scheduleId, action: 'created' })));
    const second = await cli('schedules', 'apply');
    expect(second.json.schedules).toEqual(ids.map((scheduleId) => ({ scheduleId, action: 'unchanged' })));

    expect((await cli('schedules', 'pause', 'maintenance-weekly', '--note', 'release freeze')).code).toBe(0);
    const list = await cli('schedules', 'list');
    expect(list.code).toBe(0);
    const weekly = list.json.schedules.find((r: { scheduleId: string }) => r.scheduleId === 'schedule-maintenance-weekly');
    expect(weekly).toMatchObject({ paused: true, note: 'release freeze', timezone: 'Australia/Brisbane', workflowType: 'maintenance' });

    const triggered = await cli('schedules', 'trigger', 'health');
    expect(triggered.code).toBe(0);
    expect(triggered.json.workflowId).toMatch(/^health-check-/);
    await client.workflow.getHandle(triggered.json.workflowId).terminate('test: no worker polls this queue');

    const unknown = await cli('schedules', 'pause', 'nightly');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('schedule: no schedule "nightly" in the configuration; known: schedule-health');
    const badKind = await cli('maintenance', 'run', '--kind', 'yearly');
    expect(badKind.code).toBe(2);
    expect(badKind.stderr).toMatch(/kind: .*daily.*weekly.*monthly.*quarterly/);
  }, 300_000);
});
