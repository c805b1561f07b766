import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { type Sandbox, type SandboxCredentials, type SandboxOptions, startSandbox } from '../../sandbox';

/**
 * Starts a sandbox for one test file and closes it afterwards. Use inside a `describe`.
 * Returns a getter because the sandbox exists only once `beforeAll` has run.
 */
export function useSandbox(options: SandboxOptions = {}): () => Sandbox {
  let sandbox: Sandbox | undefined;
  beforeAll(async () => {
    sandbox = await startSandbox(options);
  });
  afterAll(async () => {
    await sandbox?.close();
  });
  return () => {
    if (!sandbox) throw new Error('sandbox not started: call useSandbox() inside describe()');
    return sandbox;
  };
}

/** Credentials of a role session, as AssumeRole gives them. */
export async function assumeRole(
  sandbox: Sandbox,
  roleArn: string,
  options: { as?: SandboxCredentials; externalId?: string; sessionName?: string } = {},
): Promise<SandboxCredentials> {
  const sts = new STSClient(sandbox.clientConfig(options.as));
  const out = await sts.send(
    new AssumeRoleCommand({
      RoleArn: roleArn,
      RoleSessionName: options.sessionName ?? 'test-session',
      ...(options.externalId ? { ExternalId: options.externalId } : {}),
    }),
  );
  const c = out.Credentials!;
  return { accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretAccessKey!, sessionToken: c.SessionToken! };
}

/** Acts as casbridge's task role in the management account, then as the member role in `accountId`. */
export async function memberRoleCredentials(
  sandbox: Sandbox,
  accountId: string,
): Promise<SandboxCredentials> {
  const task = await assumeRole(sandbox, sandbox.stack.taskRoleArn);
  return assumeRole(
    sandbox,
    `arn:${sandbox.world.settings.partition}:iam::${accountId}:role/CasBridgeExecutionRole`,
    {
      as: task,
      externalId: sandbox.stack.externalId,
    },
  );
}
