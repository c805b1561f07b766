import { CreateUserCommand, type IAMClient, PutUserPermissionsBoundaryCommand } from '@aws-sdk/client-iam';
import { type Config, connectorBoundaryArn, connectorUserArn } from '../../commons/config';
import { getConnectorUser, isManaged, MANAGED_TAG } from '../../commons/connector-resources';
import { awsErrorName, classifyAwsError, ForeignUserConflictError } from '../../commons/errors';
import type { LedgerView } from '../../commons/ledger';
import { neverOnboarded } from '../../commons/ledger-view';
import type { StepResult } from '../../commons/step-result';
import { respondToTamper } from '../../commons/tamper';
import { inspectConnectorUser } from './connector-user-tamper';

export interface UserOptions {
  dryRun: boolean;
  /** The account's ledger view: on an account casbridge never onboarded, the user is created first. */
  ledger?: LedgerView;
}

/**
 * Step 2: the connector's IAM user exists at the configured path, is ours, is capped by the
 * StackSet's permissions boundary, and holds nothing casbridge did not give it (another policy,
 * group or a console password): what it finds is removed or reported as CASBRIDGE_TAMPER_RESPONSE
 * says. Its result tells the policy step whether the user is in the connector group yet.
 */
export async function ensureUser(
  iam: IAMClient,
  config: Config,
  accountId: string,
  options: UserOptions,
): Promise<StepResult> {
  try {
    if (!options.dryRun && neverOnboarded(options.ledger)) return await createUser(iam, config, accountId);
    return await reconcileUser(iam, config, accountId, options);
  } catch (error) {
    // Every AWS error of the step, reads included: a throttled GetUser must reach the state
    // machine as the retryable TransientAwsError, not as the SDK's raw Throttling.
    throw classifyAwsError(error, 'user');
  }
}

async function reconcileUser(
  iam: IAMClient,
  config: Config,
  accountId: string,
  options: UserOptions,
): Promise<StepResult> {
  const { dryRun } = options;
  const existing = await getConnectorUser(iam, config.userName);
  const arn = connectorUserArn(config, accountId);
  if (!existing) {
    if (dryRun) return { action: 'created', reason: 'dry-run', details: { userArn: arn } };
    return createUser(iam, config, accountId);
  }
  if (!isManaged(existing.Tags)) {
    throw new ForeignUserConflictError(
      `Account ${accountId} already has a user named ${existing.UserName} (${existing.Arn}) that is not tagged ${MANAGED_TAG.Key}=${MANAGED_TAG.Value}`,
      { step: 'user' },
    );
  }
  const details: Record<string, string | number | boolean> = { userArn: existing.Arn ?? arn };
  let reason: string | undefined;
  const boundary = connectorBoundaryArn(config, accountId);
  const putBoundary = async () => {
    await iam.send(
      new PutUserPermissionsBoundaryCommand({ UserName: config.userName, PermissionsBoundary: boundary }),
    );
  };
  // Tampering first: under `report` the account fails before casbridge writes anything. Another
  // boundary than the StackSet's is someone's doing; none at all, a user onboarded before it.
  const { facts, findings } = await inspectConnectorUser(iam, config, accountId);
  const current = existing.PermissionsBoundary?.PermissionsBoundaryArn;
  if (current && current !== boundary)
    findings.push({
      what: `user ${config.userName} has the permissions boundary ${current}`,
      repair: putBoundary,
    });
  Object.assign(details, facts);
  const removed = await respondToTamper(findings, { config, step: 'user', accountId, dryRun });
  if (!current) {
    if (!dryRun) await putBoundary();
    reason = 'boundary-set';
  }
  if (removed.length > 0) {
    reason = 'tamper-repaired';
    details.removed = removed.join('; ');
  }
  if (!reason) return { action: 'unchanged', details };
  return { action: 'updated', reason: dryRun ? 'dry-run' : reason, details };
}

async function createUser(iam: IAMClient, config: Config, accountId: string): Promise<StepResult> {
  try {
    await iam.send(
      new CreateUserCommand({
        UserName: config.userName,
        Path: config.userPath,
        // The member role may create the user only under the boundary (iam:PermissionsBoundary).
        PermissionsBoundary: connectorBoundaryArn(config, accountId),
        Tags: [MANAGED_TAG],
      }),
    );
  } catch (error) {
    // There already (a concurrent or killed-and-retried run, or someone else's user): converge on
    // what is there now, or refuse a user that is not ours.
    if (awsErrorName(error) === 'EntityAlreadyExistsException')
      return reconcileUser(iam, config, accountId, { dryRun: false });
    throw error;
  }
  return { action: 'created', details: { userArn: connectorUserArn(config, accountId) } };
}
