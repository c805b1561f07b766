import type { EventLog } from './run-local';

/** One event of GetExecutionHistory, as the API shapes it (`<type>EventDetails` by type). */
export interface HistoryEvent {
  id: number;
  previousEventId: number;
  timestamp: Date;
  type: string;
  [details: string]: unknown;
}

/** What the history needs to know about the deployed definition's states. */
export interface HistoryShape {
  /** The Lambda function a Task invokes, by state name. */
  taskResources: Readonly<Record<string, { resource: string; timeoutSeconds?: number }>>;
  /** States the local adaptation inserted; the deployed machine has none of them. */
  hiddenStates?: ReadonlySet<string>;
  /** Distributed Maps the native driver runs as a Task of the local runner: Map states here. */
  mapStates?: ReadonlySet<string>;
}

/** The size of a history, against Step Functions' 25,000-event and 256 KiB payload quotas. */
export interface HistorySize {
  events: number;
  /** The largest input or output of any event, in UTF-8 bytes. */
  largestPayloadBytes: number;
}

const PAYLOAD_DETAILS = { truncated: false };

/**
 * Turns the local runner's event log into an execution's history as Step Functions keeps it for
 * this definition. Tasks name a Lambda ARN directly, so each attempt shows as
 * LambdaFunctionScheduled/Started/Succeeded|Failed between TaskStateEntered and TaskStateExited
 * (a retry is one more Scheduled/Started pair, as on AWS: there is no "retried" event). A
 * Distributed Map runs each item as a child execution with its own history (its own recorder),
 * so the parent shows only MapStateEntered, MapRunStarted, MapRunSucceeded|Failed and
 * MapStateExited. Ids are sequential from 1; each event's previousEventId is the one before it,
 * which is what AWS records for a linear history.
 *
 * With `keep` false only the size is tracked: a benchmark's 10,000 children need their sizes
 * against the quotas, not 10,000 histories in memory.
 */
export class HistoryRecorder {
  readonly events: HistoryEvent[] = [];
  readonly size: HistorySize = { events: 0, largestPayloadBytes: 0 };
  /** Map runs started before the runner's StateEntered for their map reached the recorder. */
  private readonly pendingMapRuns = new Map<string, string>();
  private readonly openMaps = new Map<string, string | undefined>();
  private lastType: string | undefined;

  constructor(
    private readonly shape: HistoryShape,
    private readonly now: () => Date,
    private readonly keep = true,
  ) {}

  /** Adds the events one top-level event of the local run stands for; iteration events add none. */
  record(event: EventLog): void {
    if ('index' in event && event.index !== undefined) return;
    switch (event.type) {
      case 'StateEntered':
        this.entered(event.state.name, this.typeOf(event.state), event.state.input);
        return;
      case 'StateExited':
        this.exited(event.state.name, this.typeOf(event.state), event.state.output);
        return;
      case 'StateFailed':
        this.failed(event.state.name, this.typeOf(event.state), event.Error, event.Cause);
        return;
      case 'StateRetried':
        if (!this.shape.hiddenStates?.has(event.state.name))
          this.scheduled(event.state.name, event.state.input);
        return;
      default:
        // Execution start and end are recorded by the execution itself (started, finished), map
        // iterations belong to child executions, and a caught error shows as the next state entered.
        return;
    }
  }

  /** The map run a Distributed Map state started: MapRunStarted follows its MapStateEntered. */
  mapRunStarted(stateName: string, mapRunArn: string): void {
    if (this.openMaps.has(stateName) && this.openMaps.get(stateName) === undefined) {
      this.openMaps.set(stateName, mapRunArn);
      this.push('MapRunStarted', { mapRunStartedEventDetails: { mapRunArn } });
    } else this.pendingMapRuns.set(stateName, mapRunArn);
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

  aborted(): void {
    this.push('ExecutionAborted', {});
  }

  private typeOf(state: { name: string; type: string }): string {
    return this.shape.mapStates?.has(state.name) ? 'Map' : state.type;
  }

  private entered(name: string, type: string, input: unknown): void {
    if (this.shape.hiddenStates?.has(name)) return;
    const details = { stateEnteredEventDetails: { name, input: json(input), inputDetails: PAYLOAD_DETAILS } };
    this.push(`${type}StateEntered`, details);
    if (type === 'Task') this.scheduled(name, input);
    if (type === 'Map' && this.shape.mapStates?.has(name)) {
      const pending = this.pendingMapRuns.get(name);
      this.openMaps.set(name, pending);
      this.pendingMapRuns.delete(name);
      if (pending) this.push('MapRunStarted', { mapRunStartedEventDetails: { mapRunArn: pending } });
    }
  }

  private exited(name: string, type: string, output: unknown): void {
    if (this.shape.hiddenStates?.has(name)) return;
    if (type === 'Task' && this.lastType === 'LambdaFunctionStarted') {
      this.push('LambdaFunctionSucceeded', {
        lambdaFunctionSucceededEventDetails: { output: json(output), outputDetails: PAYLOAD_DETAILS },
      });
    }
    if (type === 'Map' && this.openMaps.get(name)) this.push('MapRunSucceeded', {});
    this.openMaps.delete(name);
    this.push(`${type}StateExited`, {
      stateExitedEventDetails: { name, output: json(output), outputDetails: PAYLOAD_DETAILS },
    });
  }

  private failed(name: string, type: string, error: string, cause: unknown): void {
    if (this.shape.hiddenStates?.has(name)) return;
    const details = { error, cause: typeof cause === 'string' ? cause : json(cause) };
    if (type === 'Task') this.push('LambdaFunctionFailed', { lambdaFunctionFailedEventDetails: details });
    else if (type === 'Map') {
      // A map that failed before its map run started (its MaxConcurrencyPath, say) has no run to fail.
      const started = this.openMaps.get(name) !== undefined;
      this.openMaps.delete(name);
      if (started) this.push('MapRunFailed', { mapRunFailedEventDetails: details });
      else this.push('MapStateFailed', {});
    }
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
    this.size.events++;
    this.lastType = type;
    for (const value of Object.values(details)) {
      const payload = value as { input?: unknown; output?: unknown };
      for (const text of [payload.input, payload.output]) {
        if (typeof text !== 'string') continue;
        const bytes = Buffer.byteLength(text);
        if (bytes > this.size.largestPayloadBytes) this.size.largestPayloadBytes = bytes;
      }
    }
    if (!this.keep) return;
    const id = this.events.length + 1;
    this.events.push({ timestamp: this.now(), type, id, previousEventId: id - 1, ...details });
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
