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

/** A pending transition as data, so it can be saved and re-scheduled after a restart. */
export interface ScheduledJob {
  id: number;
  /** Names the handler registered with `define`, e.g. `vercel.build`. */
  kind: string;
  /** JSON-safe arguments: ids the handler looks its objects up by. */
  args: Record<string, unknown>;
  /** When it is due, epoch ms. */
  dueAt: number;
}

/**
 * Timers for state transitions, cancelled together on stop; `idle()` resolves when none are pending.
 * Each transition is a job (kind + arguments + due time) run by a handler the vendor defined, so the
 * pending ones can be saved with the world and resumed after a restart (`resume`).
 */
export class Scheduler {
  private timers = new Map<number, NodeJS.Timeout>();
  private jobs = new Map<number, ScheduledJob>();
  private handlers = new Map<string, (args: Record<string, unknown>) => void>();
  private nextId = 0;
  private idleWaiters: Array<() => void> = [];
  private stopped = false;
  /** Called after each transition ran (the world changed). */
  onTransition?: () => void;

  constructor(readonly timing: Timing) {}

  define<A extends Record<string, unknown>>(kind: string, handler: (args: A) => void): void {
    this.handlers.set(kind, handler as (args: Record<string, unknown>) => void);
  }

  /** Runs the `kind` handler with `args` after `ms`. */
  schedule(kind: string, args: Record<string, unknown>, ms: number): void {
    if (this.stopped) return;
    if (!this.handlers.has(kind)) throw new Error(`scheduler: no handler for "${kind}"`);
    const job: ScheduledJob = { id: ++this.nextId, kind, args, dueAt: Date.now() + ms };
    this.arm(job, ms);
  }

  /** Transitions not run yet (kept through `stop`, so they can be saved). */
  pending(): ScheduledJob[] {
    return [...this.jobs.values()].map((j) => structuredClone(j));
  }

  /** Re-schedules saved jobs at their due time; overdue ones run at once, oldest first. Unknown kinds are dropped. */
  resume(jobs: ScheduledJob[]): void {
    const now = Date.now();
    for (const job of [...jobs].sort((a, b) => a.dueAt - b.dueAt || a.id - b.id)) {
      if (!this.handlers.has(job.kind)) continue;
      this.arm({ ...job, id: ++this.nextId }, Math.max(0, job.dueAt - now));
    }
  }

  private arm(job: ScheduledJob, ms: number): void {
    if (this.stopped) return;
    this.jobs.set(job.id, job);
    const t = setTimeout(() => {
      this.timers.delete(job.id);
      this.jobs.delete(job.id);
      try {
        this.handlers.get(job.kind)!(job.args);
        this.onTransition?.();
      } finally {
        if (this.timers.size === 0) this.flushIdle();
      }
    }, ms);
    this.timers.set(job.id, t);
  }

  /** Resolves once every scheduled transition (including ones scheduled by transitions) has run. */
  idle(): Promise<void> {
    if (this.timers.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Cancels the timers; the jobs stay listed in `pending()`. */
  stop(): void {
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    this.flushIdle();
  }

  private flushIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}
