import {
  GetPolicyCommand,
  GetUserCommand,
  type IAMClient,
  type Policy,
  type User,
} from '@aws-sdk/client-iam';
import {
  DescribeSecretCommand,
  type DescribeSecretCommandOutput,
  RestoreSecretCommand,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { awsErrorName } from './errors';

/**
 * How casbridge marks and finds what it owns: the tag on its user and trail, the tags on the
 * connector's secret that name its keys (so no step reads the secret value to learn them), and
 * reads that treat "not found" as an answer rather than an error.
 */
export const MANAGED_TAG = { Key: 'managed-by', Value: 'casbridge' } as const;

/** The secret's tag naming the access key in service. */
export const KEY_TAG = 'casbridge:access-key-id';
/** The secret's tag naming the new key of a rotation not yet taken up by the connector. */
export const PENDING_KEY_TAG = 'casbridge:pending-access-key-id';
export const ACCOUNT_TAG = 'casbridge:account';

export function isManaged(tags: readonly { Key?: string; Value?: string }[] | undefined): boolean {
  return tags?.some((t) => t.Key === MANAGED_TAG.Key && t.Value === MANAGED_TAG.Value) ?? false;
}

export async function getConnectorUser(iam: IAMClient, userName: string): Promise<User | undefined> {
  return unlessMissing(
    'NoSuchEntityException',
    async () => (await iam.send(new GetUserCommand({ UserName: userName }))).User,
  );
}

export async function getConnectorPolicy(iam: IAMClient, arn: string): Promise<Policy | undefined> {
  return unlessMissing(
    'NoSuchEntityException',
    async () => (await iam.send(new GetPolicyCommand({ PolicyArn: arn }))).Policy,
  );
}

/**
 * The connector secret's metadata, never its value. A secret scheduled for deletion counts as
 * absent unless asked for: it can hold no key in service.
 */
export async function describeConnectorSecret(
  secrets: SecretsManagerClient,
  name: string,
  options: { includeScheduledForDeletion?: boolean } = {},
): Promise<DescribeSecretCommandOutput | undefined> {
  const out = await unlessMissing('ResourceNotFoundException', () =>
    secrets.send(new DescribeSecretCommand({ SecretId: name })),
  );
  return out?.DeletedDate && !options.includeScheduledForDeletion ? undefined : out;
}

/**
 * Cancels the scheduled deletion of the connector secret (offboarding's 7-day recovery window),
 * by the ARN DescribeSecret gave, so the secret keeps the ARN a hand-off may already have named.
 */
export async function restoreConnectorSecret(
  secrets: SecretsManagerClient,
  arn: string | undefined,
): Promise<void> {
  await secrets.send(new RestoreSecretCommand({ SecretId: arn }));
}

export function secretTag(secret: DescribeSecretCommandOutput | undefined, key: string): string | undefined {
  const value = secret?.Tags?.find((t) => t.Key === key)?.Value;
  return value ? value : undefined;
}

/** Runs a read; the named "not found" error answers `undefined`. */
export async function unlessMissing<T>(missingName: string, read: () => Promise<T>): Promise<T | undefined> {
  try {
    return await read();
  } catch (error) {
    if (awsErrorName(error) === missingName) return undefined;
    throw error;
  }
}

/** Every item of an IAM listing, page by page (`Marker`). */
export async function listAll<T>(
  fetch: (marker: string | undefined) => Promise<{ items: T[] | undefined; marker: string | undefined }>,
): Promise<T[]> {
  const all: T[] = [];
  let marker: string | undefined;
  do {
    const page = await fetch(marker);
    all.push(...(page.items ?? []));
    marker = page.marker;
  } while (marker);
  return all;
}
