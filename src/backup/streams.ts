// LAYOUT-SHIM: remove at integration
export * from '../activities/backup/streams';
