import type { SandboxThread } from '../../sandbox/thread';
import { loadDefinition } from '../../statemachine/local/definition';
import { executeRunLocally } from '../../statemachine/local/execute-run';
import type { EventLog } from '../../statemachine/local/run-local';
import { isThrottled } from './calls';
import { processCpuMs, threadCpuMs } from './cpu-time';
import type { DeployedModel } from './deployed-model';
import { executionLimits } from './footprint';
import { difference, progress, round, round2 } from './format';
import { DeployedLambda } from './lambda-service';
import type { Mode } from './options';
import { sandboxCpuMs } from './scenario';
import { scaleDefinition } from './time-scale';

let executions = 0;

/**
 * One run of the state machine over the fleet OU, with every call and event it caused, its tasks
 * invoked through the deployed model (./lambda-service.ts): new execution environments, cold, as
 * the daily reconcile finds them a day after onboarding.
 */
export async function runPhase(
  sandbox: SandboxThread,
  mode: Mode,
  fleetOu: string,
  fleet: Set<string>,
  concurrency: number,
  deployed: DeployedModel,
) {
  const lambda = new DeployedLambda(deployed);
  const uninstall = lambda.install();
  const executionName = `bench-${mode}-${++executions}`;
  const mark = sandbox.markCalls();
  // Calls by the central account between these marks are the accounts' own; outside, the run's:
  // from the first child execution's start to the last one's end, so the map's own ItemReader
  // read before it and ResultWriter writes after it count as the run's (as account-kinds.ts).
  const mapWindow = { from: mark, to: Number.POSITIVE_INFINITY };
  let running = 0;
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
      executionName,
      definition: scaleDefinition(loadDefinition(), deployed.timeScale),
      onEvent: (event) => {
        lambda.onEvent(executionName, event);
        if (
          event.type === 'MapIterationStarted' &&
          running++ === 0 &&
          mapWindow.to === Number.POSITIVE_INFINITY
        )
          mapWindow.from = sandbox.markCalls();
        if (
          (event.type === 'MapIterationSucceeded' || event.type === 'MapIterationFailed') &&
          --running === 0
        )
          mapWindow.to = sandbox.markCalls();
        if (!('state' in event) || event.state.name !== 'ProcessAccounts') return;
        if (event.type === 'StateEntered') mapTimes.enteredMs = performance.now();
        if (event.type === 'StateExited') mapTimes.exitedMs = performance.now();
      },
    },
  ).finally(uninstall);
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
    // page), LoadTargets, then WriteReport.
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
    lambda: lambda.result(),
    limits: executionLimits(outcome.execution),
    runWide: lambda.runWide,
  };
}

/**
 * Where the phase's CPU went: the whole process (every thread, V8's GC helpers included), the
 * main thread (handlers, SDK clients, the interpreter and, with `--sandbox same-thread`, the
 * sandbox) and the sandbox's thread. CPU per call and calls per second are over every call the
 * sandbox logged in the phase, throttled ones included. A thread busy for nearly the whole wall
 * time means the phase waited for that thread's CPU, not for the model's latency and rates.
 */
export function cpuFigures(
  cpuMs: { process: number; mainThread: number | undefined; sandboxThread: number | undefined },
  calls: number,
  wallMs: number,
) {
  return {
    processMs: round(cpuMs.process),
    mainThreadMs: cpuMs.mainThread === undefined ? undefined : round(cpuMs.mainThread),
    sandboxThreadMs: cpuMs.sandboxThread === undefined ? undefined : round(cpuMs.sandboxThread),
    processMsPerCall: round2(cpuMs.process / Math.max(1, calls)),
    // CPU seconds per wall second: near the host's cores, its CPU binds, not the model.
    processCores: round2(cpuMs.process / wallMs),
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
export function countTransitions(events: EventLog[], accounts: number) {
  let perAccountStates = 0;
  let runLevel = 0;
  let retries = 0;
  let tasks = 0;
  let fastPath = 0;
  for (const event of events) {
    if (event.type !== 'StateEntered' && event.type !== 'StateRetried') continue;
    if (event.state.name === 'LoadTargets') continue;
    if (event.type === 'StateEntered' && event.state.name === 'AccountUnchanged') fastPath++;
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
    /** Accounts CheckAccount recorded as compliant (their route ended at AccountUnchanged). */
    fastPathAccounts: fastPath,
  };
}
