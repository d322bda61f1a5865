// LAYOUT-SHIM: remove at integration
export * from '../workflows/incident/contract';
export type { IncidentPlan as IncidentPolicy } from '../workflows/incident/contract';
