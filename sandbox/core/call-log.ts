/** One API call as the sandbox saw it: the raw material of tests' "made only read calls" checks. */
export interface CallRecord {
  seq: number;
  time: string;
  requestId: string;
  service: string;
  operation: string;
  region: string;
  /** The account the caller acts in (for an assumed role, the role's account). */
  account?: string;
  callerArn?: string;
  accessKeyId?: string;
  readOnly: boolean;
  outcome: 'ok' | 'error';
  errorCode?: string;
  status: number;
  durationMs: number;
}

export interface CallFilter {
  account?: string;
  service?: string;
  operation?: string;
  sinceSeq?: number;
  outcome?: 'ok' | 'error';
}

const READ_PREFIXES = ['Get', 'List', 'Describe', 'Lookup', 'Head', 'Scan', 'Query', 'BatchGet', 'Simulate'];
/** Calls that read or obtain credentials but change no resource. */
const READ_OPERATIONS = new Set(['AssumeRole', 'GetCallerIdentity']);

/** Whether an operation leaves every resource as it was. */
export function isReadOnlyOperation(operation: string): boolean {
  return READ_OPERATIONS.has(operation) || READ_PREFIXES.some((p) => operation.startsWith(p));
}

export class CallLog {
  private readonly records: CallRecord[] = [];
  private seq = 0;
  private sharedSeq: Int32Array | undefined;

  constructor(private readonly capacity = 2_000_000) {}

  append(record: Omit<CallRecord, 'seq'>): CallRecord {
    const full = { ...record, seq: ++this.seq };
    this.records.push(full);
    if (this.records.length > this.capacity) this.records.splice(0, this.records.length - this.capacity);
    if (this.sharedSeq) Atomics.store(this.sharedSeq, 0, this.seq);
    return full;
  }

  /**
   * Publishes the sequence number into shared memory after every call, so that the thread that
   * started a sandbox in a worker thread can take a mark as synchronously as in-process callers.
   */
  shareSeq(view: Int32Array): void {
    this.sharedSeq = view;
    Atomics.store(view, 0, this.seq);
  }

  /** Sequence number of the last call: take it before an action, pass it as `sinceSeq` after. */
  mark(): number {
    return this.seq;
  }

  list(filter: CallFilter = {}): CallRecord[] {
    // Records are in seq order; "since a mark" is the common question, so start there instead of
    // testing every record the sandbox has logged (a benchmark asks it after every step).
    const out: CallRecord[] = [];
    const from = filter.sinceSeq === undefined ? 0 : this.firstAfter(filter.sinceSeq);
    for (let i = from; i < this.records.length; i++) {
      const r = this.records[i] as CallRecord;
      if (
        (filter.account === undefined || r.account === filter.account) &&
        (filter.service === undefined || r.service === filter.service) &&
        (filter.operation === undefined || r.operation === filter.operation) &&
        (filter.outcome === undefined || r.outcome === filter.outcome)
      )
        out.push(r);
    }
    return out;
  }

  /** Index of the first record whose seq is above `seq`. */
  private firstAfter(seq: number): number {
    let low = 0;
    let high = this.records.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if ((this.records[middle] as CallRecord).seq > seq) high = middle;
      else low = middle + 1;
    }
    return low;
  }

  clear(): void {
    this.records.length = 0;
  }
}
