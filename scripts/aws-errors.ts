import { awsErrorName, isThrottlingError } from '../commons/errors';
import { CliError, isCliError } from './errors';

/**
 * Every AWS failure a person at the terminal can cause or fix, as one sentence: no credentials,
 * credentials AWS rejects, nothing listening at the endpoint, a Region where casbridge is not
 * deployed, a table, bucket or secret that is not there, a refused call. Commands wrap their AWS
 * calls with `explainAwsFailure`; anything not recognised here stays a casbridge bug.
 * Classified by the error's `name` or socket `code`, never by message text.
 */
export interface AwsFailureContext {
  /** What the command was doing, as a verb phrase: "read the ledger table casbridge-ledger". */
  doing: string;
  /** The Region the command used, when it got that far. */
  region?: string;
  /** What a ResourceNotFound means here ("no such account in the ledger", ...); default: names `doing`. */
  notFound?: string;
}

const CREDENTIAL_ERRORS = new Set(['CredentialsProviderError', 'TokenProviderError']);
const REJECTED_CREDENTIALS = new Set([
  'UnrecognizedClientException',
  'InvalidClientTokenId',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'InvalidSignatureException',
  'IncompleteSignature',
]);
const EXPIRED_CREDENTIALS = new Set(['ExpiredToken', 'ExpiredTokenException', 'RequestExpired']);
const NOT_FOUND = new Set(['ResourceNotFoundException', 'NoSuchBucket', 'NoSuchKey', 'NotFound']);
const WRONG_REGION = new Set([
  'PermanentRedirect',
  'AuthorizationHeaderMalformed',
  'IllegalLocationConstraintException',
]);
const ACCESS_DENIED = new Set(['AccessDenied', 'AccessDeniedException', 'UnauthorizedOperation']);
const UNREACHABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT']);

/** The error as a CliError when the user can act on it; otherwise the error itself. */
export function explainAwsFailure(error: unknown, context: AwsFailureContext): unknown {
  if (isCliError(error)) return error;
  const sentence = describe(error, context);
  return sentence === undefined ? error : new CliError(sentence, 1, { cause: error });
}

/** Runs `call`, turning a failure the user can fix into a CliError. */
export async function withAwsContext<T>(context: AwsFailureContext, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw explainAwsFailure(error, context);
  }
}

function describe(
  error: unknown,
  { doing, region: configured, notFound }: AwsFailureContext,
): string | undefined {
  const region = configured ?? 'the configured Region';
  const name = awsErrorName(error) ?? '';
  const code = socketCode(error);
  if (CREDENTIAL_ERRORS.has(name))
    return `Cannot ${doing}: no AWS credentials were found (set AWS_PROFILE or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY; for the sandbox, eval the exports \`casbridge sandbox\` prints).`;
  if (REJECTED_CREDENTIALS.has(name))
    return `Cannot ${doing}: AWS rejected the credentials (${name}); check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, and that AWS_ENDPOINT_URL names the sandbox they came from.`;
  if (EXPIRED_CREDENTIALS.has(name))
    return `Cannot ${doing}: the AWS credentials have expired (${name}); sign in again.`;
  if (code && UNREACHABLE.has(code))
    return `Cannot ${doing}: nothing answers at ${socketAddress(error)} (${code}); start the sandbox with \`casbridge sandbox\` or fix AWS_ENDPOINT_URL.`;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN')
    return `Cannot ${doing}: the endpoint's host name does not resolve (${code}); check AWS_REGION (${region}) and AWS_ENDPOINT_URL.`;
  if (WRONG_REGION.has(name))
    return `Cannot ${doing}: the resource is in another Region than ${region} (${name}); set AWS_REGION to casbridge's Region.`;
  if (NOT_FOUND.has(name))
    return (
      notFound ??
      `Cannot ${doing}: it does not exist in ${region} (${name}); check AWS_REGION and that casbridge is deployed there.`
    );
  if (ACCESS_DENIED.has(name)) return `Cannot ${doing}: access denied (${name}): ${firstSentence(error)}.`;
  if (isThrottlingError(error))
    return `Cannot ${doing}: AWS is throttling the requests (${name}); try again in a minute.`;
  return undefined;
}

/** The socket error's code: the SDK passes Node's error through, sometimes as an AggregateError (IPv4 and IPv6 both refused). */
function socketCode(error: unknown): string | undefined {
  const e = error as { code?: unknown; errors?: unknown[] } | null;
  if (typeof e?.code === 'string') return e.code;
  const inner = e?.errors?.[0] as { code?: unknown } | undefined;
  return typeof inner?.code === 'string' ? inner.code : undefined;
}

function socketAddress(error: unknown): string {
  const e = error as {
    address?: unknown;
    port?: unknown;
    errors?: { address?: unknown; port?: unknown }[];
  } | null;
  const target = typeof e?.address === 'string' ? e : e?.errors?.[0];
  if (typeof target?.address !== 'string') return 'the AWS endpoint';
  return target.port === undefined ? target.address : `${target.address}:${String(target.port)}`;
}

function firstSentence(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return (message.split('\n', 1)[0] ?? '').replace(/\.$/, '');
}
