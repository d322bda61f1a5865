import { allAlertsResolved, trackAlerts } from '../../src/workflows/incident/alert-tracking';
import { planFrom, severityOfAlert, type IncidentState } from '../../src/workflows/incident/contract';
import { alert, incidentConfig } from './helpers';

describe('severity from config', () => {
  const policy = planFrom(incidentConfig());

  it("maps alert labels to severities, the alert's own severity first, else the default", () => {
    expect(severityOfAlert({ labels: { severity: 'critical' } }, policy)).toBe('P0');
    expect(severityOfAlert({ labels: { severity: 'warning' } }, policy)).toBe('P2');
    expect(severityOfAlert({ labels: { severity: 'warning' }, severity: 'P1' }, policy)).toBe('P1');
    expect(severityOfAlert({ labels: { team: 'web' } }, policy)).toBe('P2');
  });
});

describe('alert tracking by fingerprint', () => {
  const policy = planFrom(incidentConfig());
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
    expect(s.timeline.map((e) => e.text)).toEqual([
      'Firing (P0): API error rate above 5%',
      'Resolved: API error rate above 5%',
      'Fired again (P0): API error rate above 5%',
    ]);
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
