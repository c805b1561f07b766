/**
 * Fails a full run of the suite when a grant the templates give a casbridge role (the function
 * roles and the state machine role of serverless.yml, the member role) was never used by any
 * call the sandbox let through, in any test process. Each sandbox writes the grants it saw used
 * when it closes (sandbox/core/grant-usage.ts); this reporter reads them all once every test file
 * has finished. A run of some test files only, or one that already failed, is not judged.
 */
const { readdirSync, readFileSync, renameSync, rmSync } = require('node:fs');
const path = require('node:path');

if (!require.extensions['.ts']) require('tsx/cjs');

const DIR = path.resolve(__dirname, '../out/grant-usage/run');
// What the last full run used, kept for `npm run grants` (scripts/grants-report.ts).
const LAST_FULL_RUN = path.resolve(__dirname, '../out/grant-usage/last-full-run');
// Read by the sandbox in every test process (and in the CLI processes the tests start).
process.env.CASBRIDGE_GRANT_USAGE_DIR = DIR;

class GrantUsageReporter {
  constructor(globalConfig) {
    this.globalConfig = globalConfig;
    this.error = undefined;
  }

  onRunStart() {
    rmSync(DIR, { recursive: true, force: true });
  }

  onRunComplete(_contexts, results) {
    const g = this.globalConfig;
    const partial =
      g.testPathPatterns?.isSet?.() ||
      (g.nonFlagArgs ?? []).length > 0 ||
      Boolean(g.testNamePattern) ||
      (g.selectProjects ?? []).length > 0 ||
      g.onlyChanged ||
      g.onlyFailures ||
      g.findRelatedTests ||
      g.watch ||
      g.watchAll;
    if (partial || results.numFailedTests > 0 || results.numRuntimeErrorTestSuites > 0) return;
    const { templateGrants, GRANTS_NOT_CALLED_BY_CODE } = require('../sandbox/scenario/template-grants.ts');
    const used = new Set();
    let files = [];
    try {
      files = readdirSync(DIR).filter((f) => f.endsWith('.json'));
    } catch {
      files = [];
    }
    for (const file of files) {
      for (const key of JSON.parse(readFileSync(path.join(DIR, file), 'utf8')).used) used.add(key);
    }
    rmSync(LAST_FULL_RUN, { recursive: true, force: true });
    if (files.length > 0) renameSync(DIR, LAST_FULL_RUN);
    const unused = templateGrants().filter(
      (g) => !used.has(g.key) && !GRANTS_NOT_CALLED_BY_CODE.some((x) => x.pattern.test(g.key)),
    );
    if (unused.length === 0) return;
    const lines = unused.map((g) => `  ${g.key.replace(/ #\d+$/, '')} on ${g.resource}`);
    this.error = new Error(
      `A grant no test used: no call the sandbox allowed in the whole suite needed it (remove it, or test the code path that needs it):\n${lines.join('\n')}`,
    );
    process.stderr.write(`\n${this.error.message}\n`);
  }

  getLastError() {
    return this.error;
  }
}

module.exports = GrantUsageReporter;
