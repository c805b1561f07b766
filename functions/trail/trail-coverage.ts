import {
  type CloudTrailClient,
  DescribeTrailsCommand,
  GetEventSelectorsCommand,
  GetTrailStatusCommand,
  type Trail,
} from '@aws-sdk/client-cloudtrail';
import { type Config, organizationTrailName } from '../../commons/config';
import type { StepResult } from '../../commons/step-result';
import type { TrailCoverage } from '../../commons/task-input';
import { managementEventCoverage } from './event-selectors';

/** What the trail step reports when an organization trail already records the account's events. */
export const COVERED_BY_ORGANIZATION_TRAIL = 'covered-by-organization-trail';
/** What the trail step reports when a trail of the account's own already records its events. */
export const COVERED_BY_EXISTING_TRAIL = 'covered-by-existing-trail';

/**
 * Whether the account needs casbridge's own trail, decided before the trail step looks at that
 * trail: a `skipped` result naming the trail that already covers the account, or undefined.
 *
 * Why coverage is enough: Defender for Cloud Apps reads an account's activity through
 * `cloudtrail:LookupEvents` (CloudTrail event history, on in every account whatever its trails),
 * with the connector user's keys; its policy grants no read of any trail's bucket, and Microsoft
 * dropped the "turn on CloudTrail" step in 2021 (reference/defender-for-cloud-apps.md §1.5). So
 * casbridge's trail serves the account's own retention and forensics, not the connector, and any
 * trail that records the same events in the same Regions serves them as well. A second trail
 * recording them is a second, paid copy of every management event in every Region ($2.00 per
 * 100,000 events; the first copy is free).
 *
 * What covers: a multi-Region trail that logs and whose selectors pick read and write management
 * events, basic or advanced, as AWS documents them (an advanced selector's `eventCategory Equals
 * Management`, without a `readOnly` field or with `true` and `false` both covered by some
 * selector). Two things are reported rather than required, because each is the covering trail's
 * owner's to set on their trail, and neither is worth a second copy of every event:
 * - log-file validation (`coveredByLogFileValidation`): it protects that trail's files' integrity,
 *   and turning it on is free;
 * - the sources it leaves out (`coveredByExcludedSources`): CloudTrail lets a trail leave out only
 *   KMS's and the RDS Data API's management events, usually for their volume; a second copy of
 *   everything to get them back would cost more than leaving them out saves.
 *
 * Not reached for an account whose item carries the run's coverage (findRunCoverage,
 * runCoveredResult). In `organization` mode the EnsureOrganizationTrail state has run before any
 * account: in a real run that started without coverage, casbridge's organization trail is checked
 * here like any other trail (so an account it does not cover, because someone stopped it mid-run,
 * still gets a trail of its own); in a dry run it changed nothing, and the trail it would create
 * or repair is what covers the account.
 */
export async function coverageDecision(
  cloudtrail: CloudTrailClient,
  config: Config,
  trails: Trail[],
  context: {
    /** casbridge's own trail in the account, if it has one: never coverage for itself. */
    ours: Trail | undefined;
    dryRun: boolean;
    /** The central (management) account, for the organization trail a dry run would create. */
    centralAccountId?: () => Promise<string>;
  },
): Promise<StepResult | undefined> {
  if (config.trailMode === 'own') return undefined;
  const covering = await findCoveringTrail(cloudtrail, trails, {
    exclude: context.ours?.TrailARN,
    organizationTrailName: organizationTrailName(config),
  });
  // casbridge's own trail is left as it is when something else covers the account: not deleted
  // (it is the account's audit record, and the covering trail's copy of the past may be shorter),
  // not maintained either (restarting it would undo an operator who stopped the paid copy).
  if (covering) return coveredResult(covering, context.ours?.TrailARN);
  if (config.trailMode !== 'organization' || !context.dryRun) return undefined;
  const planned =
    trails.find((t) => isCasbridgeOrganizationTrail(t, organizationTrailName(config)))?.TrailARN ??
    (await plannedOrganizationTrailArn(config, context.centralAccountId));
  return coveredResult(
    { trailArn: planned, organization: true, logFileValidation: true, excludedSources: [] },
    context.ours?.TrailARN,
  );
}

/**
 * ResolveTargets, once per run: the organization trail that covers every account of the
 * organization, if one does now, looked for from the central account (trail modes
 * `reuse-existing` and `organization`; `own` wants casbridge's trail whatever covers).
 *
 * Why once is enough: an organization trail applies to every member account of the
 * organization, those that join later included, and a member can neither stop, change nor delete
 * it; so whether one covers is a fact about the organization, the same for each account, and the
 * central account sees it as every member does (its own trail in the management account, a
 * shadow trail in a delegated administrator's). Each account's trail step then reports the
 * coverage without a call (runCoveredResult). The window is the one there always was: a trail
 * stopped or changed after this look is caught by the next run, as one stopped after an
 * account's own check was.
 */
export async function findRunCoverage(
  cloudtrail: CloudTrailClient,
  config: Config,
): Promise<TrailCoverage | undefined> {
  if (config.trailMode === 'own') return undefined;
  // Shadow trails included: that is how a delegated administrator sees the organization's trail.
  const trails =
    (await cloudtrail.send(new DescribeTrailsCommand({ includeShadowTrails: true }))).trailList ?? [];
  return findCoveringTrail(cloudtrail, trails, {
    organizationOnly: true,
    organizationTrailName: organizationTrailName(config),
  });
}

/**
 * The trail step's result for an account whose item carries the run's coverage (findRunCoverage),
 * without a call; undefined in trail mode `own` or without one. The per-account `redundantTrail`
 * hint is not given: telling it would take the account's own DescribeTrails, the call this saves.
 */
export function runCoveredResult(
  config: Config,
  coverage: TrailCoverage | undefined,
): StepResult | undefined {
  if (!coverage || config.trailMode === 'own') return undefined;
  const result = coveredResult(coverage);
  return { ...result, details: { ...result.details, coverageCheckedFor: 'run' } };
}

/**
 * The first trail among `trails` (a DescribeTrails listing, shadow trails included) that records
 * read and write management events in every Region, and logs: organization trails first
 * (a member can neither stop nor change them; casbridge's own first among them), then the
 * account's own multi-Region trails. Each candidate costs one GetTrailStatus by ARN (the only way
 * to read another account's trail), and a GetEventSelectors only if its selectors were ever
 * customised (HasCustomEventSelectors), as casbridge's own trail.
 */
export async function findCoveringTrail(
  cloudtrail: CloudTrailClient,
  trails: Trail[],
  options: { exclude?: string | undefined; organizationTrailName?: string; organizationOnly?: boolean } = {},
): Promise<TrailCoverage | undefined> {
  const seen = new Set<string>();
  const candidates = trails.filter((t): t is Trail & { TrailARN: string } => {
    // A single-Region trail misses every other Region, and IAM's and STS's events (us-east-1 only).
    if (!t.TrailARN || !t.IsMultiRegionTrail || t.TrailARN === options.exclude || seen.has(t.TrailARN))
      return false;
    seen.add(t.TrailARN);
    return !options.organizationOnly || t.IsOrganizationTrail === true;
  });
  const rank = (t: Trail) =>
    options.organizationTrailName && isCasbridgeOrganizationTrail(t, options.organizationTrailName)
      ? 0
      : t.IsOrganizationTrail
        ? 1
        : 2;
  candidates.sort((a, b) => rank(a) - rank(b));
  for (const trail of candidates) {
    if (!(await cloudtrail.send(new GetTrailStatusCommand({ Name: trail.TrailARN }))).IsLogging) continue;
    const selected = await selectedManagementEvents(cloudtrail, trail);
    if (!selected) continue;
    return {
      trailArn: trail.TrailARN,
      organization: trail.IsOrganizationTrail === true,
      logFileValidation: trail.LogFileValidationEnabled === true,
      excludedSources: selected.excludedSources,
    };
  }
  return undefined;
}

/** The trail step's `skipped` result for a covered account. */
export function coveredResult(covering: TrailCoverage, redundantTrailArn?: string): StepResult {
  return {
    action: 'skipped',
    reason: covering.organization ? COVERED_BY_ORGANIZATION_TRAIL : COVERED_BY_EXISTING_TRAIL,
    details: {
      coveredBy: covering.trailArn,
      coveredByLogFileValidation: covering.logFileValidation,
      ...(covering.excludedSources.length > 0
        ? { coveredByExcludedSources: covering.excludedSources.join(',') }
        : {}),
      // casbridge's own trail, still there: the paid second copy an operator may now delete.
      ...(redundantTrailArn ? { redundantTrail: redundantTrailArn } : {}),
    },
  };
}

/** casbridge's organization trail as a DescribeTrails listing shows it, in any account. */
export function isCasbridgeOrganizationTrail(trail: Trail, name: string): boolean {
  return trail.IsOrganizationTrail === true && trail.Name === name;
}

/**
 * The management events the trail's selectors pick, if reads and writes both: a trail whose
 * selectors were never customised has CloudTrail's defaults, every one; any other is read, basic
 * or advanced (GetEventSelectors returns whichever the trail has).
 */
async function selectedManagementEvents(
  cloudtrail: CloudTrailClient,
  trail: Trail & { TrailARN: string },
): Promise<{ excludedSources: string[] } | undefined> {
  if (trail.HasCustomEventSelectors === false) return { excludedSources: [] };
  const coverage = managementEventCoverage(
    await cloudtrail.send(new GetEventSelectorsCommand({ TrailName: trail.TrailARN })),
  );
  return coverage.reads && coverage.writes ? { excludedSources: coverage.excludedSources } : undefined;
}

async function plannedOrganizationTrailArn(
  config: Config,
  centralAccountId: (() => Promise<string>) | undefined,
): Promise<string> {
  if (!centralAccountId)
    throw new Error('the organization trail a dry run plans needs the central account id');
  return `arn:${config.partition}:cloudtrail:${config.region}:${await centralAccountId()}:trail/${organizationTrailName(config)}`;
}
