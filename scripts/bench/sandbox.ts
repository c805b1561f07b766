import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { GetUserCommand, IAMClient, ListUsersCommand } from '@aws-sdk/client-iam';
import { DescribeAccountCommand, OrganizationsClient } from '@aws-sdk/client-organizations';
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { partitionOf } from '../../commons/partition';
import { type Sandbox, type SandboxCredentials, startSandbox } from '../../sandbox';
import type { CallRecord } from '../../sandbox/core/call-log';
import {
  defaultAccountId,
  defaultFaultLabel,
  defaultScenario,
} from '../../sandbox/scenario/default-scenario';
import { parseScenario } from '../../sandbox/scenario/scenario';
import { seedWorld } from '../../sandbox/scenario/seed';

/**
 * The sandbox benchmark (`npm run bench:sandbox`): (a) how long a sandbox with 1,000 accounts
 * takes to start, (b) how fast it serves the unchanged SDK over loopback with bounded concurrency
 * and keep-alive, (c) what the call log holds afterwards. Targets: start < 2 s at 1,000 accounts;
 * 10,000 requests < 10 s on a 2-core machine. Client and server share this one process and thread,
 * so the request figure includes the SDK's own cost (signing, XML/JSON parsing).
 */
const TARGET_START_MS = 2_000;
const TARGET_REQUESTS_MS = 10_000;
const TARGET_REQUESTS = 10_000;
/** Accounts whose OrganizationAccountAccessRole sessions make the member-account calls. */
const MEMBER_SESSIONS = 16;

interface BenchOptions {
  accounts: number;
  requests: number;
  concurrency: number;
  starts: number;
  server: 'in-process' | 'process';
}

interface Operation {
  name: string;
  call(i: number): Promise<unknown>;
}

/** A running sandbox the requests go to, wherever it runs. */
interface Target {
  endpoint: string;
  region: string;
  admin: SandboxCredentials;
  /** Sequence number of the last call served: pass it to `callsSince` later. */
  markCalls(): Promise<number>;
  callsSince(mark: number): Promise<CallRecord[]>;
  /** The serving process's heap, when it is this process. */
  heapUsed(): number | undefined;
  /** CPU time the serving process has used, when it is another process. */
  serverCpuMs(): number | undefined;
  close(): Promise<void>;
}

async function main(): Promise<void> {
  // The SDK's Node 22 notice would land in the middle of the table.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  const options = readOptions();

  const seedMs = medianOf(await repeat(options.starts, async () => timeSeed(options.accounts)));
  const startRuns = await repeat(options.starts, async () => {
    const started = performance.now();
    const sandbox = await startSandbox({ accounts: options.accounts });
    const elapsed = performance.now() - started;
    await sandbox.close();
    return elapsed;
  });
  const startMs = medianOf(startRuns);

  const target =
    options.server === 'process'
      ? await processTarget(options.accounts)
      : inProcessTarget(await startSandbox({ accounts: options.accounts }));
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.concurrency });
  try {
    const operations = await buildOperations(target, agent, options.accounts);
    // Untimed warm-up: JIT, sockets, and the policy decisions a steady state has cached.
    await runPool(operations, Math.min(500, options.requests), options.concurrency);
    const mark = await target.markCalls();
    const heapBefore = target.heapUsed();
    const cpuBefore = process.cpuUsage();
    const serverCpuBefore = target.serverCpuMs();
    const run = await runPool(operations, options.requests, options.concurrency);
    const cpu = process.cpuUsage(cpuBefore);
    const serverCpuAfter = target.serverCpuMs();
    const heapAfter = target.heapUsed();
    const records = await target.callsSince(mark);
    const result = {
      bench: 'sandbox',
      node: process.version,
      server: options.server,
      accounts: options.accounts,
      seedMs: round(seedMs),
      start: { medianMs: round(startMs), runsMs: startRuns.map(round) },
      requests: options.requests,
      concurrency: options.concurrency,
      wallMs: round(run.wallMs),
      requestsPerSecond: Math.round((options.requests / run.wallMs) * 1000),
      latencyMs: {
        p50: round(percentile(run.latencies, 0.5)),
        p95: round(percentile(run.latencies, 0.95)),
        p99: round(percentile(run.latencies, 0.99)),
      },
      byOperation: Object.fromEntries(
        [...run.byOperation].map(([name, latencies]) => [
          name,
          { count: latencies.length, p50Ms: round(percentile(latencies, 0.5)) },
        ]),
      ),
      errors: Object.fromEntries(run.errors),
      // CPU per request shows which side is the bottleneck: in-process it is client and server together.
      cpuMsPerRequest: {
        benchProcess: round((cpu.user + cpu.system) / 1000 / options.requests),
        ...(serverCpuBefore !== undefined && serverCpuAfter !== undefined
          ? { serverProcess: round((serverCpuAfter - serverCpuBefore) / options.requests) }
          : {}),
      },
      callLog: {
        records: records.length,
        jsonBytes: Buffer.byteLength(JSON.stringify(records)),
        ...(heapBefore !== undefined && heapAfter !== undefined
          ? { heapDeltaBytes: heapAfter - heapBefore }
          : {}),
      },
      targets: {
        startUnder2s: startMs < TARGET_START_MS,
        requestsUnder10s: run.wallMs * (TARGET_REQUESTS / Math.max(1, options.requests)) < TARGET_REQUESTS_MS,
      },
    };
    printTable(result);
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    agent.destroy();
    await target.close();
  }
}

function inProcessTarget(sandbox: Sandbox): Target {
  return {
    endpoint: sandbox.endpoint,
    region: sandbox.region,
    admin: sandbox.admin,
    markCalls: async () => sandbox.world.callLog.mark(),
    callsSince: async (mark) => sandbox.world.callLog.list({ sinceSeq: mark }),
    heapUsed: () => process.memoryUsage().heapUsed,
    serverCpuMs: () => undefined,
    close: () => sandbox.close(),
  };
}

/**
 * `casbridge sandbox` in its own process, as a person exploring with the AWS CLI runs it: the
 * server gets a core of its own instead of sharing this thread with the SDK clients.
 */
async function processTarget(accounts: number): Promise<Target> {
  const bin = path.resolve(__dirname, '../../bin/casbridge.cjs');
  const child = spawn(process.execPath, [bin, 'sandbox', '--port', '0', '--accounts', String(accounts)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  let stdout = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      if (/^export AWS_REGION=/m.test(stdout)) resolve();
    });
    void exited.then(() => reject(new Error('casbridge sandbox exited before it was ready')));
  });
  const exported = (name: string) => new RegExp(`^export ${name}=(.*)$`, 'm').exec(stdout)?.[1] ?? '';
  const endpoint = exported('AWS_ENDPOINT_URL');
  const calls = async (since: number) => {
    const response = await fetch(`${endpoint}/_sandbox/calls?since=${since}`);
    return (await response.json()) as CallRecord[];
  };
  return {
    endpoint,
    region: exported('AWS_REGION'),
    admin: { accessKeyId: exported('AWS_ACCESS_KEY_ID'), secretAccessKey: exported('AWS_SECRET_ACCESS_KEY') },
    markCalls: async () => Math.max(0, ...(await calls(0)).map((r) => r.seq)),
    callsSince: calls,
    heapUsed: () => undefined,
    serverCpuMs: () => (child.pid === undefined ? undefined : processCpuMs(child.pid)),
    close: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** utime + stime of a process from /proc (Linux), in milliseconds. */
function processCpuMs(pid: number): number | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    // Fields 14 and 15 of stat, counted after the command name; clock ticks are 100 Hz on Linux.
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return undefined;
  }
}

/**
 * A mix of identity, IAM and Organizations reads, half of them by member-account role sessions so
 * policy evaluation walks SCP levels: the calls casbridge's tasks make most.
 */
async function buildOperations(target: Target, agent: http.Agent, accounts: number): Promise<Operation[]> {
  const config = (credentials: SandboxCredentials = target.admin) => ({
    endpoint: target.endpoint,
    region: target.region,
    credentials,
    requestHandler: { httpAgent: agent },
    // A failure is a finding here, not something to hide behind retries.
    maxAttempts: 1,
    // Otherwise the SDK re-sorts its middleware stack on every send: a third of its CPU per call.
    cacheMiddleware: true,
  });
  const adminSts = new STSClient(config());
  // Healthy accounts (all CREATED, so with OrganizationAccountAccessRole) spread over the
  // organization: a throttled one would measure its fault.
  const stride = Math.max(1, Math.floor(accounts / MEMBER_SESSIONS));
  const memberIds = Array.from({ length: Math.min(MEMBER_SESSIONS, accounts) }, (_, i) => 1 + i * stride)
    .map((index) => (defaultFaultLabel(index) === 'healthy' ? index : index + 1))
    .filter((index) => index <= accounts && defaultFaultLabel(index) === 'healthy')
    .map(defaultAccountId);
  const sessions = await Promise.all(
    memberIds.map(async (accountId) => {
      const out = await adminSts.send(
        new AssumeRoleCommand({
          RoleArn: `arn:${partitionOf(target.region)}:iam::${accountId}:role/OrganizationAccountAccessRole`,
          RoleSessionName: 'bench',
        }),
      );
      const c = out.Credentials;
      if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken)
        throw new Error('AssumeRole gave no credentials');
      const credentials = {
        accessKeyId: c.AccessKeyId,
        secretAccessKey: c.SecretAccessKey,
        sessionToken: c.SessionToken,
      };
      return { sts: new STSClient(config(credentials)), iam: new IAMClient(config(credentials)) };
    }),
  );
  if (sessions.length === 0) throw new Error('the benchmark needs at least one member account');
  const session = (i: number) => sessions[i % sessions.length] as (typeof sessions)[number];
  const adminIam = new IAMClient(config());
  const organizations = new OrganizationsClient(config());
  return [
    {
      name: 'sts:GetCallerIdentity (member)',
      call: (i) => session(i).sts.send(new GetCallerIdentityCommand({})),
    },
    { name: 'iam:ListUsers (member)', call: (i) => session(i).iam.send(new ListUsersCommand({})) },
    {
      name: 'iam:GetUser (management)',
      call: () => adminIam.send(new GetUserCommand({ UserName: 'Admin' })),
    },
    {
      name: 'organizations:DescribeAccount',
      call: (i) =>
        organizations.send(
          new DescribeAccountCommand({ AccountId: defaultAccountId(1 + (i % Math.max(1, accounts))) }),
        ),
    },
  ];
}

async function runPool(
  operations: readonly Operation[],
  requests: number,
  concurrency: number,
): Promise<{
  wallMs: number;
  latencies: number[];
  byOperation: Map<string, number[]>;
  errors: Map<string, number>;
}> {
  const latencies: number[] = [];
  const byOperation = new Map<string, number[]>();
  const errors = new Map<string, number>();
  let next = 0;
  const worker = async () => {
    while (next < requests) {
      const i = next++;
      const operation = operations[i % operations.length] as Operation;
      const started = performance.now();
      try {
        await operation.call(i);
      } catch (error) {
        const name = `${operation.name}: ${(error as Error).name}`;
        errors.set(name, (errors.get(name) ?? 0) + 1);
      }
      const elapsed = performance.now() - started;
      latencies.push(elapsed);
      const list = byOperation.get(operation.name) ?? [];
      list.push(elapsed);
      byOperation.set(operation.name, list);
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: Math.min(concurrency, requests) }, worker));
  return { wallMs: performance.now() - started, latencies, byOperation, errors };
}

function timeSeed(accounts: number): number {
  const started = performance.now();
  seedWorld(parseScenario(defaultScenario({ accounts })), { templateRoot: `${__dirname}/../..` });
  return performance.now() - started;
}

function printTable(result: {
  accounts: number;
  seedMs: number;
  start: { medianMs: number };
  requests: number;
  concurrency: number;
  wallMs: number;
  requestsPerSecond: number;
  latencyMs: { p50: number; p95: number; p99: number };
  byOperation: Record<string, { count: number; p50Ms: number }>;
  errors: Record<string, number>;
  cpuMsPerRequest: { benchProcess: number; serverProcess?: number };
  server: string;
  callLog: { records: number; jsonBytes: number; heapDeltaBytes?: number };
  targets: { startUnder2s: boolean; requestsUnder10s: boolean };
}): void {
  const verdict = (ok: boolean) => (ok ? 'met' : 'MISSED');
  const rows: [string, string][] = [
    [
      `start, ${result.accounts} accounts (median)`,
      `${result.start.medianMs} ms   target < 2000 ms: ${verdict(result.targets.startUnder2s)}`,
    ],
    ['  of which seeding the world', `${result.seedMs} ms`],
    [
      `${result.requests} requests, ${result.concurrency} in flight (${result.server})`,
      `${result.wallMs} ms, ${result.requestsPerSecond} req/s   target < 10 s per 10,000: ${verdict(result.targets.requestsUnder10s)}`,
    ],
    [
      '  latency p50 / p95 / p99',
      `${result.latencyMs.p50} / ${result.latencyMs.p95} / ${result.latencyMs.p99} ms`,
    ],
    ...Object.entries(result.byOperation).map(([name, s]): [string, string] => [
      `  ${name}`,
      `${s.count} calls, p50 ${s.p50Ms} ms`,
    ]),
    [
      '  CPU per request',
      `${result.cpuMsPerRequest.benchProcess} ms in this process${
        result.cpuMsPerRequest.serverProcess === undefined
          ? ' (client and server)'
          : ` (client), ${result.cpuMsPerRequest.serverProcess} ms in the sandbox process`
      }`,
    ],
    ['  errors', Object.keys(result.errors).length === 0 ? 'none' : JSON.stringify(result.errors)],
    [
      'call log',
      `${result.callLog.records} records, ${(result.callLog.jsonBytes / 1024).toFixed(0)} KiB as JSON${
        result.callLog.heapDeltaBytes === undefined
          ? ''
          : `, heap +${(result.callLog.heapDeltaBytes / 1048576).toFixed(1)} MiB during the run`
      }`,
    ],
  ];
  const width = Math.max(...rows.map(([label]) => label.length));
  for (const [label, value] of rows) process.stdout.write(`${label.padEnd(width)}  ${value}\n`);
}

function readOptions(): BenchOptions {
  const { values } = parseArgs({
    options: {
      accounts: { type: 'string', default: '1000' },
      requests: { type: 'string', default: String(TARGET_REQUESTS) },
      concurrency: { type: 'string', default: '32' },
      starts: { type: 'string', default: '5' },
      server: { type: 'string', default: 'in-process' },
    },
    strict: true,
  });
  const positive = (name: keyof typeof values): number => {
    const value = Number(values[name]);
    if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} must be a positive integer`);
    return value;
  };
  if (values.server !== 'in-process' && values.server !== 'process') {
    throw new Error('--server is in-process or process');
  }
  return {
    accounts: positive('accounts'),
    requests: positive('requests'),
    concurrency: positive('concurrency'),
    starts: positive('starts'),
    server: values.server === 'process' ? 'process' : 'in-process',
  };
}

async function repeat<T>(times: number, run: () => Promise<T>): Promise<T[]> {
  const results: T[] = [];
  for (let i = 0; i < times; i++) results.push(await run());
  return results;
}

function medianOf(values: readonly number[]): number {
  return percentile(values, 0.5);
}

function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] as number;
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:sandbox: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
