import { AwsError } from '../../core/aws-error';
import { issueUserKey } from '../../core/identity';
import { type OperationHandler, type RequestContext, requireString } from '../../core/service';
import type { AccessKeyRecord } from '../../core/world';
import { authorizedUser, iamOf, iamPage, limitExceeded, noSuchEntity, targetUserName } from './common';

/** Inactive keys hold their slot too: only DeleteAccessKey frees one. */
const ACCESS_KEYS_PER_USER = 2;

export const accessKeyOperations: Record<string, OperationHandler> = {
  CreateAccessKey: async (ctx, input) => {
    const user = await authorizedUser(ctx, 'iam:CreateAccessKey', targetUserName(ctx, input));
    if (keysOf(ctx, user.userName).length >= ACCESS_KEYS_PER_USER) {
      throw limitExceeded(`Cannot exceed quota for AccessKeysPerUser: ${ACCESS_KEYS_PER_USER}`);
    }
    const { record, secretAccessKey } = issueUserKey(ctx.world, ctx.accountId, user.userName);
    return {
      AccessKey: {
        UserName: record.userName,
        AccessKeyId: record.accessKeyId,
        Status: record.status,
        SecretAccessKey: secretAccessKey,
        CreateDate: record.createDate,
      },
    };
  },

  ListAccessKeys: async (ctx, input) => {
    const user = await authorizedUser(ctx, 'iam:ListAccessKeys', targetUserName(ctx, input));
    const { page, ...more } = iamPage(keysOf(ctx, user.userName), input);
    return {
      AccessKeyMetadata: page.map((key) => ({
        UserName: key.userName,
        AccessKeyId: key.accessKeyId,
        Status: key.status,
        CreateDate: key.createDate,
      })),
      ...more,
    };
  },

  UpdateAccessKey: async (ctx, input) => {
    const key = await authorizedKey(ctx, 'iam:UpdateAccessKey', input);
    const status = requireString(input, 'Status');
    if (status !== 'Active' && status !== 'Inactive') {
      throw new AwsError(
        'ValidationError',
        `1 validation error detected: Value '${status}' at 'status' failed to satisfy constraint: Member must satisfy enum value set: [Active, Inactive]`,
      );
    }
    key.status = status;
    return undefined;
  },

  DeleteAccessKey: async (ctx, input) => {
    const key = await authorizedKey(ctx, 'iam:DeleteAccessKey', input);
    iamOf(ctx).accessKeys.delete(key.accessKeyId);
    ctx.world.credentials.remove(key.accessKeyId);
    return undefined;
  },

  GetAccessKeyLastUsed: async (ctx, input) => {
    const accessKeyId = requireString(input, 'AccessKeyId');
    const key = iamOf(ctx).accessKeys.get(accessKeyId);
    // Nothing is modeled for an unknown key; IAM cannot name the owning user to authorize
    // against, so the caller is refused [Inference].
    if (!key) {
      throw new AwsError(
        'AccessDenied',
        `User: ${ctx.principal.arn} is not authorized to perform: iam:GetAccessKeyLastUsed on resource: access key ${accessKeyId}`,
        403,
      );
    }
    await authorizedUser(ctx, 'iam:GetAccessKeyLastUsed', key.userName);
    // A key never used reports the string "N/A" for service and Region and no date.
    return {
      UserName: key.userName,
      AccessKeyLastUsed: key.lastUsed
        ? {
            LastUsedDate: key.lastUsed.date,
            ServiceName: key.lastUsed.serviceName,
            Region: key.lastUsed.region,
          }
        : { ServiceName: 'N/A', Region: 'N/A' },
    };
  },
};

function keysOf(ctx: RequestContext, userName: string): AccessKeyRecord[] {
  const owner = userName.toLowerCase();
  return [...iamOf(ctx).accessKeys.values()]
    .filter((key) => key.userName.toLowerCase() === owner)
    .sort((a, b) => a.createDate.getTime() - b.createDate.getTime());
}

async function authorizedKey(
  ctx: RequestContext,
  action: string,
  input: Record<string, unknown>,
): Promise<AccessKeyRecord> {
  const user = await authorizedUser(ctx, action, targetUserName(ctx, input));
  const accessKeyId = requireString(input, 'AccessKeyId');
  const key = iamOf(ctx).accessKeys.get(accessKeyId);
  if (!key || key.userName.toLowerCase() !== user.userName.toLowerCase()) {
    throw noSuchEntity(`The Access Key with id ${accessKeyId} cannot be found.`);
  }
  return key;
}
