import { spawn } from 'node:child_process';
import path from 'node:path';
import type { LocalExecution } from '../../statemachine/local/run-local';
import { round } from './format';
import { PROJECT_ROOT } from './scenario';
import { functionMemorySizes, functionTimeouts } from './serverless-functions';

/** Step Functions' quotas a run must stay inside (lifecycle-and-scale.md §4.1). */
export const EXECUTION_LIMITS = {
  /** Events in one execution's history (a Standard execution fails at 25,000). */
  historyEvents: 25_000,
  /** One state's input or output, or an execution's (256 KiB). */
  payloadBytes: 256 * 1024,
};

/** The tasks that see the whole run rather than one account: what grows with the organization. */
export const RUN_WIDE_TASKS = ['resolveTargets', 'writeReport'] as const;
export type RunWideTask = (typeof RUN_WIDE_TASKS)[number];

/** The largest child history and payload of the run, and the parent's, against the quotas. */
export function executionLimits(execution: LocalExecution) {
  const parent = execution.record.historySize;
  const largestPayloadBytes = Math.max(
    parent.largestPayloadBytes,
    execution.largestChild.largestPayloadBytes,
  );
  return {
    largestChildEvents: execution.largestChild.events,
    parentEvents: parent.events,
    largestPayloadBytes,
    historyShare: Math.max(execution.largestChild.events, parent.events) / EXECUTION_LIMITS.historyEvents,
    payloadShare: largestPayloadBytes / EXECUTION_LIMITS.payloadBytes,
  };
}

export interface TaskFootprint {
  task: RunWideTask;
  /** Its wall time in the run, the modelled latencies included. */
  inRunMs: number;
  /**
   * Replayed alone in a fresh process with the same input and V8's heap capped as a Lambda of its
   * memory size caps it (HEAP_SHARE of the memory size): its wall time and peak RSS, sampled.
   */
  replayMs: number;
  peakRssMiB: number;
  /** Why the replay did not finish within the capped heap (an out-of-memory is the function's). */
  failed?: string;
  /** A fresh Node process with the handlers loaded, before the invocation. */
  baselineRssMiB: number;
  memorySizeMiB: number;
  timeoutSeconds: number;
}

/**
 * ResolveTargets' and WriteReport's peak memory and duration against their Lambda memory size and
 * timeout. In the benchmark's process they share a heap with every account's run, so each is
 * invoked again in a process of its own (./replay-task.ts) with the input it had: its peak RSS is
 * what the function's execution environment would need (a Lambda's memory size bounds the whole
 * process, the runtime included). Both are idempotent for a run's input: ResolveTargets rewrites
 * the same targets, WriteReport the same report.
 */
export async function taskFootprints(
  captured: ReadonlyMap<RunWideTask, { input: unknown; durationMs: number }>,
  endpoint: string,
): Promise<TaskFootprint[]> {
  const memory = functionMemorySizes();
  const timeouts = functionTimeouts();
  const footprints: TaskFootprint[] = [];
  for (const task of RUN_WIDE_TASKS) {
    const run = captured.get(task);
    if (!run) continue;
    const memorySizeMiB = memory[task] ?? Number.NaN;
    const replay = await replayTask(task, run.input, endpoint, memorySizeMiB).catch((error: Error) => ({
      durationMs: Number.NaN,
      baselineRssBytes: Number.NaN,
      peakRssBytes: Number.NaN,
      failed: error.message,
    }));
    footprints.push({
      ...('failed' in replay ? { failed: replay.failed } : {}),
      task,
      inRunMs: round(run.durationMs),
      replayMs: round(replay.durationMs),
      peakRssMiB: Math.round(replay.peakRssBytes / 2 ** 20),
      baselineRssMiB: Math.round(replay.baselineRssBytes / 2 ** 20),
      memorySizeMiB,
      timeoutSeconds: timeouts[task] ?? Number.NaN,
    });
  }
  return footprints;
}

/**
 * The share of a function's memory size its V8 heap may take: the rest is the runtime, the code
 * and the buffers outside the heap. An assumption: Lambda publishes no heap setting for Node.js.
 */
const HEAP_SHARE = 0.8;

function replayTask(
  task: RunWideTask,
  input: unknown,
  endpoint: string,
  memorySizeMiB: number,
): Promise<{ durationMs: number; baselineRssBytes: number; peakRssBytes: number }> {
  const heapCap = Number.isFinite(memorySizeMiB)
    ? [`--max-old-space-size=${Math.floor(memorySizeMiB * HEAP_SHARE)}`]
    : [];
  const child = spawn(
    process.execPath,
    [
      ...heapCap,
      '--require',
      'tsx/cjs',
      path.join(PROJECT_ROOT, 'scripts/bench/replay-task.ts'),
      task,
      endpoint,
    ],
    { cwd: PROJECT_ROOT, env: process.env, stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  child.stdin.end(JSON.stringify(input));
  return new Promise((resolve, reject) => {
    child.on('exit', (code) => {
      const line = stdout.trim().split('\n').pop() ?? '';
      if (code === 0 && line.startsWith('{')) resolve(JSON.parse(line));
      else reject(new Error(`replaying ${task} failed (exit ${code}): ${stderr.trim() || stdout.trim()}`));
    });
  });
}
