import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/**
 * AWS Signature Version 4, checked as AWS checks it: the server rebuilds the canonical request
 * from the request exactly as it arrived (method, path and query as sent, headers as received,
 * the body's bytes), derives the signing key from the caller's secret key and compares the
 * signatures in constant time. Steps and names follow "Create a signed AWS API request"
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html);
 * the failure messages are the ones AWS's services answer with (docs/sandbox.md lists them).
 */

/** What the SigV4 signature of a request says about who sent it and where. */
export interface SignatureScope {
  accessKeyId: string;
  region: string;
  service: string;
}

/** A request as the sandbox received it, before any decoding. */
export interface ReceivedRequest {
  method: string;
  /** The path of the request line, percent-encoded as the client sent it. */
  rawPath: string;
  /** The query of the request line without `?`, as sent. */
  rawQuery: string;
  /** Header names lower-cased (Node's HTTP server does so), values as received. */
  headers: Record<string, string>;
  body: Buffer;
}

/** A well-formed SigV4 Authorization header or presigned query, not yet checked. */
export interface Authorization {
  scope: SignatureScope;
  /** `YYYYMMDD/region/service/aws4_request`, as the credential names it. */
  credentialScope: string;
  credentialDate: string;
  terminator: string;
  signedHeaders: string;
  signature: string;
  /** The request's time, ISO-8601 basic format (`20260102T030405Z`). */
  amzDate: string;
  presigned: boolean;
  /** Presigned URLs only: seconds the signature is valid after `amzDate`. */
  expiresSeconds?: number;
}

/**
 * Why a request's signature is refused. `kind` is the class of failure every AWS protocol has a
 * code for (see `signatureError`); `message` is the text AWS's Coral services (STS, IAM, SNS,
 * DynamoDB, …) answer with.
 */
export interface SignatureFailure {
  kind:
    | 'missing'
    | 'unsupported'
    | 'incomplete'
    | 'both'
    | 'scope'
    | 'expired'
    | 'mismatch'
    | 'payload-missing'
    | 'payload-mismatch';
  message: string;
  presigned: boolean;
  /** The credential, when it could be read: it names the service that answers. */
  scope?: SignatureScope;
  /** Members S3 adds to its error document (`StringToSign`, `RequestTime`, …). */
  details?: Record<string, string>;
}

export type ReadAuthorization =
  | { ok: true; authorization: Authorization }
  | { ok: false; failure: SignatureFailure };

const ALGORITHM = 'AWS4-HMAC-SHA256';
const TERMINATOR = 'aws4_request';
/** AWS refuses a request signed more than 15 minutes before or after its own clock. */
const MAX_SKEW_MS = 15 * 60_000;
/** A presigned URL lives at most a week (X-Amz-Expires ≤ 604800). */
const MAX_PRESIGNED_SECONDS = 604_800;
const AMZ_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const HEX_SHA256 = /^[0-9a-f]{64}$/;
/** The payload values whose chunks carry their own signatures (with or without a trailer). */
const SIGNED_CHUNKS = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD';
const SIGNATURE_MISMATCH =
  'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';

/** Reads the Authorization header or, for a presigned URL, the X-Amz-* query parameters. */
export function readAuthorization(request: ReceivedRequest, query: URLSearchParams): ReadAuthorization {
  const header = request.headers.authorization;
  const presigned = query.has('X-Amz-Algorithm') || query.has('X-Amz-Credential');
  if (header !== undefined && presigned) {
    return fail(
      'both',
      "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header.",
      false,
      scopeOf(query.get('X-Amz-Credential') ?? credentialParam(header)),
    );
  }
  if (presigned) return readPresigned(query);
  if (header === undefined || !header.trim().startsWith('AWS4-')) {
    return fail('missing', 'Request is missing Authentication Token', false);
  }
  return readHeader(header, request.headers);
}

function readHeader(header: string, headers: Record<string, string>): ReadAuthorization {
  const trimmed = header.trim();
  const space = trimmed.indexOf(' ');
  const algorithm = space < 0 ? trimmed : trimmed.slice(0, space);
  const params: Record<string, string> = {};
  for (const part of (space < 0 ? '' : trimmed.slice(space + 1)).split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) params[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  const scope = scopeOf(params.Credential);
  if (algorithm !== ALGORITHM) {
    return fail(
      'unsupported',
      `Unsupported AWS 'algorithm': '${algorithm}' (only ${ALGORITHM} for now). `,
      false,
      scope,
    );
  }
  let missing = '';
  for (const name of ['Credential', 'Signature', 'SignedHeaders']) {
    if (!params[name]) missing += `Authorization header requires '${name}' parameter. `;
  }
  const amzDate = headers['x-amz-date'] ?? basicDate(headers.date);
  if (amzDate === undefined) {
    missing += "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. ";
  }
  if (missing) return fail('incomplete', `${missing}Authorization=${header}`, false, scope);
  return complete(params.Credential as string, params.SignedHeaders as string, params.Signature as string, {
    amzDate: amzDate as string,
    presigned: false,
  });
}

function readPresigned(query: URLSearchParams): ReadAuthorization {
  const scope = scopeOf(query.get('X-Amz-Credential') ?? undefined);
  let missing = '';
  for (const name of [
    'X-Amz-Algorithm',
    'X-Amz-Credential',
    'X-Amz-Signature',
    'X-Amz-SignedHeaders',
    'X-Amz-Date',
    'X-Amz-Expires',
  ]) {
    if (!query.get(name)) missing += `AWS query-string parameters must include '${name}'. `;
  }
  if (missing) return fail('incomplete', `${missing}Re-examine the query-string parameters.`, true, scope);
  const algorithm = query.get('X-Amz-Algorithm') as string;
  if (algorithm !== ALGORITHM) {
    return fail(
      'unsupported',
      `Unsupported AWS 'algorithm': '${algorithm}' (only ${ALGORITHM} for now). `,
      true,
      scope,
    );
  }
  const expires = query.get('X-Amz-Expires') as string;
  const expiresSeconds = Number(expires);
  if (!/^\d+$/.test(expires) || expiresSeconds < 1 || expiresSeconds > MAX_PRESIGNED_SECONDS) {
    return fail(
      'incomplete',
      `X-Amz-Expires must be a number of seconds from 1 to ${MAX_PRESIGNED_SECONDS} (a week), not '${expires}'.`,
      true,
      scope,
    );
  }
  return complete(
    query.get('X-Amz-Credential') as string,
    query.get('X-Amz-SignedHeaders') as string,
    query.get('X-Amz-Signature') as string,
    { amzDate: query.get('X-Amz-Date') as string, presigned: true, expiresSeconds },
  );
}

function complete(
  credential: string,
  signedHeaders: string,
  signature: string,
  rest: { amzDate: string; presigned: boolean; expiresSeconds?: number },
): ReadAuthorization {
  // AWS ignores trailing slashes in the credential.
  const parts = credential.replace(/\/+$/, '').split('/');
  if (parts.length !== 5 || parts.some((p) => p === '')) {
    return fail(
      'incomplete',
      `Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '${credential}'`,
      rest.presigned,
    );
  }
  const [accessKeyId, credentialDate, region, service, terminator] = parts as [
    string,
    string,
    string,
    string,
    string,
  ];
  const scope = { accessKeyId, region, service };
  if (!AMZ_DATE.test(rest.amzDate)) {
    return fail(
      'incomplete',
      `Date must be in ISO-8601 'basic format'. Got '${rest.amzDate}'. See http://en.wikipedia.org/wiki/ISO_8601`,
      rest.presigned,
      scope,
    );
  }
  return {
    ok: true,
    authorization: {
      scope,
      credentialScope: `${credentialDate}/${region}/${service}/${terminator}`,
      credentialDate,
      terminator,
      signedHeaders,
      signature,
      ...rest,
    },
  };
}

/** Recomputes the signature of `request` with `secretAccessKey`; undefined when it matches. */
export class SignatureVerifier {
  /** Signing keys by secret and scope: one derivation per key and day, as the SDKs cache them. */
  private readonly signingKeys = new Map<string, Buffer>();

  verify(
    request: ReceivedRequest,
    authorization: Authorization,
    secretAccessKey: string,
    options: {
      /** S3 signs the path without normalising or double-encoding it, and the payload by header. */
      s3: boolean;
      /** The clock the request's time is held against (the machine's: clients sign with it). */
      nowMs: number;
    },
  ): SignatureFailure | undefined {
    const { presigned, scope } = authorization;
    const refuse = (kind: SignatureFailure['kind'], message: string, details?: Record<string, string>) =>
      ({ kind, message, presigned, scope, ...(details ? { details } : {}) }) satisfies SignatureFailure;

    const expired = checkTime(authorization, options.nowMs);
    if (expired) return refuse('expired', expired.message, expired.details);
    const signed = authorization.signedHeaders.split(';').map((name) => name.trim().toLowerCase());
    if (!signed.includes('host')) {
      return refuse('scope', "'Host' must be a 'SignedHeader' in the AWS Authorization.");
    }
    const scopeProblems = [
      authorization.terminator === TERMINATOR
        ? ''
        : `Credential should be scoped with a valid terminator: '${TERMINATOR}', not '${authorization.terminator}'. `,
      authorization.credentialDate === authorization.amzDate.slice(0, 8)
        ? ''
        : `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${authorization.credentialDate}' != '${authorization.amzDate.slice(0, 8)}', from '${authorization.amzDate}'.`,
    ].join('');
    if (scopeProblems) return refuse('scope', scopeProblems.trim());

    const payload = payloadHash(request, options.s3, presigned);
    if (payload === undefined) {
      return refuse('payload-missing', 'Missing required header for this request: x-amz-content-sha256');
    }
    const canonicalRequest = [
      request.method,
      canonicalUri(request.rawPath, options.s3),
      canonicalQuery(request.rawQuery, presigned),
      `${signed.map((name) => `${name}:${canonicalHeaderValue(request.headers[name])}`).join('\n')}\n`,
      authorization.signedHeaders,
      payload,
    ].join('\n');
    const stringToSign = [
      ALGORITHM,
      authorization.amzDate,
      authorization.credentialScope,
      sha256Hex(canonicalRequest),
    ].join('\n');
    const signingKey = this.signingKey(secretAccessKey, authorization);
    const expected = hmacHex(signingKey, stringToSign);
    if (!sameSignature(expected, authorization.signature)) {
      return refuse(
        'mismatch',
        `${SIGNATURE_MISMATCH}\n\nThe String-to-Sign should have been\n'${stringToSign}'\n`,
        {
          AWSAccessKeyId: scope.accessKeyId,
          StringToSign: stringToSign,
          SignatureProvided: authorization.signature,
        },
      );
    }
    if (
      options.s3 &&
      payload.startsWith(SIGNED_CHUNKS) &&
      !chunksSigned(request.body, expected, signingKey, authorization)
    ) {
      return refuse('mismatch', SIGNATURE_MISMATCH);
    }
    // S3 takes the payload's hash from the header; a body that does not hash to it was altered.
    if (options.s3 && HEX_SHA256.test(payload)) {
      const computed = sha256Hex(request.body);
      if (computed !== payload) {
        return refuse(
          'payload-mismatch',
          "The provided 'x-amz-content-sha256' header does not match what was computed.",
          {
            ClientComputedContentSHA256: payload,
            S3ComputedContentSHA256: computed,
          },
        );
      }
    }
    return undefined;
  }

  private signingKey(secretAccessKey: string, authorization: Authorization): Buffer {
    const { credentialDate, scope } = authorization;
    const cacheKey = `${secretAccessKey}\n${authorization.credentialScope}`;
    let key = this.signingKeys.get(cacheKey);
    if (key) return key;
    key = [credentialDate, scope.region, scope.service, authorization.terminator].reduce<Buffer>(
      (secret, part) => createHmac('sha256', secret).update(part, 'utf8').digest(),
      Buffer.from(`AWS4${secretAccessKey}`, 'utf8'),
    );
    // Session keys come and go by the thousand in a benchmark; the cache must not keep them all.
    if (this.signingKeys.size >= 10_000) this.signingKeys.clear();
    this.signingKeys.set(cacheKey, key);
    return key;
  }
}

/**
 * Each chunk of an `aws-chunked` body signed as STREAMING-AWS4-HMAC-SHA256-PAYLOAD(-TRAILER)
 * (`<hex size>;chunk-signature=<sig>\r\n<data>\r\n`, down to a zero-size chunk) signs its data and
 * the previous chunk's signature, the first one the header's seed signature
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html). A trailer's own
 * signature (x-amz-trailer-signature) is not checked.
 */
function chunksSigned(
  body: Buffer,
  seedSignature: string,
  signingKey: Buffer,
  authorization: Authorization,
): boolean {
  let previous = seedSignature;
  let offset = 0;
  for (;;) {
    const lineEnd = body.indexOf('\r\n', offset);
    if (lineEnd < 0) return false;
    const header = /^([0-9a-fA-F]+);chunk-signature=([0-9a-f]{64})$/.exec(
      body.subarray(offset, lineEnd).toString('latin1'),
    );
    if (!header) return false;
    const size = Number.parseInt(header[1] as string, 16);
    const data = body.subarray(lineEnd + 2, lineEnd + 2 + size);
    if (data.length !== size) return false;
    const stringToSign = [
      'AWS4-HMAC-SHA256-PAYLOAD',
      authorization.amzDate,
      authorization.credentialScope,
      previous,
      EMPTY_SHA256,
      sha256Hex(data),
    ].join('\n');
    previous = hmacHex(signingKey, stringToSign);
    if (!sameSignature(previous, header[2] as string)) return false;
    if (size === 0) return true;
    offset = lineEnd + 2 + size;
    if (body.subarray(offset, offset + 2).toString('latin1') !== '\r\n') return false;
    offset += 2;
  }
}

/**
 * The request's time against the clock, as AWS holds it: 15 minutes either way for a signed
 * header, and for a presigned URL until X-Amz-Expires seconds after its X-Amz-Date.
 */
function checkTime(
  authorization: Authorization,
  nowMs: number,
): { message: string; details: Record<string, string> } | undefined {
  const signedAt = parseBasicDate(authorization.amzDate);
  const now = basicFormat(nowMs);
  if (signedAt - MAX_SKEW_MS > nowMs) {
    return {
      message: `Signature not yet current: ${authorization.amzDate} is still later than ${basicFormat(nowMs + MAX_SKEW_MS)} (${now} + 15 min.)`,
      details: { RequestTime: authorization.amzDate, ServerTime: new Date(nowMs).toISOString() },
    };
  }
  if (authorization.presigned) {
    const expiresAt = signedAt + (authorization.expiresSeconds ?? 0) * 1000;
    if (expiresAt >= nowMs) return undefined;
    return {
      message: `Signature expired: ${basicFormat(expiresAt)} is now earlier than ${now}.`,
      details: {
        'X-Amz-Expires': String(authorization.expiresSeconds),
        Expires: new Date(expiresAt).toISOString(),
        ServerTime: new Date(nowMs).toISOString(),
      },
    };
  }
  if (signedAt + MAX_SKEW_MS >= nowMs) return undefined;
  return {
    message: `Signature expired: ${authorization.amzDate} is now earlier than ${basicFormat(nowMs - MAX_SKEW_MS)} (${now} - 15 min.)`,
    details: {
      RequestTime: authorization.amzDate,
      ServerTime: new Date(nowMs).toISOString(),
      MaxAllowedSkewMilliseconds: String(MAX_SKEW_MS),
    },
  };
}

/**
 * The payload line of the canonical request. S3 signs whatever `x-amz-content-sha256` says (a
 * hex hash, UNSIGNED-PAYLOAD, STREAMING-…) and requires the header; a presigned S3 URL signs
 * UNSIGNED-PAYLOAD. Every other service signs the SHA-256 of the body it received.
 */
function payloadHash(request: ReceivedRequest, s3: boolean, presigned: boolean): string | undefined {
  if (!s3) return request.body.length === 0 ? EMPTY_SHA256 : sha256Hex(request.body);
  const header = request.headers['x-amz-content-sha256'];
  if (header !== undefined) return header;
  return presigned ? 'UNSIGNED-PAYLOAD' : undefined;
}

/**
 * The path, URI-encoded. S3 encodes each segment once and keeps the path as it is; other
 * services normalise it (no empty, `.` or `..` segments) and encode each segment twice.
 */
function canonicalUri(rawPath: string, s3: boolean): string {
  const segments = rawPath.split('/');
  if (s3) return segments.map((segment) => uriEncode(decode(segment))).join('/');
  const kept: string[] = [];
  for (const segment of segments) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') kept.pop();
    else kept.push(uriEncode(uriEncode(decode(segment))));
  }
  return `/${kept.join('/')}${kept.length > 0 && rawPath.endsWith('/') ? '/' : ''}`;
}

/** Every query parameter, name and value URI-encoded, sorted by name then value. */
function canonicalQuery(rawQuery: string, presigned: boolean): string {
  if (rawQuery === '') return '';
  const pairs: [string, string][] = [];
  for (const part of rawQuery.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const name = decode(eq < 0 ? part : part.slice(0, eq));
    if (presigned && name === 'X-Amz-Signature') continue;
    pairs.push([uriEncode(name), uriEncode(eq < 0 ? '' : decode(part.slice(eq + 1)))]);
  }
  pairs.sort(([an, av], [bn, bv]) => (an === bn ? compare(av, bv) : compare(an, bn)));
  return pairs.map(([name, value]) => `${name}=${value}`).join('&');
}

/** Leading and trailing spaces trimmed, sequential spaces folded to one. */
function canonicalHeaderValue(value: string | undefined): string {
  return (value ?? '').replace(/\s+/g, ' ').trim();
}

/** SigV4's UriEncode: every byte but the unreserved `A-Z a-z 0-9 - . _ ~` as %XX, upper-case hex. */
function uriEncode(text: string): string {
  return encodeURIComponent(text).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function sameSignature(expected: string, provided: string): boolean {
  const a = Buffer.from(expected, 'utf8');
  const b = Buffer.from(provided, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}

function hmacHex(key: Buffer, text: string): string {
  return createHmac('sha256', key).update(text, 'utf8').digest('hex');
}

function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function parseBasicDate(amzDate: string): number {
  const [, y, mo, d, h, mi, s] = AMZ_DATE.exec(amzDate) ?? [];
  return Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
}

function basicFormat(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]|\.\d{3}/g, '');
}

/** A `Date` header (RFC 7231) in SigV4's basic format, when a client signs with it instead of X-Amz-Date. */
function basicDate(httpDate: string | undefined): string | undefined {
  if (httpDate === undefined) return undefined;
  const ms = Date.parse(httpDate);
  return Number.isNaN(ms) ? httpDate : basicFormat(ms);
}

function credentialParam(header: string): string | undefined {
  return /Credential=([^,\s]+)/.exec(header)?.[1];
}

function scopeOf(credential: string | undefined): SignatureScope | undefined {
  const parts = credential?.split('/');
  if (!parts || parts.length < 4 || !parts[0] || !parts[3]) return undefined;
  return { accessKeyId: parts[0], region: parts[2] ?? '', service: parts[3] };
}

function fail(
  kind: SignatureFailure['kind'],
  message: string,
  presigned: boolean,
  scope?: SignatureScope,
): ReadAuthorization {
  return { ok: false, failure: { kind, message, presigned, ...(scope ? { scope } : {}) } };
}
