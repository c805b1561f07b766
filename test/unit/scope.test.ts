import { inScope } from '../../functions/resolve-targets/scope';

const ROOT = 'r-ab12';
const WORKLOADS = 'ou-ab12-11111111';
const PROD = 'ou-ab12-22222222';
const DEV = 'ou-ab12-33333333';
/** An account's path as organization.ts reads it: its root, then its OUs from the top down. */
const under = (...ouIds: string[]) => ({ rootId: ROOT, ouIds });
const scope = (scopeOus: string[], scopeExcludedOus: string[] = []) => ({ scopeOus, scopeExcludedOus });

describe('the configured scope', () => {
  it('holds every account of the organization when it names no OU, the root included', () => {
    expect(inScope(scope([]), under())).toBe(true);
    expect(inScope(scope([]), under(WORKLOADS, DEV))).toBe(true);
    expect(inScope(scope([ROOT]), under())).toBe(true);
  });

  it('holds the accounts at any depth below a scope OU, and none beside it', () => {
    expect(inScope(scope([WORKLOADS]), under(WORKLOADS, PROD))).toBe(true);
    expect(inScope(scope([WORKLOADS]), under(WORKLOADS))).toBe(true);
    expect(inScope(scope([PROD]), under(WORKLOADS, DEV))).toBe(false);
    expect(inScope(scope([WORKLOADS]), under())).toBe(false);
  });

  it('leaves out an excluded OU with everything below it, even under a scope OU or the root', () => {
    expect(inScope(scope([WORKLOADS], [DEV]), under(WORKLOADS, DEV))).toBe(false);
    expect(inScope(scope([WORKLOADS], [DEV]), under(WORKLOADS, PROD))).toBe(true);
    expect(inScope(scope([], [WORKLOADS]), under(WORKLOADS, PROD))).toBe(false);
    expect(inScope(scope([ROOT], [WORKLOADS]), under())).toBe(true);
  });
});
