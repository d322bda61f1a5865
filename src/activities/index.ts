import type { ActivityDeps } from './deps';
import { createSelfCheckActivities } from './self-check';
import { createBackupActivities } from './backup';
import { createIncidentActivities } from './incident';
import { createDeployActivities } from './deploy';
import { createMaintenanceActivities } from './maintenance';
import { createHealthActivities } from './health';

export type { ActivityDeps } from './deps';

/** All activities of the service, built from injected dependencies. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createSelfCheckActivities(deps),
    ...createBackupActivities(deps),
    ...createIncidentActivities(deps),
    ...createDeployActivities(deps),
    ...createMaintenanceActivities(deps),
    ...createHealthActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
