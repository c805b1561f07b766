import type { Partition } from '../../commons/partition';
import type { CallLog } from './call-log';
import type { Clock } from './clock';
import type { CredentialStore } from './credentials';
import type { EventLog } from './event-log';
import type { FaultEngine } from './faults';
import type { Rng } from './rng';

/**
 * The whole emulated AWS: one organization, its accounts, and every resource in them. Services
 * read and change it; nothing else holds state. Types here are the emulator's own, shaped close to
 * the API so that handlers stay thin.
 */
export interface World {
  readonly clock: Clock;
  readonly rng: Rng;
  readonly settings: WorldSettings;
  readonly organization: Organization;
  readonly accounts: Map<string, AccountState>;
  readonly credentials: CredentialStore;
  /** S3 bucket names are global across accounts, as on AWS. */
  readonly buckets: Map<string, Bucket>;
  readonly callLog: CallLog;
  /** Every event EventBridge's default buses received, in order (sandbox/core/event-log.ts). */
  readonly events: EventLog;
  readonly faults: FaultEngine;
}

export interface WorldSettings {
  /** Region a request is taken to target when its signature names none. */
  readonly defaultRegion: string;
  /** The partition of the default Region: every ARN the sandbox builds or accepts is in it. */
  readonly partition: Partition;
  /** How long a new IAM access key is refused (InvalidClientTokenId) before it works, as IAM propagates. */
  keyPropagationMs: number;
  /** Evaluate caller permissions with the IAM policy evaluator (off only to measure its cost). */
  enforcePolicies: boolean;
  /**
   * Where the dynalite server behind the DynamoDB front listens, for people and tools; the front
   * itself hands requests to dynalite in memory.
   */
  dynamodbEndpoint?: string;
  /**
   * Organizations List* calls serve an empty page with a NextToken now and then, as AWS may
   * (default on); callers that stop at an empty page miss the rest.
   */
  organizationsEmptyPages?: boolean;
  /**
   * How the membership events spell their method: `departureMethod`/`departureTime` with
   * upper-case values (the newer SDK models' text, the default) or `departedMethod`/`departedTime`
   * with capitalised ones (the older API reference's). AWS has published no sample of either.
   */
  membershipEventSpelling?: 'departureMethod' | 'departedMethod';
  /**
   * Account.Status, which AWS retired on 2026-09-09, is still sent beside State (default on);
   * off, the sandbox answers as an Organizations that no longer sends it.
   */
  accountStatusField?: boolean;
}

export interface Tag {
  Key: string;
  Value: string;
}

/** A policy document as parsed JSON. */
export type PolicyDocument = {
  Version?: string;
  Statement: Record<string, unknown>[] | Record<string, unknown>;
};

// ---------------------------------------------------------------- Organizations

export type AccountLifecycleState =
  | 'PENDING_ACTIVATION'
  | 'ACTIVE'
  | 'SUSPENDED'
  | 'PENDING_CLOSURE'
  | 'CLOSED';

export interface Organization {
  id: string;
  arn: string;
  managementAccountId: string;
  managementAccountEmail: string;
  rootId: string;
  rootArn: string;
  ous: Map<string, OrganizationalUnit>;
  accounts: Map<string, OrgAccount>;
  /** Service control policies by id, with the roots/OUs/accounts they are attached to. */
  scps: Map<string, ServiceControlPolicy>;
  /** Tags on accounts, OUs and the root, by resource id. */
  tags: Map<string, Tag[]>;
  /** Invitations to join, by handshake id (kept after they end, as AWS lists them for 30 days). */
  handshakes: Map<string, Handshake>;
  /**
   * The AWS services with trusted access to the organization (EnableAWSServiceAccess), by service
   * principal, with when it was enabled. CloudTrail needs it for an organization trail.
   */
  trustedServices: Map<string, Date>;
  /**
   * The resource-based delegation policy (PutResourcePolicy; templates/organizations-delegation.yml):
   * what a member account may read of the organization besides DescribeOrganization.
   */
  delegationPolicy?: PolicyDocument;
  /**
   * The account casbridge's stack is deployed in: the management account, or the delegated
   * administrator member account a scenario places it in.
   */
  casbridgeAccountId: string;
}

export interface Handshake {
  id: string;
  arn: string;
  action: 'INVITE';
  state: 'OPEN' | 'ACCEPTED' | 'DECLINED' | 'CANCELED' | 'EXPIRED';
  /** The invited party: an account id or an email address. */
  target: { type: 'ACCOUNT' | 'EMAIL'; id: string };
  notes?: string;
  requestedTimestamp: Date;
  expirationTimestamp: Date;
}

export interface OrganizationalUnit {
  id: string;
  arn: string;
  name: string;
  parentId: string;
}

export interface OrgAccount {
  id: string;
  arn: string;
  email: string;
  name: string;
  state: AccountLifecycleState;
  joinedMethod: 'CREATED' | 'INVITED';
  joinedTimestamp: Date;
  parentId: string;
  /**
   * A CloseAccount in progress or done: PENDING_CLOSURE until `closesAtMs`, then CLOSED until
   * `cleanedAtMs` (the end of the 90-day post-closure period), when the account departs.
   */
  closure?: { requestedAtMs: number; closesAtMs: number; cleanedAtMs: number };
}

export interface ServiceControlPolicy {
  id: string;
  name: string;
  document: PolicyDocument;
  targets: Set<string>;
}

// ---------------------------------------------------------------- per account

export interface AccountState {
  readonly id: string;
  readonly iam: IamState;
  /** Regional services, by Region name. */
  readonly regions: Map<string, RegionalState>;
  /** A standalone account's own name and email (a member's are the organization's to tell). */
  standalone?: { name: string; email: string };
  /**
   * What the member-role StackSet's instance created here (names as IAM keys them), which its
   * automatic deployment deletes when the account leaves the organization.
   */
  memberRoleStack?: { roles: string[]; groups: string[]; policyArns: string[] };
  /** Closed for good (after the post-closure period): nothing in it can be used any more. */
  permanentlyClosed?: true;
}

export interface RegionalState {
  readonly trails: Map<string, Trail>;
  readonly secrets: Map<string, Secret>;
  readonly topics: Map<string, Topic>;
}

// ---------------------------------------------------------------- IAM

export interface IamState {
  /** Keyed by lower-cased name: IAM names are case-insensitive. */
  readonly users: Map<string, IamUser>;
  readonly roles: Map<string, IamRole>;
  /** Keyed by lower-cased name, like users. */
  readonly groups: Map<string, IamGroup>;
  /** Customer managed policies by ARN. */
  readonly policies: Map<string, ManagedPolicy>;
  readonly accessKeys: Map<string, AccessKeyRecord>;
}

export interface IamUser {
  userName: string;
  userId: string;
  arn: string;
  path: string;
  createDate: Date;
  tags: Tag[];
  attachedPolicyArns: string[];
  inlinePolicies: Map<string, PolicyDocument>;
  /** The managed policy that caps what the user's identity policies can grant. */
  permissionsBoundaryArn?: string;
  /** A console password exists; the password itself is never kept (IAM never returns it). */
  loginProfile?: { createDate: Date; passwordResetRequired: boolean };
}

export interface IamGroup {
  groupName: string;
  groupId: string;
  arn: string;
  path: string;
  createDate: Date;
  /** Lower-cased names of the member users, in the order they were added. */
  members: string[];
  attachedPolicyArns: string[];
  inlinePolicies: Map<string, PolicyDocument>;
}

export interface IamRole {
  roleName: string;
  roleId: string;
  arn: string;
  path: string;
  createDate: Date;
  description?: string;
  maxSessionDuration: number;
  assumeRolePolicy: PolicyDocument;
  attachedPolicyArns: string[];
  inlinePolicies: Map<string, PolicyDocument>;
  tags: Tag[];
  /** Fault: AssumeRole is refused (AccessDenied) until this time, as for a freshly created account. */
  assumableAfterMs?: number;
}

export interface ManagedPolicy {
  policyName: string;
  policyId: string;
  arn: string;
  path: string;
  description?: string;
  defaultVersionId: string;
  versions: PolicyVersion[];
  nextVersionNumber: number;
  createDate: Date;
  updateDate: Date;
  tags: Tag[];
}

export interface PolicyVersion {
  versionId: string;
  /** The document exactly as submitted (IAM returns it URL-encoded). */
  document: string;
  isDefaultVersion: boolean;
  createDate: Date;
}

export interface AccessKeyRecord {
  userName: string;
  accessKeyId: string;
  status: 'Active' | 'Inactive';
  createDate: Date;
  lastUsed?: { date: Date; serviceName: string; region: string };
}

// ---------------------------------------------------------------- CloudTrail

export interface Trail {
  name: string;
  arn: string;
  homeRegion: string;
  s3BucketName: string;
  s3KeyPrefix?: string;
  snsTopicName?: string;
  includeGlobalServiceEvents: boolean;
  isMultiRegionTrail: boolean;
  logFileValidationEnabled: boolean;
  isOrganizationTrail: boolean;
  kmsKeyId?: string;
  isLogging: boolean;
  startLoggingTime?: Date;
  stopLoggingTime?: Date;
  eventSelectors: Record<string, unknown>[];
  advancedEventSelectors?: Record<string, unknown>[];
  /**
   * Set by the first PutEventSelectors, whatever it puts: DescribeTrails' HasCustomEventSelectors
   * (console-made trails, whose selectors the console writes, report true with the defaults).
   */
  customEventSelectors?: true;
  tags: Tag[];
}

// ---------------------------------------------------------------- S3

export interface Bucket {
  name: string;
  ownerAccountId: string;
  region: string;
  creationDate: Date;
  policy?: string;
  publicAccessBlock?: Record<string, boolean>;
  /** The ServerSideEncryptionConfiguration XML body as stored. */
  encryption?: string;
  objects: Map<string, S3Object>;
}

export interface S3Object {
  body: Buffer;
  contentType: string;
  etag: string;
  lastModified: Date;
  serverSideEncryption?: string;
  metadata: Record<string, string>;
}

// ---------------------------------------------------------------- Secrets Manager

export interface Secret {
  arn: string;
  name: string;
  description?: string;
  kmsKeyId?: string;
  tags: Tag[];
  versions: Map<string, SecretVersion>;
  createdDate: Date;
  lastChangedDate: Date;
  deletedDate?: Date;
  /** When the recovery window ends and the secret is gone for good. */
  deletionDate?: Date;
}

export interface SecretVersion {
  versionId: string;
  secretString?: string;
  secretBinary?: string;
  stages: Set<string>;
  createdDate: Date;
}

// ---------------------------------------------------------------- SNS

export interface Topic {
  arn: string;
  name: string;
  attributes: Record<string, string>;
  tags: Tag[];
  /** Every message published, kept for inspection. */
  messages: PublishedMessage[];
}

export interface PublishedMessage {
  messageId: string;
  subject?: string;
  message: string;
  messageAttributes: Record<string, unknown>;
  timestamp: Date;
  publisherArn: string;
}

// ---------------------------------------------------------------- helpers

export function emptyIamState(): IamState {
  return {
    users: new Map(),
    roles: new Map(),
    groups: new Map(),
    policies: new Map(),
    accessKeys: new Map(),
  };
}

export function accountState(world: World, accountId: string): AccountState {
  let account = world.accounts.get(accountId);
  if (!account) {
    account = { id: accountId, iam: emptyIamState(), regions: new Map() };
    world.accounts.set(accountId, account);
  }
  return account;
}

export function regionalState(world: World, accountId: string, region: string): RegionalState {
  const account = accountState(world, accountId);
  let regional = account.regions.get(region);
  if (!regional) {
    regional = { trails: new Map(), secrets: new Map(), topics: new Map() };
    account.regions.set(region, regional);
  }
  return regional;
}
