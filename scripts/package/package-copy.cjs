'use strict';

/**
 * `npm run package` from a copy of the working tree, for a Region and extra parameters: several
 * packagings (test/stack, scripts/lint-cfn.sh) can run at once without sharing .serverless/ or
 * serverless-esbuild's .esbuild/. The placeholders externalId and organizationId are the npm
 * script's own (package.json), so there is one definition of them.
 *
 *   node scripts/package/package-copy.cjs --out DIR [--region R] [--param=name=value ...]
 */
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '../..');
/** Never copied: dependencies (linked instead), git, build output, the linters' venv. */
const SKIP = new Set([
  'node_modules',
  '.git',
  '.serverless',
  '.esbuild',
  '.venv-cfn',
  'coverage',
  'dist',
  'out',
]);

function npmScriptParams() {
  const script = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).scripts.package;
  return script.split(/\s+/).filter((arg) => arg.startsWith('--param='));
}

/**
 * Packages into `out` (created by osls; absent if packaging failed before writing). Returns the
 * process result and the copy's directory, removed unless `keepCopy`.
 */
function packageCopy({ out, region = 'us-east-1', params = {}, keepCopy = false, timeout = 300_000 }) {
  const copy = fs.mkdtempSync(path.join(os.tmpdir(), 'casbridge-package-'));
  fs.cpSync(ROOT, copy, {
    recursive: true,
    filter: (src) => !SKIP.has(path.relative(ROOT, src).split(path.sep)[0]),
  });
  fs.symlinkSync(fs.realpathSync(path.join(ROOT, 'node_modules')), path.join(copy, 'node_modules'));
  const args = [
    path.join(ROOT, 'node_modules/osls/bin/serverless.js'),
    'package',
    '--region',
    region,
    '--package',
    path.resolve(out),
    ...npmScriptParams(),
    ...Object.entries(params).map(([name, value]) => `--param=${name}=${value}`),
  ];
  // Packaging needs no AWS credentials: none are passed, so none can be used by accident.
  const env = Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) => !/^AWS_(ACCESS_KEY_ID|SECRET_ACCESS_KEY|SESSION_TOKEN|PROFILE)$/.test(k),
    ),
  );
  const result = spawnSync(process.execPath, args, {
    cwd: copy,
    env: { ...env, SLS_TELEMETRY_DISABLED: '1', SLS_NOTIFICATIONS_MODE: 'off' },
    encoding: 'utf8',
    timeout,
  });
  const wrote = ['.serverless', '.esbuild'].filter((d) => fs.existsSync(path.join(copy, d)));
  if (!keepCopy) fs.rmSync(copy, { recursive: true, force: true });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr, copy, wrote };
}

module.exports = { packageCopy };

if (require.main === module) {
  const argv = process.argv.slice(2);
  const value = (flag) => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const out = value('--out');
  if (!out) {
    process.stderr.write('usage: package-copy.cjs --out DIR [--region R] [--param=name=value ...]\n');
    process.exit(2);
  }
  const params = Object.fromEntries(
    argv
      .filter((a) => a.startsWith('--param='))
      .map((a) => {
        const [name, ...rest] = a.slice('--param='.length).split('=');
        return [name, rest.join('=')];
      }),
  );
  const result = packageCopy({ out, region: value('--region'), params });
  if (result.status !== 0) process.stderr.write(result.stdout + result.stderr);
  process.exit(result.status ?? 1);
}
