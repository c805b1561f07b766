import './quiet';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { usePauseScale } from '../../commons/pause';
import { resetRuntime, useClientRetryStrategy } from '../../commons/runtime';
import { startSandbox } from '../../sandbox';
import { DEFAULT_PERFORMANCE_MODEL, scalePerformanceModel } from '../../sandbox/core/performance-model';
import { startSandboxThread } from '../../sandbox/thread';
import { FUNCTION_HANDLERS } from '../../statemachine/local/handlers';
import { runBaseline } from './baseline';
import { assumeRolesByFunction, perAccountCalls, runLevelCalls } from './calls';
import { costPhase } from './cost-phase';
import { deployedModel, modelParameters, scaleDeployedModel } from './deployed-model';
import { type TaskFootprint, taskFootprints } from './footprint';
import { round, round2, round4 } from './format';
import { idealBound } from './ideal-bound';
import { sampleMemory } from './memory';
import { type Mode, readOptions } from './options';
import { measurePackage } from './package-measure';
import { runPhase } from './phase';
import { lambdaCost, USD_PER_TRANSITION } from './pricing';
import { checkTargets, type PhaseResult, printTable } from './print';
import {
  accountsIn,
  actAsTaskRole,
  BASELINE_OU,
  benchScenario,
  FLEET_OU,
  organizationShape,
  ouId,
  sameThread,
} from './scenario';
import { functionMemorySizes } from './serverless-functions';
import { scaledRetryStrategy } from './time-scale';

/**
 * The run benchmark (`npm run bench [-- --accounts N --time-scale K --json FILE]`): one process,
 * one sandbox organization of N healthy accounts with the latency and rate-limit model on, served
 * from a worker thread so that the emulated AWS and casbridge's own code (handlers, SDK clients,
 * the interpreter) do not take turns on one core, as they never do on AWS (`--sandbox same-thread`
 * runs both on the main thread, as before, to compare), and
 *
 * 1. an onboard run of the N accounts through the local state machine (the deployed definition,
 *    the real handlers), then a reconcile run of the same N, every task invoked as deployed
 *    (./lambda-service.ts: execution environments per function, each with its own runtime and
 *    credential cache, cold starts, invoke overhead, Lambda's scaling rule, Step Functions'
 *    transition and execution-start buckets);
 * 2. a baseline: the same handlers one account at a time over a sample of other accounts (what a
 *    shell loop over the AWS CLI does), its per-account time extrapolated to N;
 * 3. the ideal bound of each phase from the model (./ideal-bound.ts);
 *
 * and, from `npm run package` (first: the cold starts take its init figures), each function's zip
 * size and module initialisation time. `--time-scale K` slows every modelled latency and divides
 * every modelled rate by K, so that this host's CPU cannot bind: the ratio to the ideal bound is
 * then the design's, not the machine's.
 * Targets (issue 14): wall ≤ 1.3× the ideal bound where the CPU does not bind; as deployed, ≤ 20
 * calls onboarding a fresh account, ≤ 12 reconciling a compliant one; and from issue 6: a
 * compliant reconcile reads only, retries < 5 % of calls, zips < 300 KB, initialisation < 150 ms.
 */

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
  const packaged = options.skipPackage ? undefined : measurePackage(options.initRuns);
  const memorySizes = functionMemorySizes();
  const baseModel = deployedModel({
    functions: Object.keys(FUNCTION_HANDLERS),
    memoryMb: memorySizes,
    ...(packaged && 'functions' in packaged && packaged.functions
      ? {
          measuredInitMs: Object.fromEntries(
            Object.entries(packaged.functions).map(([fn, f]) => [fn, f.initMs]),
          ),
        }
      : {}),
    initRuns: options.initRuns,
  });
  const models = (mode: Mode) => ({
    performance: scalePerformanceModel(DEFAULT_PERFORMANCE_MODEL, options.timeScale[mode]),
    deployed: scaleDeployedModel(baseModel, options.timeScale[mode]),
  });
  const sandboxOptions = {
    scenario: benchScenario(options.accounts, options.sample, options.organizationTrail),
    performanceModel: models('onboard').performance,
  };
  const sandbox =
    options.sandbox === 'thread'
      ? await startSandboxThread(sandboxOptions)
      : sameThread(await startSandbox(sandboxOptions));
  const memory = sampleMemory(sandbox);
  try {
    await actAsTaskRole(sandbox);
    const fleetOu = ouId(sandbox, FLEET_OU);
    const fleet = new Set(accountsIn(sandbox, FLEET_OU).map((a) => a.accountId));

    // Each phase starts cold, as the scheduled reconcile does a day after onboarding: new Lambda
    // containers, no member-role session left (they last an hour), so every account's role is
    // assumed again and counted. Each at its own time scale: the model is set anew for it.
    const retriesAt = (mode: Mode) => {
      const k = options.timeScale[mode];
      useClientRetryStrategy(k === 1 ? undefined : scaledRetryStrategy(k));
      // casbridge's own waits sized to AWS's rates (CloudTrail's write spacing) slow with them.
      usePauseScale(k === 1 ? undefined : k);
    };
    retriesAt('onboard');
    const onboard = await runPhase(
      sandbox,
      'onboard',
      fleetOu,
      fleet,
      options.concurrency,
      models('onboard').deployed,
    );
    retriesAt('reconcile');
    await sandbox.setPerformanceModel(models('reconcile').performance);
    const reconcile = await runPhase(
      sandbox,
      'reconcile',
      fleetOu,
      fleet,
      options.reconcileConcurrency,
      models('reconcile').deployed,
    );
    const phases: Record<Mode, Awaited<ReturnType<typeof runPhase>>> = { onboard, reconcile };
    // Each run-wide task again, alone in a process of its own, at time scale 1: its own memory.
    await sandbox.setPerformanceModel(DEFAULT_PERFORMANCE_MODEL);
    const footprints: Record<Mode, TaskFootprint[]> = {
      onboard: await taskFootprints(onboard.runWide, sandbox.endpoint),
      reconcile: await taskFootprints(reconcile.runWide, sandbox.endpoint),
    };
    const sampleAccounts = accountsIn(sandbox, BASELINE_OU);
    // The baseline at time scale 1: its calls are what the bound's critical path is counted from
    // (by the model, at the phase's scale), its time is extrapolated, and it needs little CPU.
    await sandbox.setPerformanceModel(DEFAULT_PERFORMANCE_MODEL);
    useClientRetryStrategy(undefined);
    usePauseScale(undefined);
    const baselineOnboard = await runBaseline(sandbox, sampleAccounts, 'onboard');
    resetRuntime();
    const baselines: Record<Mode, Awaited<ReturnType<typeof runBaseline>>> = {
      onboard: baselineOnboard,
      reconcile: await runBaseline(sandbox, sampleAccounts, 'reconcile'),
    };
    const memoryPeak = memory.stop();
    const cost = options.skipCost ? undefined : await costPhase(options.costAccounts);
    const organization = organizationShape(sandbox);

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
      concurrency: { onboard: options.concurrency, reconcile: options.reconcileConcurrency },
      timeScale: options.timeScale,
      sandbox: options.sandbox,
      organizationTrail: options.organizationTrail,
      baselineSample: options.sample,
      model: DEFAULT_PERFORMANCE_MODEL,
      deployedModel: baseModel,
      parameters: modelParameters(baseModel, DEFAULT_PERFORMANCE_MODEL),
      phases: Object.fromEntries(
        (['onboard', 'reconcile'] as const).map((mode) => {
          const phase = phases[mode];
          const baseline = baselines[mode];
          const k = options.timeScale[mode];
          const ideal = idealBound({
            model: models(mode).performance,
            deployed: models(mode).deployed,
            phaseCalls: phase.calls.filter(
              (c) => c.seq > phase.mapWindow.from && c.seq <= phase.mapWindow.to,
            ),
            sequences: baseline.sequences,
            centralAccount: sandbox.stack.accountId,
            organization,
            transitions: phase.lambda.transitionsCharged,
            childExecutions: phase.lambda.executionStartsCharged,
            environments: Object.fromEntries(
              Object.entries(phase.lambda.byFunction).map(([fn, f]) => [fn, f.environments]),
            ),
          });
          // Latency-bound one account at a time: at scale K, K times as long.
          const baselineMs = baseline.perAccountMs * options.accounts * k;
          const calls = perAccountCalls(phase.calls, fleet, sandbox.stack.accountId, phase.mapWindow);
          const lambda = lambdaCost(baseline.steps, phase.transitions.tasksPerAccount, memorySizes);
          return [
            mode,
            {
              timeScale: k,
              wallMs: round(phase.wallMs),
              wallSplit: phase.wallSplit,
              cpu: phase.cpu,
              outcomes: phase.outcomes,
              idealBound: ideal,
              ratioToIdeal: round2(phase.wallMs / ideal.boundMs),
              mapRatioToIdeal: round2(phase.wallSplit.mapMs / ideal.mapMs),
              deployed: phase.lambda,
              baseline: {
                sample: sampleAccounts.length,
                perAccountMs: round(baseline.perAccountMs),
                extrapolatedMs: round(baselineMs),
                stepRetries: baseline.retries,
                note: `one account at a time over ${sampleAccounts.length} accounts at time scale 1, extrapolated to ${options.accounts} and to the phase's scale`,
              },
              speedupOverBaseline: round2(baselineMs / phase.wallMs),
              callsPerAccount: calls,
              assumeRolesPerAccount: assumeRolesByFunction(
                phase.calls,
                sandbox.stack.accountId,
                phase.mapWindow,
                fleet.size,
              ),
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
                fastPathAccounts: phase.transitions.fastPathAccounts,
                usdPer1000Accounts: round4(phase.transitions.perAccount * 1000 * USD_PER_TRANSITION),
              },
              lambda,
              limits: phase.limits,
              runWideTasks: footprints[mode],
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
    printTable({ ...full, cpus: os.cpus().length });
    if (options.json) writeFileSync(options.json, `${JSON.stringify(full, null, 2)}\n`);
    process.stdout.write(`${JSON.stringify(full)}\n`);
  } finally {
    memory.stop();
    await sandbox.close();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
