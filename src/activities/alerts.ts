// LAYOUT-SHIM: remove at integration
export { createAlertActivities } from './incident/alerts';
