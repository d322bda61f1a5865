/**
 * `npm run test:cluster`: the tests of the production topology (scripts/cluster). Each file starts its own
 * cluster, so there is no global Temporal dev server; they run one at a time.
 */
module.exports = {
  rootDir: '../..',
  testEnvironment: 'node',
  roots: ['<rootDir>/test/cluster'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { diagnostics: false }] },
  testTimeout: 300_000,
  maxWorkers: 1,
  reporters: ['default', '<rootDir>/test/harness/summary-reporter.js'],
};
