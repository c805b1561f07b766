import './polyfill';
import { ExecutionAbortedError, ExecutionError, StateMachine } from 'aws-local-stepfunctions';

/** One event of a local execution (the library does not export the type). */
export type EventLog =
  ReturnType<StateMachine['run']>['eventLogs'] extends AsyncGenerator<infer E> ? E : never;

export type TaskHandler = (input: unknown) => Promise<unknown>;

/** How one run of a machine under aws-local-stepfunctions ended. */
export interface MachineOutcome {
  /** ABORTED: stopped through `signal`; the tasks it had started may still be running. */
  status: 'SUCCEEDED' | 'FAILED' | 'ABORTED';
  output?: unknown;
  error?: string;
  cause?: string;
}

/**
 * Definitions this process has already validated. aws-local-stepfunctions validates the
 * definition each time a StateMachine is built, and asl-validator compiles its JSON schemas each
 * time: 0.3–0.7 s of CPU before the first state runs, which a benchmark's wall time counted for
 * every run (and a Distributed Map would count for every child execution).
 */
const validatedDefinitions = new Set<string>();

/** A machine for `definition`, validated once per process, as Step Functions validates it once at creation. */
export function buildMachine(definition: object): StateMachine {
  const text = JSON.stringify(definition);
  const machine = new StateMachine(definition as never, {
    validationOptions: (validatedDefinitions.has(text) ? { noValidate: true } : { checkArn: false }) as never,
  });
  validatedDefinitions.add(text);
  return machine;
}

/**
 * Runs `machine` once on `input` with every Task bound to `handlers` by state name, handing each
 * event to `onEvent` as it happens, and tells how it ended: the failing error's name and cause as
 * Step Functions reports them for the execution.
 */
export async function runMachine(
  machine: StateMachine,
  input: unknown,
  options: {
    handlers: Record<string, TaskHandler>;
    retryIntervalOverrides?: Record<string, number | number[]>;
    context: Record<string, unknown>;
    signal?: AbortSignal;
    onEvent?: (event: EventLog) => void;
  },
): Promise<MachineOutcome> {
  const execution = machine.run(input as never, {
    overrides: {
      taskResourceLocalHandlers: options.handlers as never,
      ...(options.retryIntervalOverrides ? { retryIntervalOverrides: options.retryIntervalOverrides } : {}),
    },
    context: options.context as never,
  });
  const abort = () => execution.abort();
  if (options.signal?.aborted) abort();
  options.signal?.addEventListener('abort', abort, { once: true });
  const collecting = (async () => {
    for await (const event of execution.eventLogs) options.onEvent?.(event);
  })();
  try {
    const output = await execution.result;
    await collecting;
    return { status: 'SUCCEEDED', output };
  } catch (error) {
    await collecting.catch(() => undefined);
    if (error instanceof ExecutionAbortedError) return { status: 'ABORTED' };
    const failure = error instanceof ExecutionError ? (error.cause as Error | undefined) : (error as Error);
    return {
      status: 'FAILED',
      error: failure?.name ?? 'Error',
      cause: String((failure as { cause?: unknown })?.cause ?? failure?.message ?? ''),
    };
  } finally {
    options.signal?.removeEventListener('abort', abort);
  }
}

/**
 * The value of a payload template (`Parameters`, `ItemSelector`, a ResultWriter's `Parameters`)
 * for `input` and the context object, computed by aws-local-stepfunctions itself — a Pass state
 * with the template as its Parameters — so that paths and intrinsic functions mean what they mean
 * in every other state of the run.
 */
export async function evaluateTemplate(
  template: unknown,
  input: unknown,
  context: Record<string, unknown>,
): Promise<unknown> {
  const pass = {
    StartAt: 'Evaluate',
    States: { Evaluate: { Type: 'Pass', Parameters: template, End: true } },
  };
  return evaluateIn(pass, input, context);
}

/** The value a reference path (`MaxConcurrencyPath`, `ItemsPath`) selects in `input`. */
export async function evaluatePath(path: string, input: unknown): Promise<unknown> {
  const pass = { StartAt: 'Select', States: { Select: { Type: 'Pass', InputPath: path, End: true } } };
  return evaluateIn(pass, input, {});
}

async function evaluateIn(definition: object, input: unknown, context: Record<string, unknown>) {
  const machine = new StateMachine(definition as never, { validationOptions: { noValidate: true } as never });
  return machine.run(input as never, { context: context as never }).result;
}
