import { CreateUserCommand, GetUserCommand, type IAMClient, type User } from '@aws-sdk/client-iam';
import { type Config, connectorUserArn } from '../../commons/config';
import { awsErrorName, classifyAwsError, ForeignUserConflictError } from '../../commons/errors';
import type { StepResult } from '../../commons/step-result';

/** The tag that marks a user as casbridge's: without it, a same-named user is never touched. */
export const MANAGED_TAG = { Key: 'managed-by', Value: 'casbridge' } as const;

/** Step 2: the connector's IAM user exists at the configured path and is ours. */
export async function ensureUser(
  iam: IAMClient,
  config: Config,
  accountId: string,
  options: { dryRun: boolean },
): Promise<StepResult> {
  const existing = await getUser(iam, config.userName);
  const arn = connectorUserArn(config, accountId);
  if (existing) {
    if (!existing.Tags?.some((t) => t.Key === MANAGED_TAG.Key && t.Value === MANAGED_TAG.Value)) {
      throw new ForeignUserConflictError(
        `Account ${accountId} already has a user named ${existing.UserName} (${existing.Arn}) that is not tagged ${MANAGED_TAG.Key}=${MANAGED_TAG.Value}`,
        { step: 'user' },
      );
    }
    return { action: 'unchanged', details: { userArn: existing.Arn ?? arn } };
  }
  if (options.dryRun) return { action: 'created', reason: 'dry-run', details: { userArn: arn } };
  try {
    await iam.send(
      new CreateUserCommand({ UserName: config.userName, Path: config.userPath, Tags: [MANAGED_TAG] }),
    );
  } catch (error) {
    // A concurrent or killed-and-retried run created it first: converge on what is there now.
    if (awsErrorName(error) === 'EntityAlreadyExistsException')
      return ensureUser(iam, config, accountId, options);
    throw classifyAwsError(error, 'user');
  }
  return { action: 'created', details: { userArn: arn } };
}

async function getUser(iam: IAMClient, userName: string): Promise<User | undefined> {
  try {
    return (await iam.send(new GetUserCommand({ UserName: userName }))).User;
  } catch (error) {
    if (awsErrorName(error) === 'NoSuchEntityException') return undefined;
    throw classifyAwsError(error, 'user');
  }
}
