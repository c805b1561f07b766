import * as z from 'zod/mini';
import { InvalidLifecycleEventError, InvalidRunInputError } from '../../commons/errors';
import type { OrganizationsEventName, RunMode, Trigger } from '../../commons/run';
import { parseStrictJson } from '../../commons/strict-json';
import '../../commons/zod-locale';

/**
 * What starts a run, parsed at the boundary: the run input of DESIGN §4.1 (console, CLI,
 * schedule), an Organizations lifecycle event (CreateAccountResult, AccountJoinedOrganization,
 * AccountDepartedOrganization, CloseAccountResult, MoveAccount), or a Control Tower
 * `CreateManagedAccount` / `UpdateManagedAccount` event. Anything else is an InvalidRunInput error
 * that names the problem, and an event that cannot be about one account of the organization an
 * InvalidLifecycleEvent, both raised before any AWS call.
 */
export type ParsedTrigger = RunRequest | LifecycleEvent;

/** A run asked for by a person or the schedule. */
export interface RunRequest {
  kind: 'request';
  mode: RunMode;
  /** As given (indexes name the field in errors); undefined, with no OUs either, selects every account. */
  accounts: string[] | undefined;
  organizationalUnits: string[] | undefined;
  dryRun: boolean;
  maxConcurrency: number | undefined;
  trigger: Extract<Trigger, { type: 'manual' | 'schedule' }>;
}

/** What a lifecycle event says happened to its account. */
export type Lifecycle =
  | 'created'
  | 'joined'
  | 'departed'
  | 'closed'
  | 'moved'
  | 'managed-created'
  | 'managed-updated';

interface LifecycleEventBase {
  kind: 'event';
  eventId: string;
  /** The CloudTrail eventName it was recognised by. */
  eventName: OrganizationsEventName | 'CreateManagedAccount' | 'UpdateManagedAccount';
  /** False for a FAILED result, or a MoveAccount call AWS refused (an errorCode): nothing changed. */
  succeeded: boolean;
  /** Absent from a FAILED CreateAccountResult only: the account was never created. */
  accountId: string | undefined;
  /** Only the creation events name it. */
  accountName: string | undefined;
  /** When the change happened, as the event writes it (text: AWS's forms vary, and none is parsed). */
  changedAt: string | undefined;
  /** The envelope's account and Region: where EventBridge says the event was emitted. */
  envelope: { account: string; region: string };
  trigger: Extract<Trigger, { type: 'organizations-event' | 'control-tower-event' }>;
}

/** An account lifecycle event: one account, and what happened to it. */
export type LifecycleEvent =
  | (LifecycleEventBase & { lifecycle: 'created' | 'closed' | 'managed-created' | 'managed-updated' })
  | (LifecycleEventBase & {
      lifecycle: 'joined';
      /** Created accounts join too (AWS logs both CreateAccountResult and this); undefined when the event does not say. */
      joinedMethod: 'created' | 'invited' | undefined;
    })
  | (LifecycleEventBase & {
      lifecycle: 'departed';
      /** Left (the member left), Removed (by the management account), Cleaned (closed for good); undefined when the event does not say. */
      departureMethod: 'left' | 'removed' | 'cleaned' | undefined;
    })
  | (LifecycleEventBase & { lifecycle: 'moved'; sourceParentId: string; destinationParentId: string });

export const RUN_MODES = ['onboard', 'reconcile', 'offboard', 'retry-failed'] as const;
export const ACCOUNT_ID = /^\d{12}$/;
/** Organizations' own pattern for an OU id. */
export const OU_ID = /^ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}$/;
/**
 * The most ids a run input may name. Organizations allows at most 10,000 accounts and 2,000 OUs
 * in an organization (its quotas page), so a longer list cannot be a selection; it is refused by
 * its length before any id is validated (validating 200,000 ids overflowed the stack: zod spreads
 * every element's issue into one push). Step Functions' 256 KiB input holds 10,000 ids.
 */
export const MAX_RUN_ACCOUNTS = 10_000;
export const MAX_RUN_ORGANIZATIONAL_UNITS = 2_000;
/** A message lists this many problems, then counts the rest: one per id of 10,000 is unreadable. */
const MAX_LISTED_PROBLEMS = 10;

/**
 * A run input (or event) given as JSON text — `casbridge run --input`, the sandbox's
 * StartExecution — parsed strictly: a key named twice is refused by name, where `JSON.parse`
 * would keep the last one silently. The value still goes through `parseTrigger`.
 */
export function parseRunInputText(text: string): unknown {
  let parsed: ReturnType<typeof parseStrictJson>;
  try {
    parsed = parseStrictJson(text);
  } catch (error) {
    throw new InvalidRunInputError(`run input is not JSON: ${(error as Error).message}`, { step: 'resolve' });
  }
  if (parsed.ok) return parsed.value;
  const { path, key } = parsed.duplicate;
  throw new InvalidRunInputError(
    `duplicate key '${fieldPath([...path, key])}': a JSON object names it twice, and which one counts is not up to casbridge to guess; give each field once`,
    { step: 'resolve' },
  );
}

export function parseTrigger(event: unknown): ParsedTrigger {
  if (typeof event !== 'object' || event === null || Array.isArray(event)) {
    throw new InvalidRunInputError(
      `run input must be a JSON object such as {"mode":"reconcile"}, not ${describe(event)}`,
      { step: 'resolve' },
    );
  }
  // An EventBridge event always carries both; a run input never has either (its schema is strict).
  if ('source' in event && 'detail-type' in event) return parseEvent(event);
  return parseRunRequest(event);
}

// ---------------------------------------------------------------- run input

/** Zod's message for a value of the wrong type, or a missing one (issues do not keep the input). */
const typeError =
  (expected: string) =>
  (iss: { input?: unknown }): string =>
    iss.input === undefined ? 'is required' : `${describe(iss.input)} is not ${expected}`;

const accountIdSchema = z
  .string({ error: typeError('a 12-digit account id') })
  .check(z.regex(ACCOUNT_ID, { error: (iss) => `${describe(iss.input)} is not a 12-digit account id` }));

const ouIdSchema = z
  .string({ error: typeError('an OU id (ou-xxxx-xxxxxxxx)') })
  .check(z.regex(OU_ID, { error: (iss) => `${describe(iss.input)} is not an OU id (ou-xxxx-xxxxxxxx)` }));

/** An empty list is refused: "no accounts" and "every account" must not be one keystroke apart. */
const nonEmpty = (what: string) => ({
  error: () => `names no ${what}; leave the field out to select every account`,
});

/**
 * A list of ids: refused by its length first, so an oversized list costs one issue, not one per
 * element (a pipe stops at its first failing stage).
 */
const idList = <T extends z.core.$ZodType>(element: T, what: string, max: number) =>
  z.pipe(
    z.array(z.unknown(), { error: typeError(`a list of ${what} ids`) }).check(
      z.minLength(1, nonEmpty(what)),
      z.maxLength(max, {
        error: (iss) =>
          `names ${(iss.input as unknown[]).length.toLocaleString('en-US')} ${what}s; a run input names at most ${max.toLocaleString('en-US')} (Organizations' limit per organization): leave the field out to select every account`,
      }),
    ),
    z.array(element),
  );

const runInputSchema = z.strictObject({
  mode: z.enum(RUN_MODES, {
    error: (iss) =>
      iss.input === undefined
        ? `is required: one of ${RUN_MODES.join(', ')}`
        : `${describe(iss.input)} is not one of ${RUN_MODES.join(', ')}`,
  }),
  accounts: z.optional(idList(accountIdSchema, 'account', MAX_RUN_ACCOUNTS)),
  organizationalUnits: z.optional(idList(ouIdSchema, 'OU', MAX_RUN_ORGANIZATIONAL_UNITS)),
  dryRun: z._default(z.boolean({ error: typeError('true or false') }), false),
  maxConcurrency: z.optional(
    z
      .number({ error: typeError('a number') })
      .check(
        z.int({ error: (iss) => `${describe(iss.input)} is not a whole number` }),
        z.minimum(1, { error: (iss) => `${describe(iss.input)} is below 1` }),
        z.maximum(1000, { error: (iss) => `${describe(iss.input)} is above 1000` }),
      ),
  ),
  // The schedule rule sends {"mode":"reconcile","trigger":"schedule"}; a person need not say.
  trigger: z._default(
    z.enum(['manual', 'schedule'], { error: (iss) => `${describe(iss.input)} is not manual or schedule` }),
    'manual',
  ),
});

function parseRunRequest(event: object): RunRequest {
  const parsed = runInputSchema.safeParse(event);
  if (!parsed.success) throw invalid(parsed.error.issues);
  const input = parsed.data;
  return {
    kind: 'request',
    mode: input.mode,
    accounts: input.accounts,
    organizationalUnits: input.organizationalUnits,
    dryRun: input.dryRun,
    maxConcurrency: input.maxConcurrency,
    trigger: { type: input.trigger },
  };
}

// ---------------------------------------------------------------- events

const SERVICE_EVENT = 'AWS Service Event via CloudTrail';
const API_CALL = 'AWS API Call via CloudTrail';
const HANDLED =
  'aws.organizations CreateAccountResult, CloseAccountResult, AccountJoinedOrganization, AccountDepartedOrganization (as "AWS Service Event via CloudTrail") and MoveAccount (as "AWS API Call via CloudTrail"); aws.controltower CreateManagedAccount / UpdateManagedAccount';

/**
 * Timestamps inside the events are kept as text and never parsed: AWS renders them as
 * "Mar 4, 2025 10:13:01 AM" in CreateAccountResult and "2025-03-04T10:31:07+0000" in Control
 * Tower's, and nothing casbridge decides depends on them. The envelope and the CloudTrail record
 * are loose: AWS adds fields to both, and an added field must not stop onboarding.
 */
const timestamp = z.optional(z.string());
/** A CloudTrail record's object, loose; a missing one reads "is required". */
const record = <S extends z.core.$ZodLooseShape>(shape: S) =>
  z.looseObject(shape, { error: typeError('an object') });

const state = z.enum(['SUCCEEDED', 'FAILED'], {
  error: (iss) =>
    iss.input === undefined
      ? 'is required: SUCCEEDED or FAILED'
      : `${describe(iss.input)} is not SUCCEEDED or FAILED`,
});
const optionalAccountId = z.optional(accountIdSchema);
/** Organizations' pattern for a parent: the root or an OU. */
const PARENT_ID = /^(r-[0-9a-z]{4,32}|ou-[0-9a-z]{4,32}-[a-z0-9]{8,32})$/;
const parentIdSchema = z
  .string({ error: typeError('a root or OU id') })
  .check(z.regex(PARENT_ID, { error: (iss) => `${describe(iss.input)} is not a root or OU id` }));

const envelopeSchema = z.looseObject({
  // The event id becomes part of the run id, so it must be safe in an execution name.
  id: z
    .string({ error: typeError('an event id') })
    .check(z.regex(/^[A-Za-z0-9-]{1,64}$/, { error: (iss) => `${describe(iss.input)} is not an event id` })),
  // Where the event was emitted; a forwarded event keeps both (EventBridge: the Region and account
  // "where the event originated"), so ResolveTargets checks them against the organization.
  account: accountIdSchema,
  region: z
    .string({ error: typeError('a Region') })
    .check(
      z.regex(/^[a-z]{2}(-[a-z]+)+-\d{1,2}$/, { error: (iss) => `${describe(iss.input)} is not a Region` }),
    ),
  source: z.string({ error: typeError('an event source') }),
  'detail-type': z.string({ error: typeError('a detail type') }),
  time: timestamp,
  detail: record({ eventName: z.optional(z.string()) }),
});

const createAccountResultSchema = record({
  serviceEventDetails: record({
    createAccountStatus: record({
      id: z.optional(z.string()),
      state,
      accountName: z.optional(z.string()),
      accountId: optionalAccountId,
      failureReason: z.optional(z.string()),
      requestedTimestamp: timestamp,
      completedTimestamp: timestamp,
    }),
  }),
});

/** The account id is read through ACCOUNT_ID_SOURCES, not here: a bad one is InvalidLifecycleEvent. */
const closeAccountResultSchema = record({
  serviceEventDetails: record({
    closeAccountStatus: record({
      state,
      failureReason: z.optional(z.string()),
      requestedTimestamp: timestamp,
      completedTimestamp: timestamp,
    }),
  }),
});

const moveAccountSchema = record({
  eventTime: timestamp,
  // A refused call is recorded too, with its error: it moved nothing.
  errorCode: z.optional(z.string()),
  requestParameters: record({ sourceParentId: parentIdSchema, destinationParentId: parentIdSchema }),
});

/** Optional: AWS has not said the membership events are service events, nor where their fields are. */
const membershipSchema = record({ serviceEventDetails: z.optional(record({})) });

const managedAccountStatus = record({
  state,
  account: z.optional(record({ accountId: optionalAccountId, accountName: z.optional(z.string()) })),
  message: z.optional(z.string()),
  requestedTimestamp: timestamp,
  completedTimestamp: timestamp,
});

const CONTROL_TOWER_EVENTS = {
  CreateManagedAccount: 'createManagedAccountStatus',
  UpdateManagedAccount: 'updateManagedAccountStatus',
} as const;

/**
 * Where each Organizations event names its account, read in this order. AWS has published no
 * record of the two membership events (it names their other fields only), so every place where
 * an Organizations record is documented to name an account is read for them; a value found in
 * two places must be the same account, and an event that names none is refused by name.
 * `*` stands for any one member of an object, or element of a list.
 */
const ACCOUNT_ID_SOURCES: Record<
  Exclude<OrganizationsEventName, 'CreateAccountResult'>,
  readonly AccountIdSource[]
> = {
  CloseAccountResult: [
    // [Doc] orgs_cloudtrail-integration, "CloseAccountResult" example.
    field(['serviceEventDetails', 'closeAccountStatus', 'accountId']),
  ],
  MoveAccount: [
    // [Inference] The API's AccountId member, camel-cased as CloudTrail records CloseAccount's
    // ([Doc] orgs_cloudtrail-integration, "CloseAccount" example).
    field(['requestParameters', 'accountId']),
  ],
  AccountJoinedOrganization: membershipSources(),
  AccountDepartedOrganization: membershipSources(),
};

function membershipSources(): readonly AccountIdSource[] {
  return [
    // [Inference] A service event's payload is its serviceEventDetails, where Organizations names
    // the account `accountId` ([Doc] CreateAccountResult and CloseAccountResult examples) ...
    field(['serviceEventDetails', 'accountId']),
    // ... one level down in those two (createAccountStatus, closeAccountStatus), so here too.
    field(['serviceEventDetails', '*', 'accountId']),
    // [Inference] The member AccountId of the calls that cause a departure (RemoveAccountFromOrganization,
    // CloseAccount: [Doc] the CloseAccount example's requestParameters.accountId).
    field(['requestParameters', 'accountId']),
    // [Doc] CloudTrail's record has `resources` ({ARN, accountId, type}); an Organizations account
    // is arn:<partition>:organizations::<management>:account/o-…/<id> ([Doc] Organizations' ARN
    // formats). The entry's accountId is the resource's owner, the management account: only the
    // ARN names the member.
    {
      where: "detail.resources[].ARN (type 'AWS::Organizations::Account')",
      read: (detail) =>
        (Array.isArray(detail.resources) ? detail.resources : []).flatMap((entry: unknown, i) => {
          const r = entry as { type?: unknown; ARN?: unknown } | null;
          if (r?.type !== 'AWS::Organizations::Account') return [];
          const id =
            typeof r.ARN === 'string' ? /:account\/o-[a-z0-9]+\/(\d{12})$/.exec(r.ARN)?.[1] : undefined;
          return [{ where: `detail.resources[${i}].ARN`, value: id ?? r.ARN }];
        }),
    },
  ];
}

interface AccountIdSource {
  /** How a message names the place. */
  where: string;
  read: (detail: Record<string, unknown>) => { where: string; value: unknown }[];
}

function field(path: readonly string[]): AccountIdSource {
  return {
    where: fieldPath(['detail', ...path]),
    read: (detail) => valuesAt(detail, path, ['detail']),
  };
}

/** Every value at `path` under `from`, `*` expanded, each with where it was found. */
function valuesAt(
  from: unknown,
  path: readonly string[],
  at: PropertyKey[],
): { where: string; value: unknown }[] {
  if (path.length === 0)
    return from === undefined || from === null ? [] : [{ where: fieldPath(at), value: from }];
  if (typeof from !== 'object' || from === null) return [];
  const [head, ...rest] = path as [string, ...string[]];
  if (head !== '*') return valuesAt((from as Record<string, unknown>)[head], rest, [...at, head]);
  const entries: [PropertyKey, unknown][] = Array.isArray(from)
    ? from.map((v, i) => [i, v])
    : Object.entries(from as Record<string, unknown>);
  return entries.flatMap(([key, value]) =>
    typeof value === 'object' && value !== null ? valuesAt(value, rest, [...at, key]) : [],
  );
}

/** The departure methods AWS names, in either casing its texts use (Left, LEFT). */
const DEPARTURE_METHODS = { LEFT: 'left', REMOVED: 'removed', CLEANED: 'cleaned' } as const;
const JOIN_METHODS = { CREATED: 'created', INVITED: 'invited' } as const;

function parseEvent(event: object): LifecycleEvent {
  const envelope = envelopeSchema.safeParse(event);
  if (!envelope.success) throw invalid(envelope.error.issues);
  const { id, source, detail, account, region } = envelope.data;
  const origin = { account, region };
  const detailType = envelope.data['detail-type'];
  const eventName = detail.eventName;
  const what = `event ${source} / ${detailType} / ${eventName ?? '(no eventName)'}`;
  if (source === 'aws.organizations') return parseOrganizationsEvent(id, detailType, detail, origin, what);
  if (source === 'aws.controltower') {
    if (
      detailType !== SERVICE_EVENT ||
      (eventName !== 'CreateManagedAccount' && eventName !== 'UpdateManagedAccount')
    )
      throw unhandled(what);
    const member = CONTROL_TOWER_EVENTS[eventName];
    const parsed = z
      .looseObject({ serviceEventDetails: record({ [member]: managedAccountStatus }) })
      .safeParse(detail);
    if (!parsed.success) throw invalid(parsed.error.issues, ['detail']);
    const status = parsed.data.serviceEventDetails[member] as z.output<typeof managedAccountStatus>;
    return {
      ...lifecycleEvent(id, status.state, status.account?.accountId, status.account?.accountName, origin, {
        type: 'control-tower-event',
        eventId: id,
        eventName,
      }),
      lifecycle: eventName === 'CreateManagedAccount' ? 'managed-created' : 'managed-updated',
      eventName,
      changedAt: status.completedTimestamp,
    };
  }
  throw new InvalidRunInputError(`event source '${source}' is not one casbridge handles (${HANDLED})`, {
    step: 'resolve',
  });
}

/**
 * Organizations' events, recognised by eventName (and the detail type each is delivered as). The
 * membership events are taken as either detail type: AWS has not said which they come as.
 */
function parseOrganizationsEvent(
  id: string,
  detailType: string,
  detail: Record<string, unknown>,
  origin: LifecycleEvent['envelope'],
  what: string,
): LifecycleEvent {
  const eventName = detail.eventName;
  const trigger = (name: Exclude<OrganizationsEventName, 'CreateAccountResult'>) => ({
    type: 'organizations-event' as const,
    eventId: id,
    eventName: name,
  });
  if (eventName === 'CreateAccountResult' && detailType === SERVICE_EVENT) {
    const parsed = createAccountResultSchema.safeParse(detail);
    if (!parsed.success) throw invalid(parsed.error.issues, ['detail']);
    const status = parsed.data.serviceEventDetails.createAccountStatus;
    return {
      ...lifecycleEvent(id, status.state, status.accountId, status.accountName, origin, {
        type: 'organizations-event',
        eventId: id,
        ...(status.id ? { requestId: status.id } : {}),
      }),
      lifecycle: 'created',
      eventName,
      changedAt: status.completedTimestamp,
    };
  }
  if (eventName === 'CloseAccountResult' && detailType === SERVICE_EVENT) {
    const parsed = closeAccountResultSchema.safeParse(detail);
    if (!parsed.success) throw invalid(parsed.error.issues, ['detail']);
    const status = parsed.data.serviceEventDetails.closeAccountStatus;
    return {
      ...named(id, eventName, status.state === 'SUCCEEDED', detail, origin, trigger(eventName)),
      lifecycle: 'closed',
      changedAt: status.completedTimestamp,
    };
  }
  if (eventName === 'MoveAccount' && detailType === API_CALL) {
    const parsed = moveAccountSchema.safeParse(detail);
    if (!parsed.success) throw invalid(parsed.error.issues, ['detail']);
    const { requestParameters, errorCode, eventTime } = parsed.data;
    return {
      ...named(id, eventName, errorCode === undefined, detail, origin, trigger(eventName)),
      lifecycle: 'moved',
      sourceParentId: requestParameters.sourceParentId,
      destinationParentId: requestParameters.destinationParentId,
      changedAt: eventTime,
    };
  }
  if (
    (eventName === 'AccountJoinedOrganization' || eventName === 'AccountDepartedOrganization') &&
    (detailType === SERVICE_EVENT || detailType === API_CALL)
  ) {
    const parsed = membershipSchema.safeParse(detail);
    if (!parsed.success) throw invalid(parsed.error.issues, ['detail']);
    const details = parsed.data.serviceEventDetails ?? {};
    const base = named(id, eventName, true, detail, origin, trigger(eventName));
    if (eventName === 'AccountJoinedOrganization') {
      return {
        ...base,
        lifecycle: 'joined',
        joinedMethod: method(id, details, ['joinedMethod'], 'join method', JOIN_METHODS),
        changedAt: text(details, ['joinedTime']),
      };
    }
    return {
      ...base,
      lifecycle: 'departed',
      departureMethod: method(
        id,
        details,
        ['departureMethod', 'departedMethod'],
        'departure method',
        DEPARTURE_METHODS,
      ),
      changedAt: text(details, ['departureTime', 'departedTime']),
    };
  }
  throw unhandled(what);
}

/** An event about one named account: its id read from every place ACCOUNT_ID_SOURCES lists. */
function named(
  eventId: string,
  eventName: Exclude<OrganizationsEventName, 'CreateAccountResult'>,
  succeeded: boolean,
  detail: Record<string, unknown>,
  envelope: LifecycleEvent['envelope'],
  trigger: LifecycleEvent['trigger'],
) {
  const sources = ACCOUNT_ID_SOURCES[eventName];
  const found = sources.flatMap((source) => source.read(detail));
  const malformed = found.filter((f) => typeof f.value !== 'string' || !ACCOUNT_ID.test(f.value));
  if (malformed.length > 0) {
    throw new InvalidLifecycleEventError(
      `${eventName} ${eventId}: ${malformed.map((f) => `${f.where}: ${describe(f.value)} is not a 12-digit account id`).join('; ')}`,
      { step: 'resolve' },
    );
  }
  const ids = [...new Set(found.map((f) => f.value as string))];
  if (ids.length === 0) {
    throw new InvalidLifecycleEventError(
      `${eventName} ${eventId} names no account: casbridge reads its account from ${sources.map((s) => s.where).join(', ')}, and the event has none of them`,
      { step: 'resolve' },
    );
  }
  if (ids.length > 1) {
    throw new InvalidLifecycleEventError(
      `${eventName} ${eventId} names ${ids.length} accounts (${found.map((f) => `${f.where}: ${f.value}`).join(', ')}): which one it is about is not casbridge's to guess`,
      { step: 'resolve' },
    );
  }
  return {
    kind: 'event' as const,
    eventId,
    eventName,
    succeeded,
    accountId: ids[0] as string,
    accountName: undefined,
    envelope,
    trigger,
  };
}

/**
 * A membership event's method, under any of its spellings, in serviceEventDetails or one level
 * below it; undefined when the event names none (the account joined or departed all the same).
 * A value casbridge does not know, or two that disagree, is refused: it may be a field misread.
 */
function method<T extends Record<string, string>>(
  eventId: string,
  details: Record<string, unknown>,
  names: readonly string[],
  what: string,
  known: T,
): T[keyof T] | undefined {
  const found = names.flatMap((name) => [
    ...valuesAt(details, [name], ['detail', 'serviceEventDetails']),
    ...valuesAt(details, ['*', name], ['detail', 'serviceEventDetails']),
  ]);
  const values = found.map((f) => ({
    ...f,
    method:
      typeof f.value === 'string' ? (known[f.value.toUpperCase()] as T[keyof T] | undefined) : undefined,
  }));
  const unknown = values.filter((v) => v.method === undefined);
  if (unknown.length > 0) {
    throw new InvalidLifecycleEventError(
      `event ${eventId}: ${unknown.map((v) => `${v.where}: ${describe(v.value)}`).join('; ')} is not a ${what} casbridge knows (${Object.keys(known).join(', ')}, in any case)`,
      { step: 'resolve' },
    );
  }
  const methods = [...new Set(values.map((v) => v.method))];
  if (methods.length > 1) {
    throw new InvalidLifecycleEventError(
      `event ${eventId} names ${methods.length} ${what}s (${values.map((v) => `${v.where}: ${describe(v.value)}`).join(', ')})`,
      { step: 'resolve' },
    );
  }
  return methods[0];
}

/** The first text under one of `names` in serviceEventDetails or one level below. */
function text(details: Record<string, unknown>, names: readonly string[]): string | undefined {
  for (const name of names) {
    const found = [...valuesAt(details, [name], []), ...valuesAt(details, ['*', name], [])].find(
      (f) => typeof f.value === 'string',
    );
    if (found) return found.value as string;
  }
  return undefined;
}

function lifecycleEvent(
  eventId: string,
  outcome: 'SUCCEEDED' | 'FAILED',
  accountId: string | undefined,
  accountName: string | undefined,
  envelope: LifecycleEvent['envelope'],
  trigger: LifecycleEvent['trigger'],
) {
  if (outcome === 'SUCCEEDED' && accountId === undefined) {
    throw new InvalidRunInputError(`a SUCCEEDED ${trigger.type} ${eventId} names no account id`, {
      step: 'resolve',
    });
  }
  return {
    kind: 'event' as const,
    eventId,
    succeeded: outcome === 'SUCCEEDED',
    accountId,
    accountName,
    envelope,
    trigger,
  };
}

function unhandled(what: string): InvalidRunInputError {
  return new InvalidRunInputError(`${what} is not a trigger casbridge handles (${HANDLED})`, {
    step: 'resolve',
  });
}

// ---------------------------------------------------------------- messages

/** One InvalidRunInput naming every problem, each prefixed by its field (`accounts[2]: ...`). */
function invalid(issues: readonly z.core.$ZodIssue[], prefix: PropertyKey[] = []): InvalidRunInputError {
  const problems = issues.map((issue) => {
    const path = [...prefix, ...issue.path];
    if (issue.code === 'unrecognized_keys') {
      const names = issue.keys.map((k) => `'${fieldPath([...path, k])}'`).join(', ');
      return `unknown field${issue.keys.length > 1 ? 's' : ''} ${names}`;
    }
    return path.length ? `${fieldPath(path)}: ${issue.message}` : issue.message;
  });
  return new InvalidRunInputError(listProblems(problems), { step: 'resolve' });
}

/** The first problems, then how many more: a message stays readable, and within Step Functions' cause limit. */
export function listProblems(problems: readonly string[]): string {
  const listed = problems.slice(0, MAX_LISTED_PROBLEMS).join('; ');
  const more = problems.length - MAX_LISTED_PROBLEMS;
  return more > 0 ? `${listed}; and ${more.toLocaleString('en-US')} more` : listed;
}

export function fieldPath(path: readonly PropertyKey[]): string {
  return path
    .map((part, i) => (typeof part === 'number' ? `[${part}]` : `${i ? '.' : ''}${String(part)}`))
    .join('');
}

/** Long enough for any id casbridge takes; a longer value is cut so a message stays one line's worth. */
const MAX_QUOTED = 64;

function describe(value: unknown): string {
  if (typeof value === 'string')
    return value.length > MAX_QUOTED ? `'${value.slice(0, MAX_QUOTED)}…'` : `'${value}'`;
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  return String(value);
}
