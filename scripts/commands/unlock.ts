import { DescribeExecutionCommand, SFNClient } from '@aws-sdk/client-sfn';
import { Command } from 'commander';
import { clientConfig } from '../../commons/aws-clients';
import { ledger } from '../../commons/clients/dynamodb';
import { awsErrorName } from '../../commons/errors';
import type { Runtime } from '../../commons/runtime';
import { withAwsContext } from '../aws-errors';
import { cliRuntime, confirmAtTerminal, parseAccountId } from '../cli-input';
import { CliError } from '../errors';
import { describeLease, type LeaseStatus, leaseHolder, leaseStatus } from '../render/lease-text';
import { escapeControl, terminal } from '../render/terminal-text';
import { callerArn, knownAccount } from './credentials';

export interface UnlockCommandOptions {
  yes: boolean;
  force: boolean;
}

/** A lease token that is a Step Functions execution's ARN ($$.Execution.Id on AWS). */
const EXECUTION_ARN = /^arn:aws[a-z-]*:states:([a-z0-9-]+):\d{12}:execution:[^:]+:[^:]+$/;

/**
 * `casbridge unlock ACCOUNT_ID`: releases a stuck lease — one whose run was killed and can no
 * longer release it — so the next run works the account now rather than when the lease expires.
 * The ledger records who released which run's lease and when, in the same conditional write:
 * only the lease the operator was shown is released, never one a new run took meanwhile.
 */
export function unlockCommand(): Command {
  return new Command('unlock')
    .description("releases an account's stuck lease (a killed run's), recording who released it")
    .argument('<account-id>', 'the member account', parseAccountId)
    .option('--yes', 'release without asking (required when not on a terminal)', false)
    .option('--force', 'release the lease even though its execution is still RUNNING', false)
    .action(async (accountId: string, options: UnlockCommandOptions) => {
      terminal(process.stdout).write(
        await unlockAccount(accountId, options, Boolean(process.stdin.isTTY && process.stderr.isTTY)),
      );
    });
}

export async function unlockAccount(
  accountId: string,
  options: UnlockCommandOptions,
  interactive: boolean,
): Promise<string> {
  const runtime = cliRuntime(['ledgerTable']);
  const { config } = runtime;
  const item = await knownAccount(runtime, accountId);
  const lease = leaseStatus(item, Date.now());
  if (!lease) throw new CliError(`Account ${accountId} holds no lease: there is nothing to unlock.`);
  if (lease.expired)
    throw new CliError(
      `The lease of account ${accountId} is ${escapeControl(describeLease(lease))}: there is nothing to unlock.`,
    );
  const holder = await holderState(runtime, lease, options);
  const account = `account ${accountId}${item.name ? ` (${escapeControl(item.name)})` : ''}`;
  const what = `the lease of ${account}, ${escapeControl(describeLease(lease))}`;
  if (!options.yes) {
    if (!interactive)
      throw new CliError(
        `Refusing to release ${what} without confirmation: run this on a terminal, or add --yes. ${holder}`,
      );
    if (!(await confirmAtTerminal(`${holder}\nRelease ${what}? [y/N] `)))
      throw new CliError('Nothing was unlocked.');
  }
  const by = await callerArn(runtime, config);
  const result = await withAwsContext(
    { doing: `release the lease in the ledger table ${config.ledgerTable}`, region: config.region },
    () => ledger(runtime).unlockLease(accountId, lease.token, by),
  );
  if (!result.unlocked) {
    const now = result.item ? leaseStatus(result.item, Date.now()) : null;
    throw new CliError(
      now
        ? `The lease of account ${accountId} changed since it was read: it is now ${escapeControl(describeLease(now))}. Nothing was released; run \`casbridge unlock ${accountId}\` again to release that one.`
        : `The lease of account ${accountId} was released meanwhile (its run finished): there is nothing to unlock.`,
    );
  }
  return [
    `Released the lease of ${account} held by ${escapeControl(leaseHolder(lease))}.`,
    `Recorded in the ledger: unlocked by ${escapeControl(by)} at ${result.item.unlockedAt}.`,
    holder,
    `The next run works the account: \`casbridge run --mode reconcile --accounts ${accountId}\`, or wait for the scheduled run.`,
    '',
  ].join('\n');
}

/**
 * What can be known of the holder, as one sentence; throws while its execution is RUNNING
 * (unless forced): a running execution still works on the account and releases the lease itself.
 */
async function holderState(
  runtime: Runtime,
  lease: LeaseStatus,
  options: UnlockCommandOptions,
): Promise<string> {
  const token = escapeControl(lease.token);
  const arn = EXECUTION_ARN.exec(lease.token);
  if (!arn)
    return `The lease was taken by a local run (\`casbridge run --local\`, execution ${token}): casbridge cannot check whether that process is still running, so make sure it is not.`;
  const region = arn[1] as string;
  const sfn = new SFNClient(clientConfig({ ...runtime.settings, region }));
  try {
    const execution = await withAwsContext({ doing: `describe the execution ${token}`, region }, async () => {
      try {
        return await sfn.send(new DescribeExecutionCommand({ executionArn: lease.token }));
      } catch (error) {
        if (awsErrorName(error) === 'ExecutionDoesNotExist') return undefined;
        throw error;
      }
    });
    if (!execution)
      return `The execution ${token} no longer exists in Step Functions: it cannot release the lease.`;
    const status = execution.status ?? 'UNKNOWN';
    if (status !== 'RUNNING')
      return `The execution ${token} ended ${status}${execution.stopDate ? ` at ${execution.stopDate.toISOString()}` : ''}: it can no longer release the lease.`;
    if (!options.force)
      throw new CliError(
        `The lease is held by the execution ${token}, which is still RUNNING and releases the lease itself when it is done with the account: stop it first (\`aws stepfunctions stop-execution --execution-arn ${token}\`), or add --force to release the lease anyway (another run may then work on the account while it still does).`,
      );
    return `The execution ${token} is still RUNNING: --force releases its lease anyway.`;
  } finally {
    sfn.destroy();
  }
}
