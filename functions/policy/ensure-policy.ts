import {
  AttachUserPolicyCommand,
  CreatePolicyCommand,
  CreatePolicyVersionCommand,
  DeletePolicyVersionCommand,
  GetPolicyVersionCommand,
  type IAMClient,
  ListAttachedUserPoliciesCommand,
  ListPolicyVersionsCommand,
} from '@aws-sdk/client-iam';
import { type Config, connectorPolicyArn } from '../../commons/config';
import { connectorPolicyDocument, samePolicy } from '../../commons/connector-policy';
import { getConnectorPolicy } from '../../commons/connector-resources';
import { awsErrorName, classifyAwsError } from '../../commons/errors';
import type { StepResult } from '../../commons/step-result';

/** IAM keeps at most five versions of a managed policy. */
const MAX_POLICY_VERSIONS = 5;

/**
 * Step 3: the customer-managed connector policy holds exactly the documented permissions and is
 * attached to the connector user. Drift is repaired with a new default version, deleting the
 * oldest non-default version first when IAM's five are taken.
 */
export async function ensurePolicy(
  iam: IAMClient,
  config: Config,
  accountId: string,
  options: { dryRun: boolean },
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
  { dryRun }: { dryRun: boolean },
): Promise<StepResult> {
  const arn = connectorPolicyArn(config, accountId);
  const desired = JSON.stringify(connectorPolicyDocument({ allowPutBucketAcl: config.allowPutBucketAcl }));
  const policy = await getConnectorPolicy(iam, arn);
  let action: StepResult['action'] = 'unchanged';
  const details: Record<string, string | number | boolean> = { policyArn: arn };
  if (!policy) {
    action = 'created';
    if (!dryRun) {
      try {
        await iam.send(
          new CreatePolicyCommand({
            PolicyName: config.policyName,
            Path: config.userPath,
            PolicyDocument: desired,
            Description: 'Microsoft Defender for Cloud Apps AWS connector (managed by casbridge)',
          }),
        );
      } catch (error) {
        // Created meanwhile by a concurrent or interrupted run: converge on it next pass.
        if (awsErrorName(error) !== 'EntityAlreadyExistsException') throw error;
        return reconcile(iam, config, accountId, { dryRun });
      }
    }
  } else {
    const current = await iam.send(
      new GetPolicyVersionCommand({ PolicyArn: arn, VersionId: policy.DefaultVersionId }),
    );
    if (!samePolicy(current.PolicyVersion?.Document ?? '{}', desired)) {
      action = 'updated';
      details.reason = 'document-drift';
      if (!dryRun) details.versionId = await replaceDefaultVersion(iam, arn, desired);
    }
  }
  const attached = policy ? await isAttached(iam, config.userName, arn) : false;
  if (!attached) {
    if (action === 'unchanged') {
      action = 'updated';
      details.reason = 'reattached';
    }
    if (!dryRun) await iam.send(new AttachUserPolicyCommand({ UserName: config.userName, PolicyArn: arn }));
  }
  return { action, ...(dryRun && action !== 'unchanged' ? { reason: 'dry-run' } : {}), details };
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
