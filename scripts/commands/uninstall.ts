import { createInterface } from 'node:readline';
import { Command } from 'commander';
import { ledger } from '../../commons/clients/dynamodb';
import { stateMachineArn } from '../../commons/config';
import { OFFBOARDED_STATUSES } from '../../commons/ledger-view';
import { withAwsContext } from '../aws-errors';
import { cliConfiguration, cliRuntime } from '../cli-input';
import { CliError } from '../errors';
import { terminal } from '../render/terminal-text';
import { EXIT_OK, runRun } from './run';

export interface UninstallCommandOptions {
  yes: boolean;
  dryRun: boolean;
  local: boolean;
  stateMachineArn?: string;
  json?: string;
}

/**
 * `casbridge uninstall`: the first half of removing casbridge, the half only casbridge can do.
 * It offboards every account the ledger knows and has not offboarded, in one offboard run that
 * names them all (an offboard run takes an ACTIVE account only by id, so a mistyped OU cannot
 * disconnect a branch), after the operator types how many; then it prints the commands that
 * remove the stacks, and what they leave behind on purpose.
 */
export function uninstallCommand(): Command {
  return new Command('uninstall')
    .description(
      'offboards every account casbridge onboarded (after you confirm how many), then prints how to remove the stacks',
    )
    .option('--yes', 'offboard without asking (required when not on a terminal)', false)
    .option('--dry-run', 'plan the offboarding only: report what would change, change nothing', false)
    .option('--local', 'run the state machine in this process, as `casbridge run --local`', false)
    .option(
      '--state-machine-arn <arn>',
      'the deployed state machine to start (default: CASBRIDGE_STATE_MACHINE_ARN, the stack output StateMachineArn)',
    )
    .option('--json <file>', "also write the offboard run's report as JSON to this file")
    .action(async (options: UninstallCommandOptions) => {
      process.exitCode = await uninstall(options, Boolean(process.stdin.isTTY && process.stderr.isTTY));
    });
}

export async function uninstall(options: UninstallCommandOptions, interactive: boolean): Promise<number> {
  // The operator's own credentials, as for `status`: the ledger is what casbridge onboarded.
  const runtime = cliRuntime(['ledgerTable']);
  const { config } = runtime;
  const items = await withAwsContext(
    { doing: `read the ledger table ${config.ledgerTable}`, region: config.region },
    () => ledger(runtime).list(),
  );
  // Offboarded by casbridge, by a person (RETIRED) or gone from the organization (DEPARTED): done.
  const accounts = items
    .filter((item) => !OFFBOARDED_STATUSES.includes(item.connector))
    .map((item) => item.accountId);
  const out = terminal(process.stdout);
  if (accounts.length === 0) {
    out.write(
      `No account is left to offboard (the ledger holds ${accounts.length === items.length ? 'none' : `${items.length}, all offboarded`}).\n\n${removalSteps(options)}`,
    );
    return EXIT_OK;
  }
  const count = `${accounts.length} account${accounts.length === 1 ? '' : 's'}`;
  if (!options.yes && !options.dryRun) {
    if (!interactive)
      throw new CliError(
        `Refusing to offboard ${count} without confirmation: run this on a terminal, or add --yes. Nothing was changed.`,
      );
    const typed = await askAtTerminal(
      `This removes the Defender for Cloud Apps connector user, its key and its secret from ${count} (the ledger's, all but the offboarded).\nOffboard ${count}? Type ${accounts.length} to confirm: `,
    );
    if (typed !== String(accounts.length))
      throw new CliError(
        `You typed ${JSON.stringify(typed ?? '')}, not ${accounts.length}: nothing was offboarded.`,
      );
  }
  const code = await runRun({
    mode: 'offboard',
    accounts,
    dryRun: options.dryRun,
    local: options.local,
    stateMachineArn: options.stateMachineArn,
    json: options.json,
  });
  if (options.dryRun) {
    out.write(
      `\nThe plan above is what \`casbridge uninstall\` would do to ${count}; nothing was changed.\n`,
    );
    return code;
  }
  if (code !== EXIT_OK) {
    out.write(
      `\nNot every account was offboarded: the report above says why. Fix that and run \`casbridge uninstall\` again (it names only the accounts not yet offboarded) before you remove the stacks: without them no run can reach the accounts.\n`,
    );
    return code;
  }
  out.write(
    `\nThe offboard run of ${count} finished with none failed (its report above). ${removalSteps(options)}`,
  );
  return code;
}

/** The stacks, in the order that keeps each one's dependents working until they are removed. */
function removalSteps(options: UninstallCommandOptions): string {
  const arn = options.stateMachineArn ?? stateMachineArn();
  const stage = /:stateMachine:casbridge-([A-Za-z0-9-]+)$/.exec(arn ?? '')?.[1] ?? '<stage>';
  const region = cliConfiguration([]).region;
  return [
    'Now remove the stacks (README, "Uninstalling"):',
    `  npx osls remove --stage ${stage} --region ${region}`,
    '  # management account: the member role, then the delegated administrator stacks if you deployed them',
    '  aws cloudformation delete-stack-instances --stack-set-name casbridge-member-role --deployment-targets OrganizationalUnitIds=<the OUs> --regions <its Region> --no-retain-stacks',
    '  aws cloudformation delete-stack-set --stack-set-name casbridge-member-role',
    '  aws cloudformation delete-stack --stack-name casbridge-event-forwarding --region us-east-1',
    '  aws cloudformation delete-stack --stack-name casbridge-organizations-delegation --region us-east-1',
    `  aws cloudformation delete-stack --stack-name casbridge-event-bus-policy --region ${region}`,
    "Retained on purpose: the ledger table, the reports and log buckets (the audit record of every run and every trail), the secrets KMS key (a secret in its recovery window is readable only with it), and each account's casbridge trail. Delete them under your own retention rules.",
    '',
  ].join('\n');
}

/** One line typed at the terminal (on stderr's prompt), or undefined at the end of input. */
function askAtTerminal(question: string): Promise<string | undefined> {
  terminal(process.stderr).write(question);
  const prompt = createInterface({ input: process.stdin, output: process.stderr, terminal: false });
  return new Promise((resolve) => {
    let answer: string | undefined;
    prompt.once('line', (line) => {
      answer = line.trim();
      prompt.close();
    });
    prompt.once('close', () => {
      if (answer === undefined) terminal(process.stderr).write('\n');
      resolve(answer);
    });
  });
}
