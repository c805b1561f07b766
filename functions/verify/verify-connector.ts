import { type EvaluationResult, type IAMClient, SimulatePrincipalPolicyCommand } from '@aws-sdk/client-iam';
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { type ClientSettings, clientConfig } from '../../commons/aws-clients';
import { type Config, connectorSecretName, connectorUserArn } from '../../commons/config';
import {
  awsErrorName,
  ConnectorPermissionsMissingError,
  ConnectorSecretMismatchError,
  ConnectorUserTamperedError,
  classifyAwsError,
  KeyNotPropagatedError,
} from '../../commons/errors';
import { handoffWait } from '../../commons/handoff-overdue';
import type { ConnectorStatus, LedgerChanges, LedgerView } from '../../commons/ledger';
import { pause } from '../../commons/pause';
import { secretDeletedForConnector } from '../../commons/secret-retention';
import type { StepResult } from '../../commons/step-result';
import { usedByConnectorSince } from '../access-key/ensure-access-key';
import { checkConnectedKey, retireSecretOnceUsed } from './connector-liveness';

export interface VerifyDeps {
  /** IAM in the member account, as the member role: policy simulation and key last-use. */
  iam: IAMClient;
  /** Secrets Manager in the central account, where the connector's key is kept. */
  secrets: SecretsManagerClient;
  config: Config;
  /** Region and endpoint for the STS client that signs with the connector's own key. */
  settings: ClientSettings;
  /** Waits between propagation retries; tests advance the sandbox clock instead of sleeping. */
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

/**
 * What the connector does with its key on first connection and every poll (reference §1.2–1.4):
 * the actions simulated, concrete rather than the policy's wildcards, so a deny on one shows.
 */
export const CONNECTOR_ACTIONS = [
  'cloudtrail:LookupEvents',
  'cloudtrail:DescribeTrails',
  'cloudtrail:GetTrailStatus',
  'iam:ListUsers',
  'iam:GetUser',
  's3:ListAllMyBuckets',
  's3:GetBucketAcl',
] as const;

/**
 * What the connector user must never be allowed, whatever was done to it: user, role, policy and
 * key administration, role assumption, S3 object writes and the trail's undoing. The boundary and
 * the connector policy allow none of them; one allowed means something casbridge does not manage
 * (a group's inline policy, a policy on another group) gives it more.
 */
export const HIGH_RISK_ACTIONS = [
  'iam:CreateUser',
  'iam:DeleteUser',
  'iam:CreateAccessKey',
  'iam:CreateLoginProfile',
  'iam:UpdateLoginProfile',
  'iam:AttachUserPolicy',
  'iam:PutUserPolicy',
  'iam:AddUserToGroup',
  'iam:AttachGroupPolicy',
  'iam:PutGroupPolicy',
  'iam:CreateRole',
  'iam:AttachRolePolicy',
  'iam:PutRolePolicy',
  'iam:UpdateAssumeRolePolicy',
  'iam:PassRole',
  'iam:CreatePolicy',
  'iam:CreatePolicyVersion',
  'iam:SetDefaultPolicyVersion',
  'iam:PutUserPermissionsBoundary',
  'iam:DeleteUserPermissionsBoundary',
  'sts:AssumeRole',
  's3:PutObject',
  's3:DeleteObject',
  's3:PutBucketPolicy',
  'cloudtrail:StopLogging',
  'cloudtrail:DeleteTrail',
  'cloudtrail:UpdateTrail',
  'cloudtrail:PutEventSelectors',
] as const;

/**
 * A new IAM key is usually accepted within seconds; five attempts over ~15 s cover that, and the
 * state machine's Retry on KeyNotPropagated covers the rare longer tail without holding a Lambda.
 */
const PROPAGATION_ATTEMPTS = 5;
const PROPAGATION_BASE_DELAY_MS = 1_000;
const PROPAGATION_MAX_DELAY_MS = 8_000;

/**
 * Step 7: the handed-off key works and carries the connector's permissions, and the connector is
 * live. casbridge signs at most one GetCallerIdentity with a key, and only while the connector has
 * not used it yet: IAM keeps only a key's last use, and STS is the one service the evidence
 * ignores, so casbridge's own call never passes for the connector nor hides the connector's use.
 */
export interface VerifyOptions {
  dryRun: boolean;
  /** The account's ledger view, with this run's hand-off if register just made one. */
  ledger: LedgerView;
  /** The account's earlier steps in this run. */
  steps?: Record<string, StepResult>;
}

export async function verifyConnector(
  deps: VerifyDeps,
  accountId: string,
  options: VerifyOptions,
): Promise<StepResult> {
  // A dry run's user and policy steps only planned their changes: the user the real run would
  // simulate (created, its boundary set, tampering removed, the policy repaired) is not there yet,
  // and simulating the user as it is would predict failures the real run repairs first. The result
  // says so, so that the report does not read the permissions as checked.
  const simulated = !options.dryRun || !permissionsPlanned(options.steps);
  try {
    const result = await verify(deps, accountId, options, simulated);
    return simulated ? result : { ...result, details: { ...result.details, simulated: false } };
  } catch (error) {
    throw classifyAwsError(error, 'verify');
  }
}

async function verify(
  deps: VerifyDeps,
  accountId: string,
  { dryRun, ledger: item, steps }: VerifyOptions,
  simulated: boolean,
): Promise<StepResult> {
  const { iam, config } = deps;
  const userArn = connectorUserArn(config, accountId);
  const handoff = dryRun ? steps?.register?.details?.planned : undefined;
  if (handoff === 'handoff-sent' || handoff === 'rotation-handoff-sent') {
    // The real run's verify meets the key register hands off in this very run: it proves the key
    // (a new one has no id yet) and does not ask its last use, so the account awaits the connector.
    const accessKeyId = steps?.register?.details?.accessKeyId;
    if (simulated)
      await simulateConnectorUser(iam, userArn, {
        connectorActions: accessKeyId === undefined || item.verifiedAccessKeyId !== accessKeyId,
      });
    return {
      action: 'unchanged',
      reason: 'awaiting-connection',
      details: {
        connector: 'AWAITING_CONNECTION',
        ...(typeof accessKeyId === 'string' ? { accessKeyId } : {}),
      },
    };
  }
  const keyId = item.handoffAccessKeyId;
  const registered =
    !!keyId &&
    (item.connector === 'AWAITING_CONNECTION' ||
      item.connector === 'HANDOFF_OVERDUE' ||
      item.connector === 'CONNECTED' ||
      item.connector === 'STALE');
  // Every run: the connector user's effective permissions hold no high-risk action. Once per key
  // the same simulation proves the connector's own actions too: afterwards the policy step keeps
  // them as they were proven (it repairs drift before verify runs).
  if (simulated)
    await simulateConnectorUser(iam, userArn, {
      connectorActions: registered && item.verifiedAccessKeyId !== keyId,
    });
  if (!keyId || !registered) {
    return {
      action: 'skipped',
      reason: 'not-registered',
      details: { connector: item.connector ?? 'NOT_REGISTERED' },
    };
  }
  // A connected account's key was proven and the connector seen using it: what is left is whether
  // it still does, from the access key step's look at the key's last use (no further call).
  if ((item.connector === 'CONNECTED' || item.connector === 'STALE') && item.verifiedAccessKeyId === keyId) {
    return checkConnectedKey(deps, { item, keyId, steps, dryRun });
  }

  const handoffAt = item.handoffAt ? new Date(item.handoffAt) : undefined;
  // Evidence first: if the connector already used the key, that proves it valid and casbridge's own
  // STS call (which would replace the key's last use) is not needed at all. A key handed off in
  // this very run cannot have been pasted into the portal yet: its last use is not asked.
  const handedOffNow = steps?.register?.ledger?.handoffAccessKeyId === keyId;
  const evidence =
    connectionEvidence(item, handoffAt) ??
    (!handedOffNow && (await usedByConnectorSince(iam, keyId, handoffAt)) ? 'key-used' : undefined);

  const proven = item.verifiedAccessKeyId === keyId || evidence !== undefined;
  // A key shown on demand has no secret left to sign with once shown: the run that minted it
  // proved it, and only the connector's use speaks for it from then on.
  if (!proven && !dryRun && !secretDeletedForConnector(item)) await proveKey(deps, accountId, keyId);

  if (!evidence) {
    // Not seen in use within handoffOverdueDays of the hand-off: Security Hub IAM.22 fails the
    // unused key at 45 days, so the account says so (the register step reminds the operator).
    const wait = handoffWait(item, config, (deps.now ?? Date.now)());
    const connector: ConnectorStatus = wait?.overdue ? 'HANDOFF_OVERDUE' : 'AWAITING_CONNECTION';
    const changes: LedgerChanges = {
      ...(item.verifiedAccessKeyId !== keyId ? { verifiedAccessKeyId: keyId } : {}),
      ...(item.connector !== connector ? { connector } : {}),
    };
    return {
      action: 'unchanged',
      reason: wait?.overdue ? 'handoff-overdue' : 'awaiting-connection',
      details: {
        connector,
        accessKeyId: keyId,
        ...(wait ? { waitingDays: wait.waitingDays } : {}),
      },
      ...(!dryRun && Object.keys(changes).length > 0 ? { ledger: changes } : {}),
    };
  }
  if (dryRun)
    return { action: 'updated', reason: 'dry-run', details: { connector: 'CONNECTED', accessKeyId: keyId } };
  const connectedAt = new Date((deps.now ?? Date.now)()).toISOString();
  // Seen in use (not only confirmed by hand): the portal holds the key, its secret can go.
  const retired =
    evidence === 'key-used' ? await retireSecretOnceUsed(deps, item, keyId, connectedAt) : undefined;
  return {
    action: 'updated',
    reason: 'connector-connected',
    details: { connector: 'CONNECTED', accessKeyId: keyId, evidence, ...retired?.details },
    ledger: {
      connector: 'CONNECTED',
      connectedAt,
      verifiedAccessKeyId: keyId,
      ...retired?.ledger,
    },
  };
}

/** Whether a dry run's user or policy step planned a change to what the connector user may do. */
function permissionsPlanned(steps: Record<string, StepResult> | undefined): boolean {
  return [steps?.user, steps?.policy].some((s) => s?.action === 'created' || s?.action === 'updated');
}

/** An operator's `casbridge confirm` counts for the key handed off before it, not for an earlier one. */
function connectionEvidence(item: LedgerView, handoffAt: Date | undefined): 'confirmed' | undefined {
  if (!item.confirmedAt) return undefined;
  return !handoffAt || new Date(item.confirmedAt).getTime() >= handoffAt.getTime() ? 'confirmed' : undefined;
}

/**
 * Simulates the connector user, SCPs and its boundary included, as Defender and an intruder with
 * its key would meet it: no high-risk action may be allowed, and (when asked) every connector
 * action must be. One SimulatePrincipalPolicy call carries both sets.
 */
async function simulateConnectorUser(
  iam: IAMClient,
  userArn: string,
  { connectorActions }: { connectorActions: boolean },
): Promise<void> {
  const actions = connectorActions ? [...CONNECTOR_ACTIONS, ...HIGH_RISK_ACTIONS] : [...HIGH_RISK_ACTIONS];
  const results: EvaluationResult[] = [];
  let marker: string | undefined;
  do {
    const out = await iam.send(
      new SimulatePrincipalPolicyCommand({
        PolicySourceArn: userArn,
        ActionNames: actions,
        ...(marker ? { Marker: marker } : {}),
      }),
    );
    results.push(...(out.EvaluationResults ?? []));
    marker = out.IsTruncated ? out.Marker : undefined;
  } while (marker);
  const highRisk = new Set<string>(HIGH_RISK_ACTIONS);
  const risky = [
    ...new Set(
      results
        .filter((r) => highRisk.has(r.EvalActionName ?? '') && r.EvalDecision === 'allowed')
        .map((r) => r.EvalActionName ?? '?'),
    ),
  ].sort();
  if (risky.length > 0) {
    throw new ConnectorUserTamperedError(
      `The connector user ${userArn} is allowed ${risky.join(', ')}: something casbridge does not manage gives it more than the connector policy`,
      risky.map((action) => `${action} allowed to the connector user`),
      { step: 'verify', repairable: false },
    );
  }
  if (connectorActions) requireConnectorActions(userArn, results);
}

function requireConnectorActions(userArn: string, results: EvaluationResult[]): void {
  const needed = new Set<string>(CONNECTOR_ACTIONS);
  const denied = results.filter((r) => needed.has(r.EvalActionName ?? '') && r.EvalDecision !== 'allowed');
  if (denied.length === 0) return;
  const actions = [...new Set(denied.map((r) => r.EvalActionName ?? '?'))].sort();
  const byScp = denied.some((r) => r.OrganizationsDecisionDetail?.AllowedByOrganizations === false);
  throw new ConnectorPermissionsMissingError(
    `The connector user ${userArn} is not allowed ${actions.join(', ')}${byScp ? ' (denied by a service control policy)' : ''}`,
    actions,
    { step: 'verify', byScp },
  );
}

/**
 * Signs one GetCallerIdentity with the key, retrying while IAM propagates a new key (AWS answers
 * InvalidClientTokenId until then). SignatureDoesNotMatch means the stored secret is not this
 * key's: the connector would be refused just the same. The secret lives only in this function's
 * scope and never in an error.
 */
async function proveKey(deps: VerifyDeps, accountId: string, keyId: string): Promise<void> {
  const credentials = await readKey(deps, accountId, keyId);
  const sleep = deps.sleep ?? pause;
  const sts = new STSClient(clientConfig(deps.settings, credentials));
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        await sts.send(new GetCallerIdentityCommand({}));
        return;
      } catch (error) {
        if (awsErrorName(error) === 'SignatureDoesNotMatch') {
          throw new ConnectorSecretMismatchError(
            `The secret ${connectorSecretName(deps.config, accountId)} holds a secret access key that does not sign for access key ${keyId} of IAM user ${deps.config.userName} in account ${accountId}: STS refused the signature`,
            {
              accountId,
              accessKeyId: keyId,
              userName: deps.config.userName,
              secretName: connectorSecretName(deps.config, accountId),
            },
            { step: 'verify', cause: error },
          );
        }
        if (awsErrorName(error) !== 'InvalidClientTokenId') throw error;
        if (attempt >= PROPAGATION_ATTEMPTS) {
          throw new KeyNotPropagatedError(
            `Access key ${keyId} of account ${accountId} is still refused by STS after ${attempt} attempts`,
            { step: 'verify' },
          );
        }
        await sleep(Math.min(PROPAGATION_BASE_DELAY_MS * 2 ** (attempt - 1), PROPAGATION_MAX_DELAY_MS));
      }
    }
  } finally {
    sts.destroy();
  }
}

/**
 * The handed-off key's credentials from the connector secret: the current version, or the pending
 * one during a staged rotation. Errors never carry the value (a JSON parse error would quote it).
 */
async function readKey(
  deps: VerifyDeps,
  accountId: string,
  keyId: string,
): Promise<{ accessKeyId: string; secretAccessKey: string }> {
  const secretId = connectorSecretName(deps.config, accountId);
  for (const stage of ['AWSCURRENT', 'AWSPENDING']) {
    let text: string | undefined;
    try {
      text = (await deps.secrets.send(new GetSecretValueCommand({ SecretId: secretId, VersionStage: stage })))
        .SecretString;
    } catch (error) {
      if (awsErrorName(error) === 'ResourceNotFoundException') continue;
      throw error;
    }
    const value = parseKey(text);
    if (value?.accessKeyId === keyId) return value;
  }
  throw new KeyNotPropagatedError(
    `Secret ${secretId} holds no version with access key ${keyId}; the access key step rewrites it on the next run`,
    { step: 'verify' },
  );
}

function parseKey(text: string | undefined): { accessKeyId: string; secretAccessKey: string } | undefined {
  try {
    const value = JSON.parse(text ?? '') as { accessKeyId?: unknown; secretAccessKey?: unknown };
    return typeof value.accessKeyId === 'string' && typeof value.secretAccessKey === 'string'
      ? { accessKeyId: value.accessKeyId, secretAccessKey: value.secretAccessKey }
      : undefined;
  } catch {
    return undefined;
  }
}
