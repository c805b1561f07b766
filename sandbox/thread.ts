import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { StackResources } from '../commons/stack-resources';
import type { CallFilter, CallRecord } from './core/call-log';
import type { PerformanceModel } from './core/performance-model';
import type { Organization } from './core/world';
import { type Sandbox, type SandboxCredentials, type SandboxOptions, sandboxClientConfig } from './index';
import type { Scenario } from './scenario/scenario';

/**
 * A sandbox serving from a worker thread of this process. In one thread, the emulated AWS
 * (HTTP, policy evaluation, dynalite) and the code under test (handlers, SDK clients, the local
 * interpreter) take turns on one core; on AWS they are separate machines. The benchmark starts
 * its sandbox here so that each side gets a core, and reads what it needs of the world through
 * this small interface instead of `world`: the seeded organization and model as copies, the call
 * log on request. Tests keep `startSandbox`, whose `world` they change directly.
 */
export interface SandboxThread {
  readonly endpoint: string;
  readonly port: number;
  readonly region: string;
  readonly scenario: Scenario;
  readonly admin: SandboxCredentials & { arn: string };
  readonly stack: StackResources;
  /** The organization as seeded (a copy: later changes in the sandbox do not show here). */
  readonly organization: Organization;
  readonly performanceModel: PerformanceModel | undefined;
  /** The Linux thread id the sandbox runs on, for its CPU time; undefined elsewhere. */
  readonly osThreadId: number | undefined;
  clientConfig(credentials?: SandboxCredentials): ReturnType<typeof sandboxClientConfig>;
  /** As `world.callLog.mark()`, and as synchronous: the sequence number of the last call logged. */
  markCalls(): number;
  /** As `world.callLog.list(filter)`. */
  listCalls(filter?: CallFilter): Promise<CallRecord[]>;
  /** The sandbox thread's V8 heap in use, in bytes (undefined when it shares this thread's heap). */
  heapUsed(): Promise<number | undefined>;
  /** Replaces the latency and rate model (`undefined`: off), its buckets full again: the benchmark's per-phase time scale. */
  setPerformanceModel(model: PerformanceModel | undefined): Promise<void>;
  close(): Promise<void>;
}

/** What the worker receives (`workerData`). */
export interface ThreadStart {
  options: SandboxOptions;
  /** One Int32 slot the worker's call log keeps its sequence number in. */
  callSeq: Int32Array;
}

/** What a started sandbox tells about itself, by value: what crosses to the benchmark's thread. */
export type SandboxFacts = Pick<
  SandboxThread,
  'endpoint' | 'port' | 'region' | 'scenario' | 'admin' | 'stack' | 'organization' | 'performanceModel'
>;

export function sandboxFacts(sandbox: Sandbox): SandboxFacts {
  return {
    endpoint: sandbox.endpoint,
    port: sandbox.port,
    region: sandbox.region,
    scenario: sandbox.scenario,
    admin: sandbox.admin,
    stack: sandbox.stack,
    organization: sandbox.world.organization,
    performanceModel: sandbox.world.faults.getModel(),
  };
}

/** The worker's first message: the sandbox serves, or could not start. */
export type ThreadReady =
  | (SandboxFacts & { kind: 'ready'; osThreadId: number | undefined })
  | { kind: 'failed'; message: string };

export type ThreadRequest =
  | { id: number; method: 'listCalls'; filter: CallFilter }
  | { id: number; method: 'heapUsed' }
  | { id: number; method: 'setPerformanceModel'; model: PerformanceModel | undefined }
  | { id: number; method: 'close' };

export type ThreadReply = { kind: 'reply'; id: number; result?: unknown; error?: string };

/** A request before it is numbered (Omit over each member of the union, not over their common keys). */
type Unnumbered<T> = T extends unknown ? Omit<T, 'id'> : never;

/**
 * The worker compiles the sandbox's TypeScript with tsx, as `bin/casbridge.cjs` does, unless this
 * process already does (`node --require tsx/cjs`, whose flags a worker inherits).
 */
const BOOTSTRAP = `
const { workerData } = require('node:worker_threads');
if (!require.extensions['.ts']) require(workerData.tsxHook);
require(workerData.entry);
`;

/** Starts a sandbox (the same `startSandbox` options) in a worker thread. */
export async function startSandboxThread(options: SandboxOptions = {}): Promise<SandboxThread> {
  const callSeq = new Int32Array(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT));
  const start: ThreadStart = { options, callSeq };
  const worker = new Worker(BOOTSTRAP, {
    eval: true,
    // The environment of the code that starts it (jest gives each test file its own process.env).
    env: process.env,
    workerData: {
      ...start,
      tsxHook: require.resolve('tsx/cjs'),
      entry: path.join(__dirname, 'thread-worker.ts'),
    },
  });
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  let failure: Error | undefined;
  const failAll = (error: Error) => {
    failure ??= error;
    for (const { reject } of pending.values()) reject(error);
    pending.clear();
  };
  const ready = new Promise<Extract<ThreadReady, { kind: 'ready' }>>((resolve, reject) => {
    worker.on('message', (message: ThreadReady | ThreadReply) => {
      if (message.kind === 'ready') resolve(message);
      else if (message.kind === 'failed') reject(new Error(message.message));
      else {
        const waiting = pending.get(message.id);
        pending.delete(message.id);
        if (message.error === undefined) waiting?.resolve(message.result);
        else waiting?.reject(new Error(message.error));
      }
    });
    worker.on('error', (error) => {
      reject(error);
      failAll(error);
    });
    worker.on('exit', (code) => {
      const error = new Error(`the sandbox thread exited (code ${code})`);
      reject(error);
      failAll(error);
    });
  });
  let nextId = 0;
  const call = <T>(request: Unnumbered<ThreadRequest>): Promise<T> => {
    if (failure) return Promise.reject(failure);
    const id = ++nextId;
    return new Promise<T>((resolve, reject) => {
      pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      worker.postMessage({ ...request, id });
    });
  };
  const started = await ready.catch(async (error: unknown) => {
    await worker.terminate();
    throw error;
  });
  return {
    endpoint: started.endpoint,
    port: started.port,
    region: started.region,
    scenario: started.scenario,
    admin: started.admin,
    stack: started.stack,
    organization: started.organization,
    performanceModel: started.performanceModel,
    osThreadId: started.osThreadId,
    clientConfig: (credentials = started.admin) =>
      sandboxClientConfig(started.endpoint, started.region, credentials),
    markCalls: () => Atomics.load(callSeq, 0),
    listCalls: (filter = {}) => call<CallRecord[]>({ method: 'listCalls', filter }),
    heapUsed: () => call<number>({ method: 'heapUsed' }),
    setPerformanceModel: (model) => call<void>({ method: 'setPerformanceModel', model }),
    close: async () => {
      if (!failure) await call({ method: 'close' });
      await worker.terminate();
    },
  };
}
