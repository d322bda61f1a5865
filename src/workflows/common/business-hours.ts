/**
 * Calendar arithmetic in the configured time zone, with Intl only: deterministic for a given instant,
 * so workflows can compute "next business day" from workflow time.
 */

export interface BusinessHours {
  days: readonly ('mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat' | 'sun')[];
  /** HH:MM, 24-hour. */
  start: string;
  end: string;
}

const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;

interface WallClock {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

function wallClock(ms: number, timeZone: string): WallClock {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  }).formatToParts(new Date(ms));
  const get = (type: Intl.DateTimeFormatPartTypes) => Number(parts.find((p) => p.type === type)?.value ?? 0);
  return { year: get('year'), month: get('month'), day: get('day'), hour: get('hour'), minute: get('minute'), second: get('second') };
}

/** How far the zone's wall clock is ahead of UTC at `ms`. */
function zoneOffsetMs(ms: number, timeZone: string): number {
  const w = wallClock(ms, timeZone);
  return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second) - (ms - (((ms % 1000) + 1000) % 1000));
}

/** The instant a wall-clock time occurs in `timeZone` (the later reading across a DST jump). */
export function zonedTime(year: number, month: number, day: number, hour: number, minute: number, timeZone: string): number {
  const asUtc = Date.UTC(year, month - 1, day, hour, minute);
  const first = asUtc - zoneOffsetMs(asUtc, timeZone);
  const second = asUtc - zoneOffsetMs(first, timeZone);
  return second;
}

function hhmm(text: string): [number, number] {
  const [h, m] = text.split(':').map(Number);
  return [h, m];
}

/**
 * "Next business day" (the first runbook's P3 response time): the end of business hours on the first
 * business day after the day `nowMs` falls on, in `timeZone`. A Friday-evening P3 is due Monday at close.
 */
export function nextBusinessDayDeadline(nowMs: number, timeZone: string, hours: BusinessHours): number {
  const today = wallClock(nowMs, timeZone);
  const [endH, endM] = hhmm(hours.end);
  for (let i = 1; i <= 14; i++) {
    const date = new Date(Date.UTC(today.year, today.month - 1, today.day + i));
    if (hours.days.includes(WEEKDAYS[date.getUTCDay()])) {
      return zonedTime(date.getUTCFullYear(), date.getUTCMonth() + 1, date.getUTCDate(), endH, endM, timeZone);
    }
  }
  // No business day configured at all cannot pass config validation; a week is the sane bound.
  return nowMs + 7 * 86_400_000;
}

/**
 * "Next business day" as an escalation step (the second runbook's Medium row): the start of business hours
 * on the first business day after the day `nowMs` falls on, in `timeZone`.
 */
export function nextBusinessDayStart(nowMs: number, timeZone: string, hours: BusinessHours): number {
  return nextOccurrence(nowMs, timeZone, hours.days, hours.start, 1);
}

/** The next `day` at `at` (HH:MM) in `timeZone` strictly after `nowMs`: the weekly review (the second runbook's Low row). */
export function nextWeekly(nowMs: number, timeZone: string, day: BusinessHours['days'][number], at: string): number {
  return nextOccurrence(nowMs, timeZone, [day], at, 0);
}

function nextOccurrence(nowMs: number, timeZone: string, days: BusinessHours['days'], at: string, fromDay: number): number {
  const today = wallClock(nowMs, timeZone);
  const [h, m] = hhmm(at);
  for (let i = fromDay; i <= 14; i++) {
    const date = new Date(Date.UTC(today.year, today.month - 1, today.day + i));
    if (!days.includes(WEEKDAYS[date.getUTCDay()])) continue;
    const t = zonedTime(date.getUTCFullYear(), date.getUTCMonth() + 1, date.getUTCDate(), h, m, timeZone);
    if (t > nowMs) return t;
  }
  return nowMs + 7 * 86_400_000;
}
