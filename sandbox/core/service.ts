import { AwsError } from './aws-error';
import type { Principal } from './credentials';
import type { PolicyDocument, World } from './world';

/** What an operation handler knows about the request it serves. */
export interface RequestContext {
  readonly world: World;
  readonly principal: Principal;
  /** The account the caller acts in: its own for a user, the role's for an assumed role. */
  readonly accountId: string;
  readonly region: string;
  readonly requestId: string;
  readonly accessKeyId: string;
  /**
   * Evaluates the caller's identity policies, the SCPs above its account and, when given, a
   * resource policy, as IAM would; throws the service's AccessDenied naming the action when the
   * call is not allowed.
   */
  authorize(action: string, resource: string, options?: AuthorizeOptions): Promise<void>;
}

export interface AuthorizeOptions {
  /** A resource-based policy (trust policy, bucket policy) that takes part in the decision. */
  resourcePolicy?: PolicyDocument;
  /** The account owning the resource, when it is not the caller's. */
  resourceAccountId?: string;
  /** Request context keys such as `sts:ExternalId`. */
  context?: Record<string, string | string[]>;
}

export type OperationHandler = (
  ctx: RequestContext,
  input: Record<string, unknown>,
) => unknown | Promise<unknown>;

/** Error codes a protocol family uses for the sandbox's own checks (auth, throttling, faults). */
export interface CommonErrors {
  accessDenied: { code: string; status: number };
  throttling: { code: string; status: number };
  invalidToken: { code: string; status: number };
  expiredToken: { code: string; status: number };
}

/** A service spoken over an RPC protocol: one operation name selects one handler. */
export interface RpcService {
  readonly kind: 'rpc';
  /** SigV4 signing name, as in the Authorization header's credential scope. */
  readonly signingName: string;
  readonly protocol: 'query' | 'json1.0' | 'json1.1';
  /** awsQuery response namespace, e.g. `https://iam.amazonaws.com/doc/2010-05-08/`. */
  readonly xmlNamespace?: string;
  /** Global services (IAM, Organizations) keep one state whatever Region is signed. */
  readonly global?: boolean;
  readonly errors: CommonErrors;
  readonly operations: Readonly<Record<string, OperationHandler>>;
}

export interface RestRequest {
  method: string;
  /** Decoded path, e.g. `/bucket/key/with spaces`. */
  path: string;
  /** The path and query of the request line as sent, undecoded: what the signature covers. */
  rawPath: string;
  rawQuery: string;
  query: URLSearchParams;
  headers: Record<string, string>;
  body: Buffer;
}

export interface RestResponse {
  status: number;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

/** A REST service (S3): the service routes the request itself. */
export interface RestService {
  readonly kind: 'rest';
  readonly signingName: string;
  /** The wire protocol its errors are written in (Step Functions routes itself but speaks JSON). */
  readonly protocol: 'rest-xml' | 'json1.0';
  readonly errors: CommonErrors;
  /** Names the operation for the call log, authorization and faults. */
  operationOf(request: RestRequest): string;
  handle(ctx: RequestContext, request: RestRequest): Promise<RestResponse>;
  renderError(
    error: { code: string; message: string; status: number; fields: Record<string, string> },
    requestId: string,
    request: RestRequest,
  ): RestResponse;
}

export type ServiceDefinition = RpcService | RestService;

export const QUERY_ERRORS: CommonErrors = {
  accessDenied: { code: 'AccessDenied', status: 403 },
  throttling: { code: 'Throttling', status: 400 },
  invalidToken: { code: 'InvalidClientTokenId', status: 403 },
  expiredToken: { code: 'ExpiredToken', status: 403 },
};

export const JSON_ERRORS: CommonErrors = {
  accessDenied: { code: 'AccessDeniedException', status: 400 },
  throttling: { code: 'ThrottlingException', status: 400 },
  invalidToken: { code: 'UnrecognizedClientException', status: 403 },
  expiredToken: { code: 'ExpiredTokenException', status: 403 },
};

/** Reads a required string member, failing as the service's validation error would. */
export function requireString(
  input: Record<string, unknown>,
  name: string,
  code = 'ValidationError',
): string {
  const value = input[name];
  if (typeof value !== 'string' || value === '') {
    throw new AwsError(
      code,
      `1 validation error detected: Value null at '${lowerFirst(name)}' failed to satisfy constraint: Member must not be null`,
    );
  }
  return value;
}

function lowerFirst(name: string): string {
  return name.charAt(0).toLowerCase() + name.slice(1);
}
