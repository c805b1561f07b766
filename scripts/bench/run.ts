import './quiet';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Context } from 'aws-lambda';
import { parse as parseYaml } from 'yaml';
import { resetRuntime, useFunctionCredentials } from '../../commons/runtime';
import { lambdaFunctionName, SANDBOX_STAGE } from '../../commons/stack-resources';
import type { StepResult, TargetAccount } from '../../commons/step-result';
import { type Sandbox, startSandbox } from '../../sandbox';
import type { CallRecord } from '../../sandbox/core/call-log';
import { DEFAULT_PERFORMANCE_MODEL, type PerformanceModel } from '../../sandbox/core/performance-model';
import type { ScenarioInput } from '../../sandbox/scenario/scenario';
import { stackEnvironment } from '../../sandbox/scenario/stack-environment';
import { type SandboxThread, sandboxFacts, startSandboxThread } from '../../sandbox/thread';
import { executeRunLocally } from '../../statemachine/local/execute-run';
import { FUNCTION_HANDLERS } from '../../statemachine/local/handlers';
import type { EventLog } from '../../statemachine/local/run-local';
import { sandboxFunctionCredentials } from '../../statemachine/local/sandbox-lambda';
import { terminal } from '../render/terminal-text';
import { measureCost } from './cost';
import { defaultScenario, monthlyCost } from './cost-model';
import { costTable, settingsTable } from './cost-table';
import { processCpuMs, threadCpuMs } from './cpu-time';

/**
 * The run benchmark (`npm run bench [-- --accounts N --json FILE]`): one process, one sandbox
 * organization of N healthy accounts with the latency and rate-limit model on, served from a
 * worker thread so that the emulated AWS and casbridge's own code (handlers, SDK clients, the
 * interpreter) do not take turns on one core, as they never do on AWS (`--sandbox same-thread`
 * runs both on the main thread, as before, to compare), and
 *
 * 1. an onboard run of the N accounts through the local state machine (the deployed definition,
 *    the real handlers), then a reconcile run of the same N;
 * 2. a baseline: the same handlers one account at a time over a sample of other accounts (what a
 *    shell loop over the AWS CLI does), its per-account time extrapolated to N;
 * 3. the ideal bound of each phase from the model: the longest per-account critical path, or the
 *    central account's rate-limited calls divided by their rates, whichever is larger;
 *
 * and, from `npm run package`, each function's zip size and module initialisation time.
 * Targets (issue 6): wall ≤ 1.5× the ideal bound; reconcile of a compliant account read calls
 * only, ≤ 10; onboarding of a fresh account ≤ 16 calls; retries < 5 % of calls; zips < 300 KB,
 * initialisation < 150 ms.
 */
const TARGET_IDEAL_RATIO = 1.5;
const TARGET_ONBOARD_CALLS = 16;
const TARGET_RECONCILE_CALLS = 10;
const TARGET_RETRY_SHARE = 0.05;
const TARGET_ZIP_BYTES = 300 * 1024;
const TARGET_INIT_MS = 150;

/** Step Functions Standard, us-east-1: $0.025 per 1,000 state transitions (retries included). */
const USD_PER_TRANSITION = 0.025 / 1000;
/** Lambda arm64 (serverless.yml's architecture), us-east-1: per GB-second and per request. */
const USD_PER_GB_SECOND = 0.0000133334;
const USD_PER_REQUEST = 0.2 / 1_000_000;

/** The error codes a throttled call answers with, across the services casbridge calls. */
const THROTTLING_CODES = new Set([
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException',
  'SlowDown',
  'RequestLimitExceeded',
  'ProvisionedThroughputExceededException',
]);

/** The per-account pipeline of the definition, in order: its Task states and their functions. */
const PIPELINE = [
  ['Access', 'access'],
  ['EnsureUser', 'user'],
  ['EnsurePolicy', 'policy'],
  ['EnsureAccessKey', 'accessKey'],
  ['EnsureTrail', 'trail'],
  ['Register', 'register'],
  ['Verify', 'verify'],
  ['RecordResult', 'recordResult'],
] as const;

const FLEET_OU = 'Fleet';
const BASELINE_OU = 'Baseline';
const PROJECT_ROOT = path.resolve(__dirname, '../..');

interface BenchOptions {
  accounts: number;
  concurrency: number;
  sample: number;
  json: string | undefined;
  skipPackage: boolean;
  initRuns: number;
  sandbox: 'thread' | 'same-thread';
  costOnly: boolean;
  costAccounts: number;
}

type Mode = 'onboard' | 'reconcile';

interface CallSplit {
  read: number;
  write: number;
  byService: Record<string, { read: number; write: number }>;
}

async function main(): Promise<void> {
  const options = readOptions();
  const benchStarted = performance.now();
  if (options.costOnly) {
    const cost = await costPhase(options.costAccounts);
    process.stdout.write(`bench took ${((performance.now() - benchStarted) / 1000).toFixed(1)} s\n`);
    if (options.json) writeFileSync(options.json, `${JSON.stringify({ bench: 'cost', cost }, null, 2)}\n`);
    process.stdout.write(`${JSON.stringify({ bench: 'cost', cost })}\n`);
    return;
  }
  const sandboxOptions = {
    scenario: benchScenario(options.accounts, options.sample),
    performanceModel: true,
  };
  const sandbox =
    options.sandbox === 'thread'
      ? await startSandboxThread(sandboxOptions)
      : sameThread(await startSandbox(sandboxOptions));
  const memory = sampleMemory(sandbox);
  try {
    await actAsTaskRole(sandbox);
    const model = sandbox.performanceModel ?? DEFAULT_PERFORMANCE_MODEL;
    const fleetOu = ouId(sandbox, FLEET_OU);
    const fleet = new Set(accountsIn(sandbox, FLEET_OU).map((a) => a.accountId));

    // Each phase starts cold, as the scheduled reconcile does a day after onboarding: new Lambda
    // containers, no member-role session left (they last an hour), so every account's role is
    // assumed again and counted.
    const onboard = await runPhase(sandbox, 'onboard', fleetOu, fleet, options.concurrency);
    resetRuntime();
    const reconcile = await runPhase(sandbox, 'reconcile', fleetOu, fleet, options.concurrency);
    const phases: Record<Mode, Awaited<ReturnType<typeof runPhase>>> = { onboard, reconcile };
    const sampleAccounts = accountsIn(sandbox, BASELINE_OU);
    resetRuntime();
    const baselineOnboard = await runBaseline(sandbox, sampleAccounts, 'onboard');
    resetRuntime();
    const baselines: Record<Mode, Awaited<ReturnType<typeof runBaseline>>> = {
      onboard: baselineOnboard,
      reconcile: await runBaseline(sandbox, sampleAccounts, 'reconcile'),
    };
    const memoryPeak = memory.stop();
    const packaged = options.skipPackage ? undefined : measurePackage(options.initRuns);
    const memorySizes = functionMemorySizes();
    const cost = await costPhase(options.costAccounts);

    const result = {
      bench: 'run',
      command: `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim(),
      machine: {
        node: process.version,
        cpus: os.cpus().length,
        cpuModel: os.cpus()[0]?.model ?? 'unknown',
        memoryGiB: Math.round(os.totalmem() / 2 ** 30),
        loadAverage: os.loadavg().map((l) => Math.round(l * 100) / 100),
      },
      accounts: options.accounts,
      concurrency: options.concurrency,
      sandbox: options.sandbox,
      baselineSample: options.sample,
      model,
      phases: Object.fromEntries(
        (['onboard', 'reconcile'] as const).map((mode) => {
          const phase = phases[mode];
          const baseline = baselines[mode];
          const ideal = idealBound(model, phase.calls, baseline.sequences, sandbox.stack.accountId);
          const baselineMs = baseline.perAccountMs * options.accounts;
          const calls = perAccountCalls(phase.calls, fleet, sandbox.stack.accountId, phase.mapWindow);
          const lambda = lambdaCost(baseline.steps, phase.transitions.tasksPerAccount, memorySizes);
          return [
            mode,
            {
              wallMs: round(phase.wallMs),
              wallSplit: phase.wallSplit,
              cpu: phase.cpu,
              outcomes: phase.outcomes,
              idealBound: ideal,
              ratioToIdeal: round2(phase.wallMs / ideal.boundMs),
              ratioToIdealWithoutListing: round2(phase.wallMs / ideal.withoutListingMs),
              baseline: {
                sample: sampleAccounts.length,
                perAccountMs: round(baseline.perAccountMs),
                extrapolatedMs: round(baselineMs),
                stepRetries: baseline.retries,
                note: `one account at a time over ${sampleAccounts.length} accounts, extrapolated to ${options.accounts}`,
              },
              speedupOverBaseline: round2(baselineMs / phase.wallMs),
              callsPerAccount: calls,
              callsPerStep: baseline.steps,
              runLevelCalls: runLevelCalls(phase.calls, sandbox.stack.accountId, phase.mapWindow),
              throttling: {
                throttledCalls: phase.throttled,
                sdkRetries: phase.throttled,
                stateRetries: phase.transitions.retries,
                totalCalls: phase.calls.length,
                retryShare: round4((phase.throttled + phase.transitions.retries) / phase.calls.length),
              },
              transitions: {
                total: phase.transitions.total,
                perAccount: round2(phase.transitions.perAccount),
                runLevel: phase.transitions.runLevel,
                usdPer1000Accounts: round4(phase.transitions.perAccount * 1000 * USD_PER_TRANSITION),
              },
              lambda,
            },
          ];
        }),
      ) as unknown as Record<Mode, PhaseResult>,
      peakMemory: memoryPeak,
      package: packaged,
      cost,
      benchWallMs: round(performance.now() - benchStarted),
    };
    const targets = checkTargets(result);
    const full = { ...result, targets };
    printTable(full);
    if (options.json) writeFileSync(options.json, `${JSON.stringify(full, null, 2)}\n`);
    process.stdout.write(`${JSON.stringify(full)}\n`);
  } finally {
    memory.stop();
    await sandbox.close();
  }
}

// ---------------------------------------------------------------- cost (issue 12 §7)

/**
 * Every kind of account-run counted from local executions (./cost.ts), then priced for 1,000 and
 * 10,000 accounts with the daily reconcile (./cost-model.ts): before the fast path (the per-step
 * pipeline for every account, a secret kept per account) and as deployed.
 */
async function costPhase(accountsPerKind: number) {
  const started = performance.now();
  const { onDemand, after, before } = await measureCost(accountsPerKind);
  progress(
    `cost: every kind of run over ${accountsPerKind} accounts, three times, in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
  const out = terminal(process.stdout);
  const figures: Record<string, unknown> = { accountsPerKind, measured: { onDemand, after, before } };
  for (const accounts of [1000, 10_000]) {
    const base = defaultScenario(accounts);
    const beforeCost = monthlyCost(before, { ...base, keepSecrets: true });
    const afterCost = monthlyCost(after, base);
    const onDemandCost = monthlyCost(onDemand, base);
    out.write(
      `\n${costTable('Before (every account through the per-step pipeline, a secret per account)', beforeCost)}\n`,
    );
    out.write(
      `\n${costTable("keyDelivery at-handoff (the check's fast path, keys minted by the run, secrets deleted once the connector uses them)", afterCost)}\n`,
    );
    out.write(
      `\n${costTable('keyDelivery on-demand, the default (keys minted at the paste by `credentials --new-key`, secrets deleted once shown)', onDemandCost)}\n`,
    );
    figures[accounts] = { before: beforeCost, atHandoff: afterCost, onDemand: onDemandCost };
  }
  out.write(`\n${settingsTable(onDemand, after, 10_000)}\n`);
  const transitions = (m: typeof onDemand) =>
    Object.entries(m.kinds)
      .map(([kind, k]) => `${kind} ${k.transitions}`)
      .join(', ');
  out.write(`\ntransitions per account-run, on-demand: ${transitions(onDemand)}\n`);
  out.write(
    `transitions per account-run, at-handoff (after / before): ${Object.entries(after.kinds)
      .map(
        ([kind, k]) =>
          `${kind} ${k.transitions} / ${before.kinds[kind as keyof typeof before.kinds]?.transitions}`,
      )
      .join(', ')}\n`,
  );
  return figures;
}

// ---------------------------------------------------------------- the organization and the run

/**
 * N healthy accounts in one OU the runs target, and the baseline's sample in another, so the
 * baseline starts from fresh accounts too. No faults: every throttle met is the rate model's.
 */
function benchScenario(accounts: number, sample: number): ScenarioInput {
  const member = (prefix: number, i: number, ou: string) => ({
    id: String(prefix * 100_000_000_000 + i),
    name: `${ou.toLowerCase()}-${i}`,
    ou,
  });
  return {
    seed: 20261124,
    organization: { organizationTrail: false },
    organizationalUnits: [FLEET_OU, BASELINE_OU],
    accounts: [
      ...Array.from({ length: accounts }, (_, i) => member(3, i + 1, FLEET_OU)),
      ...Array.from({ length: sample }, (_, i) => member(4, i + 1, BASELINE_OU)),
    ],
  };
}

/**
 * What a deployed task sees: the stack's environment, the sandbox as AWS, and its function's own
 * role, which the sandbox hands over as Lambda would. The process's own identity (LoadTargets,
 * the report read) is the administrator's, as for `casbridge run --local`.
 */
async function actAsTaskRole(sandbox: SandboxThread): Promise<void> {
  Object.assign(process.env, {
    ...stackEnvironment(sandbox.stack),
    AWS_ENDPOINT_URL: sandbox.endpoint,
    AWS_ACCESS_KEY_ID: sandbox.admin.accessKeyId,
    AWS_SECRET_ACCESS_KEY: sandbox.admin.secretAccessKey,
  });
  delete process.env.AWS_SESSION_TOKEN;
  useFunctionCredentials(sandboxFunctionCredentials(sandbox.endpoint));
}

function ouId(sandbox: SandboxThread, name: string): string {
  const ou = [...sandbox.organization.ous.values()].find((o) => o.name === name);
  if (!ou) throw new Error(`no OU ${name} in the bench organization`);
  return ou.id;
}

function accountsIn(sandbox: SandboxThread, ouName: string): TargetAccount[] {
  const id = ouId(sandbox, ouName);
  return [...sandbox.organization.accounts.values()]
    .filter((a) => a.parentId === id)
    .map((a) => ({
      accountId: a.id,
      name: a.name,
      ou: ouName,
      state: a.state,
      joinedMethod: a.joinedMethod,
      joinedTimestamp: a.joinedTimestamp.toISOString(),
    }));
}

let executions = 0;

/** One run of the state machine over the fleet OU, with every call and event it caused. */
async function runPhase(
  sandbox: SandboxThread,
  mode: Mode,
  fleetOu: string,
  fleet: Set<string>,
  concurrency: number,
) {
  const mark = sandbox.markCalls();
  // Calls by the central account between these marks are the accounts' own; outside, the run's.
  const mapWindow = { from: mark, to: Number.POSITIVE_INFINITY };
  const started = performance.now();
  const mapTimes = { enteredMs: started, exitedMs: Number.NaN };
  const cpuBefore = {
    process: processCpuMs(),
    mainThread: threadCpuMs(),
    sandboxThread: sandboxCpuMs(sandbox),
  };
  const outcome = await executeRunLocally(
    { mode, organizationalUnits: [fleetOu], maxConcurrency: concurrency },
    {
      executionName: `bench-${mode}-${++executions}`,
      onEvent: (event) => {
        if (!('state' in event) || event.state.name !== 'ProcessAccounts') return;
        if (event.type === 'StateEntered') {
          mapWindow.from = sandbox.markCalls();
          mapTimes.enteredMs = performance.now();
        }
        if (event.type === 'StateExited') {
          mapWindow.to = sandbox.markCalls();
          mapTimes.exitedMs = performance.now();
        }
      },
    },
  );
  const wallMs = performance.now() - started;
  const cpuMs = {
    process: processCpuMs() - cpuBefore.process,
    mainThread: difference(threadCpuMs(), cpuBefore.mainThread),
    sandboxThread: difference(sandboxCpuMs(sandbox), cpuBefore.sandboxThread),
  };
  progress(`${mode}: ${fleet.size} accounts in ${(wallMs / 1000).toFixed(1)} s`);
  if (!outcome.report) throw new Error(`the ${mode} run did not start: ${outcome.startError?.message}`);
  const calls = await sandbox.listCalls({ sinceSeq: mark });
  const outcomes: Record<string, number> = {};
  for (const account of outcome.report.accounts) {
    if (!fleet.has(account.accountId)) continue;
    outcomes[account.outcome] = (outcomes[account.outcome] ?? 0) + 1;
  }
  const exitedMs = Number.isNaN(mapTimes.exitedMs) ? started + wallMs : mapTimes.exitedMs;
  return {
    wallMs,
    // The run's own work around the fan-out: ResolveTargets (the Organizations walk, page after
    // page), LoadTargets, then WriteReport. The ideal bound does not count it.
    wallSplit: {
      beforeMapMs: round(mapTimes.enteredMs - started),
      mapMs: round(exitedMs - mapTimes.enteredMs),
      afterMapMs: round(started + wallMs - exitedMs),
    },
    cpu: cpuFigures(cpuMs, calls.length, wallMs),
    calls,
    mapWindow,
    outcomes,
    throttled: calls.filter(isThrottled).length,
    transitions: countTransitions(outcome.execution.events, fleet.size),
  };
}

/**
 * Where the phase's CPU went: the whole process (every thread, V8's GC helpers included), the
 * main thread (handlers, SDK clients, the interpreter and, with `--sandbox same-thread`, the
 * sandbox) and the sandbox's thread. CPU per call and calls per second are over every call the
 * sandbox logged in the phase, throttled ones included. A thread busy for nearly the whole wall
 * time means the phase waited for that thread's CPU, not for the model's latency and rates.
 */
function cpuFigures(
  cpuMs: { process: number; mainThread: number | undefined; sandboxThread: number | undefined },
  calls: number,
  wallMs: number,
) {
  return {
    processMs: round(cpuMs.process),
    mainThreadMs: cpuMs.mainThread === undefined ? undefined : round(cpuMs.mainThread),
    sandboxThreadMs: cpuMs.sandboxThread === undefined ? undefined : round(cpuMs.sandboxThread),
    processMsPerCall: round2(cpuMs.process / Math.max(1, calls)),
    callsPerSecond: round(calls / (wallMs / 1000)),
    mainThreadBusy: cpuMs.mainThread === undefined ? undefined : round2(cpuMs.mainThread / wallMs),
    sandboxThreadBusy: cpuMs.sandboxThread === undefined ? undefined : round2(cpuMs.sandboxThread / wallMs),
  };
}

/**
 * Transitions as Step Functions Standard bills them: one per state entered, and one per retry.
 * States entered inside the map (an `index` names the iteration) are the accounts'; the rest are
 * the run's. LoadTargets exists only in the local adaptation (on AWS the Distributed Map's
 * ItemReader reads the targets) and is not counted.
 */
function countTransitions(events: EventLog[], accounts: number) {
  let perAccountStates = 0;
  let runLevel = 0;
  let retries = 0;
  let tasks = 0;
  for (const event of events) {
    if (event.type !== 'StateEntered' && event.type !== 'StateRetried') continue;
    if (event.state.name === 'LoadTargets') continue;
    if (event.type === 'StateRetried') retries++;
    if (event.index !== undefined) {
      perAccountStates++;
      if (event.state.type === 'Task') tasks++;
    } else runLevel++;
  }
  return {
    total: perAccountStates + runLevel,
    perAccount: perAccountStates / accounts,
    tasksPerAccount: tasks / accounts,
    runLevel,
    retries,
  };
}

// ---------------------------------------------------------------- the baseline

/**
 * The same handlers, one account at a time and one step after the other: a shell loop over the
 * AWS CLI, without the CLI's own process start per call. Each step's calls are exact here,
 * because nothing else runs meanwhile.
 */
async function runBaseline(sandbox: SandboxThread, accounts: TargetAccount[], mode: Mode) {
  const runId = `bench-baseline-${mode}`;
  const sequences: CallRecord[][] = [];
  const stepCalls = new Map<string, { calls: number; read: number; write: number; ms: number }>();
  let totalMs = 0;
  let retries = 0;
  for (const account of accounts) {
    const accountMark = sandbox.markCalls();
    const started = performance.now();
    let input: unknown = { runId, execution: runId, mode, dryRun: false, account, steps: {} };
    for (const [state, fn] of PIPELINE) {
      const mark = sandbox.markCalls();
      const stepStarted = performance.now();
      const retried = await invokeWithRetry(fn, input);
      input = retried.output;
      retries += retried.retries;
      const calls = (await sandbox.listCalls({ sinceSeq: mark })).filter((c) => !isThrottled(c));
      const entry = stepCalls.get(state) ?? { calls: 0, read: 0, write: 0, ms: 0 };
      entry.calls += calls.length;
      entry.read += calls.filter((c) => c.readOnly).length;
      entry.write += calls.filter((c) => !c.readOnly).length;
      entry.ms += performance.now() - stepStarted;
      stepCalls.set(state, entry);
    }
    totalMs += performance.now() - started;
    const outcome = (input as { outcome?: string; steps?: Record<string, StepResult> }).outcome;
    if (outcome !== 'SUCCEEDED') throw new Error(`baseline ${mode} of ${account.accountId}: ${outcome}`);
    sequences.push(await sandbox.listCalls({ sinceSeq: accountMark }));
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

interface StepFigures {
  calls: number;
  read: number;
  write: number;
  ms: number;
}

/**
 * The definition's Retry for the baseline: a retryable casbridge error (a throttle the SDK's own
 * retries did not absorb, above all) waits 2 s, 4 s, … with full jitter and runs the step again.
 */
async function invokeWithRetry(
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

async function invoke(functionName: string, input: unknown): Promise<unknown> {
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

// ---------------------------------------------------------------- the ideal bound

/**
 * The fastest the phase could go under the model with unlimited concurrency, whichever is larger:
 * - the longest per-account critical path: the account's calls in order (from the baseline), each
 *   at its service's mean latency, waiting where the account's own token bucket is empty (two
 *   CloudTrail writes are a second apart) — after the account is known: the last account is
 *   listed only when Organizations has returned every page before it, and pages come one after
 *   another (each needs the previous one's NextToken). The bench targets one OU, so the phase's
 *   ListAccountsForParent pages are one such chain, each at Organizations' mean latency;
 * - the busiest central-account bucket: its calls in the phase beyond the burst, over its rate
 *   (AssumeRole, Secrets Manager writes, Organizations pages all come from the central account).
 * `withoutListingMs` is the same bound without the listing chain, as issue 6 first worded it.
 */
function idealBound(
  model: PerformanceModel,
  phaseCalls: CallRecord[],
  sequences: CallRecord[][],
  centralAccount: string,
) {
  let criticalPathMs = 0;
  for (const sequence of sequences) {
    let t = 0;
    const buckets = new Map<string, { tokens: number; at: number }>();
    for (const call of sequence) {
      if (isThrottled(call)) continue;
      const spec = model.rates[call.service]?.[call.readOnly ? 'read' : 'write'];
      if (spec && call.account !== centralAccount) {
        const key = `${call.service}/${call.readOnly}`;
        const bucket = buckets.get(key) ?? { tokens: spec.burst, at: t };
        bucket.tokens = Math.min(spec.burst, bucket.tokens + ((t - bucket.at) / 1000) * spec.perSecond);
        if (bucket.tokens < 1) {
          t += ((1 - bucket.tokens) / spec.perSecond) * 1000;
          bucket.tokens = 1;
        }
        bucket.tokens -= 1;
        bucket.at = t;
        buckets.set(key, bucket);
      }
      t += model.latency[call.service]?.meanMs ?? 0;
    }
    criticalPathMs = Math.max(criticalPathMs, t);
  }
  const central = new Map<string, number>();
  for (const call of phaseCalls) {
    if (call.account !== centralAccount || isThrottled(call)) continue;
    const key = `${call.service}:${call.readOnly ? 'read' : 'write'}`;
    central.set(key, (central.get(key) ?? 0) + 1);
  }
  const centralBuckets = [...central]
    .map(([key, calls]) => {
      const [service, kind] = key.split(':') as [string, 'read' | 'write'];
      const spec = model.rates[service]?.[kind];
      return {
        bucket: key,
        calls,
        perSecond: spec?.perSecond,
        ms: spec ? round((Math.max(0, calls - spec.burst) / spec.perSecond) * 1000) : 0,
      };
    })
    .filter((b) => b.perSecond !== undefined)
    .sort((a, b) => b.ms - a.ms);
  const centralMs = centralBuckets[0]?.ms ?? 0;
  const listingPages = phaseCalls.filter(
    (c) => c.account === centralAccount && c.operation === 'ListAccountsForParent' && !isThrottled(c),
  ).length;
  const listingChainMs = listingPages * (model.latency.organizations?.meanMs ?? 0);
  const pathMs = listingChainMs + criticalPathMs;
  return {
    boundMs: round(Math.max(pathMs, centralMs)),
    bindingConstraint:
      pathMs >= centralMs ? 'listing chain + per-account critical path' : centralBuckets[0]?.bucket,
    listingPages,
    listingChainMs: round(listingChainMs),
    criticalPathMs: round(criticalPathMs),
    centralBuckets,
    withoutListingMs: round(Math.max(criticalPathMs, centralMs)),
  };
}

// ---------------------------------------------------------------- calls, cost

/**
 * Calls per account: every call made in a fleet account, plus the central account's calls made
 * while the map ran (AssumeRole, Secrets Manager, SNS, the ledger), spread evenly over the
 * accounts; the central calls before and after the map (ResolveTargets, WriteReport) are the
 * run's, reported apart.
 */
function perAccountCalls(
  calls: CallRecord[],
  fleet: Set<string>,
  central: string,
  window: { from: number; to: number },
) {
  const all: CallSplit = { read: 0, write: 0, byService: {} };
  for (const call of calls) {
    const inFleet = call.account !== undefined && fleet.has(call.account);
    const centralDuringMap = call.account === central && call.seq > window.from && call.seq <= window.to;
    if (!inFleet && !centralDuringMap) continue;
    if (isThrottled(call)) continue;
    const kind = call.readOnly ? 'read' : 'write';
    all[kind]++;
    const service = all.byService[call.service] ?? { read: 0, write: 0 };
    service[kind]++;
    all.byService[call.service] = service;
  }
  const n = fleet.size;
  const per = (v: number) => round2(v / n);
  const ledger = all.byService.dynamodb ?? { read: 0, write: 0 };
  return {
    total: per(all.read + all.write),
    read: per(all.read),
    write: per(all.write),
    withoutLedger: {
      total: per(all.read + all.write - ledger.read - ledger.write),
      read: per(all.read - ledger.read),
      write: per(all.write - ledger.write),
    },
    byService: Object.fromEntries(
      Object.entries(all.byService)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([service, s]) => [service, { read: per(s.read), write: per(s.write) }]),
    ),
  };
}

function runLevelCalls(calls: CallRecord[], central: string, window: { from: number; to: number }) {
  const counts: Record<string, number> = {};
  for (const call of calls) {
    if (call.account !== central || (call.seq > window.from && call.seq <= window.to)) continue;
    const key = `${call.service}:${call.operation}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

/**
 * Lambda cost per 1,000 accounts: each step's invocation at its baseline duration (one account at
 * a time, so the duration is the calls' latency and the handler's CPU, not this machine's
 * contention) and its configured memory, plus the request charge.
 */
function lambdaCost(
  steps: Record<string, StepFigures>,
  invocationsPerAccount: number,
  memoryByFunction: Record<string, number>,
) {
  let gbSeconds = 0;
  let invocations = 0;
  for (const [state, fn] of PIPELINE) {
    const step = steps[state];
    if (!step) continue;
    invocations++;
    gbSeconds += (Math.ceil(step.ms) / 1000) * ((memoryByFunction[fn] ?? 128) / 1024);
  }
  return {
    invocationsPerAccount: round2(invocationsPerAccount),
    gbSecondsPerAccount: round4(gbSeconds),
    usdPer1000Accounts: round4((gbSeconds * USD_PER_GB_SECOND + invocations * USD_PER_REQUEST) * 1000),
  };
}

/** memorySize per function from serverless.yml (the provider's default where a function sets none). */
function functionMemorySizes(): Record<string, number> {
  const file = path.join(PROJECT_ROOT, 'serverless.yml');
  if (!existsSync(file)) return {};
  const doc = parseYaml(readFileSync(file, 'utf8'), { logLevel: 'silent', customTags: cfnTags() }) as {
    provider?: { memorySize?: number };
    functions?: Record<string, { memorySize?: number }>;
  };
  const fallback = doc.provider?.memorySize ?? 1024;
  return Object.fromEntries(
    Object.entries(doc.functions ?? {}).map(([name, f]) => [name, f.memorySize ?? fallback]),
  );
}

/** CloudFormation short-form tags, read as plain values: only memory sizes are wanted here. */
function cfnTags() {
  return [
    '!Sub',
    '!GetAtt',
    '!Ref',
    '!If',
    '!Equals',
    '!Not',
    '!Join',
    '!Select',
    '!Split',
    '!And',
    '!Or',
  ].flatMap((tag) =>
    (['scalar', 'seq', 'map'] as const).map((collection) => ({
      tag,
      collection,
      resolve: (value: unknown) => value,
    })),
  ) as never;
}

// ---------------------------------------------------------------- the package

/**
 * `npm run package`, then each function's zip: its size, and the time a fresh Node process takes
 * to load its bundle (require of the handler module: what a cold start pays before the handler
 * runs), the median of several processes.
 */
function measurePackage(runs: number) {
  const packaged = spawnSync('npm', ['run', 'package'], { cwd: PROJECT_ROOT, encoding: 'utf8' });
  if (packaged.status !== 0) {
    return {
      error: `npm run package failed: ${(packaged.stderr || packaged.stdout).trim().split('\n').pop()}`,
    };
  }
  const dir = path.join(PROJECT_ROOT, '.serverless');
  const handlers = functionHandlers();
  const functions: Record<
    string,
    { zipBytes: number; bundleBytes: number; initMs: number; initCpuMs: number; initRunsMs: number[] }
  > = {};
  for (const zip of readdirSync(dir).filter((f) => f.endsWith('.zip'))) {
    const name = zip.replace(/\.zip$/, '');
    const handler = handlers[name];
    if (!handler) continue;
    const unpacked = mkdtempSync(path.join(os.tmpdir(), `casbridge-${name}-`));
    try {
      const unzip = spawnSync('unzip', ['-q', path.join(dir, zip), '-d', unpacked]);
      if (unzip.status !== 0) throw new Error(`unzip ${zip} failed`);
      const module = path.join(unpacked, `${handler.replace(/\.[^.]+$/, '')}.js`);
      const initRuns = Array.from({ length: runs }, () => initTime(module));
      functions[name] = {
        zipBytes: statSync(path.join(dir, zip)).size,
        bundleBytes: statSync(module).size,
        initMs: round(medianOf(initRuns.map((r) => r.wallMs))),
        initCpuMs: round(medianOf(initRuns.map((r) => r.cpuMs))),
        initRunsMs: initRuns.map((r) => round(r.wallMs)),
      };
    } finally {
      rmSync(unpacked, { recursive: true, force: true });
    }
  }
  return { functions };
}

function functionHandlers(): Record<string, string> {
  const doc = parseYaml(readFileSync(path.join(PROJECT_ROOT, 'serverless.yml'), 'utf8'), {
    logLevel: 'silent',
    customTags: cfnTags(),
  }) as { functions?: Record<string, { handler?: string }> };
  return Object.fromEntries(
    Object.entries(doc.functions ?? {}).flatMap(([name, f]) => (f.handler ? [[name, f.handler]] : [])),
  );
}

/**
 * Wall time of the require in a fresh process, and the CPU time it took: on a loaded machine the
 * process waits for a core, and the CPU figure is the one that does not depend on the neighbours.
 */
function initTime(module: string): { wallMs: number; cpuMs: number } {
  const script = `const c=process.cpuUsage();const t=process.hrtime.bigint();require(${JSON.stringify(module)});const u=process.cpuUsage(c);process.stdout.write(Number(process.hrtime.bigint()-t)/1e6+' '+(u.user+u.system)/1000)`;
  const out = spawnSync(process.execPath, ['-e', script], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '', AWS_REGION: 'us-east-1' },
  });
  const [wallMs, cpuMs] = out.stdout.split(' ').map(Number);
  if (out.status !== 0 || !Number.isFinite(wallMs) || !Number.isFinite(cpuMs))
    throw new Error(`loading ${module} failed: ${out.stderr}`);
  return { wallMs: wallMs as number, cpuMs: cpuMs as number };
}

// ---------------------------------------------------------------- targets and output

interface PhaseResult {
  wallMs: number;
  wallSplit: { beforeMapMs: number; mapMs: number; afterMapMs: number };
  cpu: ReturnType<typeof cpuFigures>;
  outcomes: Record<string, number>;
  idealBound: ReturnType<typeof idealBound>;
  ratioToIdeal: number;
  ratioToIdealWithoutListing: number;
  baseline: { sample: number; perAccountMs: number; extrapolatedMs: number; note: string };
  speedupOverBaseline: number;
  callsPerAccount: ReturnType<typeof perAccountCalls>;
  callsPerStep: Record<string, StepFigures>;
  runLevelCalls: Record<string, number>;
  throttling: {
    throttledCalls: number;
    sdkRetries: number;
    stateRetries: number;
    totalCalls: number;
    retryShare: number;
  };
  transitions: { total: number; perAccount: number; runLevel: number; usdPer1000Accounts: number };
  lambda: ReturnType<typeof lambdaCost>;
}

function checkTargets(result: {
  phases: Record<Mode, PhaseResult>;
  package: ReturnType<typeof measurePackage> | undefined;
}) {
  const { onboard, reconcile } = result.phases;
  const functions = result.package && 'functions' in result.package ? result.package.functions : undefined;
  return {
    onboardWithin1_5xIdeal: onboard.ratioToIdeal <= TARGET_IDEAL_RATIO,
    reconcileWithin1_5xIdeal: reconcile.ratioToIdeal <= TARGET_IDEAL_RATIO,
    onboardCallsAtMost16: onboard.callsPerAccount.total <= TARGET_ONBOARD_CALLS,
    reconcileCallsAtMost10: reconcile.callsPerAccount.total <= TARGET_RECONCILE_CALLS,
    reconcileReadOnlyWithoutLedger: reconcile.callsPerAccount.withoutLedger.write === 0,
    retriesUnder5Percent:
      onboard.throttling.retryShare < TARGET_RETRY_SHARE &&
      reconcile.throttling.retryShare < TARGET_RETRY_SHARE,
    ...(functions
      ? {
          zipsUnder300KB: Object.values(functions).every((f) => f.zipBytes < TARGET_ZIP_BYTES),
          initUnder150ms: Object.values(functions).every((f) => f.initMs < TARGET_INIT_MS),
        }
      : {}),
  };
}

function printTable(result: {
  accounts: number;
  concurrency: number;
  sandbox: BenchOptions['sandbox'];
  phases: Record<Mode, PhaseResult>;
  peakMemory: ReturnType<ReturnType<typeof sampleMemory>['stop']>;
  package: ReturnType<typeof measurePackage> | undefined;
  targets: Record<string, boolean>;
  benchWallMs: number;
}): void {
  const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  const rows: [string, ...string[]][] = [['', 'onboard', 'reconcile']];
  const both = (f: (p: PhaseResult) => string): [string, string] => [
    f(result.phases.onboard),
    f(result.phases.reconcile),
  ];
  rows.push(
    [
      'outcomes',
      ...both((p) =>
        Object.entries(p.outcomes)
          .map(([k, v]) => `${v} ${k}`)
          .join(', '),
      ),
    ],
    ['wall time', ...both((p) => s(p.wallMs))],
    [
      '  before the map / map / after',
      ...both(
        (p) => `${s(p.wallSplit.beforeMapMs)} / ${s(p.wallSplit.mapMs)} / ${s(p.wallSplit.afterMapMs)}`,
      ),
    ],
    [
      'CPU: process (main thread / sandbox thread)',
      ...both(
        (p) =>
          `${s(p.cpu.processMs)} (${p.cpu.mainThreadMs === undefined ? '-' : s(p.cpu.mainThreadMs)} / ${p.cpu.sandboxThreadMs === undefined ? '-' : s(p.cpu.sandboxThreadMs)})`,
      ),
    ],
    [
      '  busy share of the wall time (main / sandbox)',
      ...both((p) => `${percent(p.cpu.mainThreadBusy)} / ${percent(p.cpu.sandboxThreadBusy)}`),
    ],
    [
      '  calls/s, process CPU per call',
      ...both((p) => `${p.cpu.callsPerSecond}/s, ${p.cpu.processMsPerCall} ms`),
    ],
    ['ideal bound', ...both((p) => `${s(p.idealBound.boundMs)} (${p.idealBound.bindingConstraint})`)],
    [
      '  critical path / busiest central bucket',
      ...both(
        (p) =>
          `${s(p.idealBound.criticalPathMs)} / ${p.idealBound.centralBuckets[0] ? `${p.idealBound.centralBuckets[0].bucket} ${s(p.idealBound.centralBuckets[0].ms)}` : '-'}`,
      ),
    ],
    [
      '  listing chain (Organizations pages)',
      ...both((p) => `${s(p.idealBound.listingChainMs)} (${p.idealBound.listingPages} pages)`),
    ],
    ['ratio to ideal (target ≤ 1.5)', ...both((p) => `${p.ratioToIdeal}×`)],
    [
      '  ratio to the bound without the listing chain',
      ...both((p) => `${p.ratioToIdealWithoutListing}× (${s(p.idealBound.withoutListingMs)})`),
    ],
    [
      'baseline, extrapolated',
      ...both((p) => `${s(p.baseline.extrapolatedMs)} (${s(p.baseline.perAccountMs)}/account)`),
    ],
    ['speed-up over baseline', ...both((p) => `${p.speedupOverBaseline}×`)],
    [
      'calls per account (read/write)',
      ...both((p) => `${p.callsPerAccount.total} (${p.callsPerAccount.read}/${p.callsPerAccount.write})`),
    ],
    [
      '  without the ledger',
      ...both(
        (p) =>
          `${p.callsPerAccount.withoutLedger.total} (${p.callsPerAccount.withoutLedger.read}/${p.callsPerAccount.withoutLedger.write})`,
      ),
    ],
  );
  const services = [
    ...new Set([
      ...Object.keys(result.phases.onboard.callsPerAccount.byService),
      ...Object.keys(result.phases.reconcile.callsPerAccount.byService),
    ]),
  ].sort();
  for (const service of services) {
    rows.push([
      `  ${service} (read/write)`,
      ...both((p) => {
        const c = p.callsPerAccount.byService[service];
        return c ? `${c.read}/${c.write}` : '-';
      }),
    ]);
  }
  for (const [state] of PIPELINE) {
    rows.push([
      `  step ${state} (calls, ms)`,
      ...both((p) => {
        const c = p.callsPerStep[state];
        return c ? `${c.calls} (${c.read}r/${c.write}w), ${c.ms} ms` : '-';
      }),
    ]);
  }
  rows.push(
    [
      'throttled calls / state retries',
      ...both(
        (p) =>
          `${p.throttling.throttledCalls} / ${p.throttling.stateRetries} of ${p.throttling.totalCalls} calls (${(p.throttling.retryShare * 100).toFixed(2)} %)`,
      ),
    ],
    [
      'transitions per account',
      ...both((p) => `${p.transitions.perAccount} (run: ${p.transitions.runLevel})`),
    ],
    ['Step Functions per 1,000 accounts', ...both((p) => `$${p.transitions.usdPer1000Accounts.toFixed(3)}`)],
    [
      'Lambda per 1,000 accounts',
      ...both(
        (p) => `$${p.lambda.usdPer1000Accounts.toFixed(4)} (${p.lambda.gbSecondsPerAccount} GB-s/account)`,
      ),
    ],
  );
  const widths = [0, 1, 2].map((i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => `${r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ')}\n`.trimEnd();
  process.stdout.write(
    `${result.accounts} accounts, concurrency ${result.concurrency}, sandbox in ${result.sandbox === 'thread' ? 'a worker thread' : 'the main thread'}\n`,
  );
  for (const r of rows) process.stdout.write(`${line(r)}\n`);
  process.stdout.write(
    `peak memory: ${result.peakMemory.rssMiB} MiB RSS, ${result.peakMemory.heapUsedMiB} MiB heap${
      result.peakMemory.sandboxThreadHeapMiB === undefined
        ? ''
        : ` (main thread ${result.peakMemory.mainThreadHeapMiB}, sandbox thread ${result.peakMemory.sandboxThreadHeapMiB})`
    }\n`,
  );
  const pkg = result.package;
  if (pkg && 'functions' in pkg && pkg.functions) {
    for (const [name, f] of Object.entries(pkg.functions))
      process.stdout.write(
        `${name.padEnd(16)} zip ${(f.zipBytes / 1024).toFixed(0)} KB (bundle ${(f.bundleBytes / 1024).toFixed(0)} KB), init ${f.initMs} ms wall, ${f.initCpuMs} ms CPU\n`,
      );
  } else if (pkg) process.stdout.write(`package: ${pkg.error}\n`);
  for (const [name, ok] of Object.entries(result.targets))
    process.stdout.write(`target ${name}: ${ok ? 'met' : 'MISSED'}\n`);
  process.stdout.write(`bench took ${s(result.benchWallMs)}\n`);
}

// ---------------------------------------------------------------- helpers

/**
 * A sandbox started in this thread, seen through the worker thread's interface: how the benchmark
 * ran before the sandbox had a thread of its own (`--sandbox same-thread`), kept to compare.
 */
function sameThread(sandbox: Sandbox): SandboxThread {
  return {
    ...sandboxFacts(sandbox),
    osThreadId: undefined,
    clientConfig: sandbox.clientConfig,
    markCalls: () => sandbox.world.callLog.mark(),
    listCalls: async (filter) => sandbox.world.callLog.list(filter),
    // This thread's heap holds the sandbox too: nothing to add.
    heapUsed: async () => undefined,
    close: () => sandbox.close(),
  };
}

function sandboxCpuMs(sandbox: SandboxThread): number | undefined {
  return sandbox.osThreadId === undefined ? undefined : threadCpuMs(sandbox.osThreadId);
}

function difference(after: number | undefined, before: number | undefined): number | undefined {
  return after === undefined || before === undefined ? undefined : after - before;
}

function progress(message: string): void {
  process.stderr.write(`bench: ${message}\n`);
}

function isThrottled(call: CallRecord): boolean {
  return call.errorCode !== undefined && THROTTLING_CODES.has(call.errorCode);
}

/**
 * The process's peak RSS, and the peak V8 heap in use: this thread's and the sandbox thread's (each
 * isolate has its own heap), sampled together every 250 ms.
 */
function sampleMemory(sandbox: SandboxThread) {
  let rss = 0;
  let heap = { total: 0, main: 0, sandbox: 0 };
  let sandboxHeap = 0;
  const sample = () => {
    const m = process.memoryUsage();
    rss = Math.max(rss, m.rss);
    if (m.heapUsed + sandboxHeap > heap.total)
      heap = { total: m.heapUsed + sandboxHeap, main: m.heapUsed, sandbox: sandboxHeap };
    void sandbox.heapUsed().then((used) => {
      sandboxHeap = used ?? 0;
    }, ignore);
  };
  const timer = setInterval(sample, 250);
  timer.unref();
  const mib = (bytes: number) => Math.round(bytes / 2 ** 20);
  return {
    stop: () => {
      sample();
      clearInterval(timer);
      const maxRss = process.resourceUsage().maxRSS * 1024;
      return {
        rssMiB: mib(Math.max(rss, maxRss)),
        heapUsedMiB: mib(heap.total),
        mainThreadHeapMiB: mib(heap.main),
        sandboxThreadHeapMiB: sandbox.osThreadId === undefined ? undefined : mib(heap.sandbox),
      };
    },
  };
}

function ignore(): void {}

function readOptions(): BenchOptions {
  const { values } = parseArgs({
    options: {
      accounts: { type: 'string', default: '1000' },
      concurrency: { type: 'string', default: '150' },
      sample: { type: 'string', default: '10' },
      json: { type: 'string' },
      'skip-package': { type: 'boolean', default: false },
      'init-runs': { type: 'string', default: '5' },
      sandbox: { type: 'string', default: 'thread' },
      'cost-only': { type: 'boolean', default: false },
      'cost-accounts': { type: 'string', default: '3' },
    },
    strict: true,
  });
  const positive = (name: 'accounts' | 'concurrency' | 'sample' | 'init-runs' | 'cost-accounts'): number => {
    const value = Number(values[name]);
    if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} must be a positive integer`);
    return value;
  };
  const concurrency = positive('concurrency');
  if (concurrency > 1000) throw new Error('--concurrency is at most 1000 (the run input allows no more)');
  if (values.sandbox !== 'thread' && values.sandbox !== 'same-thread')
    throw new Error('--sandbox is thread or same-thread');
  return {
    accounts: positive('accounts'),
    concurrency,
    sample: positive('sample'),
    json: values.json,
    skipPackage: values['skip-package'] ?? false,
    initRuns: positive('init-runs'),
    sandbox: values.sandbox,
    costOnly: values['cost-only'] ?? false,
    costAccounts: positive('cost-accounts'),
  };
}

function medianOf(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

function percent(share: number | undefined): string {
  return share === undefined ? '-' : `${Math.round(share * 100)} %`;
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}

function round2(v: number): number {
  return Math.round(v * 100) / 100;
}

function round4(v: number): number {
  return Math.round(v * 10000) / 10000;
}

main().catch((error: unknown) => {
  process.stderr.write(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
