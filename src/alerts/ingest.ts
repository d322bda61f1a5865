export * from '../receiver/ingest'; // LAYOUT-SHIM: remove at integration
