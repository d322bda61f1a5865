/**
 * The response SLA (Incident Response → "not acknowledged in time: escalate"): the only writer of
 * `escalation.dueAt`. Pure — no Temporal calls — so it is tested on plain state.
 */
import { nextBusinessDayDeadline, formatDuration, type Severity } from '../common';
import type { IncidentPlan, IncidentState } from './contract';

/** When the response SLA of `severity` runs out, counted from `fromMs`. */
export function slaDeadline(plan: IncidentPlan, severity: Severity, fromMs: number): number {
  const sla = plan.sla[severity];
  return sla === 'next-business-day' ? nextBusinessDayDeadline(fromMs, plan.timezone, plan.businessHours) : fromMs + sla;
}

export function describeSla(plan: IncidentPlan, severity: Severity): string {
  const sla = plan.sla[severity];
  return sla === 'next-business-day' ? 'next business day' : formatDuration(sla);
}

type ClockState = Pick<IncidentState, 'policy' | 'severity' | 'escalation' | 'acknowledgedAt' | 'resolvedAt'>;

/**
 * The escalation clock of one incident. It reads `s` on every call (the severity, and the escalation
 * record replaced on reopen), so it holds no state of its own and survives continue-as-new as data.
 */
export class SlaClock {
  constructor(private readonly s: ClockState) {}

  /** Detection, and every page: the current severity's SLA counted from now. */
  start(nowMs: number): void {
    this.s.escalation.dueAt = new Date(slaDeadline(this.s.policy, this.s.severity, nowMs)).toISOString();
  }

  /** A page of `level`: that level now has one SLA to acknowledge. */
  paged(level: number, nowMs: number): void {
    this.s.escalation.level = level;
    this.start(nowMs);
  }

  /** A severity change restarts the clock with the new severity's SLA, unless it has already stopped. */
  rearm(nowMs: number): void {
    if (this.s.acknowledgedAt || this.s.resolvedAt || this.s.escalation.exhausted) return;
    this.start(nowMs);
  }

  /** Acknowledged or resolved: nobody else is paged. */
  stop(): void {
    delete this.s.escalation.dueAt;
  }

  /** Every on-call level has been paged and nobody acknowledged. */
  exhaust(): void {
    delete this.s.escalation.dueAt;
    this.s.escalation.exhausted = true;
  }

  /** Reopened: nobody is paged yet for this episode; pages already sent stay on record. */
  restart(nowMs: number): void {
    const { pages } = this.s.escalation;
    this.s.escalation = {
      level: -1,
      pages,
      exhausted: false,
      dueAt: new Date(slaDeadline(this.s.policy, this.s.severity, nowMs)).toISOString(),
    };
  }

  /** The instant the next level is paged, or undefined once the clock has stopped. */
  dueMs(): number | undefined {
    return this.s.escalation.dueAt ? Date.parse(this.s.escalation.dueAt) : undefined;
  }

  isDue(nowMs: number): boolean {
    const due = this.dueMs();
    return due !== undefined && nowMs >= due;
  }

  describe(): string {
    return describeSla(this.s.policy, this.s.severity);
  }
}
