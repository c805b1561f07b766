import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';

/**
 * Makes the rest of this process act as `roleArn` — the task role Lambda would run as — by
 * putting the session's credentials in the environment the SDK's default chain reads.
 */
export async function actAsRole(roleArn: string, region: string): Promise<void> {
  const sts = new STSClient({ region });
  const out = await sts.send(
    new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: `casbridge-local-${process.pid}` }),
  );
  sts.destroy();
  const c = out.Credentials;
  if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken)
    throw new Error(`AssumeRole ${roleArn} returned no credentials`);
  process.env.AWS_ACCESS_KEY_ID = c.AccessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = c.SecretAccessKey;
  process.env.AWS_SESSION_TOKEN = c.SessionToken;
}
