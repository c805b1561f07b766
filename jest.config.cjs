/** One jest config; projects split the suite by what a test stands on. */
const transform = {
  '^.+\\.[tj]sx?$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' } }],
};
const common = {
  testEnvironment: '<rootDir>/test/support/quiet-environment.cjs',
  transform,
  transformIgnorePatterns: ['/node_modules/(?!(@middy)/)'],
  setupFiles: ['<rootDir>/test/setup-env.cjs'],
  // scripts/lint-cfn.sh's Python virtual environment: thousands of files no test imports.
  modulePathIgnorePatterns: ['<rootDir>/.venv-cfn/'],
};
module.exports = {
  // Two workers on these 2-core machines (jest's default is one fewer than the cores): most suites
  // wait on loopback calls to the in-process sandbox or on a child process (the CLI suites, the
  // linters), so a second worker fills the other core instead of waiting behind them.
  maxWorkers: 2,
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
