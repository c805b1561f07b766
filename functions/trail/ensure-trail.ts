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
import { type Config, trailKeyPrefix } from '../../commons/config';
import { MANAGED_TAG } from '../../commons/connector-resources';
import {
  awsErrorName,
  BucketPolicyNotReadyError,
  ConfigurationError,
  classifyAwsError,
  LimitReachedError,
} from '../../commons/errors';
import { spaceCloudTrailWrites } from '../../commons/pause';
import type { StepResult } from '../../commons/step-result';
import type { TrailCoverage } from '../../commons/task-input';
import { DESIRED_EVENT_SELECTORS, eventSelectorDrift } from './event-selectors';
import { coverageDecision, runCoveredResult } from './trail-coverage';

export interface TrailStepOptions {
  dryRun: boolean;
  /** The central account's id: in a dry run of `organization` mode, the planned trail's owner. */
  centralAccountId?: () => Promise<string>;
  /** The organization trail ResolveTargets proved covers every account of the run (TaskInput.trailCoverage). */
  runCoverage?: TrailCoverage | undefined;
}

/**
 * Step 5: a multi-Region trail with log-file validation, logging, recording every management
 * event (read and write), delivering to the central log bucket under the account's own prefix —
 * unless another trail already records them (trail-coverage.ts; CASBRIDGE_TRAIL_MODE).
 *
 * CloudTrail allows one mutating call per second per account and Region, so every write here is
 * awaited before the next: never in parallel. A compliant account costs two reads (DescribeTrails,
 * GetTrailStatus); a trail whose event selectors were ever customised costs a third
 * (GetEventSelectors). Each other multi-Region trail the account sees is read the same way, until
 * one covers the account. An account the run's organization trail covers (options.runCoverage)
 * costs no call at all.
 */
export async function ensureTrail(
  cloudtrail: CloudTrailClient,
  config: Config,
  accountId: string,
  options: TrailStepOptions,
): Promise<StepResult> {
  // Covered for the whole run, proven once by ResolveTargets: nothing in the account to read.
  const covered = runCoveredResult(config, options.runCoverage);
  if (covered) return covered;
  try {
    return await reconcile(cloudtrail, config, accountId, options, true);
  } catch (error) {
    throw classifyTrailError(error, config, accountId);
  }
}

async function reconcile(
  cloudtrail: CloudTrailClient,
  config: Config,
  accountId: string,
  options: TrailStepOptions,
  mayRetryCreate: boolean,
): Promise<StepResult> {
  const { dryRun } = options;
  // Shadow trails included: that is how a member sees the management account's organization trail.
  const trails =
    (await cloudtrail.send(new DescribeTrailsCommand({ includeShadowTrails: true }))).trailList ?? [];
  const ours = trails.find((t) => t.Name === config.trailName && arnAccount(t.TrailARN) === accountId);
  if (ours && ours.HomeRegion !== config.region) {
    // CloudTrail changes a trail only from its home Region; this one belongs to another deployment
    // or was made by hand, and casbridge must not guess which Region's configuration is right.
    throw new ConfigurationError(
      `Account ${accountId} already has a trail named ${config.trailName} homed in ${ours.HomeRegion ?? 'another Region'}, not in ${config.region}: set CASBRIDGE_TRAIL_NAME to another name or AWS_REGION to that Region`,
      { step: 'trail' },
    );
  }

  const covered = await coverageDecision(cloudtrail, config, trails, { ...options, ours });
  if (covered) return covered;

  const prefix = trailKeyPrefix(config, accountId);
  if (!ours) {
    const trailArn = `arn:${config.partition}:cloudtrail:${config.region}:${accountId}:trail/${config.trailName}`;
    if (dryRun) {
      // CreateTrail would be refused on a full quota: the trails listed above are all it counts.
      if (trails.filter((t) => arnAccount(t.TrailARN) === accountId).length >= MAX_TRAILS_PER_REGION)
        throw trailQuotaFull(config, accountId);
      return { action: 'created', reason: 'dry-run', details: { trailArn } };
    }
    let created: string | undefined;
    try {
      created = (
        await cloudtrail.send(
          new CreateTrailCommand({ ...desiredTrail(config, prefix), TagsList: [MANAGED_TAG] }),
        )
      ).TrailARN;
    } catch (error) {
      // A concurrent or killed-and-retried run created it between our read and this write:
      // converge on what is there now, once (a second clash is not a race and must surface).
      if (awsErrorName(error) === 'TrailAlreadyExistsException' && mayRetryCreate) {
        return reconcile(cloudtrail, config, accountId, options, false);
      }
      throw error;
    }
    // The API leaves a new trail stopped (only the console starts it). A crash right here leaves a
    // stopped trail, which the next run restarts as drift.
    await spaceCloudTrailWrites();
    await cloudtrail.send(new StartLoggingCommand({ Name: config.trailName }));
    return { action: 'created', details: { trailArn: created ?? trailArn } };
  }

  const trailArn = ours.TrailARN ?? config.trailName;
  const drift = driftOf(ours, config, prefix);
  const status = await cloudtrail.send(new GetTrailStatusCommand({ Name: trailArn }));
  const selectorDrift = await readEventSelectorDrift(cloudtrail, ours, trailArn);
  const reasons = [...drift];
  if (selectorDrift) reasons.push(selectorDrift);
  if (!status.IsLogging) reasons.push('restarted-logging');
  if (reasons.length === 0) return { action: 'unchanged', details: { trailArn } };

  const details = { trailArn, drift: reasons.join(',') };
  if (dryRun) return { action: 'updated', reason: 'dry-run', details };
  const writes: (() => Promise<unknown>)[] = [];
  if (drift.length > 0)
    writes.push(() => cloudtrail.send(new UpdateTrailCommand(desiredTrail(config, prefix))));
  if (selectorDrift) {
    // By name: the trail is this account's and homed here (checked above), so the name can only
    // mean casbridge's own trail, never another account's or the organization's.
    writes.push(() =>
      cloudtrail.send(
        new PutEventSelectorsCommand({
          TrailName: config.trailName,
          EventSelectors: DESIRED_EVENT_SELECTORS,
        }),
      ),
    );
  }
  if (!status.IsLogging)
    writes.push(() => cloudtrail.send(new StartLoggingCommand({ Name: config.trailName })));
  for (const [index, write] of writes.entries()) {
    if (index > 0) await spaceCloudTrailWrites();
    await write();
  }
  return { action: 'updated', reason: details.drift, details };
}

/**
 * Whether the trail's event selectors miss management events. DescribeTrails already says whether
 * a trail's selectors were ever customised (`HasCustomEventSelectors`): one that never was has
 * CloudTrail's defaults, every management event read and write, so a trail casbridge created
 * costs no extra read. Only a customised one (or a description without the flag) is read; once
 * PutEventSelectors has run (someone's edit, or casbridge's repair) the flag stays set, so such a
 * trail costs one read per reconcile from then on.
 */
async function readEventSelectorDrift(
  cloudtrail: CloudTrailClient,
  trail: Trail,
  trailArn: string,
): Promise<string | undefined> {
  if (trail.HasCustomEventSelectors === false) return undefined;
  return eventSelectorDrift(await cloudtrail.send(new GetEventSelectorsCommand({ TrailName: trailArn })));
}

/** What differs from the desired trail, in the words the report uses. */
function driftOf(trail: Trail, config: Config, prefix: string): string[] {
  const drift: string[] = [];
  // IAM and STS record their events in us-east-1 only: a single-Region trail elsewhere misses them.
  if (!trail.IsMultiRegionTrail) drift.push('single-region');
  else if (!trail.IncludeGlobalServiceEvents) drift.push('global-service-events-off');
  if (!trail.LogFileValidationEnabled) drift.push('log-file-validation-off');
  if (trail.S3BucketName !== config.logBucket) drift.push('bucket');
  if ((trail.S3KeyPrefix ?? '') !== prefix) drift.push('prefix');
  return drift;
}

function arnAccount(arn: string | undefined): string | undefined {
  return arn?.split(':')[4];
}

/** CloudTrail's own error names first, then the shared classification (throttling, AccessDenied). */
function classifyTrailError(error: unknown, config: Config, accountId: string): unknown {
  switch (awsErrorName(error)) {
    case 'InsufficientS3BucketPolicyException':
      // Seen right after a bucket-policy change, before CloudTrail sees the new policy; the state
      // machine retries this name with backoff. If it persists, the policy does not admit the account.
      return new BucketPolicyNotReadyError(
        `CloudTrail refused bucket ${config.logBucket} for account ${accountId}: its policy does not (yet) let CloudTrail write under ${trailKeyPrefix(config, accountId)}/AWSLogs/${accountId}/`,
        { step: 'trail', cause: error },
      );
    case 'MaximumNumberOfTrailsExceededException':
      return trailQuotaFull(config, accountId, error);
    case 'S3BucketDoesNotExistException':
      return new ConfigurationError(
        `The central log bucket ${config.logBucket} does not exist (CASBRIDGE_LOG_BUCKET)`,
        { step: 'trail', cause: error },
      );
    default:
      return classifyAwsError(error, 'trail');
  }
}

/**
 * CloudTrail's quota of trails per Region, not adjustable: the account's own trails homed here and
 * the shadow copies of its multi-Region trails homed elsewhere count (reference/aws-api.md,
 * quotas). The organization trail a member sees is the management account's, counted there.
 */
const MAX_TRAILS_PER_REGION = 5;

/** What CreateTrail's MaximumNumberOfTrailsExceededException means, and what a dry run predicts from the count. */
function trailQuotaFull(config: Config, accountId: string, cause?: unknown): LimitReachedError {
  return new LimitReachedError(
    `Account ${accountId} already has CloudTrail's maximum of ${MAX_TRAILS_PER_REGION} trails in ${config.region}`,
    `Delete an unused trail in ${config.region} of account ${accountId}, or let another trail recording every management event in every Region (an organization trail, say) cover the account with CASBRIDGE_TRAIL_MODE reuse-existing or organization, so casbridge needs none of its own.`,
    { step: 'trail', ...(cause === undefined ? {} : { cause }) },
  );
}

/** The trail casbridge wants, as both CreateTrail and UpdateTrail take it. */
function desiredTrail(config: Config, prefix: string) {
  return {
    Name: config.trailName,
    S3BucketName: config.logBucket,
    S3KeyPrefix: prefix,
    IsMultiRegionTrail: true,
    IncludeGlobalServiceEvents: true,
    EnableLogFileValidation: true,
  };
}
