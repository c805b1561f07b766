/**
 * The sandbox's EventBridge: every event the default bus of an account and Region received, in
 * the order AWS emitted them. An event is the whole envelope a rule's target is given (`version`,
 * `id`, `detail-type`, `source`, `account`, `time`, `region`, `resources`, `detail`), so a test
 * can hand one to the state machine exactly as a rule would. Nothing routes them: the sandbox has
 * no rules, and a test picks the events a rule of its own would match.
 */
export interface BusEvent {
  version: '0';
  id: string;
  'detail-type': string;
  source: string;
  /** The account whose default bus received it. */
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: Record<string, unknown>;
}

export interface LoggedEvent {
  seq: number;
  event: BusEvent;
}

export interface EventFilter {
  /** The bus's account. */
  account?: string;
  source?: string;
  detailType?: string;
  /** `detail.eventName`. */
  eventName?: string;
  sinceSeq?: number;
}

export class EventLog {
  private readonly records: LoggedEvent[] = [];
  private seq = 0;

  append(event: BusEvent): LoggedEvent {
    const logged = { seq: ++this.seq, event };
    this.records.push(logged);
    return logged;
  }

  /** Sequence number of the last event: take it before an action, pass it as `sinceSeq` after. */
  mark(): number {
    return this.seq;
  }

  /** The events that match, oldest first, each a copy a caller may change. */
  list(filter: EventFilter = {}): BusEvent[] {
    return this.records
      .filter(
        ({ seq, event }) =>
          (filter.sinceSeq === undefined || seq > filter.sinceSeq) &&
          (filter.account === undefined || event.account === filter.account) &&
          (filter.source === undefined || event.source === filter.source) &&
          (filter.detailType === undefined || event['detail-type'] === filter.detailType) &&
          (filter.eventName === undefined || event.detail.eventName === filter.eventName),
      )
      .map(({ event }) => structuredClone(event));
  }
}
