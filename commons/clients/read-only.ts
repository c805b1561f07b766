import { CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import { IAMClient } from '@aws-sdk/client-iam';
import type { MemberAccount } from '../aws-clients';
import { memberClientConfig } from '../aws-clients';

/**
 * The calls the account check (functions/access/check-account.ts) may send: the reads a compliant
 * account's reconcile makes (test/functions/pipeline.test.ts pins them), and those a step makes
 * before it decides that nothing changes (a policy version the ledger has not proven yet, a
 * trail's customised event selectors). Every other call, a write above all, means the account has
 * something to do: the guard stops the check before the call is sent, and the per-step pipeline
 * does it. No central-account call is in the list: a compliant account needs none, and so the
 * check needs no grant beyond what the access task already has.
 */
export const CHECK_READS: Readonly<Record<'iam' | 'cloudtrail', ReadonlySet<string>>> = {
  iam: new Set([
    'GetUser',
    'ListAttachedUserPolicies',
    'ListUserPolicies',
    'ListGroupsForUser',
    'GetLoginProfile',
    'GetPolicy',
    'GetPolicyVersion',
    'ListAttachedGroupPolicies',
    'ListGroupPolicies',
    'GetGroup',
    'ListAccessKeys',
    'GetAccessKeyLastUsed',
    'SimulatePrincipalPolicy',
  ]),
  cloudtrail: new Set(['DescribeTrails', 'GetTrailStatus', 'GetEventSelectors']),
};

/**
 * One check's record of the first call it refused. The refusal is thrown as a plain Error, which
 * the steps' error handling passes on unchanged (it is no AWS error name), and the check reads
 * the reason here rather than from whatever a step made of the error.
 */
export class ReadOnlyGuard {
  private first: string | undefined;

  /** `service:Operation` of the first call refused, if any. */
  get refused(): string | undefined {
    return this.first;
  }

  refuse(call: string): never {
    this.first ??= call;
    throw new Error(`the account check does not send ${call}: the account has something to do`);
  }
}

type Stack = {
  middlewareStack: {
    add(
      middleware: (
        next: (args: unknown) => Promise<unknown>,
        context: { commandName?: string },
      ) => (args: unknown) => Promise<unknown>,
      options: { step: 'initialize'; name: string; priority: 'high' },
    ): void;
  };
};

function guarded<C>(client: C, service: keyof typeof CHECK_READS, guard: ReadOnlyGuard): C {
  const allowed = CHECK_READS[service];
  (client as unknown as Stack).middlewareStack.add(
    (next, context) => async (args) => {
      const operation = (context.commandName ?? '').replace(/Command$/, '');
      if (!allowed.has(operation)) guard.refuse(`${service}:${operation || 'unknown'}`);
      return next(args);
    },
    { step: 'initialize', name: 'casbridgeReadOnlyGuard', priority: 'high' },
  );
  return client;
}

/**
 * IAM and CloudTrail in the member account for one check, sending only CHECK_READS. New clients
 * per check (over the process's one connection pool), so that a refusal is always the current
 * check's.
 */
export function readOnlyMemberClients(
  member: MemberAccount,
  guard: ReadOnlyGuard,
): { iam: IAMClient; cloudtrail: CloudTrailClient } {
  const config = memberClientConfig(member);
  return {
    iam: guarded(new IAMClient(config), 'iam', guard),
    cloudtrail: guarded(new CloudTrailClient(config), 'cloudtrail', guard),
  };
}

/**
 * A stand-in for a central-account client the check never calls (Secrets Manager, SNS): any send
 * is refused before anything leaves the process, and the access function needs neither client.
 */
export function refusingClient<C>(service: string, guard: ReadOnlyGuard): C {
  return { send: async () => guard.refuse(service) } as unknown as C;
}
