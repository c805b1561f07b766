import type {
  AdvancedEventSelector,
  EventSelector,
  GetEventSelectorsCommandOutput,
} from '@aws-sdk/client-cloudtrail';

/**
 * What casbridge's trail selects: CloudTrail's defaults, the selector a trail created without any
 * gets (every management event, read and write, no data events). The connector reads management
 * events; data events are for a trail of the customer's own, at the customer's cost.
 */
export const DESIRED_EVENT_SELECTORS: EventSelector[] = [
  {
    ReadWriteType: 'All',
    IncludeManagementEvents: true,
    DataResources: [],
    ExcludeManagementEventSources: [],
  },
];

/**
 * Why the trail's selectors miss management events, in the words the report uses, or undefined
 * when every management event, read and write, is selected. CloudTrail logs an event that matches
 * any selector, so reads and writes may be covered by different selectors; a selector that
 * excludes event sources (KMS, RDS Data API) or narrows by any other field covers neither fully.
 * A trail has either basic or advanced selectors, and GetEventSelectors returns whichever it has.
 */
export function eventSelectorDrift(selectors: TrailSelectors): string | undefined {
  const coverage = selectors.AdvancedEventSelectors?.length
    ? selectors.AdvancedEventSelectors.map(advancedCoverage)
    : (selectors.EventSelectors ?? []).map(basicCoverage);
  const full = coverage.filter((c) => !c.narrowed);
  const reads = full.some((c) => c.reads);
  const writes = full.some((c) => c.writes);
  if (reads && writes) return undefined;
  if (reads) return 'management-events-read-only';
  if (writes) return 'management-events-write-only';
  // Nothing covers a whole kind: either no selector picks management events at all, or those that
  // do leave some sources or events out.
  return coverage.some((c) => c.reads || c.writes) ? 'management-events-narrowed' : 'management-events-off';
}

/** A trail's selectors, as GetEventSelectors returns them: basic or advanced. */
type TrailSelectors = Pick<GetEventSelectorsCommandOutput, 'EventSelectors' | 'AdvancedEventSelectors'>;

interface Coverage {
  reads: boolean;
  writes: boolean;
  /** Some management events of the kinds covered are left out (excluded sources, other filters). */
  narrowed: boolean;
}

function basicCoverage(selector: EventSelector): Coverage {
  // CloudTrail's defaults when a field is absent: All, management events included.
  if (selector.IncludeManagementEvents === false) return { reads: false, writes: false, narrowed: false };
  const type = selector.ReadWriteType ?? 'All';
  return {
    reads: type !== 'WriteOnly',
    writes: type !== 'ReadOnly',
    narrowed: (selector.ExcludeManagementEventSources ?? []).length > 0,
  };
}

/**
 * An advanced selector picks management events with `eventCategory Equals Management`; a
 * `readOnly` field narrows it to reads or writes, and any other field (an `eventSource NotEquals`,
 * which is how management sources are excluded) narrows it further.
 */
function advancedCoverage(selector: AdvancedEventSelector): Coverage {
  const fields = selector.FieldSelectors ?? [];
  const category = fields.find((f) => f.Field === 'eventCategory');
  if (!category?.Equals?.includes('Management') || category.NotEquals?.includes('Management')) {
    return { reads: false, writes: false, narrowed: false };
  }
  const readOnly = fields.filter((f) => f.Field === 'readOnly');
  const other = fields.filter((f) => f.Field !== 'eventCategory' && f.Field !== 'readOnly');
  const only =
    readOnly.length === 1 ? readOnlyValue(readOnly[0]) : readOnly.length === 0 ? 'both' : 'unknown';
  return {
    reads: only === 'both' || only === 'true',
    writes: only === 'both' || only === 'false',
    narrowed: other.length > 0 || only === 'unknown',
  };
}

/** `readOnly Equals [true]` selects reads, `[false]` (or NotEquals true) writes; anything else is unclear. */
function readOnlyValue(field: NonNullable<AdvancedEventSelector['FieldSelectors']>[number] | undefined) {
  const equals = field?.Equals ?? [];
  const notEquals = field?.NotEquals ?? [];
  const others = [field?.StartsWith, field?.EndsWith, field?.NotStartsWith, field?.NotEndsWith].some(
    (v) => (v ?? []).length > 0,
  );
  if (others) return 'unknown';
  if (equals.length === 1 && notEquals.length === 0) return equals[0] === 'true' ? 'true' : 'false';
  if (notEquals.length === 1 && equals.length === 0) return notEquals[0] === 'true' ? 'false' : 'true';
  return 'unknown';
}

/**
 * Whether the selectors record read and write management events, for another trail judged as
 * coverage of an account (trail-coverage.ts): the same reading of basic and advanced selectors as
 * above, except that the event sources left out (`ExcludeManagementEventSources`, or `eventSource
 * NotEquals` in an advanced selector: for a trail only kms.amazonaws.com and rdsdata.amazonaws.com)
 * are listed instead of disqualifying. An event is logged when any selector matches it, so a
 * source counts as left out of reads (or writes) only when every selector picking them leaves it
 * out. Any other narrowing (an operator casbridge cannot read exactly) does not cover.
 */
export function managementEventCoverage(selectors: TrailSelectors): {
  reads: boolean;
  writes: boolean;
  excludedSources: string[];
} {
  const picks = selectors.AdvancedEventSelectors?.length
    ? selectors.AdvancedEventSelectors.map(advancedPick)
    : (selectors.EventSelectors ?? []).map(basicPick);
  const known = picks.filter((p): p is SourcePick => p !== undefined);
  const excludedOf = (kind: 'reads' | 'writes'): string[] | undefined => {
    const covering = known.filter((p) => p[kind]);
    if (covering.length === 0) return undefined;
    return [...new Set(covering.flatMap((p) => p.excluded))].filter((source) =>
      covering.every((p) => p.excluded.includes(source)),
    );
  };
  const reads = excludedOf('reads');
  const writes = excludedOf('writes');
  return {
    reads: reads !== undefined,
    writes: writes !== undefined,
    excludedSources: [...new Set([...(reads ?? []), ...(writes ?? [])])].sort(),
  };
}

interface SourcePick {
  reads: boolean;
  writes: boolean;
  excluded: string[];
}

function basicPick(selector: EventSelector): SourcePick | undefined {
  if (selector.IncludeManagementEvents === false) return undefined;
  const type = selector.ReadWriteType ?? 'All';
  return {
    reads: type !== 'WriteOnly',
    writes: type !== 'ReadOnly',
    excluded: selector.ExcludeManagementEventSources ?? [],
  };
}

function advancedPick(selector: AdvancedEventSelector): SourcePick | undefined {
  const fields = selector.FieldSelectors ?? [];
  const category = fields.find((f) => f.Field === 'eventCategory');
  if (!category?.Equals?.includes('Management') || category.NotEquals?.includes('Management')) {
    return undefined;
  }
  const readOnly = fields.filter((f) => f.Field === 'readOnly');
  const only =
    readOnly.length === 1 ? readOnlyValue(readOnly[0]) : readOnly.length === 0 ? 'both' : 'unknown';
  const sources = fields.filter((f) => f.Field === 'eventSource');
  const other = fields.filter(
    (f) => f.Field !== 'eventCategory' && f.Field !== 'readOnly' && f.Field !== 'eventSource',
  );
  // eventSource NotEquals, and nothing else on it, is how a trail leaves sources out.
  const readable = sources.every(
    (f) =>
      (f.NotEquals ?? []).length > 0 &&
      [f.Equals, f.StartsWith, f.EndsWith, f.NotStartsWith, f.NotEndsWith].every(
        (v) => (v ?? []).length === 0,
      ),
  );
  if (only === 'unknown' || other.length > 0 || !readable) return undefined;
  return {
    reads: only === 'both' || only === 'true',
    writes: only === 'both' || only === 'false',
    excluded: sources.flatMap((f) => f.NotEquals ?? []),
  };
}
