/**
 * Jest runs in ESM mode (NestJS 12 is ESM-only): `npm test` starts it with
 * --experimental-vm-modules. Two projects: unit specs beside the services
 * and the client SDK's modules, and e2e suites that start real servers (SQLite files, a throwaway
 * PostgreSQL cluster started by the global setup).
 *
 * Type errors are left to `npm run typecheck` (part of `npm test`), so
 * ts-jest only transpiles. The global setup is loaded as CommonJS by Jest:
 * its own imports carry no `.js` extension.
 */
const transform = {
  '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: '<rootDir>/test/tsconfig.json', diagnostics: false }],
};
const common = {
  rootDir: '.',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform,
  testEnvironment: 'node',
};

export default {
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/client/**/*.spec.ts'] },
    {
      ...common,
      displayName: 'e2e',
      testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'],
      globalSetup: '<rootDir>/test/support/global-setup.ts',
      globalTeardown: '<rootDir>/test/support/global-teardown.ts',
    },
  ],
  testTimeout: 30_000,
};
