import { nextBusinessDayDeadline, nextBusinessDayStart, nextWeekly } from '../../src/workflows/common/business-hours';
import { planFrom, type IncidentState } from '../../src/workflows/incident/contract';
import { SlaClock, slaDeadline } from '../../src/workflows/incident/sla-clock';
import { incidentConfig } from './helpers';

const weekdays = ['mon', 'tue', 'wed', 'thu', 'fri'] as const;
const hours = { days: [...weekdays], start: '09:00', end: '17:00' };

describe('next business day', () => {
  it.each([
    ['Friday evening in New York → Monday at close', '2026-11-20T20:00:00-05:00', 'America/New_York', '2026-11-23T22:00:00.000Z'],
    ['Wednesday morning → Thursday at close', '2026-11-18T10:00:00-05:00', 'America/New_York', '2026-11-19T22:00:00.000Z'],
    [
      'Saturday before the spring DST change → Monday 17:00 EDT',
      '2026-03-07T12:00:00-05:00',
      'America/New_York',
      '2026-03-09T21:00:00.000Z',
    ],
    ['late Friday UTC is already Saturday in Brisbane → Monday', '2026-11-20T15:00:00Z', 'Australia/Brisbane', '2026-11-23T07:00:00.000Z'],
    ['Sunday just after midnight in London (GMT) → Monday', '2026-11-22T00:30:00Z', 'Europe/London', '2026-11-23T17:00:00.000Z'],
  ])('%s', (_what, now, tz, due) => {
    expect(new Date(nextBusinessDayDeadline(Date.parse(now), tz, hours)).toISOString()).toBe(due);
  });

  it('follows configured business days and hours', () => {
    const sunToThu = { days: ['sun', 'mon', 'tue', 'wed', 'thu'] as const, start: '08:00', end: '16:30' };
    // Thursday 18:00 in Jerusalem → Sunday 16:30 (UTC+2 in November).
    expect(
      new Date(
        nextBusinessDayDeadline(Date.parse('2026-11-19T18:00:00+02:00'), 'Asia/Jerusalem', { ...sunToThu, days: [...sunToThu.days] }),
      ).toISOString(),
    ).toBe('2026-11-22T14:30:00.000Z');
  });
});

describe('SLA clock', () => {
  const policy = planFrom(incidentConfig({ escalation: undefined }));
  const t = Date.parse('2026-11-18T15:00:00Z');
  const fresh = (severity: IncidentState['severity'] = 'P1') => {
    const s = { policy, severity, escalation: { level: -1, pages: [], exhausted: false } } as unknown as IncidentState;
    return { s, clock: new SlaClock(s) };
  };

  it("uses the first runbook's table", () => {
    expect(slaDeadline(policy, 'P0', t) - t).toBe(15 * 60_000);
    expect(slaDeadline(policy, 'P1', t) - t).toBe(3_600_000);
    expect(slaDeadline(policy, 'P2', t) - t).toBe(4 * 3_600_000);
    expect(new Date(slaDeadline(policy, 'P3', t)).toISOString()).toBe('2026-11-19T22:00:00.000Z');
  });

  it('starts at detection and is due once the severity’s SLA has passed', () => {
    const { s, clock } = fresh('P1');
    expect(clock.dueMs()).toBeUndefined();
    expect(clock.isDue(t)).toBe(false);
    clock.start(t);
    expect(s.escalation.dueAt).toBe('2026-11-18T16:00:00.000Z');
    expect(clock.isDue(t + 3_600_000 - 1)).toBe(false);
    expect(clock.isDue(t + 3_600_000)).toBe(true);
    expect(clock.describe()).toBe('1h');
  });

  it('restarts for the level paged', () => {
    const { s, clock } = fresh('P0');
    clock.start(t);
    clock.paged(1, t + 15 * 60_000);
    expect(s.escalation.level).toBe(1);
    expect(clock.dueMs()).toBe(t + 30 * 60_000);
  });

  it('re-arms with a new severity unless acknowledged, resolved or exhausted', () => {
    const { s, clock } = fresh('P2');
    clock.start(t);
    s.severity = 'P0';
    clock.rearm(t + 60_000);
    expect(clock.dueMs()).toBe(t + 60_000 + 15 * 60_000);

    const acked = fresh('P2');
    acked.clock.start(t);
    acked.s.acknowledgedAt = new Date(t).toISOString();
    acked.clock.stop();
    acked.s.severity = 'P0';
    acked.clock.rearm(t + 60_000);
    expect(acked.clock.dueMs()).toBeUndefined();

    const exhausted = fresh('P1');
    exhausted.clock.start(t);
    exhausted.clock.exhaust();
    expect(exhausted.s.escalation.exhausted).toBe(true);
    exhausted.clock.rearm(t + 60_000);
    expect(exhausted.clock.dueMs()).toBeUndefined();
  });

  it('counts a P3 to the end of the next business day', () => {
    const { clock } = fresh('P3');
    clock.start(t);
    expect(clock.describe()).toBe('next business day');
    expect(new Date(clock.dueMs()!).toISOString()).toBe('2026-11-19T22:00:00.000Z');
  });

  it('on reopen: nobody paged yet, no longer exhausted, earlier pages kept', () => {
    const { s, clock } = fresh('P1');
    s.escalation = { level: 2, pages: [{ level: 0, name: 'primary', at: new Date(t).toISOString(), reason: 'initial' }], exhausted: true };
    clock.restart(t);
    expect(s.escalation).toEqual({
      level: -1,
      pages: [expect.objectContaining({ name: 'primary' })],
      exhausted: false,
      dueAt: '2026-11-18T16:00:00.000Z',
    });
  });
});

describe('escalation matrix calendar', () => {
  it.each([
    ['Friday evening in Brisbane → Monday 09:00', '2026-11-20T19:00:00+10:00', '2026-11-23T09:00:00+10:00'],
    [
      'Monday 08:00, before opening → Tuesday 09:00 (the next business day, not today)',
      '2026-11-23T08:00:00+10:00',
      '2026-11-24T09:00:00+10:00',
    ],
    ['Wednesday noon → Thursday 09:00', '2026-11-25T12:00:00+10:00', '2026-11-26T09:00:00+10:00'],
  ])('next business day: %s', (_what, now, due) => {
    expect(nextBusinessDayStart(Date.parse(now), 'Australia/Brisbane', hours)).toBe(Date.parse(due));
  });

  it.each([
    ['Sunday → the next day, Monday 09:00', '2026-11-22T12:00:00+10:00', '2026-11-23T09:00:00+10:00'],
    ['Monday 08:59 → the same morning', '2026-11-23T08:59:00+10:00', '2026-11-23T09:00:00+10:00'],
    ['Monday 09:00 exactly → a week later', '2026-11-23T09:00:00+10:00', '2026-11-30T09:00:00+10:00'],
  ])('weekly review: %s', (_what, now, due) => {
    expect(nextWeekly(Date.parse(now), 'Australia/Brisbane', 'mon', '09:00')).toBe(Date.parse(due));
  });
});

describe('SLA clock with an escalation matrix', () => {
  const policy = planFrom(incidentConfig({}, 'netlify-supabase'));
  const t = Date.parse('2026-11-18T05:00:00Z');
  const fresh = (severity: IncidentState['severity']) => {
    const s = { policy, severity, escalation: { level: -1, pages: [], exhausted: false } } as unknown as IncidentState;
    return { s, clock: new SlaClock(s, () => true) };
  };

  it('hands out each High step once, when due, and stops after the last', () => {
    const { s, clock } = fresh('P1');
    clock.start(t);
    expect(clock.dueMs()).toBe(t + 30 * 60_000);
    expect(clock.takeDueSteps(t + 29 * 60_000)).toEqual([]);
    expect(clock.takeDueSteps(t + 30 * 60_000).map((d) => d.step.targets)).toEqual([['technical-lead']]);
    expect(clock.takeDueSteps(t + 30 * 60_000)).toEqual([]);
    expect(clock.dueMs()).toBe(t + 60 * 60_000);
    // Late by hours (a worker was down): the step still runs once.
    expect(clock.takeDueSteps(t + 5 * 60 * 60_000).map((d) => [d.index, d.cause])).toEqual([[1, 'initial']]);
    expect(clock.dueMs()).toBeUndefined();
    expect(s.escalation.steps?.next).toBe(2);
  });

  it('a severity change counts the new row from the change and remembers who was paged; a reopen forgets', () => {
    const { s, clock } = fresh('P1');
    clock.start(t);
    clock.takeDueSteps(t + 30 * 60_000);
    clock.paged(1, t + 30 * 60_000);
    s.severity = 'P0';
    clock.rearm(t + 40 * 60_000);
    const due = clock.takeDueSteps(t + 40 * 60_000);
    expect(due.map((d) => [d.step.targets, d.cause])).toEqual([[['system-admin', 'technical-lead'], 'severity-raised']]);
    expect(clock.wasPaged('technical-lead')).toBe(true);
    expect(clock.wasPaged('system-admin')).toBe(false);
    clock.restart(t + 2 * 60 * 60_000);
    expect(clock.wasPaged('technical-lead')).toBe(false);
    expect(s.escalation.steps?.cause).toBe('reopened');
  });

  it('acknowledged: nothing is due any more, and a severity change does not re-arm it', () => {
    const { s, clock } = fresh('P1');
    clock.start(t);
    s.acknowledgedAt = new Date(t + 60_000).toISOString();
    clock.stop();
    s.severity = 'P0';
    clock.rearm(t + 2 * 60_000);
    expect(clock.takeDueSteps(t + 10 * 60 * 60_000)).toEqual([]);
  });
});
