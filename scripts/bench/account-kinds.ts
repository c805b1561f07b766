import { CloudTrailClient, DescribeTrailsCommand } from '@aws-sdk/client-cloudtrail';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ledger } from '../../commons/clients/dynamodb';
import type { KeyDelivery } from '../../commons/config';
import { getRuntime, resetRuntime } from '../../commons/runtime';
import { deleteConnectorSecret, secretDeletionChanges } from '../../commons/secret-retention';
import type { Sandbox } from '../../sandbox';
import type { CallRecord } from '../../sandbox/core/call-log';
import { adaptForLocalRun, LOAD_TARGETS_STATE } from '../../statemachine/local/adapt-definition';
import { type Definition, loadDefinition, taskStates } from '../../statemachine/local/definition';
import { executeRunLocally } from '../../statemachine/local/execute-run';
import type { EventLog } from '../../statemachine/local/run-local';
import type { OnDemandKind, SharedKind } from './cost-model';

/**
 * What one account costs in one run, by the kind of run it is, counted from real local executions
 * of the deployed definition against the sandbox (issue 12 §7): the state transitions Step
 * Functions Standard bills, the Lambda invocations, and every AWS call made for the account (its
 * member account's and the central account's while the map ran). The cost model
 * (./cost-model.ts) prices these counts.
 *
 * - `onboard`: a fresh account onboarded;
 * - `awaiting`: the daily reconcile of an account handed off, its connector not connected yet;
 * - `connecting`: the reconcile that sees the connector use its key (and deletes its secret);
 * - `connected`: the daily reconcile of a connected account;
 * - `rotating`: the reconcile that finds the key older than keyMaxAgeDays (a new key, its secret,
 *   a rotation hand-off);
 * - `rotated`: the reconcile that sees the connector use the new key (the old one deactivated,
 *   the secret deleted).
 *
 * With keys minted on demand (keyDelivery on-demand, the default) the kinds differ so:
 * - `onboard` mints no key and hands off that one is due; `awaiting` is a new account's daily
 *   reconcile while its key is due;
 * - `minting`: the one-account run of the operator's `credentials --new-key` for a new account
 *   (the key and its secret; the CLI then reveals it and deletes the secret, outside the run);
 * - `connecting`: the reconcile that sees the connector use it (no secret left to delete);
 * - `rotationDue`: the reconcile that finds the key past keyMaxAgeDays (the key-due hand-off);
 * - `rotating`: the `--new-key` run of that rotation (the pending key and its secret);
 * - `rotated`: the reconcile that sees the new key used (the old one deactivated).
 */
export type AccountKind =
  | 'onboard'
  | 'awaiting'
  | 'connecting'
  | 'connected'
  | 'rotating'
  | 'rotated'
  | 'minting'
  | 'rotationDue';

export const ACCOUNT_KINDS: readonly AccountKind[] = [
  'onboard',
  'awaiting',
  'minting',
  'connecting',
  'connected',
  'rotationDue',
  'rotating',
  'rotated',
];

export interface KindFigures {
  kind: AccountKind;
  mode: 'onboard' | 'reconcile';
  accounts: number;
  /**
   * Per account: the child execution the Distributed Map starts (billed one transition: Step
   * Functions "Transitions"), every state entered in it, every retry.
   */
  transitions: number;
  /** Per account, by state: entries and retries (the inline map's `index` names the account's). */
  states: Record<string, number>;
  /** Per account, by function: each Task state entered or retried is one invocation. */
  invocations: Record<string, number>;
  /** Per account, by `service:Operation`: every call, answered errors included (they are billed). */
  calls: Record<string, number>;
  /** The share of the accounts that ended at AccountUnchanged (the check's fast path). */
  fastPathShare: number;
  outcomes: Record<string, number>;
}

export interface RunFigures {
  /** The run's own states (ResolveTargets, EnsureOrganizationTrail, ProcessAccounts, WriteReport), retries included. */
  transitions: number;
  invocations: Record<string, number>;
  /** The central account's calls before and after the map: the run's, not an account's. */
  calls: Record<string, number>;
  /** Bytes the run left under runs/<runId>/ in the reports bucket, per target account. */
  reportBytesPerAccount: number;
}

export interface KindsMeasurement {
  keyDelivery: KeyDelivery;
  kinds: Record<SharedKind, KindFigures> & Partial<Record<OnDemandKind, KindFigures>>;
  /** One run's own figures (the onboard run's; every run's are alike). */
  run: RunFigures;
  /** The mean size of an account's ledger item at the end, as DynamoDB sizes items (bytes). */
  ledgerItemBytes: number;
}

const DAY_MS = 86_400_000;

/**
 * Runs the kinds one after another over `accounts` of `sandbox` (healthy accounts, never
 * onboarded), the clock moved a day between runs as the daily schedule would, and counts
 * each run. The caller has set the functions' environment for this sandbox (its stack, its
 * credentials, its clock). The connector is played by signing a DescribeTrails with the key the
 * operator would paste, read from its secret before casbridge deletes it; those calls are outside
 * every run's window.
 */
export async function measureAccountKinds(
  sandbox: Sandbox,
  options: {
    accounts: string[];
    definition?: Definition;
    keyMaxAgeDays: number;
    secretRecoveryDays: number;
    /** The functions' configuration says the same (the caller set it). */
    keyDelivery: KeyDelivery;
  },
): Promise<KindsMeasurement> {
  const { accounts } = options;
  if (accounts.length === 0) throw new Error('no account to measure');
  const fleet = new Set(accounts);
  const definition = options.definition ?? loadDefinition();
  const functionOf = functionsByState(definition);
  const secrets = new SecretsManagerClient(sandbox.clientConfig());
  const keys = new Map<string, { accessKeyId: string; secretAccessKey: string }>();
  const readKeys = async (stage: 'AWSCURRENT' | 'AWSPENDING') => {
    for (const id of accounts) {
      const out = await secrets.send(
        new GetSecretValueCommand({ SecretId: `casbridge/connector/${id}`, VersionStage: stage }),
      );
      keys.set(id, JSON.parse(out.SecretString ?? '{}'));
    }
  };
  const connectorPolls = async () => {
    for (const id of accounts) {
      const key = keys.get(id);
      if (!key) throw new Error(`no connector key for ${id}`);
      const client = new CloudTrailClient(sandbox.clientConfig(key));
      await client.send(new DescribeTrailsCommand({}));
      client.destroy();
    }
  };
  const run = async (kind: AccountKind, mode: 'onboard' | 'reconcile') => {
    // A new day: new Lambda containers, no member-role session left (they last an hour).
    sandbox.world.clock.advance(DAY_MS);
    resetRuntime();
    return countRun(sandbox, { kind, mode, fleet, definition, functionOf });
  };
  const kinds = {} as KindsMeasurement['kinds'];
  const ageKeys = () => {
    // The key comes of age: its creation moved back, against the machine's clock, which the
    // access key step times key age by (the sandbox clock is ahead of it by the days moved so
    // far); the connector goes on polling with it.
    for (const id of accounts) {
      const key = sandbox.world.accounts.get(id)?.iam.accessKeys.get(keys.get(id)?.accessKeyId ?? '');
      if (!key) throw new Error(`no key in service in ${id}`);
      key.createDate = new Date(Date.now() - (options.keyMaxAgeDays + 1) * DAY_MS);
    }
  };
  const onboard = await run('onboard', 'onboard');
  kinds.onboard = onboard.kind;
  if (options.keyDelivery === 'on-demand') {
    // What `casbridge credentials ACCOUNT --new-key` does around its run: the request in the
    // ledger before, the reveal and the secret's deletion after (outside the run's window: the
    // model prices the reveal's calls itself).
    const requestKeys = async () => {
      const at = new Date(sandbox.world.clock.nowMs()).toISOString();
      for (const id of accounts)
        await ledger(getRuntime()).update(id, { keyRequestedAt: at, keyRequestedBy: 'cost-bench' });
    };
    const revealAndDelete = async (stage: 'AWSCURRENT' | 'AWSPENDING') => {
      await readKeys(stage);
      for (const id of accounts) {
        await deleteConnectorSecret(secrets, `casbridge/connector/${id}`, options.secretRecoveryDays);
        await ledger(getRuntime()).update(id, secretDeletionChanges(new Date().toISOString()));
      }
    };
    kinds.awaiting = (await run('awaiting', 'reconcile')).kind;
    await requestKeys();
    kinds.minting = (await run('minting', 'reconcile')).kind;
    await revealAndDelete('AWSCURRENT');
    await connectorPolls();
    kinds.connecting = (await run('connecting', 'reconcile')).kind;
    await connectorPolls();
    kinds.connected = (await run('connected', 'reconcile')).kind;
    sandbox.world.clock.advance((options.secretRecoveryDays + 1) * DAY_MS);
    ageKeys();
    await connectorPolls();
    kinds.rotationDue = (await run('rotationDue', 'reconcile')).kind;
    await connectorPolls();
    await requestKeys();
    kinds.rotating = (await run('rotating', 'reconcile')).kind;
    await revealAndDelete('AWSPENDING');
    await connectorPolls();
    kinds.rotated = (await run('rotated', 'reconcile')).kind;
  } else {
    await readKeys('AWSCURRENT');
    kinds.awaiting = (await run('awaiting', 'reconcile')).kind;
    await connectorPolls();
    kinds.connecting = (await run('connecting', 'reconcile')).kind;
    await connectorPolls();
    kinds.connected = (await run('connected', 'reconcile')).kind;
    // The deleted secret's recovery window passes, and the key comes of age.
    sandbox.world.clock.advance((options.secretRecoveryDays + 1) * DAY_MS);
    ageKeys();
    await connectorPolls();
    kinds.rotating = (await run('rotating', 'reconcile')).kind;
    await readKeys('AWSPENDING');
    await connectorPolls();
    kinds.rotated = (await run('rotated', 'reconcile')).kind;
  }
  secrets.destroy();
  const items = (await ledgerItems()).filter((item) => fleet.has(String(item.accountId)));
  const ledgerItemBytes = items.reduce((sum, item) => sum + dynamoItemBytes(item), 0) / items.length;
  return {
    keyDelivery: options.keyDelivery,
    kinds,
    run: onboard.run,
    ledgerItemBytes: Math.round(ledgerItemBytes),
  };
}

async function ledgerItems(): Promise<Record<string, unknown>[]> {
  return (await ledger(getRuntime()).list()) as unknown as Record<string, unknown>[];
}

/** Each Task state's function (serverless.yml key), from the definition as deployed. */
function functionsByState(definition: Definition): Map<string, string> {
  return new Map(
    taskStates(definition).flatMap((t) => (t.functionName ? [[t.name, t.functionName] as const] : [])),
  );
}

let executions = 0;

async function countRun(
  sandbox: Sandbox,
  context: {
    kind: AccountKind;
    mode: 'onboard' | 'reconcile';
    fleet: Set<string>;
    definition: Definition;
    functionOf: Map<string, string>;
  },
): Promise<{ kind: KindFigures; run: RunFigures }> {
  const { kind, mode, fleet, functionOf } = context;
  const start = sandbox.world.callLog.mark();
  const window = { from: start, to: Number.POSITIVE_INFINITY };
  let running = 0;
  const overrides: Record<string, number> = {};
  // The inline form lists every Task, the map's processor's included, by the names both forms run.
  for (const task of taskStates(adaptForLocalRun(context.definition, { distributedMap: 'inline' })))
    overrides[task.name] = 0;
  const outcome = await executeRunLocally(
    { mode, accounts: [...fleet] },
    {
      executionName: `cost-${kind}-${++executions}`,
      definition: context.definition,
      startTime: sandbox.world.clock.now(),
      retryIntervalOverrides: overrides,
      onEvent: (event) => {
        // Retry waits take no wall time: the sandbox clock takes them instead.
        if (event.type === 'StateRetried') sandbox.world.clock.advance(2 ** event.retry.attempt * 10_000);
        // The accounts' window: from the first child execution's start to the last one's end.
        // The map's own ItemReader read before it and ResultWriter writes after it are the run's.
        if (event.type === 'MapIterationStarted' && running++ === 0 && window.to === Number.POSITIVE_INFINITY)
          window.from = sandbox.world.callLog.mark();
        if (
          (event.type === 'MapIterationSucceeded' || event.type === 'MapIterationFailed') &&
          --running === 0
        )
          window.to = sandbox.world.callLog.mark();
      },
    },
  );
  if (!outcome.report) throw new Error(`the ${kind} run did not start: ${outcome.startError?.message}`);
  const central = sandbox.stack.accountId;
  const calls = sandbox.world.callLog.list({ sinceSeq: start });
  const accountCalls = calls.filter(
    (c) =>
      (c.account !== undefined && fleet.has(c.account)) ||
      (c.account === central && c.seq > window.from && c.seq <= window.to),
  );
  const runCalls = calls.filter((c) => c.account === central && (c.seq <= window.from || c.seq > window.to));
  const n = fleet.size;
  const per = (counts: Record<string, number>) =>
    Object.fromEntries(Object.entries(counts).map(([k, v]) => [k, round(v / n)]));
  const { account, run } = countEvents(outcome.execution.events, functionOf);
  const lines = outcome.report.accounts.filter((a) => fleet.has(a.accountId));
  const outcomes: Record<string, number> = {};
  for (const line of lines) outcomes[line.outcome] = (outcomes[line.outcome] ?? 0) + 1;
  const reportBytes = await runObjectBytes(sandbox, outcome.runId ?? '');
  return {
    kind: {
      kind,
      mode,
      accounts: n,
      transitions: round(account.transitions / n + 1),
      states: per(account.states),
      invocations: per(account.invocations),
      calls: per(tally(accountCalls)),
      fastPathShare: round((account.states.AccountUnchanged ?? 0) / n),
      outcomes,
    },
    run: {
      transitions: run.transitions,
      invocations: run.invocations,
      calls: tally(runCalls),
      reportBytesPerAccount: Math.round(reportBytes / Math.max(1, lines.length)),
    },
  };
}

function countEvents(events: EventLog[], functionOf: Map<string, string>) {
  const blank = () => ({
    transitions: 0,
    states: {} as Record<string, number>,
    invocations: {} as Record<string, number>,
  });
  const account = blank();
  const run = blank();
  for (const event of events) {
    if (event.type !== 'StateEntered' && event.type !== 'StateRetried') continue;
    const name = event.state.name;
    // The local adaptation's stand-in for the Distributed Map's ItemReader: no state on AWS.
    if (name === LOAD_TARGETS_STATE) continue;
    const into = event.index !== undefined ? account : run;
    into.transitions++;
    into.states[name] = (into.states[name] ?? 0) + 1;
    const fn = functionOf.get(name);
    if (fn) into.invocations[fn] = (into.invocations[fn] ?? 0) + 1;
  }
  return { account, run };
}

function tally(calls: CallRecord[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const call of calls) {
    const key = `${call.service}:${call.operation}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return Object.fromEntries(Object.entries(counts).sort(([a], [b]) => a.localeCompare(b)));
}

async function runObjectBytes(sandbox: Sandbox, runId: string): Promise<number> {
  const s3 = new S3Client({ ...sandbox.clientConfig(), forcePathStyle: true });
  let bytes = 0;
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({
        Bucket: sandbox.stack.reportsBucket,
        Prefix: `runs/${runId}/`,
        ContinuationToken: token,
      }),
    );
    for (const object of page.Contents ?? []) bytes += object.Size ?? 0;
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  s3.destroy();
  return bytes;
}

/**
 * An item's size as DynamoDB bills it: the UTF-8 length of every attribute name and value
 * (numbers at about their digits, booleans and nulls one byte), nested lists and maps with their
 * elements plus three bytes each (the DynamoDB developer guide's item-size rules, approximated).
 */
export function dynamoItemBytes(item: unknown): number {
  const size = (value: unknown): number => {
    if (value === null || value === undefined || typeof value === 'boolean') return 1;
    if (typeof value === 'number') return Math.ceil(String(value).replace(/^-|\./g, '').length / 2) + 1;
    if (typeof value === 'string') return Buffer.byteLength(value);
    if (Array.isArray(value)) return 3 + value.reduce((s: number, v) => s + 1 + size(v), 0);
    if (typeof value === 'object')
      return 3 + Object.entries(value).reduce((s, [k, v]) => s + Buffer.byteLength(k) + 1 + size(v), 0);
    return 0;
  };
  if (item === null || typeof item !== 'object') return 0;
  return Object.entries(item).reduce((s, [k, v]) => s + Buffer.byteLength(k) + size(v), 0);
}

function round(v: number): number {
  return Math.round(v * 100) / 100;
}

/**
 * The definition as it was before the fast path (issue 12 §7's "before"): every account through
 * the per-step pipeline from a RouteByMode Choice, as statemachine/casbridge.asl.yml had it.
 */
export function perStepOnly(definition: Definition): Definition {
  const copy = structuredClone(definition);
  const map = Object.values(copy.States).find((s) => s.Type === 'Map');
  const processor = map?.ItemProcessor as { StartAt: string; States: Record<string, unknown> } | undefined;
  if (!processor?.States.CheckAccount) throw new Error('the definition has no CheckAccount state');
  // The check's Choice routes every mode; without the check, the same Choice minus its
  // "recorded by the check" branch is the per-step definition's router.
  const checked = processor.States.Checked as { Choices: { Variable: string; Next: string }[] };
  delete processor.States.CheckAccount;
  delete processor.States.Checked;
  delete processor.States.AccountUnchanged;
  processor.States.RouteByMode = {
    ...checked,
    Choices: checked.Choices.filter((choice) => choice.Next !== 'AccountUnchanged'),
  };
  processor.StartAt = 'RouteByMode';
  return copy;
}
