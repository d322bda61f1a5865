/**
 * The escalation matrix (the second runbook's table; config `incidents.escalation`): per severity, steps of
 * (after, targets). Pure — no Temporal calls — so it is tested on plain plans.
 */
import { formatDuration, nextBusinessDayStart, nextWeekly } from '../common';
import type { EscalationStep, IncidentPlan } from './contract';

/** The instant `step` is due, for steps counted from `sinceMs`. */
export function stepDeadline(
  plan: Pick<IncidentPlan, 'timezone' | 'businessHours' | 'weeklyReview'>,
  step: EscalationStep,
  sinceMs: number,
) {
  if (step.after === 'next-business-day') return nextBusinessDayStart(sinceMs, plan.timezone, plan.businessHours);
  if (step.after === 'weekly-review') {
    const review = plan.weeklyReview ?? { day: 'mon', at: '09:00' };
    return nextWeekly(sinceMs, plan.timezone, review.day, review.at);
  }
  return sinceMs + step.after;
}

/** "at once", "after 30m", "next business day", "at the weekly review". */
export function describeStep(step: EscalationStep): string {
  if (step.after === 'next-business-day') return 'next business day';
  if (step.after === 'weekly-review') return 'at the weekly review';
  return step.after === 0 ? 'at once' : `after ${formatDuration(step.after)}`;
}

/** One line per severity for the chat and the README: "P1: technical-lead after 30m, system-admin after 1h". */
export function describeSteps(steps: EscalationStep[]): string {
  if (!steps.length) return 'nobody is paged';
  return steps.map((st) => `${st.targets.length ? st.targets.join(' + ') : 'listed for review'} ${describeStep(st)}`).join(', ');
}
