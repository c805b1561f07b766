import { CloudFormationClient, DescribeStacksCommand, type Stack } from '@aws-sdk/client-cloudformation';
import { Command } from 'commander';
import { clientConfig } from '../../commons/aws-clients';
import { resolveCliSettings, STACK_OUTPUT_KEYS, writeProfile } from '../../commons/cli-settings';
import { processEnvironment } from '../../commons/config';
import { awsErrorName } from '../../commons/errors';
import { withAwsContext } from '../aws-errors';
import { configurationProblem, globalOptions } from '../cli-input';
import { CliError } from '../errors';
import { escapeControl, terminal } from '../render/terminal-text';

export interface ConfigureCommandOptions {
  stack: string;
  awsProfile?: string;
}

/**
 * `casbridge configure --stack NAME`: reads what every command needs from the stack's outputs
 * (CloudFormation DescribeStacks) into a casbridge profile (`--profile`, else `default`) of the
 * config file, as `aws configure` writes ~/.aws/config. Run again after a redeploy.
 */
export function configureCommand(): Command {
  return new Command('configure')
    .description("reads a casbridge stack's outputs into a casbridge profile (CloudFormation DescribeStacks)")
    .requiredOption('--stack <name>', 'the casbridge stack: casbridge-<stage>, or its stack id')
    .option(
      '--aws-profile <name>',
      'the AWS CLI profile to sign with, now and in every command that uses this casbridge profile',
    )
    .action(async (options: ConfigureCommandOptions) => {
      terminal(process.stdout).write(await configureProfile(options));
    });
}

export async function configureProfile(options: ConfigureCommandOptions): Promise<string> {
  const globals = globalOptions();
  let settings: ReturnType<typeof resolveCliSettings>;
  try {
    // The profile is what this command writes: it need not exist yet.
    settings = resolveCliSettings(
      { profile: globals.profile, region: globals.region },
      processEnvironment(),
      {
        profileMayBeMissing: true,
      },
    );
  } catch (error) {
    throw configurationProblem(error) ?? error;
  }
  const region = settings.variables.AWS_REGION;
  if (!region)
    throw new CliError(
      'casbridge configure needs the Region of the stack: pass --region, or set AWS_REGION.',
    );
  const awsProfile = options.awsProfile ?? settings.awsProfile;
  const stack = await describeStack(options.stack, region, awsProfile);
  const outputs = Object.fromEntries(
    (stack.Outputs ?? []).map((o) => [o.OutputKey ?? '', o.OutputValue ?? '']),
  );
  if (!outputs.LedgerTable || !outputs.StateMachineArn)
    throw new CliError(
      `The stack ${escapeControl(options.stack)} is not a casbridge stack: it has no LedgerTable and StateMachineArn outputs.`,
    );
  const values: Record<string, string> = { stack: stack.StackName ?? options.stack, region };
  if (awsProfile) values.aws_profile = awsProfile;
  for (const [output, key] of Object.entries(STACK_OUTPUT_KEYS)) {
    const value = outputs[output];
    if (value) values[key] = value;
  }
  const { name, file } = settings.profile;
  writeProfile(file, name, values);
  const use = name === 'default' ? 'casbridge status' : `casbridge --profile ${name} status`;
  return [
    `Wrote the casbridge profile ${name} to ${file} from the stack ${escapeControl(values.stack as string)} in ${region}${awsProfile ? `, signing with the AWS profile ${awsProfile}` : ''}:`,
    ...Object.entries(values)
      .filter(([key]) => key !== 'stack')
      .map(([key, value]) => `  ${key} = ${escapeControl(value)}`),
    `Every command now reads it (\`${use}\`); a flag or a variable set in the environment still overrides it.`,
    '',
  ].join('\n');
}

async function describeStack(stackName: string, region: string, profile: string | undefined): Promise<Stack> {
  const cloudformation = new CloudFormationClient(clientConfig({ region, ...(profile ? { profile } : {}) }));
  try {
    const answer = await withAwsContext({ doing: `describe the stack ${stackName}`, region }, async () => {
      try {
        return await cloudformation.send(new DescribeStacksCommand({ StackName: stackName }));
      } catch (error) {
        // CloudFormation's answer for a stack it does not have (classified by name; its message names the stack).
        if (awsErrorName(error) === 'ValidationError')
          throw new CliError(
            `There is no stack ${escapeControl(stackName)} in ${region}: ${escapeControl((error as Error).message)} (check --stack and --region).`,
          );
        throw error;
      }
    });
    const stack = answer.Stacks?.[0];
    if (!stack) throw new CliError(`There is no stack ${escapeControl(stackName)} in ${region}.`);
    return stack;
  } finally {
    cloudformation.destroy();
  }
}
