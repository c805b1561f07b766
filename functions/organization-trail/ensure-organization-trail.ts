import {
  type CloudTrailClient,
  CreateTrailCommand,
  DescribeTrailsCommand,
  GetEventSelectorsCommand,
  GetTrailStatusCommand,
  PutEventSelectorsCommand,
  StartLoggingCommand,
  type Trail,
  UpdateTrailCommand,
} from '@aws-sdk/client-cloudtrail';
import {
  DescribeOrganizationCommand,
  ListAWSServiceAccessForOrganizationCommand,
  type OrganizationsClient,
} from '@aws-sdk/client-organizations';
import * as z from 'zod/mini';
import { type Config, organizationTrailName } from '../../commons/config';
import { MANAGED_TAG } from '../../commons/connector-resources';
import {
  awsErrorName,
  BucketPolicyNotReadyError,
  ConfigurationError,
  classifyAwsError,
  InvalidTaskInputError,
  LimitReachedError,
  OrganizationTrailPrerequisiteError,
} from '../../commons/errors';
import { spaceCloudTrailWrites } from '../../commons/pause';
import type { StepResult } from '../../commons/step-result';
import { DESIRED_EVENT_SELECTORS, eventSelectorDrift } from '../trail/event-selectors';
import { coveredResult, findCoveringTrail } from '../trail/trail-coverage';

export interface OrganizationTrailDependencies {
  cloudtrail: CloudTrailClient;
  organizations: OrganizationsClient;
  /** The account casbridge runs in (STS GetCallerIdentity). */
  centralAccountId: () => Promise<string>;
  config: Config;
}

/** What the state machine gives the task: the run's id, mode and dry-run flag. */
export interface OrganizationTrailInput {
  runId: string;
  mode: 'onboard' | 'reconcile' | 'offboard' | 'retry-failed';
  dryRun: boolean;
}

const CLOUDTRAIL_SERVICE = 'cloudtrail.amazonaws.com';

/**
 * EnsureOrganizationTrail, once per run before any account (CASBRIDGE_TRAIL_MODE=organization):
 * one organization trail in the management account, multi-Region, with log-file validation,
 * logging every management event, delivering to the central log bucket under
 * `<trailPrefix>/AWSLogs/<org-id>/<account>/`. CloudTrail applies an organization trail to every
 * member account, those that join later included, and removes it from those that leave; a member
 * can neither stop nor change it. So every ACTIVE member account of the organization is covered
 * from the moment it logs, and each account's trail step finds it there and makes no trail of its
 * own (functions/trail/trail-coverage.ts).
 *
 * The calls are CloudTrail's in the management account: CloudTrail makes organization trails only
 * there (or in its delegated administrator, which casbridge does not support: the management
 * account stays the trail's owner and its ARN, which the log bucket's policy could not name).
 * Already an organization trail of the account that records every management event (Control
 * Tower's) covers the organization: casbridge's own would be a paid second copy of every event,
 * so none is made. Other modes, and offboarding runs, make no call.
 */
export async function ensureOrganizationTrail(
  deps: OrganizationTrailDependencies,
  input: OrganizationTrailInput,
): Promise<StepResult> {
  if (deps.config.trailMode !== 'organization') {
    return { action: 'skipped', reason: `trail-mode-${deps.config.trailMode}` };
  }
  // Offboarding leaves trails as they are: they are the accounts' audit record.
  if (input.mode === 'offboard') return { action: 'skipped', reason: 'offboard-run' };
  try {
    return await reconcile(deps, input.dryRun, true);
  } catch (error) {
    throw classifyOrganizationTrailError(error, deps.config);
  }
}

async function reconcile(
  deps: OrganizationTrailDependencies,
  dryRun: boolean,
  mayRetryCreate: boolean,
): Promise<StepResult> {
  const { cloudtrail, config } = deps;
  const accountId = await managementAccount(deps);
  const name = organizationTrailName(config);
  const trailArn = `arn:${config.partition}:cloudtrail:${config.region}:${accountId}:trail/${name}`;
  // Shadow trails included: an organization trail homed in another Region is listed only so.
  const trails = (
    (await cloudtrail.send(new DescribeTrailsCommand({ includeShadowTrails: true }))).trailList ?? []
  ).filter((t) => t.TrailARN?.split(':')[4] === accountId);
  const ours = trails.find((t) => t.Name === name);
  if (ours && ours.HomeRegion !== config.region) {
    throw new ConfigurationError(
      `The management account ${accountId} already has a trail named ${name} homed in ${ours.HomeRegion ?? 'another Region'}, not in ${config.region}: set CASBRIDGE_TRAIL_NAME to another name or AWS_REGION to that Region`,
      { step: 'organizationTrail' },
    );
  }
  const covering = await findCoveringTrail(cloudtrail, trails, {
    exclude: ours?.TrailARN,
    organizationOnly: true,
  });
  if (covering) return coveredResult(covering, ours?.TrailARN);

  if (!ours) {
    await requireTrustedAccess(deps.organizations);
    if (dryRun) return { action: 'created', reason: 'dry-run', details: { trailArn } };
    try {
      await cloudtrail.send(
        new CreateTrailCommand({ ...desiredTrail(config, name), TagsList: [MANAGED_TAG] }),
      );
    } catch (error) {
      // A concurrent run created it between the read and this write: converge on it, once.
      if (awsErrorName(error) === 'TrailAlreadyExistsException' && mayRetryCreate) {
        return reconcile(deps, dryRun, false);
      }
      throw error;
    }
    // Like any trail made through the API, it is stopped until StartLogging; a crash here
    // leaves it stopped, which the next run restarts as drift.
    await spaceCloudTrailWrites();
    await cloudtrail.send(new StartLoggingCommand({ Name: name }));
    return { action: 'created', details: { trailArn } };
  }

  const drift = driftOf(ours, config);
  // Making it an organization trail again asks of the organization what creating it does.
  if (drift.includes('not-organization-trail')) await requireTrustedAccess(deps.organizations);
  const status = await cloudtrail.send(new GetTrailStatusCommand({ Name: trailArn }));
  const selectorDrift =
    ours.HasCustomEventSelectors === false
      ? undefined
      : eventSelectorDrift(await cloudtrail.send(new GetEventSelectorsCommand({ TrailName: trailArn })));
  const reasons = [...drift, ...(selectorDrift ? [selectorDrift] : [])];
  if (!status.IsLogging) reasons.push('restarted-logging');
  if (reasons.length === 0) return { action: 'unchanged', details: { trailArn } };
  const details = { trailArn, drift: reasons.join(',') };
  if (dryRun) return { action: 'updated', reason: 'dry-run', details };
  const writes: (() => Promise<unknown>)[] = [];
  if (drift.length > 0)
    writes.push(() => cloudtrail.send(new UpdateTrailCommand(desiredTrail(config, name))));
  if (selectorDrift) {
    writes.push(() =>
      cloudtrail.send(
        new PutEventSelectorsCommand({ TrailName: name, EventSelectors: DESIRED_EVENT_SELECTORS }),
      ),
    );
  }
  if (!status.IsLogging) writes.push(() => cloudtrail.send(new StartLoggingCommand({ Name: name })));
  for (const [index, write] of writes.entries()) {
    if (index > 0) await spaceCloudTrailWrites();
    await write();
  }
  return { action: 'updated', reason: details.drift, details };
}

/**
 * The account casbridge runs in, checked to be the organization's management account: CloudTrail
 * makes an organization trail nowhere else (NotOrganizationMasterAccountException), and a dry run
 * must say so before a real run finds out.
 */
async function managementAccount(deps: OrganizationTrailDependencies): Promise<string> {
  const [accountId, organization] = await Promise.all([
    deps.centralAccountId(),
    deps.organizations.send(new DescribeOrganizationCommand({})),
  ]);
  const management = organization.Organization?.MasterAccountId;
  if (management !== accountId) {
    throw new OrganizationTrailPrerequisiteError(
      `casbridge runs in account ${accountId}, not in the organization's management account ${management ?? '(unknown)'}, where CloudTrail makes organization trails`,
      `Deploy casbridge in the management account ${management ?? ''} to use trailMode organization, or deploy with trailMode reuse-existing (each account's trail only where no other trail covers it).`,
      { step: 'organizationTrail' },
    );
  }
  if (organization.Organization?.FeatureSet && organization.Organization.FeatureSet !== 'ALL') {
    throw new OrganizationTrailPrerequisiteError(
      `The organization has only consolidated billing features (FeatureSet ${organization.Organization.FeatureSet}): CloudTrail makes organization trails only with all features`,
      'Enable all features in the organization (aws organizations enable-all-features), or deploy with trailMode reuse-existing.',
      { step: 'organizationTrail' },
    );
  }
  return accountId;
}

/**
 * CloudTrail makes an organization trail only once it has trusted access to the organization
 * (CloudTrailAccessNotEnabledException). The console enables it by itself; through the API it is
 * the operator's one-time step, which casbridge does not take: enabling a service's access to the
 * whole organization is beyond a trail.
 */
async function requireTrustedAccess(organizations: OrganizationsClient): Promise<void> {
  let token: string | undefined;
  do {
    const page = await organizations.send(
      new ListAWSServiceAccessForOrganizationCommand({ ...(token ? { NextToken: token } : {}) }),
    );
    if (page.EnabledServicePrincipals?.some((p) => p.ServicePrincipal === CLOUDTRAIL_SERVICE)) return;
    token = page.NextToken;
  } while (token);
  throw trustedAccessMissing();
}

function trustedAccessMissing(cause?: unknown): OrganizationTrailPrerequisiteError {
  return new OrganizationTrailPrerequisiteError(
    'CloudTrail has no trusted access to the organization, which an organization trail needs',
    `From the management account, run once: aws organizations enable-aws-service-access --service-principal ${CLOUDTRAIL_SERVICE} (or create any organization trail in the CloudTrail console, which enables it). Then run casbridge again.`,
    { step: 'organizationTrail', ...(cause ? { cause } : {}) },
  );
}

/** What differs from the desired organization trail, in the words the report uses. */
function driftOf(trail: Trail, config: Config): string[] {
  const drift: string[] = [];
  if (!trail.IsOrganizationTrail) drift.push('not-organization-trail');
  if (!trail.IsMultiRegionTrail) drift.push('single-region');
  else if (!trail.IncludeGlobalServiceEvents) drift.push('global-service-events-off');
  if (!trail.LogFileValidationEnabled) drift.push('log-file-validation-off');
  if (trail.S3BucketName !== config.logBucket) drift.push('bucket');
  if ((trail.S3KeyPrefix ?? '') !== config.trailPrefix) drift.push('prefix');
  return drift;
}

/** The organization trail casbridge wants, as both CreateTrail and UpdateTrail take it. */
function desiredTrail(config: Config, name: string) {
  return {
    Name: name,
    S3BucketName: config.logBucket,
    // CloudTrail adds AWSLogs/<org-id>/<account>/ below it: apart from the per-account trails'
    // <prefix>/<account>/AWSLogs/<account>/ in the same bucket.
    S3KeyPrefix: config.trailPrefix,
    IsMultiRegionTrail: true,
    IncludeGlobalServiceEvents: true,
    EnableLogFileValidation: true,
    IsOrganizationTrail: true,
  };
}

function classifyOrganizationTrailError(error: unknown, config: Config): unknown {
  const options = { step: 'organizationTrail' as const, cause: error };
  switch (awsErrorName(error)) {
    case 'InsufficientS3BucketPolicyException':
      // Retried by the state machine: right after a policy change CloudTrail may not see it yet.
      return new BucketPolicyNotReadyError(
        `CloudTrail refused bucket ${config.logBucket} for the organization trail: its policy does not (yet) let that trail write under ${config.trailPrefix}/AWSLogs/ (the stack's OrganizationTrailWrite statement)`,
        options,
      );
    case 'S3BucketDoesNotExistException':
      return new ConfigurationError(
        `The central log bucket ${config.logBucket} does not exist (CASBRIDGE_LOG_BUCKET)`,
        options,
      );
    case 'CloudTrailAccessNotEnabledException':
      return trustedAccessMissing(error);
    case 'NotOrganizationMasterAccountException':
    case 'OrganizationNotInAllFeaturesModeException':
    case 'OrganizationsNotInUseException':
    case 'NoManagementAccountSLRExistsException':
    case 'InsufficientDependencyServiceAccessPermissionException':
      return new OrganizationTrailPrerequisiteError(
        `CloudTrail refused the organization trail: ${awsErrorName(error)}: ${(error as Error).message}`,
        undefined,
        options,
      );
    case 'MaximumNumberOfTrailsExceededException':
      return new LimitReachedError(
        `The management account already has CloudTrail's maximum of 5 trails in ${config.region}`,
        `Delete an unused trail in ${config.region} of the management account; then run casbridge again.`,
        options,
      );
    default:
      return classifyAwsError(error, 'organizationTrail');
  }
}

const inputSchema = z.strictObject({
  runId: z.string().check(z.regex(/^[\w.-]{1,80}$/)),
  mode: z.enum(['onboard', 'reconcile', 'offboard', 'retry-failed']),
  dryRun: z.boolean(),
});

/** Parses the task's input at the boundary; a bad one is a named, non-retryable error. */
export function parseOrganizationTrailInput(event: unknown): OrganizationTrailInput {
  const parsed = inputSchema.safeParse(event);
  if (!parsed.success) {
    throw new InvalidTaskInputError(
      `Invalid task input: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`,
      { step: 'organizationTrail' },
    );
  }
  return parsed.data;
}
