export * from '../../receiver/normalize/generic'; // LAYOUT-SHIM: remove at integration
