import type { AppDegradation, AppInstance, ProductionRoute } from './apps';
import type { CallFilter, CallRecord } from './calls';
import type { SlackMessage, TelegramMessage } from './chat';
import type { ActiveFault, FaultSpec } from './faults';
import type { NetlifyDeploy, NewDeploy } from './netlify';
import type { PagerdutyEvent } from './pagerduty';
import type { Indicator, ProviderApiState, ProviderIncident } from './providers';
import type { SandboxBaseUrls } from './server';
import type { SandboxState } from './snapshot';
import type { StatuspageIncident } from './statuspage';
import type { PitrRestore, QueryHandler, ServiceStatus, SupabaseAuthUser, SupabaseService } from './supabase';
import type { Timing } from './timing';
import type { TlsCertificateChange, TlsCertificateView } from './tls';

/**
 * A local stand-in for every third-party API the runbooks touch (contracts/platforms.md), on one
 * loopback port: same paths, status codes, bodies, pagination and asynchronous state changes, plus a
 * call log, fault injection and sample apps whose health and metrics can be degraded.
 */
export interface Sandbox {
  /** `http://127.0.0.1:<port>`. */
  url: string;
  port: number;
  baseUrls: SandboxBaseUrls;
  timing: Timing;

  calls(filter?: CallFilter): CallRecord[];
  clearCalls(): void;
  /** Answers the next `times` requests matching vendor + method + path with the fault. */
  inject(fault: FaultSpec): ActiveFault;
  faults(): ActiveFault[];
  removeFault(id: string): boolean;
  clearFaults(): void;

  apps: {
    /** target: a deployment id, `production/<project>` (whatever is live there now) or `production` (the only project). */
    degrade(target: string, change: AppDegradation): string[];
    restore(target: string): string[];
    /** The next build of this Vercel project or Netlify site fails. */
    failNextBuild(project: string, outcome?: 'ERROR' | 'CANCELED'): void;
    /** Which deployment(s) `production/<project>` serves now. */
    production(project: string): ProductionRoute | undefined;
    deploymentUrl(deploymentId: string): string;
    productionUrl(project: string): string;
    instance(deploymentId: string): AppInstance | undefined;
  };
  providers: {
    set(name: string, status: { indicator: Indicator; description?: string; incidents?: ProviderIncident[] }): void;
    /** What the provider's API answers `GET /v1/models`: keys rejected, or the request budget left (0 → 429). */
    setApi(name: string, api: Partial<ProviderApiState>): void;
  };
  vercel: {
    seedProject(idOrName: string, opts?: { envKeys?: string[]; autoAssignCustomDomains?: boolean }): { id: string; name: string };
  };
  netlify: {
    seedSite(siteId: string): { id: string };
    /** A build as a git push would start it: new → building → ready (production context publishes). */
    createDeploy(siteId: string, opts?: NewDeploy): NetlifyDeploy;
  };
  supabase: {
    seedProject(ref: string, opts?: { functions?: string[] }): { ref: string };
    setStatus(ref: string, status: string): void;
    setServiceHealth(ref: string, service: SupabaseService, status: ServiceStatus): void;
    failNextRestore(ref: string): void;
    setPitrEnabled(ref: string, enabled: boolean): void;
    setFunctionDown(ref: string, slug: string, down: boolean): void;
    /** The deployed function as the sandbox holds it, with the files of its last deploy. */
    deployedFunction(ref: string, slug: string): { version: number; entrypointPath: string; files: Record<string, string> } | undefined;
    /** Answers POST …/database/query (default: `select 1` → one row, else no rows). */
    onQuery(handler: QueryHandler): void;
    restores(ref: string): PitrRestore[];
    /** A Supabase Auth user of the project (the admin API answers 404 for any other id). */
    seedAuthUser(ref: string, user: { id: string; email?: string | null }): void;
    authUser(ref: string, id: string): SupabaseAuthUser | undefined;
  };
  statuspage: { incidents(pageId?: string): StatuspageIncident[] };
  pagerduty: {
    events(dedupKey?: string): PagerdutyEvent[];
    /** Where each dedup_key's alert stands: triggered, acknowledged or resolved. */
    alerts(): Record<string, 'triggered' | 'acknowledged' | 'resolved'>;
  };
  slack: { messages(hook?: string): SlackMessage[]; revoke(hook: string): void };
  telegram: { messages(chatId?: string | number): TelegramMessage[]; revokeToken(token: string): void };

  /**
   * The apps' TLS endpoint: one port answering for every host name with the certificate issued for the
   * name asked (SNI), signed by the sandbox CA (valid 90 days, renewed 30 days before expiry).
   */
  tls: {
    /** `127.0.0.1:<port>`: where a TLS check of any host connects instead of the host (maintenance.tlsConnectTo). */
    address: string;
    port: number;
    /** PEM file of the sandbox CA (maintenance.tlsCaFile): `<dataDir>/ca.pem`, or in a temporary directory. */
    caFile: string;
    caPem(): string;
    /** The certificate served for `host`, issued now when there is none yet. */
    certificate(host: string): Promise<TlsCertificateView>;
    /** A new certificate for `host`: expiring in `daysLeft` days (default 90) or untrusted (self-signed). */
    set(host: string, change?: TlsCertificateChange): Promise<TlsCertificateView>;
    list(): TlsCertificateView[];
  };

  /** Read model of everything the sandbox holds (JSON-safe copy; also GET /_sandbox/state). */
  state: { snapshot(): SandboxState };
  /** Where the world is saved (SandboxOptions.dataDir); undefined when it lives in memory only. */
  dataDir?: string;
  /** Saves the world now (it is also saved after every change). */
  save(): Promise<void>;
  /** Resolves when no asynchronous transition is pending. */
  idle(): Promise<void>;
  /** Stops the server; with a data dir, pending transitions are saved to resume on the next start. */
  stop(): Promise<void>;
}

export type { SandboxState };
