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
export function eventSelectorDrift(selectors: GetEventSelectorsCommandOutput): string | undefined {
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
