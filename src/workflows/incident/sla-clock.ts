/**
 * The response SLA (Incident Response → "not acknowledged in time: escalate"): the only writer of
 * `escalation.dueAt`. Pure — no Temporal calls — so it is tested on plain state.
 */
import { nextBusinessDayDeadline, formatDuration, type Severity } from '../common';
import type { EscalationStep, IncidentPlan, IncidentState } from './contract';
import { stepDeadline } from './escalation';

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

/** A due step of the escalation matrix and why it pages. */
export interface DueStep {
  index: number;
  step: EscalationStep;
  /** What started the count: detection, a reopen or a severity change. */
  cause: 'initial' | 'reopened' | 'severity-raised';
}

/**
 * The escalation clock of one incident. It reads `s` on every call (the severity, and the escalation
 * record replaced on reopen), so it holds no state of its own and survives continue-as-new as data.
 *
 * Two modes. Without `incidents.escalation`: the first level is paged at once for paging severities and
 * the next one each time an SLA runs out. With it (`matrix()` true): the severity's steps, each due at its
 * `after` counted from detection (or from the severity change, or the reopen), page their targets.
 */
export class SlaClock {
  constructor(
    private readonly s: ClockState,
    /** Whether the escalation matrix is in use: read lazily, the plan arrives after construction. */
    readonly matrix: () => boolean = () => false,
  ) {}

  /** Detection, and every page: the current severity's SLA counted from now (or its first step). */
  start(nowMs: number, cause: DueStep['cause'] = 'initial'): void {
    if (this.matrix()) {
      this.s.escalation.steps = { since: new Date(nowMs).toISOString(), next: 0, paged: this.s.escalation.steps?.paged ?? [], cause };
      this.setStepDue();
      return;
    }
    this.s.escalation.dueAt = new Date(slaDeadline(this.s.policy, this.s.severity, nowMs)).toISOString();
  }

  /** A page of `level`: that level now has one SLA to acknowledge (with the matrix: it is not paged again). */
  paged(level: number, nowMs: number): void {
    this.s.escalation.level = level;
    if (this.matrix()) {
      const name = this.s.policy.oncall[level].name;
      if (this.s.escalation.steps && !this.s.escalation.steps.paged.includes(name)) this.s.escalation.steps.paged.push(name);
      return;
    }
    this.start(nowMs);
  }

  /** A severity change restarts the clock with the new severity's SLA (or steps), unless it has already stopped. */
  rearm(nowMs: number): void {
    if (this.s.acknowledgedAt || this.s.resolvedAt) return;
    if (this.matrix()) return this.start(nowMs, 'severity-raised');
    if (this.s.escalation.exhausted) return;
    this.start(nowMs);
  }

  /** The steps due by `nowMs`, marked as run: the caller pages their targets. */
  takeDueSteps(nowMs: number): DueStep[] {
    const st = this.s.escalation.steps;
    if (!this.matrix() || !st || !this.s.escalation.dueAt) return [];
    const steps = this.currentSteps();
    const sinceMs = Date.parse(st.since);
    const due: DueStep[] = [];
    while (st.next < steps.length && stepDeadline(this.s.policy, steps[st.next], sinceMs) <= nowMs) {
      due.push({ index: st.next, step: steps[st.next], cause: st.cause });
      st.next++;
    }
    this.setStepDue();
    return due;
  }

  /** Whether a target has been paged in this episode. */
  wasPaged(target: string): boolean {
    return this.s.escalation.steps?.paged.includes(target) ?? false;
  }

  private currentSteps(): EscalationStep[] {
    return this.s.policy.escalation?.[this.s.severity] ?? [];
  }

  private setStepDue(): void {
    const st = this.s.escalation.steps!;
    const step = this.currentSteps()[st.next];
    if (step) this.s.escalation.dueAt = new Date(stepDeadline(this.s.policy, step, Date.parse(st.since))).toISOString();
    else delete this.s.escalation.dueAt;
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
    if (this.matrix()) {
      this.s.escalation = { level: -1, pages, exhausted: false };
      return this.start(nowMs, 'reopened');
    }
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
