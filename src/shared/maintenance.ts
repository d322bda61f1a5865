// LAYOUT-SHIM: remove at integration
export { MAINTENANCE_KINDS, SCHEDULE_IDS, type CleanupResult, type MaintenanceInput, type StepOutcome } from '../workflows/maintenance/contract';
export type { HealthCheckInput } from '../workflows/health/contract';
