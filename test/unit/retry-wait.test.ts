import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';

/**
 * The Retry comment in the definition states the longest wait each retrier allows: recomputed
 * here from the definition, so a change to the Retry that forgets the comment fails.
 */
const FILE = path.resolve(__dirname, '../../statemachine/casbridge.asl.yml');

interface Retrier {
  ErrorEquals: string[];
  IntervalSeconds?: number;
  BackoffRate?: number;
  MaxAttempts?: number;
  MaxDelaySeconds?: number;
  JitterStrategy?: 'FULL' | 'NONE';
}

/**
 * Step Functions waits IntervalSeconds * BackoffRate^(n-1) before retry n (defaults 1 s, 2.0, 3
 * attempts), capped by MaxDelaySeconds; FULL jitter draws a wait between 0 and that, so the sum of
 * the caps is the ceiling either way.
 */
function maxWaitSeconds(r: Retrier): number {
  let total = 0;
  for (let n = 1; n <= (r.MaxAttempts ?? 3); n++) {
    const delay = (r.IntervalSeconds ?? 1) * (r.BackoffRate ?? 2) ** (n - 1);
    total += Math.min(delay, r.MaxDelaySeconds ?? Number.POSITIVE_INFINITY);
  }
  return total;
}

describe('the Retry comment in the definition', () => {
  it('states the real maximum wait of each retrier and of both', () => {
    const text = readFileSync(FILE, 'utf8');
    const retry = (parseYaml(text).States.ResolveTargets as { Retry: Retrier[] }).Retry;
    const stated = [...text.matchAll(/^\s*#\s+(\w+)[^:\n]*: at most (\d+) s over (\d+) retries$/gm)].map(
      (m) => [m[1], Number(m[2]), Number(m[3])],
    );
    expect(stated).toEqual(retry.map((r) => [r.ErrorEquals[0], maxWaitSeconds(r), r.MaxAttempts ?? 3]));
    const both = /^\s*#\s+both[^:\n]*: at most (\d+) s$/m.exec(text)?.[1];
    expect(Number(both)).toBe(retry.reduce((sum, r) => sum + maxWaitSeconds(r), 0));
  });
});
