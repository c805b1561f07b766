/** One jest config; projects split the suite by what a test stands on. */
const transform = {
  '^.+\\.[tj]sx?$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' } }],
};
const common = {
  testEnvironment: 'node',
  transform,
  transformIgnorePatterns: ['/node_modules/(?!(@middy)/)'],
  setupFiles: ['<rootDir>/test/setup-env.cjs'],
};
module.exports = {
  // Pipeline tests run many accounts through real handlers and the SDK's own retry waits.
  testTimeout: 60_000,
  // After the whole suite: every grant of every casbridge role was used by some allowed call.
  reporters: ['default', '<rootDir>/test/grant-usage-reporter.cjs'],
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    { ...common, displayName: 'sandbox', testMatch: ['<rootDir>/test/sandbox/**/*.test.ts'] },
    { ...common, displayName: 'state-machine', testMatch: ['<rootDir>/test/state-machine/**/*.test.ts'] },
    { ...common, displayName: 'pipeline', testMatch: ['<rootDir>/test/functions/**/*.test.ts'] },
    // Runs `npm run package` (osls) once and reads the template and zips it writes to .serverless/.
    { ...common, displayName: 'stack', testMatch: ['<rootDir>/test/stack/**/*.test.ts'] },
    { ...common, displayName: 'browser', testMatch: ['<rootDir>/test/browser/**/*.test.ts'] },
    // Runs bin/casbridge.cjs as separate processes, as a user does.
    { ...common, displayName: 'cli', testMatch: ['<rootDir>/test/cli/**/*.test.ts'] },
  ],
};
