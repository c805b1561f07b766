import { CreateUserCommand, type IAMClient } from '@aws-sdk/client-iam';
import { type Config, connectorUserArn } from '../../commons/config';
import { getConnectorUser, isManaged, MANAGED_TAG } from '../../commons/connector-resources';
import { awsErrorName, classifyAwsError, ForeignUserConflictError } from '../../commons/errors';
import type { LedgerView } from '../../commons/ledger';
import { neverOnboarded } from '../../commons/ledger-view';
import type { StepResult } from '../../commons/step-result';

export interface UserOptions {
  dryRun: boolean;
  /** The account's ledger view: on an account casbridge never onboarded, the user is created first. */
  ledger?: LedgerView;
}

/** Step 2: the connector's IAM user exists at the configured path and is ours. */
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
  const existing = await getConnectorUser(iam, config.userName);
  const arn = connectorUserArn(config, accountId);
  if (existing) {
    if (!isManaged(existing.Tags)) {
      throw new ForeignUserConflictError(
        `Account ${accountId} already has a user named ${existing.UserName} (${existing.Arn}) that is not tagged ${MANAGED_TAG.Key}=${MANAGED_TAG.Value}`,
        { step: 'user' },
      );
    }
    return { action: 'unchanged', details: { userArn: existing.Arn ?? arn } };
  }
  if (options.dryRun) return { action: 'created', reason: 'dry-run', details: { userArn: arn } };
  return createUser(iam, config, accountId);
}

async function createUser(iam: IAMClient, config: Config, accountId: string): Promise<StepResult> {
  try {
    await iam.send(
      new CreateUserCommand({ UserName: config.userName, Path: config.userPath, Tags: [MANAGED_TAG] }),
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
