import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { lambdaFunctionName, SANDBOX_STAGE } from '../../commons/stack-resources';
import { type Sandbox, type SandboxCredentials, type SandboxOptions, startSandbox } from '../../sandbox';
import { HAND_MADE_SESSION_PREFIX } from '../../sandbox/core/grant-usage';
import { functionRoleSession } from '../../sandbox/services/lambda';

/**
 * The key delivery of a suite that names none: the suites written before keys were minted on
 * demand (issue 12) are about keys minted by the run and handed off with their secret, so they
 * run as `keyDelivery: at-handoff`; a suite about the default (on-demand) says so in its
 * stackParameters.
 */
const SUITE_KEY_DELIVERY = 'at-handoff';

/** The stack's own key delivery (serverless.yml's default, on-demand): no CASBRIDGE_KEY_DELIVERY set. */
export const DEFAULT_KEY_DELIVERY = '';

/**
 * Starts a sandbox for one test file and closes it afterwards. Use inside a `describe`.
 * Returns a getter because the sandbox exists only once `beforeAll` has run.
 */
export function useSandbox(options: SandboxOptions = {}): () => Sandbox {
  let sandbox: Sandbox | undefined;
  beforeAll(async () => {
    const keyDelivery = options.stackParameters?.keyDelivery ?? SUITE_KEY_DELIVERY;
    const started = await startSandbox({
      ...options,
      stackParameters: { ...options.stackParameters, keyDelivery },
    });
    // A redeploy keeps the suite's key delivery unless it names another.
    const deploy = started.deployStack;
    sandbox = Object.assign(started, {
      deployStack: (parameters: Record<string, string>) => deploy({ keyDelivery, ...parameters }),
    });
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

/**
 * A session of one function's role (`functionKey`: its key in serverless.yml), as Lambda hands it
 * to the function: the roles trust only `lambda.amazonaws.com`, so nobody else can assume them.
 */
export async function functionRoleCredentials(
  sandbox: Sandbox,
  functionKey: string,
): Promise<SandboxCredentials> {
  const session = await functionRoleSession(sandbox.world, lambdaFunctionName(SANDBOX_STAGE, functionKey));
  return {
    accessKeyId: session.accessKeyId,
    secretAccessKey: session.secretAccessKey,
    sessionToken: session.sessionToken as string,
  };
}

/**
 * Acts as a casbridge function's role in the management account (the access function's unless
 * named), then as the member role in `accountId`, as the function does.
 */
export async function memberRoleCredentials(
  sandbox: Sandbox,
  accountId: string,
  functionKey = 'access',
): Promise<SandboxCredentials> {
  const task = await functionRoleCredentials(sandbox, functionKey);
  return assumeRole(
    sandbox,
    `arn:${sandbox.world.settings.partition}:iam::${accountId}:role/CasBridgeExecutionRole`,
    {
      as: task,
      externalId: sandbox.stack.externalId,
      // Not casbridge's code: what this session does shows no member-role grant as used.
      sessionName: `${HAND_MADE_SESSION_PREFIX}test`,
    },
  );
}
