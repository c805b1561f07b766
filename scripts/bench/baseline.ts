import type { Context } from 'aws-lambda';
import { centralCloudTrailClient } from '../../commons/clients/cloudtrail';
import { ledger } from '../../commons/clients/dynamodb';
import { snapshotOf } from '../../commons/ledger-view';
import { getRuntime } from '../../commons/runtime';
import { lambdaFunctionName, SANDBOX_STAGE } from '../../commons/stack-resources';
import type { StepResult, TargetAccount } from '../../commons/step-result';
import { findRunCoverage } from '../../functions/trail/trail-coverage';
import type { CallRecord } from '../../sandbox/core/call-log';
import type { SandboxThread } from '../../sandbox/thread';
import { FUNCTION_HANDLERS } from '../../statemachine/local/handlers';
import { isThrottled } from './calls';
import { progress, round, round2 } from './format';
import type { Mode } from './options';
import { PIPELINE } from './scenario';

/**
 * The same handlers, one account at a time and one step after the other: a shell loop over the
 * AWS CLI, without the CLI's own process start per call. Each step's calls are exact here,
 * because nothing else runs meanwhile. The steps follow the definition's route: CheckAccount
 * first, which ends a compliant account's reconcile (its output has the outcome), else the
 * pipeline from Access.
 */
export async function runBaseline(sandbox: SandboxThread, accounts: TargetAccount[], mode: Mode) {
  const runId = `bench-baseline-${mode}`;
  const sequences: AccountSequence[] = [];
  const stepCalls = new Map<string, { calls: number; read: number; write: number; ms: number }>();
  let totalMs = 0;
  let retries = 0;
  // The organization trail's coverage, proven once for the run as ResolveTargets proves it (as
  // its role), so each account's trail step costs here what it costs in the run.
  const resolver = getRuntime(lambdaFunctionName(SANDBOX_STAGE, 'resolveTargets'));
  const trailCoverage = await findRunCoverage(centralCloudTrailClient(resolver), resolver.config);
  for (const account of accounts) {
    // A reconcile item carries the account's ledger item as ResolveTargets' Scan read it (a
    // run-level call): CheckAccount then records without claiming, as in the run.
    const seen = mode === 'reconcile' ? snapshotOf(await ledger(resolver).get(account.accountId)) : undefined;
    const accountMark = sandbox.markCalls();
    const started = performance.now();
    let input: unknown = {
      runId,
      execution: runId,
      mode,
      dryRun: false,
      account,
      steps: {},
      ...(trailCoverage ? { trailCoverage } : {}),
      ...(seen ? { seen } : {}),
    };
    const functions: string[] = [];
    for (const [state, fn] of PIPELINE) {
      const mark = sandbox.markCalls();
      const stepStarted = performance.now();
      const retried = await invokeWithRetry(fn, state === 'CheckAccount' ? { check: input } : input);
      input = retried.output;
      retries += retried.retries;
      functions.push(fn);
      const calls = (await sandbox.listCalls({ sinceSeq: mark })).filter((c) => !isThrottled(c));
      const entry = stepCalls.get(state) ?? { calls: 0, read: 0, write: 0, ms: 0 };
      entry.calls += calls.length;
      entry.read += calls.filter((c) => c.readOnly).length;
      entry.write += calls.filter((c) => !c.readOnly).length;
      entry.ms += performance.now() - stepStarted;
      stepCalls.set(state, entry);
      if (state === 'CheckAccount' && (input as { outcome?: unknown }).outcome !== undefined) break;
    }
    totalMs += performance.now() - started;
    const outcome = (input as { outcome?: string; steps?: Record<string, StepResult> }).outcome;
    if (outcome !== 'SUCCEEDED') throw new Error(`baseline ${mode} of ${account.accountId}: ${outcome}`);
    sequences.push({ calls: await sandbox.listCalls({ sinceSeq: accountMark }), functions });
  }
  const n = Math.max(1, accounts.length);
  progress(`baseline ${mode}: ${accounts.length} accounts one at a time in ${(totalMs / 1000).toFixed(1)} s`);
  return {
    perAccountMs: totalMs / n,
    retries,
    sequences,
    steps: Object.fromEntries(
      [...stepCalls].map(([state, s]) => [
        state,
        {
          calls: round2(s.calls / n),
          read: round2(s.read / n),
          write: round2(s.write / n),
          ms: round(s.ms / n),
        },
      ]),
    ) as Record<string, StepFigures>,
  };
}

/** One account's calls in order, and the functions its tasks ran in, in order. */
export interface AccountSequence {
  calls: CallRecord[];
  functions: string[];
}

export interface StepFigures {
  calls: number;
  read: number;
  write: number;
  ms: number;
}

/**
 * The definition's Retry for the baseline: a retryable casbridge error (a throttle the SDK's own
 * retries did not absorb, above all) waits 2 s, 4 s, … with full jitter and runs the step again.
 */
export async function invokeWithRetry(
  functionName: string,
  input: unknown,
): Promise<{ output: unknown; retries: number }> {
  for (let attempt = 0; ; attempt++) {
    try {
      return { output: await invoke(functionName, input), retries: attempt };
    } catch (error) {
      const retryable = (error as { retryable?: unknown }).retryable === true;
      if (!retryable || attempt >= 5) throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 2_000 * 2 ** attempt));
    }
  }
}

export async function invoke(functionName: string, input: unknown): Promise<unknown> {
  const handler = FUNCTION_HANDLERS[functionName];
  if (!handler) throw new Error(`no handler ${functionName}`);
  const context = {
    // Its deployed name: the sandbox hands each function its own role by that name.
    functionName: lambdaFunctionName(SANDBOX_STAGE, functionName),
    awsRequestId: crypto.randomUUID(),
    getRemainingTimeInMillis: () => 300_000,
  } as unknown as Context;
  return handler(input as never, context);
}
