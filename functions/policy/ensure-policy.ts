import { createHash } from 'node:crypto';
import {
  AttachUserPolicyCommand,
  CreatePolicyCommand,
  CreatePolicyVersionCommand,
  DeletePolicyVersionCommand,
  GetPolicyVersionCommand,
  type IAMClient,
  ListAttachedUserPoliciesCommand,
  ListPolicyVersionsCommand,
  type Policy,
} from '@aws-sdk/client-iam';
import { type Config, connectorPolicyArn } from '../../commons/config';
import { connectorPolicyDocument, samePolicy } from '../../commons/connector-policy';
import { getConnectorPolicy } from '../../commons/connector-resources';
import { awsErrorName, classifyAwsError } from '../../commons/errors';
import type { LedgerView } from '../../commons/ledger';
import { neverOnboarded } from '../../commons/ledger-view';
import type { StepResult } from '../../commons/step-result';

/** IAM keeps at most five versions of a managed policy. */
const MAX_POLICY_VERSIONS = 5;

/**
 * Step 3: the customer-managed connector policy holds exactly the documented permissions and is
 * attached to the connector user. Drift is repaired with a new default version, deleting the
 * oldest non-default version first when IAM's five are taken.
 */
export interface PolicyOptions {
  dryRun: boolean;
  /**
   * The account's ledger view: on an account casbridge never onboarded the policy is created
   * first, and a default version already proven to hold the desired document is not read again.
   */
  ledger?: LedgerView;
}

export async function ensurePolicy(
  iam: IAMClient,
  config: Config,
  accountId: string,
  options: PolicyOptions,
): Promise<StepResult> {
  try {
    return await reconcile(iam, config, accountId, options);
  } catch (error) {
    throw classifyAwsError(error, 'policy');
  }
}

async function reconcile(
  iam: IAMClient,
  config: Config,
  accountId: string,
  options: PolicyOptions,
): Promise<StepResult> {
  const { dryRun, ledger } = options;
  const arn = connectorPolicyArn(config, accountId);
  const desired = JSON.stringify(connectorPolicyDocument({ allowPutBucketAcl: config.allowPutBucketAcl }));
  const documentHash = createHash('sha256').update(desired).digest('hex').slice(0, 16);
  const existing = !dryRun && neverOnboarded(ledger) ? undefined : await getConnectorPolicy(iam, arn);
  let policy: Pick<Policy, 'PolicyId' | 'DefaultVersionId'> | undefined = existing;
  let action: StepResult['action'] = 'unchanged';
  const details: Record<string, string | number | boolean> = { policyArn: arn };
  if (!existing) {
    action = 'created';
    if (!dryRun) {
      try {
        policy = (
          await iam.send(
            new CreatePolicyCommand({
              PolicyName: config.policyName,
              Path: config.userPath,
              PolicyDocument: desired,
              Description: 'Microsoft Defender for Cloud Apps AWS connector (managed by casbridge)',
            }),
          )
        ).Policy;
      } catch (error) {
        // There already (a concurrent or interrupted run): converge on it with a read.
        if (awsErrorName(error) !== 'EntityAlreadyExistsException') throw error;
        return reconcile(iam, config, accountId, { dryRun });
      }
    }
  } else if (ledger?.policyVersion !== versionKey(existing, documentHash)) {
    const current = await iam.send(
      new GetPolicyVersionCommand({ PolicyArn: arn, VersionId: existing.DefaultVersionId }),
    );
    if (!samePolicy(current.PolicyVersion?.Document ?? '{}', desired)) {
      action = 'updated';
      details.reason = 'document-drift';
      if (!dryRun) {
        details.versionId = await replaceDefaultVersion(iam, arn, desired);
        policy = { ...existing, DefaultVersionId: details.versionId };
      }
    }
  }
  // A policy created just now is attached to nothing yet.
  const attached = existing ? await isAttached(iam, config.userName, arn) : false;
  if (!attached) {
    if (action === 'unchanged') {
      action = 'updated';
      details.reason = 'reattached';
    }
    if (!dryRun) await iam.send(new AttachUserPolicyCommand({ UserName: config.userName, PolicyArn: arn }));
  }
  const policyVersion = dryRun ? undefined : versionKey(policy, documentHash);
  return {
    action,
    ...(dryRun && action !== 'unchanged' ? { reason: 'dry-run' } : {}),
    details,
    ...(policyVersion && policyVersion !== ledger?.policyVersion ? { ledger: { policyVersion } } : {}),
  };
}

/**
 * Names the policy's default version and the document it was checked against. IAM policy
 * versions are immutable and a re-created policy gets a new PolicyId, so an unchanged key means
 * an unchanged document.
 */
function versionKey(
  policy: Pick<Policy, 'PolicyId' | 'DefaultVersionId'> | undefined,
  documentHash: string,
): string | undefined {
  return policy?.PolicyId && policy.DefaultVersionId
    ? `${policy.PolicyId}:${policy.DefaultVersionId}:${documentHash}`
    : undefined;
}

async function replaceDefaultVersion(iam: IAMClient, arn: string, document: string): Promise<string> {
  const versions = (await iam.send(new ListPolicyVersionsCommand({ PolicyArn: arn }))).Versions ?? [];
  if (versions.length >= MAX_POLICY_VERSIONS) {
    const oldest = versions
      .filter((v) => !v.IsDefaultVersion)
      .sort((a, b) => (a.CreateDate?.getTime() ?? 0) - (b.CreateDate?.getTime() ?? 0))[0];
    if (oldest?.VersionId)
      await iam.send(new DeletePolicyVersionCommand({ PolicyArn: arn, VersionId: oldest.VersionId }));
  }
  const created = await iam.send(
    new CreatePolicyVersionCommand({ PolicyArn: arn, PolicyDocument: document, SetAsDefault: true }),
  );
  return created.PolicyVersion?.VersionId ?? '';
}

async function isAttached(iam: IAMClient, userName: string, arn: string): Promise<boolean> {
  let marker: string | undefined;
  do {
    const page = await iam.send(
      new ListAttachedUserPoliciesCommand({ UserName: userName, ...(marker ? { Marker: marker } : {}) }),
    );
    if (page.AttachedPolicies?.some((p) => p.PolicyArn === arn)) return true;
    marker = page.Marker;
  } while (marker);
  return false;
}
