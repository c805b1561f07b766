import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type Config, loadConfig } from './config';
import { ConfigurationError } from './errors';

/**
 * The CLI's settings, merged as the AWS CLI merges its own: a command-line flag, else the
 * environment, else the selected profile of the casbridge config file (README "Configuration
 * settings and precedence"). A function in Lambda has only the environment its stack gives it
 * (commons/config.ts); the person at a terminal also has `casbridge configure`, which writes the
 * stack's outputs into a profile. Kept beside config.ts, not in it: config.ts is what every
 * function bundles, and none of them reads a config file or knows a profile.
 *
 * The environment is a parameter: commons/config.ts stays the one module that reads process.env.
 */
export type Environment = Readonly<Record<string, string | undefined>>;

/** The settings a command may need, each with its flag, variable and profile key. */
export const CLI_SETTINGS = {
  region: { what: 'the Region', variable: 'AWS_REGION', profileKey: 'region', flag: '--region' },
  stateMachineArn: {
    what: 'the state machine',
    variable: 'CASBRIDGE_STATE_MACHINE_ARN',
    profileKey: 'state_machine_arn',
    flag: '--state-machine-arn',
  },
  ledgerTable: { what: 'the ledger table', variable: 'CASBRIDGE_LEDGER_TABLE', profileKey: 'ledger_table' },
  reportsBucket: {
    what: 'the reports bucket',
    variable: 'CASBRIDGE_REPORTS_BUCKET',
    profileKey: 'reports_bucket',
  },
  logBucket: { what: 'the trail log bucket', variable: 'CASBRIDGE_LOG_BUCKET', profileKey: 'log_bucket' },
  topicArn: { what: 'the hand-off topic', variable: 'CASBRIDGE_TOPIC_ARN', profileKey: 'topic_arn' },
  externalId: {
    what: "the member role's ExternalId",
    variable: 'CASBRIDGE_EXTERNAL_ID',
    profileKey: 'external_id',
  },
} as const satisfies Record<string, { what: string; variable: string; profileKey: string; flag?: string }>;

export type CliSettingName = keyof typeof CLI_SETTINGS;

/**
 * What `casbridge configure` writes from each stack output (serverless.yml `resources.Outputs`):
 * the profile key, which is the variable's name without CASBRIDGE_, lower-cased.
 */
export const STACK_OUTPUT_KEYS: Readonly<Record<string, string>> = {
  Region: 'region',
  StateMachineArn: 'state_machine_arn',
  LedgerTable: 'ledger_table',
  ReportsBucket: 'reports_bucket',
  LogBucket: 'log_bucket',
  TopicArn: 'topic_arn',
  SecretsKeyArn: 'secrets_kms_key_id',
  ExternalId: 'external_id',
  MemberRoleName: 'member_role_name',
};

/** Profile keys that are no casbridge variable: what the profile itself is about. */
const PROFILE_OWN_KEYS = new Set(['aws_profile', 'stack']);

/** What the command line says about settings (each unset when not given). */
export interface CliFlags {
  /** The casbridge profile (`--profile`). */
  profile?: string | undefined;
  region?: string | undefined;
  stateMachineArn?: string | undefined;
}

export interface CliSettings {
  /** The merged settings, as the variables commons/config.ts reads. */
  variables: Record<string, string | undefined>;
  /** The profile the file part came from, and the file. */
  profile: { name: string; file: string; found: boolean };
  /**
   * The AWS CLI profile to sign with: the profile's aws_profile, unless the environment names
   * credentials itself (AWS_PROFILE, or AWS_ACCESS_KEY_ID), which then win as any variable does.
   */
  awsProfile: string | undefined;
}

/** The casbridge config file: CASBRIDGE_CONFIG_FILE, else ~/.casbridge/config. */
export function configFilePath(env: Environment): string {
  return env.CASBRIDGE_CONFIG_FILE || path.join(os.homedir(), '.casbridge', 'config');
}

/** Merges flag, environment and profile file; throws ConfigurationError for a profile asked for and absent. */
export function resolveCliSettings(
  flags: CliFlags,
  env: Environment,
  options: { profileMayBeMissing?: boolean } = {},
): CliSettings {
  const file = configFilePath(env);
  const chosen = flags.profile ?? env.CASBRIDGE_PROFILE;
  const name = chosen || 'default';
  const profiles: Map<string, Record<string, string>> = existsSync(file)
    ? parseConfigFile(readConfigFile(file), file)
    : new Map();
  const values = profiles.get(name);
  if (chosen && !values && !options.profileMayBeMissing)
    throw new ConfigurationError(
      `the casbridge profile ${name} is not in ${file}: write it with \`casbridge configure --stack NAME --profile ${name}\``,
    );
  const fromFile: Record<string, string> = {};
  for (const [key, value] of Object.entries(values ?? {})) {
    if (!PROFILE_OWN_KEYS.has(key)) fromFile[variableOf(key)] = value;
  }
  const fromEnv: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) if (value) fromEnv[key] = value;
  // The AWS CLI's fallback for the Region; AWS_REGION wins over it as in the SDK.
  if (!fromEnv.AWS_REGION && env.AWS_DEFAULT_REGION) fromEnv.AWS_REGION = env.AWS_DEFAULT_REGION;
  const fromFlags: Record<string, string> = {};
  if (flags.region) fromFlags.AWS_REGION = flags.region;
  if (flags.stateMachineArn) fromFlags.CASBRIDGE_STATE_MACHINE_ARN = flags.stateMachineArn;
  const environmentCredentials = Boolean(env.AWS_PROFILE || env.AWS_ACCESS_KEY_ID);
  return {
    variables: { ...fromFile, ...fromEnv, ...fromFlags },
    profile: { name, file, found: Boolean(values) },
    awsProfile: environmentCredentials ? undefined : values?.aws_profile,
  };
}

/**
 * The variables the deployed functions cannot start without (commons/config.ts), which a CLI
 * command that does not use them may leave unset.
 */
const FUNCTION_REQUIRED: readonly CliSettingName[] = ['externalId', 'logBucket', 'topicArn', 'ledgerTable'];
/** Stands in for an unset setting so the rest validates; never reaches a caller (see below). */
const UNSET = { plain: 'unset-by-casbridge-cli', arn: 'arn:unset' } as const;

/**
 * casbridge's configuration for a command that needs `required`: one sentence naming each of
 * them that is unset (its flag, variable and profile key, and `casbridge configure`), else the
 * Config. A setting the command did not declare and nobody set throws the same sentence when
 * read, so a command can never go on with a made-up value.
 */
export function cliConfig(settings: CliSettings, required: readonly CliSettingName[]): Config {
  const missing = required.filter((name) => !settings.variables[CLI_SETTINGS[name].variable]);
  if (missing.length > 0) throw new ConfigurationError(missingSentence(missing, settings));
  const unset = FUNCTION_REQUIRED.filter((name) => !settings.variables[CLI_SETTINGS[name].variable]);
  const filled = { ...settings.variables };
  for (const name of unset)
    filled[CLI_SETTINGS[name].variable] = name === 'topicArn' ? UNSET.arn : UNSET.plain;
  const config = { ...loadConfig(filled) };
  for (const name of unset) {
    Object.defineProperty(config, name, {
      enumerable: false,
      get: () => {
        throw new ConfigurationError(missingSentence([name], settings));
      },
    });
  }
  return Object.freeze(config);
}

/** One sentence: what is unset, where each would come from, and how to set them all at once. */
export function missingSentence(missing: readonly CliSettingName[], settings: CliSettings): string {
  const each = missing.map((name) => {
    const s: { what: string; variable: string; profileKey: string; flag?: string } = CLI_SETTINGS[name];
    return `${s.what} (${s.flag ? `${s.flag}, ` : ''}${s.variable} or ${s.profileKey} in the profile)`;
  });
  const list = each.length === 1 ? each[0] : `${each.slice(0, -1).join(', ')} and ${each[each.length - 1]}`;
  const { name, file, found } = settings.profile;
  const where = found ? `the casbridge profile ${name} of ${file}` : `${file} (no profile ${name})`;
  return `${list} ${missing.length === 1 ? 'is' : 'are'} not set by a flag, the environment or ${where}: run \`casbridge configure --stack NAME${name === 'default' ? '' : ` --profile ${name}`}\` to read ${missing.length === 1 ? 'it' : 'them'} from the stack`;
}

/** A profile key's variable: `region` is AWS_REGION, every other key CASBRIDGE_<KEY>. */
function variableOf(profileKey: string): string {
  return profileKey === 'region' ? 'AWS_REGION' : `CASBRIDGE_${profileKey.toUpperCase()}`;
}

// ---------------------------------------------------------------- the config file

/**
 * The file is INI as the AWS CLI's ~/.aws/config: `[default]`, `[profile NAME]`, `key = value`,
 * `#` and `;` comments.
 */
export function parseConfigFile(text: string, file: string): Map<string, Record<string, string>> {
  const profiles = new Map<string, Record<string, string>>();
  let current: Record<string, string> | undefined;
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) return;
    const section = /^\[\s*(?:profile\s+)?([^\]\s]+)\s*\]$/.exec(line);
    if (section) {
      const name = section[1] as string;
      current = profiles.get(name) ?? {};
      profiles.set(name, current);
      return;
    }
    const pair = /^([A-Za-z0-9_]+)\s*=\s*(.*)$/.exec(line);
    if (!pair || !current)
      throw new ConfigurationError(
        `${file} line ${i + 1} is neither a [profile NAME] header nor a key = value line of one`,
      );
    current[(pair[1] as string).toLowerCase()] = (pair[2] as string).trim();
  });
  return profiles;
}

/**
 * Writes one profile into the file, replacing that profile's section and keeping every other
 * line as it was. The file is the user's only (0600), as the AWS CLI keeps its own.
 */
export function writeProfile(file: string, name: string, values: Readonly<Record<string, string>>): void {
  const text = existsSync(file) ? readConfigFile(file) : '';
  parseConfigFile(text, file);
  const header = name === 'default' ? '[default]' : `[profile ${name}]`;
  const body = [header, ...Object.entries(values).map(([key, value]) => `${key} = ${value}`)];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const isHeader = (line: string) => /^\s*\[/.test(line);
  const start = lines.findIndex(
    (line) => isHeader(line) && parseConfigFile(line, file).has(name) && line.trim() !== '',
  );
  let next: string[];
  if (start < 0) next = [...lines, ...(lines.length > 0 ? [''] : []), ...body];
  else {
    let end = lines.findIndex((line, i) => i > start && isHeader(line));
    if (end < 0) end = lines.length;
    next = [...lines.slice(0, start), ...body, ...(end < lines.length ? [''] : []), ...lines.slice(end)];
  }
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  writeFileSync(file, `${next.join('\n')}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
}

function readConfigFile(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigurationError(
      `cannot read the casbridge config file ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
}
