/**
 * `npm run grants`: every grant the templates give a casbridge role — each function role and the
 * state machine role of serverless.yml, and the member role — and whether the last full `npm test`
 * used it (a call the sandbox allowed needed it), as the unused-grant check of the suite
 * (test/grant-usage-reporter.cjs) judged it. For a security review: granted against called, per
 * role, with the reason of each grant no code path of casbridge's own calls.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { GRANTS_NOT_CALLED_BY_CODE, templateGrants } from '../sandbox/scenario/template-grants';
import { terminal } from './render/terminal-text';

const ROOT = path.resolve(__dirname, '..');
// Written by test/grant-usage-reporter.cjs after each full run of the suite.
const USAGE_DIR = path.join(ROOT, 'out/grant-usage/last-full-run');

function usedGrants(): Set<string> | undefined {
  let files: string[];
  try {
    files = readdirSync(USAGE_DIR).filter((file) => file.endsWith('.json'));
  } catch {
    return undefined;
  }
  const used = new Set<string>();
  for (const file of files) {
    for (const key of (JSON.parse(readFileSync(path.join(USAGE_DIR, file), 'utf8')) as { used: string[] })
      .used)
      used.add(key);
  }
  return used;
}

function main(): void {
  const used = usedGrants();
  if (!used) {
    terminal(process.stderr).write(
      `grants: no usage recorded in ${USAGE_DIR}: run the whole suite first (npm test)\n`,
    );
    process.exitCode = 1;
    return;
  }
  const byRole = new Map<string, string[]>();
  let unused = 0;
  for (const grant of templateGrants(ROOT)) {
    // template:LogicalId Sid action #index
    const [role, sid, action] = grant.key.split(' ') as [string, string, string];
    const excluded = GRANTS_NOT_CALLED_BY_CODE.find((x) => x.pattern.test(grant.key));
    const verdict = used.has(grant.key)
      ? 'used'
      : excluded
        ? `not called by code: ${excluded.reason}`
        : 'UNUSED';
    if (verdict === 'UNUSED') unused++;
    const lines = byRole.get(role) ?? [];
    lines.push(`  ${action.padEnd(40)} ${sid.padEnd(28)} ${grant.resource}\n      ${verdict}`);
    byRole.set(role, lines);
  }
  for (const [role, lines] of byRole) terminal(process.stdout).write(`${role}\n${lines.join('\n')}\n\n`);
  terminal(process.stdout).write(`${unused} grant(s) no test used\n`);
  if (unused > 0) process.exitCode = 1;
}

main();
