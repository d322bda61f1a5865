// LAYOUT-SHIM: remove at integration
export { createEdgeFunctionActivities, type EdgeFunctionActivities } from './deploy/edge-functions';
