import { worldArn } from '../core/arn';
import { AwsError } from '../core/aws-error';
import { paginate } from '../core/pagination';
import { JSON_ERRORS, type RequestContext, type RpcService, requireString } from '../core/service';
import { mergeTags, readTags, removeTagKeys } from '../core/tags';
import { regionalState, type Secret, type SecretVersion } from '../core/world';
import { deployedStack } from '../scenario/stack-deployment';

const CURRENT = 'AWSCURRENT';
const PREVIOUS = 'AWSPREVIOUS';
const NAME = /^[A-Za-z0-9/_+=.@-]{1,512}$/;
const ARN_SUFFIX_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
/** `-` and six random characters that Secrets Manager appends to the name in the ARN. */
const ARN_SUFFIX_LENGTH = 7;
const DAY_MS = 86_400_000;
/** Secrets Manager keeps the latest 100 versions, and any version younger than a day. */
const MAX_VERSIONS = 100;
const FILTER_KEYS = new Set([
  'description',
  'name',
  'tag-key',
  'tag-value',
  'primary-region',
  'owning-service',
  'all',
]);

type Input = Record<string, unknown>;
type SecretValue = { secretString?: string; secretBinary?: string };

export const secretsManagerService: RpcService = {
  kind: 'rpc',
  signingName: 'secretsmanager',
  protocol: 'json1.1',
  errors: JSON_ERRORS,
  operations: {
    CreateSecret: createSecret,
    PutSecretValue: putSecretValue,
    GetSecretValue: getSecretValue,
    DescribeSecret: describeSecret,
    ListSecrets: listSecrets,
    DeleteSecret: deleteSecret,
    RestoreSecret: restoreSecret,
    TagResource: tagResource,
    UntagResource: untagResource,
    UpdateSecretVersionStage: updateSecretVersionStage,
  },
};

async function createSecret(ctx: RequestContext, input: Input) {
  const name = requireString(input, 'Name', 'ValidationException');
  if (!NAME.test(name)) {
    throw invalidParameter(
      'Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!',
    );
  }
  const value = readValue(input);
  const versionId = readVersionId(ctx, input);
  const secrets = secretsOf(ctx);
  const existing = secrets.get(name);
  const arn =
    existing?.arn ??
    `${secretArnPrefix(ctx)}${name}-${ctx.world.rng.chars(ARN_SUFFIX_ALPHABET, ARN_SUFFIX_LENGTH - 1)}`;
  await ctx.authorize('secretsmanager:CreateSecret', arn);
  // As on AWS: tags given at creation are authorized as TagResource too, and a value encrypted
  // with a customer managed key needs the caller's kms:GenerateDataKey through Secrets Manager.
  // Naming the key also makes Secrets Manager validate the caller's access with GenerateDataKey
  // and Decrypt ("Validating access to the KMS key", Secrets Manager user guide, secret
  // encryption), so kms:Decrypt is needed even for a new secret.
  if (readTags(input.Tags).length > 0) await ctx.authorize('secretsmanager:TagResource', arn);
  const kmsKeyId = optionalString(input.KmsKeyId);
  if (value || kmsKeyId) await authorizeKeyUse(ctx, 'kms:GenerateDataKey', kmsKeyId);
  if (kmsKeyId) await authorizeKeyUse(ctx, 'kms:Decrypt', kmsKeyId);
  if (existing) {
    // The name stays taken through the recovery window; AWS says so with a different error.
    if (existing.deletedDate) {
      throw new AwsError(
        'InvalidRequestException',
        "You can't create this secret because a secret with this name is already scheduled for deletion.",
      );
    }
    // A retry carries the SDK's idempotency token: the version it made the first time answers it.
    const replay = existing.versions.get(versionId);
    if (replay && value && sameValue(replay, value)) {
      return { ARN: existing.arn, Name: existing.name, VersionId: replay.versionId };
    }
    throw new AwsError(
      'ResourceExistsException',
      `The operation failed because the secret ${name} already exists.`,
    );
  }
  const now = ctx.world.clock.now();
  const secret: Secret = {
    arn,
    name,
    description: optionalString(input.Description),
    kmsKeyId: optionalString(input.KmsKeyId),
    tags: readTags(input.Tags),
    versions: new Map(),
    createdDate: now,
    lastChangedDate: now,
  };
  secrets.set(name, secret);
  if (value) addVersion(ctx, secret, versionId, value, [CURRENT]);
  return { ARN: arn, Name: name, VersionId: value ? versionId : undefined };
}

async function putSecretValue(ctx: RequestContext, input: Input) {
  const secret = await resolveSecret(ctx, 'secretsmanager:PutSecretValue', input);
  const value = readValue(input);
  if (!value) throw invalidParameter('You must provide either SecretString or SecretBinary.');
  await authorizeKeyUse(ctx, 'kms:GenerateDataKey', secret.kmsKeyId);
  const versionId = readVersionId(ctx, input);
  const replay = secret.versions.get(versionId);
  if (replay) {
    if (!sameValue(replay, value)) {
      throw new AwsError(
        'ResourceExistsException',
        "You can't modify an existing version, you can only create a new version.",
      );
    }
    return { ARN: secret.arn, Name: secret.name, VersionId: versionId, VersionStages: [...replay.stages] };
  }
  const stages = input.VersionStages === undefined ? [CURRENT] : readStages(input.VersionStages);
  const version = addVersion(ctx, secret, versionId, value, stages);
  return { ARN: secret.arn, Name: secret.name, VersionId: versionId, VersionStages: [...version.stages] };
}

async function getSecretValue(ctx: RequestContext, input: Input) {
  const secret = await resolveSecret(ctx, 'secretsmanager:GetSecretValue', input);
  await authorizeKeyUse(ctx, 'kms:Decrypt', secret.kmsKeyId);
  const versionId = optionalString(input.VersionId);
  const stage = optionalString(input.VersionStage);
  const version =
    versionId === undefined ? holderOf(secret, stage ?? CURRENT) : secret.versions.get(versionId);
  if (!version || (stage !== undefined && !version.stages.has(stage))) {
    throw new AwsError(
      'ResourceNotFoundException',
      versionId === undefined
        ? `Secrets Manager can't find the specified secret value for staging label: ${stage ?? CURRENT}`
        : `Secrets Manager can't find the specified secret value for VersionId: ${versionId}`,
    );
  }
  return {
    ARN: secret.arn,
    Name: secret.name,
    VersionId: version.versionId,
    SecretString: version.secretString,
    SecretBinary: version.secretBinary,
    VersionStages: [...version.stages],
    CreatedDate: version.createdDate,
  };
}

async function describeSecret(ctx: RequestContext, input: Input) {
  const secret = await resolveSecret(ctx, 'secretsmanager:DescribeSecret', input, { allowDeleted: true });
  return { ...summaryOf(secret), VersionIdsToStages: stagesByVersion(secret) };
}

async function listSecrets(ctx: RequestContext, input: Input) {
  await ctx.authorize('secretsmanager:ListSecrets', '*');
  const filters = readFilters(input.Filters);
  const maxResults = input.MaxResults === undefined ? 100 : Number(input.MaxResults);
  if (!Number.isInteger(maxResults) || maxResults < 1 || maxResults > 100) {
    throw new AwsError(
      'ValidationException',
      `1 validation error detected: Value '${String(input.MaxResults)}' at 'maxResults' failed to satisfy constraint: Member must have value between 1 and 100`,
    );
  }
  const direction = input.SortOrder === 'desc' ? -1 : 1;
  const matching = [...secretsOf(ctx).values()]
    .filter((secret) => input.IncludePlannedDeletion === true || !secret.deletedDate)
    .filter((secret) => filters.every((filter) => matchesFilter(ctx, secret, filter)))
    .sort(
      (a, b) =>
        direction * (a.createdDate.getTime() - b.createdDate.getTime() || a.name.localeCompare(b.name)),
    );
  const { page, nextToken } = paginate(
    matching,
    maxResults,
    input.NextToken,
    () => new AwsError('InvalidNextTokenException', 'The NextToken value is invalid.'),
  );
  return {
    SecretList: page.map((secret) => ({
      ...summaryOf(secret),
      SecretVersionsToStages: stagesByVersion(secret),
    })),
    NextToken: nextToken,
  };
}

async function deleteSecret(ctx: RequestContext, input: Input) {
  const force = input.ForceDeleteWithoutRecovery === true;
  const windowGiven = input.RecoveryWindowInDays !== undefined && input.RecoveryWindowInDays !== null;
  if (force && windowGiven) {
    throw invalidParameter(
      "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.",
    );
  }
  const days = windowGiven ? Number(input.RecoveryWindowInDays) : 30;
  if (!Number.isInteger(days) || days < 7 || days > 30) {
    throw invalidParameter('The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).');
  }
  const secretId = requireString(input, 'SecretId', 'ValidationException');
  const secret = await lookUpSecret(ctx, 'secretsmanager:DeleteSecret', secretId);
  const now = ctx.world.clock.now();
  if (!secret) {
    // Force deletion does not fail on a missing secret, so cleanup code can call it blindly.
    if (force) return { DeletionDate: now };
    throw notFound();
  }
  if (force) {
    secretsOf(ctx).delete(secret.name);
    return { ARN: secret.arn, Name: secret.name, DeletionDate: now };
  }
  if (secret.deletedDate) {
    throw new AwsError(
      'InvalidRequestException',
      "You can't perform this operation on the secret because it was already scheduled for deletion.",
    );
  }
  secret.deletedDate = now;
  secret.deletionDate = new Date(now.getTime() + days * DAY_MS);
  return { ARN: secret.arn, Name: secret.name, DeletionDate: secret.deletionDate };
}

async function restoreSecret(ctx: RequestContext, input: Input) {
  const secret = await resolveSecret(ctx, 'secretsmanager:RestoreSecret', input, { allowDeleted: true });
  delete secret.deletedDate;
  delete secret.deletionDate;
  secret.lastChangedDate = ctx.world.clock.now();
  return { ARN: secret.arn, Name: secret.name };
}

async function tagResource(ctx: RequestContext, input: Input) {
  const secret = await resolveSecret(ctx, 'secretsmanager:TagResource', input);
  secret.tags = mergeTags(secret.tags, readTags(input.Tags));
  secret.lastChangedDate = ctx.world.clock.now();
  return {};
}

async function untagResource(ctx: RequestContext, input: Input) {
  const secret = await resolveSecret(ctx, 'secretsmanager:UntagResource', input);
  const keys = Array.isArray(input.TagKeys) ? input.TagKeys.map(String) : [];
  secret.tags = removeTagKeys(secret.tags, keys);
  secret.lastChangedDate = ctx.world.clock.now();
  return {};
}

async function updateSecretVersionStage(ctx: RequestContext, input: Input) {
  const secret = await resolveSecret(ctx, 'secretsmanager:UpdateSecretVersionStage', input);
  const stage = requireString(input, 'VersionStage', 'ValidationException');
  const moveTo = optionalString(input.MoveToVersionId);
  const removeFrom = optionalString(input.RemoveFromVersionId);
  const holder = holderOf(secret, stage);
  if (removeFrom !== undefined) {
    versionOf(secret, removeFrom);
    if (holder?.versionId !== removeFrom) {
      throw invalidParameter(`The staging label ${stage} is not attached to version ${removeFrom}.`);
    }
  }
  if (moveTo === undefined) {
    if (removeFrom === undefined)
      throw invalidParameter('You must specify MoveToVersionId or RemoveFromVersionId.');
    // Every secret with a value keeps exactly one AWSCURRENT: it can only be moved.
    if (stage === CURRENT) {
      throw invalidParameter(
        `You can't remove the staging label ${CURRENT}. Move it to another version instead.`,
      );
    }
    holder?.stages.delete(stage);
  } else {
    const target = versionOf(secret, moveTo);
    // AWS refuses to take a label from a version the caller did not name, so a stale rotation step
    // cannot silently steal AWSCURRENT from a newer version.
    if (holder && holder !== target && holder.versionId !== removeFrom) {
      throw invalidParameter(
        `The parameter RemoveFromVersionId can't be empty. Staging label ${stage} is currently attached to version ${holder.versionId}, so you must explicitly reference that version in RemoveFromVersionId.`,
      );
    }
    moveStage(secret, stage, target);
  }
  secret.lastChangedDate = ctx.world.clock.now();
  return { ARN: secret.arn, Name: secret.name };
}

// ---------------------------------------------------------------- lookup

/** The Region's secrets, once those whose recovery window has ended are gone. */
function secretsOf(ctx: RequestContext): Map<string, Secret> {
  const secrets = regionalState(ctx.world, ctx.accountId, ctx.region).secrets;
  const nowMs = ctx.world.clock.nowMs();
  for (const [name, secret] of secrets) {
    if (secret.deletionDate && secret.deletionDate.getTime() <= nowMs) secrets.delete(name);
  }
  return secrets;
}

/**
 * Secrets Manager encrypts and decrypts with a customer managed key on the caller's behalf, so
 * the caller's own policies must allow the KMS action, through Secrets Manager (`kms:ViaService`).
 * A key given by alias, or none (the AWS managed key), needs no grant of the caller.
 */
async function authorizeKeyUse(
  ctx: RequestContext,
  action: string,
  keyId: string | undefined,
): Promise<void> {
  if (!keyId?.startsWith('arn:') || !keyId.includes(':key/')) return;
  // A KMS key is governed by its key policy first: the stack's key has the one serverless.yml gives.
  const keyPolicy = deployedStack(ctx.world).keyPolicies[keyId];
  if (!keyPolicy) return;
  await ctx.authorize(action, keyId, {
    resourcePolicy: keyPolicy,
    resourceAccountId: keyId.split(':')[4] ?? ctx.accountId,
    context: { 'kms:ViaService': `secretsmanager.${ctx.region}.amazonaws.com` },
  });
}

/** Authorizes the action on the secret `SecretId` names, then returns it if it exists. */
async function lookUpSecret(
  ctx: RequestContext,
  action: string,
  secretId: string,
): Promise<Secret | undefined> {
  const secrets = secretsOf(ctx);
  const secret =
    secrets.get(secretId) ??
    [...secrets.values()].find((s) => s.arn === secretId || s.arn.slice(0, -ARN_SUFFIX_LENGTH) === secretId);
  // A missing secret is authorized against the ARN it would have, so a caller without access
  // cannot tell which secrets exist.
  await ctx.authorize(
    action,
    secret?.arn ?? (secretId.startsWith('arn:') ? secretId : `${secretArnPrefix(ctx)}${secretId}`),
  );
  return secret;
}

async function resolveSecret(
  ctx: RequestContext,
  action: string,
  input: Input,
  options: { allowDeleted?: boolean } = {},
): Promise<Secret> {
  const secret = await lookUpSecret(ctx, action, requireString(input, 'SecretId', 'ValidationException'));
  if (!secret) throw notFound();
  if (secret.deletedDate && !options.allowDeleted) {
    throw new AwsError(
      'InvalidRequestException',
      "You can't perform this operation on the secret because it was marked for deletion.",
    );
  }
  return secret;
}

function secretArnPrefix(ctx: RequestContext): string {
  return worldArn(ctx.world, 'secretsmanager', ctx.region, ctx.accountId, 'secret:');
}

function versionOf(secret: Secret, versionId: string): SecretVersion {
  const version = secret.versions.get(versionId);
  if (!version) {
    throw new AwsError(
      'ResourceNotFoundException',
      `Secrets Manager can't find the specified secret value for VersionId: ${versionId}`,
    );
  }
  return version;
}

// ---------------------------------------------------------------- versions and stages

function addVersion(
  ctx: RequestContext,
  secret: Secret,
  versionId: string,
  value: SecretValue,
  stages: readonly string[],
): SecretVersion {
  const now = ctx.world.clock.now();
  const version: SecretVersion = { versionId, ...value, stages: new Set(), createdDate: now };
  secret.versions.set(versionId, version);
  for (const stage of stages) moveStage(secret, stage, version);
  secret.lastChangedDate = now;
  pruneVersions(secret, now.getTime());
  return version;
}

/** A staging label is on one version at most; moving it takes it from wherever it was. */
function moveStage(secret: Secret, stage: string, to: SecretVersion): void {
  const from = holderOf(secret, stage);
  if (from === to) return;
  from?.stages.delete(stage);
  to.stages.add(stage);
  // The version AWSCURRENT leaves becomes AWSPREVIOUS: that is how rotation keeps a fallback.
  if (stage === CURRENT && from) moveStage(secret, PREVIOUS, from);
}

function holderOf(secret: Secret, stage: string): SecretVersion | undefined {
  for (const version of secret.versions.values()) if (version.stages.has(stage)) return version;
  return undefined;
}

/** Unlabelled versions are deprecated; AWS drops the oldest beyond 100 once they are a day old. */
function pruneVersions(secret: Secret, nowMs: number): void {
  if (secret.versions.size <= MAX_VERSIONS) return;
  const deprecated = [...secret.versions.values()]
    .filter((v) => v.stages.size === 0 && nowMs - v.createdDate.getTime() >= DAY_MS)
    .sort((a, b) => a.createdDate.getTime() - b.createdDate.getTime());
  for (const version of deprecated) {
    if (secret.versions.size <= MAX_VERSIONS) return;
    secret.versions.delete(version.versionId);
  }
}

function stagesByVersion(secret: Secret): Record<string, string[]> | undefined {
  const labelled = [...secret.versions.values()].filter((v) => v.stages.size > 0);
  return labelled.length === 0
    ? undefined
    : Object.fromEntries(labelled.map((v) => [v.versionId, [...v.stages]]));
}

/** The fields DescribeSecret and ListSecrets share; AWS leaves out those without a value. */
function summaryOf(secret: Secret) {
  return {
    ARN: secret.arn,
    Name: secret.name,
    Description: secret.description,
    KmsKeyId: secret.kmsKeyId,
    LastChangedDate: secret.lastChangedDate,
    DeletedDate: secret.deletedDate,
    Tags: secret.tags.length > 0 ? secret.tags : undefined,
    CreatedDate: secret.createdDate,
  };
}

// ---------------------------------------------------------------- ListSecrets filters

interface Filter {
  key: string;
  values: string[];
}

function readFilters(value: unknown): Filter[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new AwsError('ValidationException', 'Filters must be a list.');
  return value.map((raw) => {
    const filter = (raw ?? {}) as Record<string, unknown>;
    const key = String(filter.Key ?? '');
    if (!FILTER_KEYS.has(key)) {
      throw new AwsError(
        'ValidationException',
        `1 validation error detected: Value '${key}' at 'filters.1.member.key' failed to satisfy constraint: Member must satisfy enum value set: [${[...FILTER_KEYS].join(', ')}]`,
      );
    }
    const values = Array.isArray(filter.Values) ? filter.Values.map(String) : [];
    if (values.length === 0 || values.length > 10) {
      throw invalidParameter('A filter must have between 1 and 10 values.');
    }
    return { key, values };
  });
}

/**
 * Values of one filter are alternatives, filters all apply; every key is a prefix match, only
 * `description` and `all` ignore case, and `!` negates a value.
 */
function matchesFilter(ctx: RequestContext, secret: Secret, filter: Filter): boolean {
  const ignoreCase = filter.key === 'description' || filter.key === 'all';
  const fold = (text: string) => (ignoreCase ? text.toLowerCase() : text);
  const candidates = filterCandidates(ctx, secret, filter.key).map(fold);
  const matches = (term: string): boolean => {
    const words = filter.key === 'all' ? splitWords(term).map(fold) : [fold(term)];
    return words.some((word) => candidates.some((candidate) => candidate.startsWith(word)));
  };
  const positive = filter.values.filter((v) => !v.startsWith('!'));
  const negative = filter.values.filter((v) => v.startsWith('!')).map((v) => v.slice(1));
  return (positive.length === 0 || positive.some(matches)) && !negative.some(matches);
}

function filterCandidates(ctx: RequestContext, secret: Secret, key: string): string[] {
  switch (key) {
    case 'name':
      return [secret.name];
    case 'description':
      return secret.description === undefined ? [] : [secret.description];
    case 'tag-key':
      return secret.tags.map((t) => t.Key);
    case 'tag-value':
      return secret.tags.map((t) => t.Value);
    case 'primary-region':
      return [ctx.region];
    case 'all':
      return [secret.name, secret.description ?? '', ...secret.tags.flatMap((t) => [t.Key, t.Value])].flatMap(
        splitWords,
      );
    default:
      return [];
  }
}

/** Words as the `all` search sees them: split at punctuation, case changes and letter/digit borders. */
function splitWords(text: string): string[] {
  return text
    .split(/[^A-Za-z0-9]+|(?<=[a-z])(?=[A-Z])|(?<=[A-Za-z])(?=[0-9])|(?<=[0-9])(?=[A-Za-z])/)
    .filter((word) => word !== '');
}

// ---------------------------------------------------------------- input

function readValue(input: Input): SecretValue | undefined {
  const secretString = optionalString(input.SecretString);
  const secretBinary = optionalString(input.SecretBinary);
  if (secretString !== undefined && secretBinary !== undefined) {
    throw invalidParameter(
      "You can't specify both a binary secret value and a string secret value in the same secret.",
    );
  }
  if (secretString !== undefined) return { secretString };
  if (secretBinary !== undefined) return { secretBinary };
  return undefined;
}

function sameValue(version: SecretVersion, value: SecretValue): boolean {
  return version.secretString === value.secretString && version.secretBinary === value.secretBinary;
}

/** The version id is the request's idempotency token, which the SDK fills in when the caller does not. */
function readVersionId(ctx: RequestContext, input: Input): string {
  const token = input.ClientRequestToken;
  if (token === undefined || token === null) return ctx.world.rng.uuid();
  if (typeof token !== 'string' || token.length < 32 || token.length > 64) {
    throw new AwsError(
      'ValidationException',
      `1 validation error detected: Value '${String(token)}' at 'clientRequestToken' failed to satisfy constraint: Member must have length between 32 and 64`,
    );
  }
  return token;
}

function readStages(value: unknown): string[] {
  const stages = Array.isArray(value) ? value.map(String) : [];
  if (stages.length === 0 || stages.length > 20 || stages.some((s) => s.length === 0 || s.length > 256)) {
    throw new AwsError(
      'ValidationException',
      "1 validation error detected: Value at 'versionStages' failed to satisfy constraint: Member must have length between 1 and 20",
    );
  }
  return stages;
}

function optionalString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function invalidParameter(message: string): AwsError {
  return new AwsError('InvalidParameterException', message);
}

function notFound(): AwsError {
  return new AwsError('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
}
