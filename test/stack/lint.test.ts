import { spawnSync } from 'node:child_process';
import path from 'node:path';

/**
 * AWS's CloudFormation linter (cfn-lint, with the cfn-lint-serverless rules) and checkov on what
 * a user deploys, through scripts/lint-cfn.sh (README, "Linting the stack"). They are Python
 * tools: without python3 (with venv and pip) the suite says so in one line and goes on.
 */
const ROOT = path.resolve(__dirname, '../..');
const hasPython =
  spawnSync('python3', ['-c', 'import venv, ensurepip'], { stdio: 'ignore', timeout: 30_000 }).status === 0;

describe('the CloudFormation linters', () => {
  it('find nothing in the packaged stack (two Regions, defaults and every optional parameter) or in templates/*.yml', () => {
    // Guards: a template AWS's linters reject or warn about reaching a user (an invalid ARN, a
    // missing dead-letter queue, a public bucket...), and a suppression without its reason
    // (every skip is in serverless.yml, beside why).
    if (!hasPython) {
      // Not a failure: the checks need Python. One line says what did not run and how to run it
      // (jest's console, not the test file's stdout and stderr, which a passing test holds back).
      console.warn(
        'test/stack/lint: skipped cfn-lint, cfn-lint-serverless and checkov (no python3 with venv and pip); run them with npm run lint:cfn where Python is installed',
      );
      return;
    }
    const run = spawnSync('bash', ['scripts/lint-cfn.sh'], { cwd: ROOT, encoding: 'utf8', timeout: 900_000 });
    const output = `${run.stdout}${run.stderr}`;
    expect(run.status === 0 ? '' : output).toBe('');
    // Both linters ran, on the three templates.
    expect(output).toMatch(
      /stack-defaults-us-east-1\.json stack-optional-eu-west-1\.json event-bus-policy\.yml event-forwarding\.yml member-role\.yml organizations-delegation\.yml/,
    );
    expect(output).toMatch(/Failed checks: 0,/);
    expect(output).toContain('lint-cfn: no findings');
  }, 900_000);
});
