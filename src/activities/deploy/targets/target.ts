import type { ServiceConfig } from '../../../config/schema';
import type { PlatformClients } from '../../../platforms';
import type { DeploymentRef, GateResult } from '../../../workflows/deploy/contract';

export interface BuildOutcome {
  ready: boolean;
  id: string;
  url: string;
  state: string;
  /** The platform's own message when the build failed. */
  message?: string;
}

export interface CreatedDeployment extends DeploymentRef {
  state: string;
  created: boolean;
  sha?: string;
}

export interface AliasOutcome {
  /** False when production already was (or was already being switched to) the deployment. */
  requested: boolean;
  ok: boolean;
  status: string;
  message?: string;
}

export interface ProductionPair {
  current: DeploymentRef | null;
  previous: DeploymentRef | null;
}

/**
 * One deploy platform as the deploy activities drive it, for one service. Every call that changes the
 * platform looks before it acts, so a retried activity never does it twice.
 */
export interface DeployTarget {
  /** What this platform needs of the service's configuration and it lacks (naming the field), if anything. */
  configProblem(): string | undefined;
  /** Pre-deployment checklist: the critical environment variables exist for production. */
  checkCriticalEnv(): Promise<Omit<GateResult, 'name' | 'at'>>;
  /** A preview or production deployment of the ref, found by `identity` (or by commit) before one is made. */
  createTaggedDeployment(input: {
    kind: 'preview' | 'production';
    ref: string;
    sha?: string;
    identity: string;
    pollIntervalMs: number;
  }): Promise<CreatedDeployment>;
  waitForBuild(deploymentId: string, pollIntervalMs: number): Promise<BuildOutcome>;
  /** The deployment serving production now. */
  currentProduction(): Promise<DeploymentRef | null>;
  /** The production deployment now and the one before it (the default rollback target). */
  productionPair(): Promise<ProductionPair>;
  describeDeployment(deploymentId: string): Promise<DeploymentRef>;
  /** Production switched to the deployment (asked once). */
  promote(deploymentId: string, pollIntervalMs: number): Promise<AliasOutcome>;
  /** Production back to the deployment (asked once). */
  rollBack(toDeploymentId: string, reason: string, pollIntervalMs: number): Promise<AliasOutcome>;
}

/** Builds the target of one service; the clients are resolved on first use. */
export type DeployTargetFactory = (service: ServiceConfig, clients: () => PlatformClients) => DeployTarget;
