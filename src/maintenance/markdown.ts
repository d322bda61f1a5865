// LAYOUT-SHIM: remove at integration
export { formatBytes } from '../activities/maintenance/markdown';
