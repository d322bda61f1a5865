import { planFrom, type IncidentPlan } from '../../workflows/incident/contract';
import type { ActivityDeps } from '../deps';
import { createAlertActivities } from './alerts';
import { createDataLossActivities } from './data-loss';
import { createSecurityActivities } from './security';
import { createDiagnosisActivities } from './diagnosis';
import { createSymptomDiagnosisActivities } from './diagnosis-symptoms';
import { createNotificationActivities } from './notifications';
import { createPlaybookActivities } from './playbooks';
import { createRecordActivities } from './records';

/**
 * Side effects of the `incident` workflow: its record in the ops database, paging, chat, the status page,
 * the troubleshooting "Diagnosis" steps and the mitigation playbooks; and raiseAlerts, which opens incidents.
 */
export function createIncidentActivities(deps: ActivityDeps) {
  return {
    /** The plan an incident runs under (read once per incident, so a config change never splits one incident). */
    async incidentPolicy(): Promise<IncidentPlan> {
      return planFrom(deps.config);
    },
    ...createRecordActivities(deps),
    ...createNotificationActivities(deps),
    ...createDiagnosisActivities(deps),
    ...createSymptomDiagnosisActivities(deps),
    ...createPlaybookActivities(deps),
    ...createAlertActivities(deps),
    ...createDataLossActivities(deps),
    ...createSecurityActivities(deps),
  };
}

export type IncidentActivities = ReturnType<typeof createIncidentActivities>;
