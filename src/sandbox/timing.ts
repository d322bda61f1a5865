/** How long each asynchronous step of the imitated platforms takes. Small by default; tests pass 0–50 ms. */
export interface Timing {
  /** Each deployment state step (QUEUED → BUILDING → READY, new → building → ready). */
  buildStepMs: number;
  /** Each promote/rollback alias job step (pending → in-progress → succeeded). */
  aliasStepMs: number;
  /** Each Supabase restore step (RESTORING → ACTIVE_HEALTHY). */
  restoreStepMs: number;
  /** What one "minute" of a rolling-release stage duration lasts in the sandbox. */
  stageMinuteMs: number;
}

export type TimingInput = number | Partial<Timing>;

export function resolveTiming(input?: TimingInput): Timing {
  if (typeof input === 'number') return { buildStepMs: input, aliasStepMs: input, restoreStepMs: input, stageMinuteMs: input };
  return { buildStepMs: 300, aliasStepMs: 300, restoreStepMs: 300, stageMinuteMs: 1000, ...input };
}

/** Timers for state transitions, cancelled together on stop; `idle()` resolves when none are pending. */
export class Scheduler {
  private timers = new Set<NodeJS.Timeout>();
  private idleWaiters: Array<() => void> = [];
  private stopped = false;

  constructor(readonly timing: Timing) {}

  after(ms: number, fn: () => void): void {
    if (this.stopped) return;
    const t = setTimeout(() => {
      this.timers.delete(t);
      try {
        fn();
      } finally {
        if (this.timers.size === 0) this.flushIdle();
      }
    }, ms);
    this.timers.add(t);
  }

  /** Resolves once every scheduled transition (including ones scheduled by transitions) has run. */
  idle(): Promise<void> {
    if (this.timers.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.flushIdle();
  }

  private flushIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}
