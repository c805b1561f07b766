import { PARTITION_PATTERN } from '../core/arn';
import { AwsError } from '../core/aws-error';
import { issueRoleSession } from '../core/identity';
import { QUERY_ERRORS, type RequestContext, type RpcService, requireString } from '../core/service';

const ROLE_ARN = new RegExp(
  `^arn:${PARTITION_PATTERN}:iam::(\\d{12}):role\\/(?:[\\w+=,.@-]+\\/)*([\\w+=,.@-]{1,64})$`,
);
const SESSION_NAME = /^[\w+=,.@-]{2,64}$/;
/** A session made with role credentials is role chaining, which AWS caps at one hour. */
const CHAINED_SESSION_MAX_SECONDS = 3600;

export const stsService: RpcService = {
  kind: 'rpc',
  signingName: 'sts',
  protocol: 'query',
  xmlNamespace: 'https://sts.amazonaws.com/doc/2011-06-15/',
  global: true,
  // STS models ExpiredTokenException (wire code and class alike); IAM and the rest use ExpiredToken.
  errors: { ...QUERY_ERRORS, expiredToken: { code: 'ExpiredTokenException', status: 400 } },
  operations: {
    AssumeRole: assumeRole,
    GetCallerIdentity: (ctx) => {
      const p = ctx.principal;
      const iam = ctx.world.accounts.get(p.accountId)?.iam;
      const userId =
        p.kind === 'user'
          ? (iam?.users.get(p.userName.toLowerCase())?.userId ?? p.userName)
          : `${iam?.roles.get(p.roleName.toLowerCase())?.roleId ?? p.roleName}:${p.sessionName}`;
      return { UserId: userId, Account: p.accountId, Arn: p.arn };
    },
  },
};

async function assumeRole(ctx: RequestContext, input: Record<string, unknown>) {
  const roleArn = requireString(input, 'RoleArn');
  const sessionName = requireString(input, 'RoleSessionName');
  if (!SESSION_NAME.test(sessionName)) {
    throw new AwsError(
      'ValidationError',
      `1 validation error detected: Value '${sessionName}' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*`,
    );
  }
  const match = ROLE_ARN.exec(roleArn);
  if (!match) throw new AwsError('ValidationError', `${roleArn} is invalid`);
  const [, roleAccountId, roleName] = match as unknown as [string, string, string];
  const durationSeconds = input.DurationSeconds === undefined ? 3600 : Number(input.DurationSeconds);
  if (!Number.isInteger(durationSeconds) || durationSeconds < 900 || durationSeconds > 43200) {
    throw new AwsError(
      'ValidationError',
      `1 validation error detected: Value '${input.DurationSeconds}' at 'durationSeconds' failed to satisfy constraint: Member must have value between 900 and 43200`,
    );
  }
  const role = ctx.world.accounts.get(roleAccountId)?.iam.roles.get(roleName.toLowerCase());
  const denied = () =>
    new AwsError(
      'AccessDenied',
      `User: ${ctx.principal.arn} is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`,
      403,
    );
  // AWS answers a missing role exactly as a refused trust: there is no role-existence oracle.
  if (!role || role.arn !== roleArn) throw denied();
  if (role.assumableAfterMs !== undefined && role.assumableAfterMs > ctx.world.clock.nowMs()) throw denied();
  // [Inference] A closed account (CLOSED, or past its post-closure period) can no longer be used:
  // no role in it can be assumed. One being closed (PENDING_CLOSURE) still can, as AWS says.
  if (
    ctx.world.organization.accounts.get(roleAccountId)?.state === 'CLOSED' ||
    ctx.world.accounts.get(roleAccountId)?.permanentlyClosed
  ) {
    throw denied();
  }
  const externalId = typeof input.ExternalId === 'string' ? input.ExternalId : undefined;
  await ctx.authorize('sts:AssumeRole', roleArn, {
    resourcePolicy: role.assumeRolePolicy,
    resourceAccountId: roleAccountId,
    context: externalId === undefined ? {} : { 'sts:ExternalId': externalId },
  });
  if (ctx.principal.kind === 'role-session' && durationSeconds > CHAINED_SESSION_MAX_SECONDS) {
    throw new AwsError(
      'ValidationError',
      'The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.',
    );
  }
  if (durationSeconds > role.maxSessionDuration) {
    throw new AwsError(
      'ValidationError',
      `The requested DurationSeconds exceeds the MaxSessionDuration set for this role.`,
    );
  }
  const session = issueRoleSession(ctx.world, roleAccountId, role, sessionName, durationSeconds);
  return {
    Credentials: {
      AccessKeyId: session.accessKeyId,
      SecretAccessKey: session.secretAccessKey,
      SessionToken: session.sessionToken,
      Expiration: new Date(session.expiresAtMs as number),
    },
    AssumedRoleUser: { AssumedRoleId: `${role.roleId}:${sessionName}`, Arn: session.principal.arn },
  };
}
