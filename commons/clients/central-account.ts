import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { perRuntime } from '../runtime';
import { stsClient } from './sts';

/**
 * The central account's id, as STS says who is calling (no permission needed), asked once per
 * runtime and only when needed: what the ARN of a central resource that does not exist yet (the
 * organization trail a dry run plans) is built with. Its own module, so that only the functions
 * that need it bundle the call.
 */
export const centralAccountId = perRuntime((runtime) => {
  let account: Promise<string> | undefined;
  return (): Promise<string> => {
    account ??= stsClient(runtime)
      .send(new GetCallerIdentityCommand({}))
      .then((identity) => {
        if (!identity.Account) throw new Error('STS GetCallerIdentity returned no account');
        return identity.Account;
      })
      .catch((error: unknown) => {
        account = undefined;
        throw error;
      });
    return account;
  };
});
