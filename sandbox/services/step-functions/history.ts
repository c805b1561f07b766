import type { EventLog } from '../../../statemachine/local/run-local';

/** One event of GetExecutionHistory, as the API shapes it (`<type>EventDetails` by type). */
export interface HistoryEvent {
  id: number;
  previousEventId: number;
  timestamp: Date;
  type: string;
  [details: string]: unknown;
}

/** What the history needs to know about the deployed definition's top-level states. */
export interface HistoryShape {
  /** The Lambda function a Task invokes, by state name. */
  taskResources: Readonly<Record<string, { resource: string; timeoutSeconds?: number }>>;
  /** States the local adaptation inserted; the deployed machine has none of them. */
  hiddenStates: ReadonlySet<string>;
}

const PAYLOAD_DETAILS = { truncated: false };

/**
 * Turns the local runner's event log into the parent execution's history as Step Functions keeps
 * it for this definition. Tasks name a Lambda ARN directly, so each attempt shows as
 * LambdaFunctionScheduled/Started/Succeeded|Failed between TaskStateEntered and TaskStateExited
 * (a retry is one more Scheduled/Started pair, as on AWS: there is no "retried" event). The
 * Distributed Map runs each account as a child execution with its own history, so the parent
 * shows only MapStateEntered, MapRunStarted, MapRunSucceeded|Failed and MapStateExited; the
 * iterations' own events are not part of it. Ids are sequential from 1; each event's
 * previousEventId is the one before it, which is what AWS records for a linear history.
 */
export class HistoryRecorder {
  readonly events: HistoryEvent[] = [];

  constructor(
    private readonly shape: HistoryShape,
    private readonly now: () => Date,
  ) {}

  /** Adds the events one top-level event of the local run stands for; iteration events add none. */
  record(event: EventLog, mapRun: { mapRunArn?: string } = {}): void {
    if ('index' in event && event.index !== undefined) return;
    switch (event.type) {
      case 'StateEntered':
        this.entered(event.state.name, event.state.type, event.state.input, mapRun.mapRunArn);
        return;
      case 'StateExited':
        this.exited(event.state.name, event.state.type, event.state.output, mapRun.mapRunArn);
        return;
      case 'StateFailed':
        this.failed(event.state.name, event.state.type, event.Error, event.Cause);
        return;
      case 'StateRetried':
        if (!this.shape.hiddenStates.has(event.state.name))
          this.scheduled(event.state.name, event.state.input);
        return;
      default:
        // Execution start and end are recorded by the execution itself (started, finished), map
        // iterations belong to child executions, and a caught error shows as the next state entered.
        return;
    }
  }

  started(input: string, roleArn: string): void {
    this.push('ExecutionStarted', {
      executionStartedEventDetails: { input, inputDetails: PAYLOAD_DETAILS, roleArn },
    });
  }

  succeeded(output: string): void {
    this.push('ExecutionSucceeded', {
      executionSucceededEventDetails: { output, outputDetails: PAYLOAD_DETAILS },
    });
  }

  failedExecution(error: string, cause: string): void {
    this.push('ExecutionFailed', { executionFailedEventDetails: { error, cause } });
  }

  private entered(name: string, type: string, input: unknown, mapRunArn: string | undefined): void {
    if (this.shape.hiddenStates.has(name)) return;
    const details = { stateEnteredEventDetails: { name, input: json(input), inputDetails: PAYLOAD_DETAILS } };
    this.push(`${type}StateEntered`, details);
    if (type === 'Task') this.scheduled(name, input);
    if (type === 'Map' && mapRunArn) this.push('MapRunStarted', { mapRunStartedEventDetails: { mapRunArn } });
  }

  private exited(name: string, type: string, output: unknown, mapRunArn: string | undefined): void {
    if (this.shape.hiddenStates.has(name)) return;
    if (type === 'Task' && this.lastType() === 'LambdaFunctionStarted') {
      this.push('LambdaFunctionSucceeded', {
        lambdaFunctionSucceededEventDetails: { output: json(output), outputDetails: PAYLOAD_DETAILS },
      });
    }
    if (type === 'Map' && mapRunArn) this.push('MapRunSucceeded', {});
    this.push(`${type}StateExited`, {
      stateExitedEventDetails: { name, output: json(output), outputDetails: PAYLOAD_DETAILS },
    });
  }

  private failed(name: string, type: string, error: string, cause: unknown): void {
    if (this.shape.hiddenStates.has(name)) return;
    const details = { error, cause: typeof cause === 'string' ? cause : json(cause) };
    if (type === 'Task') this.push('LambdaFunctionFailed', { lambdaFunctionFailedEventDetails: details });
    else if (type === 'Map') this.push('MapRunFailed', { mapRunFailedEventDetails: details });
  }

  private scheduled(name: string, input: unknown): void {
    const task = this.shape.taskResources[name];
    this.push('LambdaFunctionScheduled', {
      lambdaFunctionScheduledEventDetails: {
        resource: task?.resource ?? name,
        input: json(input),
        inputDetails: PAYLOAD_DETAILS,
        ...(task?.timeoutSeconds === undefined ? {} : { timeoutInSeconds: task.timeoutSeconds }),
      },
    });
    this.push('LambdaFunctionStarted', {});
  }

  private push(type: string, details: Record<string, unknown>): void {
    const id = this.events.length + 1;
    this.events.push({ timestamp: this.now(), type, id, previousEventId: id - 1, ...details });
  }

  private lastType(): string | undefined {
    return this.events.at(-1)?.type;
  }
}

/** The history without payloads, as `includeExecutionData: false` asks. */
export function withoutExecutionData(event: HistoryEvent): HistoryEvent {
  const out: HistoryEvent = { ...event };
  for (const [key, value] of Object.entries(event)) {
    if (!key.endsWith('EventDetails') || typeof value !== 'object' || value === null) continue;
    const { input: _input, output: _output, ...rest } = value as Record<string, unknown>;
    out[key] = rest;
  }
  return out;
}

function json(value: unknown): string {
  return JSON.stringify(value ?? null);
}
