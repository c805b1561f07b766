import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { LEASE_STEP_SECONDS } from '../../commons/lease';

const DEFINITION = path.resolve(__dirname, '../../statemachine/casbridge.asl.yml');
const SERVERLESS = path.resolve(__dirname, '../../serverless.yml');

interface Retrier {
  IntervalSeconds?: number;
  BackoffRate?: number;
  MaxAttempts?: number;
  MaxDelaySeconds?: number;
}
interface TaskState {
  Type: string;
  Resource?: { 'Fn::GetAtt'?: [string, string] };
  TimeoutSeconds?: number;
  Retry?: Retrier[];
}

/** The longest single wait before a retry: the last one's, capped (ASL defaults 1 s, 2.0, 3 attempts). */
function longestWaitSeconds(retry: Retrier[] = []): number {
  return Math.max(
    0,
    ...retry.map((r) =>
      Math.min(
        (r.IntervalSeconds ?? 1) * (r.BackoffRate ?? 2) ** ((r.MaxAttempts ?? 3) - 1),
        r.MaxDelaySeconds ?? Number.POSITIVE_INFINITY,
      ),
    ),
  );
}

/** The per-account Tasks: every Task of the fan-out's ItemProcessor. */
function accountTasks(): [string, TaskState][] {
  const definition = parse(readFileSync(DEFINITION, 'utf8'), { maxAliasCount: -1 }) as {
    States: Record<string, { ItemProcessor?: { States: Record<string, TaskState> } }>;
  };
  const map = Object.values(definition.States).find((s) => s.ItemProcessor);
  return Object.entries(map?.ItemProcessor?.States ?? {}).filter(([, s]) => s.Type === 'Task');
}

describe("the account lease's step budget", () => {
  it('is the longest attempt of a per-account step plus its longest retry wait, from the definition', () => {
    // Guards: a longer TimeoutSeconds or retry cap in the definition that the lease is not sized
    // for: a step that renewed at the start of its attempt could then outlive its lease.
    const budget = Math.max(
      ...accountTasks().map(([, state]) => (state.TimeoutSeconds ?? 60) + longestWaitSeconds(state.Retry)),
    );
    expect({ LEASE_STEP_SECONDS }).toEqual({ LEASE_STEP_SECONDS: budget });
  });

  it('is not outlived by any per-account function: each Lambda timeout is inside its state timeout', () => {
    // Guards: a function whose Lambda timeout is longer than its state's: the state gives up,
    // the next one starts, and the old invocation still calls the account past the budget.
    const serverless = parse(readFileSync(SERVERLESS, 'utf8'), { logLevel: 'silent', maxAliasCount: -1 }) as {
      functions: Record<string, { timeout?: number }>;
    };
    const outliving = accountTasks()
      .map(([name, state]) => {
        const fn = state.Resource?.['Fn::GetAtt']?.[0] ?? '';
        return { name, lambda: serverless.functions[fn]?.timeout ?? 6, state: state.TimeoutSeconds ?? 60 };
      })
      .filter((t) => t.lambda > t.state);
    expect(outliving).toEqual([]);
  });
});
