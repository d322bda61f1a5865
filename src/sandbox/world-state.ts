import type { AppsState } from './apps';
import type { FaultsState } from './faults';
import type { NetlifyState } from './netlify';
import type { BuiltSandbox } from './server';
import type { SupabaseState } from './supabase';
import type { ScheduledJob } from './timing';
import type { TlsState } from './tls';
import type { VercelState } from './vercel';

/**
 * Everything a restart would otherwise forget, except the call log (journaled on its own): each
 * vendor's model, the sample apps, active faults and the transitions still pending (with their due
 * time, so a build that was half-way finishes on time after a restart).
 */
export interface WorldState {
  vercel: VercelState;
  netlify: NetlifyState;
  supabase: SupabaseState;
  statuspage: ReturnType<BuiltSandbox['statuspage']['dump']>;
  pagerduty: ReturnType<BuiltSandbox['pagerduty']['dump']>;
  slack: ReturnType<BuiltSandbox['slack']['dump']>;
  telegram: ReturnType<BuiltSandbox['telegram']['dump']>;
  providers: ReturnType<BuiltSandbox['providers']['dump']>;
  apps: AppsState;
  faults: FaultsState;
  /** The CA and the certificates of the TLS endpoint; absent in a world saved before it existed. */
  tls?: TlsState;
  jobs: ScheduledJob[];
  callSeq: number;
}

/** Live references, to be serialized at once. */
export function dumpWorld(b: BuiltSandbox): WorldState {
  return {
    vercel: b.vercel.dump(),
    netlify: b.netlify.dump(),
    supabase: b.supabase.dump(),
    statuspage: b.statuspage.dump(),
    pagerduty: b.pagerduty.dump(),
    slack: b.slack.dump(),
    telegram: b.telegram.dump(),
    providers: b.providers.dump(),
    apps: b.apps.dump(),
    faults: b.faults.dump(),
    tls: b.tls.dump(),
    jobs: b.scheduler.pending(),
    callSeq: b.log.lastSeq,
  };
}

const PARTS: Array<keyof WorldState> = [
  'vercel',
  'netlify',
  'supabase',
  'statuspage',
  'pagerduty',
  'slack',
  'telegram',
  'providers',
  'apps',
  'faults',
  'jobs',
];

/**
 * Puts a saved world in place, then resumes its pending transitions (overdue ones at once). A part
 * added later must treat its key missing from an older world as empty; a world missing a part listed
 * here is refused before anything is changed.
 */
export function loadWorld(b: BuiltSandbox, w: WorldState): void {
  const missing = PARTS.filter((k) => typeof w !== 'object' || w === null || !(k in w));
  if (missing.length) throw new Error(`it has no ${missing.join(', ')} (saved by another version?)`);
  b.vercel.load(w.vercel);
  b.netlify.load(w.netlify);
  b.supabase.load(w.supabase);
  b.statuspage.load(w.statuspage);
  b.pagerduty.load(w.pagerduty);
  b.slack.load(w.slack);
  b.telegram.load(w.telegram);
  b.providers.load(w.providers);
  b.apps.load(w.apps);
  b.faults.load(w.faults);
  b.tls.load(w.tls);
  b.scheduler.resume(w.jobs);
}
