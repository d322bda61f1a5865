import { nextBusinessDayDeadline } from '../../src/workflows/common/business-hours';
import { incidentPolicyFrom, severityOfAlert, type IncidentState } from '../../src/shared/incident';
import { allAlertsResolved, slaDeadline, trackAlerts } from '../../src/workflows/incident-state';
import { alert, incidentConfig } from './helpers';

const weekdays = ['mon', 'tue', 'wed', 'thu', 'fri'] as const;
const hours = { days: [...weekdays], start: '09:00', end: '17:00' };

describe('next business day', () => {
  it.each([
    ['Friday evening in New York → Monday at close', '2026-11-20T20:00:00-05:00', 'America/New_York', '2026-11-23T22:00:00.000Z'],
    ['Wednesday morning → Thursday at close', '2026-11-18T10:00:00-05:00', 'America/New_York', '2026-11-19T22:00:00.000Z'],
    ['Saturday before the spring DST change → Monday 17:00 EDT', '2026-03-07T12:00:00-05:00', 'America/New_York', '2026-03-09T21:00:00.000Z'],
    ['late Friday UTC is already Saturday in Brisbane → Monday', '2026-11-20T15:00:00Z', 'Australia/Brisbane', '2026-11-23T07:00:00.000Z'],
    ['Sunday just after midnight in London (GMT) → Monday', '2026-11-22T00:30:00Z', 'Europe/London', '2026-11-23T17:00:00.000Z'],
  ])('%s', (_what, now, tz, due) => {
    expect(new Date(nextBusinessDayDeadline(Date.parse(now), tz, hours)).toISOString()).toBe(due);
  });

  it('follows configured business days and hours', () => {
    const sunToThu = { days: ['sun', 'mon', 'tue', 'wed', 'thu'] as const, start: '08:00', end: '16:30' };
    // Thursday 18:00 in Jerusalem → Sunday 16:30 (UTC+2 in November).
    expect(new Date(nextBusinessDayDeadline(Date.parse('2026-11-19T18:00:00+02:00'), 'Asia/Jerusalem', { ...sunToThu, days: [...sunToThu.days] })).toISOString()).toBe(
      '2026-11-22T14:30:00.000Z',
    );
  });
});

describe('severity and SLA from config', () => {
  const policy = incidentPolicyFrom(incidentConfig());

  it('maps alert labels to severities, the alert\'s own severity first, else the default', () => {
    expect(severityOfAlert({ labels: { severity: 'critical' } }, policy)).toBe('P0');
    expect(severityOfAlert({ labels: { severity: 'warning' } }, policy)).toBe('P2');
    expect(severityOfAlert({ labels: { severity: 'warning' }, severity: 'P1' }, policy)).toBe('P1');
    expect(severityOfAlert({ labels: { team: 'web' } }, policy)).toBe('P2');
  });

  it('uses the first runbook\'s table', () => {
    const t = Date.parse('2026-11-18T15:00:00Z');
    expect(slaDeadline(policy, 'P0', t) - t).toBe(15 * 60_000);
    expect(slaDeadline(policy, 'P1', t) - t).toBe(3_600_000);
    expect(slaDeadline(policy, 'P2', t) - t).toBe(4 * 3_600_000);
    expect(new Date(slaDeadline(policy, 'P3', t)).toISOString()).toBe('2026-11-19T22:00:00.000Z');
  });
});

describe('alert tracking by fingerprint', () => {
  const policy = incidentPolicyFrom(incidentConfig());
  const fresh = (): IncidentState => ({ alerts: {}, timeline: [], nextSeq: 1, policy }) as unknown as IncidentState;

  it('turns first firing, resolution and re-fire into events, and counts repeats only', () => {
    const s = fresh();
    const a = alert({ dedupKey: 'k', fingerprint: 'fp', startsAt: '2026-11-18T10:00:00Z' });
    trackAlerts(s, [a, a], 1_000);
    expect(s.timeline.map((e) => e.text)).toEqual(['Firing (P0): API error rate above 5%']);
    expect(s.alerts.fp.deliveries).toBe(2);
    trackAlerts(s, [{ ...a, status: 'resolved' }], 2_000);
    expect(allAlertsResolved(s)).toBe(true);
    const refire = trackAlerts(s, [{ ...a, startsAt: '2026-11-18T10:05:00Z' }], 3_000);
    expect(refire.fired).toEqual(['fp']);
    expect(s.alerts.fp.refires).toBe(1);
    expect(s.timeline.map((e) => e.text)).toEqual(['Firing (P0): API error rate above 5%', 'Resolved: API error rate above 5%', 'Fired again (P0): API error rate above 5%']);
  });

  it('ignores a late firing copy of an episode already resolved (an HA peer), so it cannot reopen anything', () => {
    const s = fresh();
    const a = alert({ dedupKey: 'k', fingerprint: 'fp', startsAt: '2026-11-18T10:00:00Z' });
    trackAlerts(s, [a], 1_000);
    trackAlerts(s, [{ ...a, status: 'resolved' }], 2_000);
    const late = trackAlerts(s, [a], 3_000);
    expect(late.fired).toEqual([]);
    expect(allAlertsResolved(s)).toBe(true);
    expect(s.alerts.fp.deliveries).toBe(3);
  });
});
