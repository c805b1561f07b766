import { type ChildProcessByStdio, execFile, spawn } from 'node:child_process';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { promisify } from 'node:util';
import type { Sandbox } from '../../sandbox';
import { stackEnvironment } from '../../sandbox/scenario/stack-environment';

/** `casbridge sandbox` as a user starts it: a separate process through the package's bin. */
export const ROOT = path.resolve(__dirname, '../..');
export const BIN = path.join(ROOT, 'bin/casbridge.cjs');

export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface CliSandbox {
  endpoint: string;
  organizationId: string;
  exports: Record<string, string>;
  admin: Credentials;
  stdout(): string;
  stop(signal: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `casbridge sandbox` and resolves once it has printed its ready line and exports. */
export async function startCliSandbox(args: readonly string[]): Promise<CliSandbox> {
  const child: ChildProcessByStdio<null, Readable, Readable> = spawn(
    process.execPath,
    [BIN, 'sandbox', ...args],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ready line within 30 s; stderr: ${stderr}`)), 30_000);
    const check = () => {
      if (/^export AWS_REGION=.*$/m.test(stdout)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.on('data', check);
    void exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`casbridge sandbox exited with ${code} before it was ready; stderr: ${stderr}`));
    });
  });
  const lines = stdout.split('\n');
  const ready = /^sandbox ready on (http:\/\/127\.0\.0\.1:\d+)$/.exec(lines[0] ?? '');
  if (!ready) throw new Error(`first line is not the ready line: ${lines[0]}`);
  const exports: Record<string, string> = {};
  for (const line of lines) {
    const match = /^export ([A-Z_]+)=(.*)$/.exec(line);
    if (match) exports[match[1] as string] = match[2] as string;
  }
  return {
    endpoint: ready[1] as string,
    organizationId: /^Organization (o-[a-z0-9]+):/m.exec(stdout)?.[1] ?? '',
    exports,
    admin: {
      accessKeyId: exports.AWS_ACCESS_KEY_ID ?? '',
      secretAccessKey: exports.AWS_SECRET_ACCESS_KEY ?? '',
    },
    stdout: () => stdout,
    stop: (signal) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

const execFileAsync = promisify(execFile);

/**
 * Where a test's casbridge looks for its config file unless the test gives one: a path that is
 * never created, so no test reads the profiles of the machine's real home.
 */
export const NO_CONFIG_FILE = path.join(ROOT, 'test', 'fixtures', 'no-casbridge-config', 'config');

/** What a casbridge command left: its exit code and both streams. */
export interface CliResult<Output extends string | Buffer = string> {
  code: number;
  stdout: Output;
  stderr: Output;
}

/**
 * Runs `casbridge <args>` as an operator does, a separate process through the package's bin, its
 * output as the bytes it wrote: in the test's shell without its AWS_ and CASBRIDGE_ settings, `env`
 * (the exports of `casbridge sandbox`, say) in their place, NO_COLOR set, and no casbridge config
 * file unless `env` names one (CASBRIDGE_CONFIG_FILE). A command that
 * fails resolves with its exit code.
 */
export async function runCasbridgeBytes(
  args: readonly string[],
  env: Record<string, string>,
): Promise<CliResult<Buffer>> {
  const shell = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !/^(AWS_|CASBRIDGE_)/.test(name)),
  );
  try {
    const out = await execFileAsync(process.execPath, [BIN, ...args], {
      cwd: ROOT,
      env: { ...shell, NO_COLOR: '1', CASBRIDGE_CONFIG_FILE: NO_CONFIG_FILE, ...env },
      encoding: 'buffer',
      maxBuffer: 16 * 1024 * 1024,
    });
    return { code: 0, stdout: out.stdout, stderr: out.stderr };
  } catch (error) {
    const e = error as CliResult<Buffer>;
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** runCasbridgeBytes, its output read as UTF-8 text. */
export async function runCasbridge(args: readonly string[], env: Record<string, string>): Promise<CliResult> {
  const { code, stdout, stderr } = await runCasbridgeBytes(args, env);
  return { code, stdout: stdout.toString('utf8'), stderr: stderr.toString('utf8') };
}

/**
 * For a sandbox of the test's own process, what `casbridge sandbox` exports for the shell: the
 * endpoint, its administrator's keys and the stack's configuration.
 */
export function sandboxExports(sandbox: Sandbox): Record<string, string> {
  return {
    ...stackEnvironment(sandbox.stack, sandbox.deployment.parameters),
    AWS_ENDPOINT_URL: sandbox.endpoint,
    AWS_ACCESS_KEY_ID: sandbox.admin.accessKeyId,
    AWS_SECRET_ACCESS_KEY: sandbox.admin.secretAccessKey,
  };
}

/** A casbridge command still running, as runCasbridge starts it: a test can signal it. */
export interface RunningCasbridge {
  /** Sends the signal, as a shell's Ctrl-C, `kill` or `kill -9` would. */
  kill(signal: NodeJS.Signals): void;
  /** What the command wrote so far. */
  stderr(): string;
  /** Its exit code (null when a signal ended it), the signal, and both streams. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
}

/** Starts `casbridge <args>` in the environment runCasbridge gives it, without waiting for it. */
export function spawnCasbridge(args: readonly string[], env: Record<string, string>): RunningCasbridge {
  const shell = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !/^(AWS_|CASBRIDGE_)/.test(name)),
  );
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    env: { ...shell, NO_COLOR: '1', CASBRIDGE_CONFIG_FILE: NO_CONFIG_FILE, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal })),
  ).then((end) => ({ ...end, stdout, stderr }));
  return {
    kill: (signal) => {
      child.kill(signal);
    },
    stderr: () => stderr,
    exited,
  };
}

/**
 * `casbridge <args>` on a pseudo-terminal of `columns` columns (util-linux `script`, `stty cols`),
 * as a person at a terminal of that size runs it: what the terminal received from both streams,
 * CRLF line ends read as LF. `color: false` sets NO_COLOR; otherwise it is unset.
 */
export async function runAtTerminal(
  args: readonly string[],
  env: Record<string, string>,
  options: { columns: number; color: boolean },
): Promise<{ code: number; output: string }> {
  const command = [process.execPath, BIN, ...args].map((word) => `'${word}'`).join(' ');
  const shell = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !/^(AWS_|CASBRIDGE_|NO_COLOR$)/.test(name)),
  );
  const child = spawn('script', ['-qec', `stty cols ${options.columns} rows 50; ${command}`, '/dev/null'], {
    cwd: ROOT,
    env: { ...shell, ...(options.color ? {} : { NO_COLOR: '1' }), ...env },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  child.stdin.end();
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk;
  });
  const code = await new Promise<number>((resolve) => child.on('close', (exit) => resolve(exit ?? -1)));
  return { code, output: output.replace(/\r\n/g, '\n') };
}
