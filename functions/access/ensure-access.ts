import type { STSClient } from '@aws-sdk/client-sts';
import type { CredentialCache, MemberSession } from '../../commons/aws-clients';
import { assumeRoleSession } from '../../commons/clients/sts';
import { type Config, memberRoleArn } from '../../commons/config';
import { classifyAwsError, isAccessDenied, RoleMissingError, RoleNotReadyError } from '../../commons/errors';
import type { StepResult, TargetAccount } from '../../commons/step-result';

/**
 * How long after joining an account may refuse AssumeRole because it is still being set up
 * (AWS: "you might need to wait a few minutes"), StackSet instance included. Past this, a
 * refusal means the role is missing or does not trust casbridge.
 */
export const ROLE_READY_WINDOW_MS = 60 * 60_000;

export interface AccessDeps {
  sts: STSClient;
  cache: CredentialCache;
  config: Config;
  now?: () => number;
}

/**
 * Step 1: reach the account through the casbridge member role (ExternalId required), or the
 * configured fallback role, which is then flagged as over-privileged. Changes nothing.
 */
export async function ensureAccess(
  deps: AccessDeps,
  account: TargetAccount,
  runId: string,
): Promise<{ session: MemberSession; result: StepResult }> {
  const { config } = deps;
  const roles = [config.memberRoleName, ...(config.fallbackRoleName ? [config.fallbackRoleName] : [])];
  for (const roleName of roles) {
    const cached = deps.cache.get(account.accountId, roleName);
    if (cached) return { session: cached, result: accessResult(config, roleName) };
  }
  for (const roleName of roles) {
    try {
      const session = await assumeRoleSession(deps.sts, {
        accountId: account.accountId,
        roleName,
        roleArn: memberRoleArn(config, account.accountId, roleName),
        // The fallback (OrganizationAccountAccessRole) is AWS's own and takes no ExternalId.
        ...(roleName === config.memberRoleName ? { externalId: config.externalId } : {}),
        sessionName: sessionName(runId),
        durationSeconds: config.sessionSeconds,
      });
      deps.cache.put(session);
      return { session, result: accessResult(config, roleName) };
    } catch (error) {
      if (!isAccessDenied(error)) throw classifyAwsError(error, 'access');
    }
  }
  const joinedMs = account.joinedTimestamp ? Date.parse(account.joinedTimestamp) : Number.NaN;
  const now = (deps.now ?? Date.now)();
  if (!Number.isNaN(joinedMs) && now - joinedMs < ROLE_READY_WINDOW_MS) {
    throw new RoleNotReadyError(
      `Account ${account.accountId} joined ${Math.round((now - joinedMs) / 1000)} s ago and its role is not assumable yet`,
      {
        step: 'access',
      },
    );
  }
  throw new RoleMissingError(
    `Cannot assume ${roles.join(' or ')} in account ${account.accountId}: the role is missing or does not trust casbridge with the configured ExternalId`,
    { step: 'access', invited: account.joinedMethod === 'INVITED' },
  );
}

function accessResult(config: Config, roleName: string): StepResult {
  const fallback = roleName !== config.memberRoleName;
  return {
    action: 'unchanged',
    ...(fallback ? { reason: 'over-privileged-fallback-role' } : {}),
    details: { role: roleName, overPrivileged: fallback },
  };
}

/** RoleSessionName allows 2–64 of [\w+=,.@-]; the run id names the session in CloudTrail. */
function sessionName(runId: string): string {
  return `casbridge-${runId}`.replace(/[^\w+=,.@-]/g, '-').slice(0, 64);
}
