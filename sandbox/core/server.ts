import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { decodeJsonRequest, encodeJsonError, encodeJsonResponse } from '../protocols/json';
import { decodeQueryRequest, encodeQueryError, encodeQueryResponse } from '../protocols/query';
import { settleOrganization } from '../services/organizations/membership';
import { Authorizer } from './authorize';
import { AwsError, isAwsError } from './aws-error';
import { isReadOnlyOperation } from './call-log';
import type { Credential } from './credentials';
import { handleInspection } from './inspection';
import type { CommonErrors, RequestContext, RestRequest, RestResponse, ServiceDefinition } from './service';
import { protocolFamily, signatureError } from './signature-errors';
import { type Authorization, readAuthorization, SignatureVerifier } from './sigv4';
import type { World } from './world';

interface Served {
  status: number;
  headers: Record<string, string>;
  body: string | Buffer;
}

/**
 * The HTTP front of the sandbox: finds the service from the request's signature, the caller from
 * its access key, checks the signature with the caller's secret key, applies faults and policy
 * evaluation, runs the operation, and answers in the service's wire protocol. Every call that
 * names a service lands in the call log.
 */
export class SandboxServer {
  private readonly server: http.Server;
  private readonly services: Map<string, ServiceDefinition>;
  private readonly verifier = new SignatureVerifier();
  readonly authorizer: Authorizer;

  constructor(
    private readonly world: World,
    services: readonly ServiceDefinition[],
  ) {
    this.services = new Map(services.map((s) => [s.signingName, s]));
    this.authorizer = new Authorizer(world);
    this.server = http.createServer((req, res) => {
      this.serve(req, res).catch((error: unknown) => {
        process.stderr.write(`sandbox: unhandled ${String(error)}\n`);
        if (!res.headersSent) res.writeHead(500);
        res.end();
      });
    });
    this.server.keepAliveTimeout = 60_000;
  }

  listen(port: number, host = '127.0.0.1'): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => resolve((this.server.address() as AddressInfo).port));
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private async serve(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const body = await readBody(req);
    const url = new URL(req.url ?? '/', 'http://sandbox');
    const headers = lowerCaseHeaders(req.headers);
    if (url.pathname.startsWith('/_sandbox/')) {
      settleOrganization(this.world);
      const answer = await handleInspection(this.world, req.method ?? 'GET', url, body);
      res.writeHead(answer.status, { 'content-type': 'application/json' });
      res.end(answer.body);
      return;
    }
    const target = req.url ?? '/';
    const queryAt = target.indexOf('?');
    const request: RestRequest = {
      method: req.method ?? 'GET',
      path: decodeURIComponent(url.pathname),
      rawPath: queryAt < 0 ? target : target.slice(0, queryAt),
      rawQuery: queryAt < 0 ? '' : target.slice(queryAt + 1),
      query: url.searchParams,
      headers,
      body,
    };
    const served = await this.dispatch(request);
    res.writeHead(served.status, served.headers);
    res.end(request.method === 'HEAD' ? undefined : served.body);
  }

  /** Serves one request; exposed so in-process callers can skip the socket. */
  async dispatch(request: RestRequest): Promise<Served> {
    const started = performance.now();
    // What time has done to the organization (a closure finishing) happens before the request sees it.
    settleOrganization(this.world);
    const requestId = randomUUID();
    const read = readAuthorization(request, request.query);
    const scope = read.ok ? read.authorization.scope : read.failure.scope;
    // No credential names a service: answer as the one the request's shape belongs to.
    const service = scope ? this.services.get(scope.service) : this.serviceByShape(request);
    if (!read.ok && !scope && service) {
      return renderError(
        service,
        signatureError(protocolFamily(service), read.failure),
        requestId,
        request,
        '',
      );
    }
    if (!scope || !service) {
      const error = new AwsError(
        scope ? 'UnknownService' : 'MissingAuthenticationToken',
        scope ? `The sandbox does not serve ${scope.service}` : 'Request is missing Authentication Token',
        scope ? 400 : 403,
      );
      return {
        status: error.status,
        headers: { 'content-type': 'application/json' },
        body: encodeJsonError(error),
      };
    }
    const region = scope.region || this.world.settings.defaultRegion;
    let operation = '';
    let input: Record<string, unknown> = {};
    let credential: Credential | undefined;
    let result: unknown;
    let rest: RestResponse | undefined;
    let failure: AwsError | undefined;
    try {
      if (service.kind === 'rpc') {
        const decoded =
          service.protocol === 'query'
            ? decodeQueryRequest(request.body.toString('utf8') || request.query.toString())
            : decodeJsonRequest(request.headers['x-amz-target'] ?? '', request.body.toString('utf8'));
        operation = decoded.operation;
        input = decoded.input;
      } else {
        operation = service.operationOf(request);
      }
      if (!read.ok) throw signatureError(protocolFamily(service), read.failure);
      credential = this.authenticate(read.authorization, request, service);
      const accountId = credential.principal.accountId;
      const readOnly = isReadOnlyOperation(operation);
      const verdict = this.world.faults.check({
        service: service.signingName,
        operation,
        accountId,
        region,
        readOnly,
      });
      if (verdict.hold) await verdict.hold();
      if (verdict.clockMs > 0) this.world.clock.advance(verdict.clockMs);
      if (verdict.delayMs > 0) await sleep(verdict.delayMs);
      if (verdict.kind === 'throttle')
        throw new AwsError(service.errors.throttling.code, 'Rate exceeded', service.errors.throttling.status);
      if (verdict.kind === 'error') throw verdict.error;
      this.recordKeyUse(credential, service.signingName, region);
      const ctx = this.context(credential, region, requestId, service.errors);
      if (service.kind === 'rpc') {
        const handler = service.operations[operation];
        if (!handler) {
          throw new AwsError(
            service.protocol === 'query' ? 'InvalidAction' : 'UnknownOperationException',
            `The action ${operation} is not valid for this web service.`,
            400,
          );
        }
        result = await handler(ctx, input);
      } else {
        rest = await service.handle(ctx, request);
      }
    } catch (error) {
      if (isAwsError(error)) {
        failure = error;
      } else {
        process.stderr.write(
          `sandbox: ${service.signingName}.${operation} crashed: ${(error as Error)?.stack ?? String(error)}\n`,
        );
        failure = new AwsError(
          service.kind === 'rpc' && service.protocol === 'query' ? 'ServiceFailure' : 'InternalFailure',
          'The sandbox failed to serve the request.',
          500,
        );
      }
    }
    const served = failure
      ? renderError(service, failure, requestId, request, operation)
      : renderResult(service, operation, result, rest, requestId);
    this.world.callLog.append({
      time: this.world.clock.now().toISOString(),
      requestId,
      service: service.signingName,
      operation,
      region,
      account: credential?.principal.accountId,
      callerArn: credential?.principal.arn,
      accessKeyId: scope.accessKeyId,
      readOnly: isReadOnlyOperation(operation),
      outcome: failure ? 'error' : 'ok',
      errorCode: failure?.code,
      status: served.status,
      durationMs: Math.round((performance.now() - started) * 100) / 100,
    });
    return served;
  }

  /**
   * The caller, as AWS finds it: the access key must be known, propagated and active, a session
   * key must come with its own token, and the signature must be the one the key's secret gives.
   */
  private authenticate(
    authorization: Authorization,
    request: RestRequest,
    service: ServiceDefinition,
  ): Credential {
    const { errors } = service;
    const accessKeyId = authorization.scope.accessKeyId;
    const credential = this.world.credentials.get(accessKeyId);
    const invalid = () =>
      new AwsError(
        errors.invalidToken.code,
        'The security token included in the request is invalid.',
        errors.invalidToken.status,
      );
    if (!credential) throw invalid();
    const nowMs = this.world.clock.nowMs();
    if (credential.usableAfterMs > nowMs) throw invalid();
    if (credential.sessionToken !== undefined) {
      const token = request.headers['x-amz-security-token'] ?? request.query.get('X-Amz-Security-Token');
      if (token !== credential.sessionToken) throw invalid();
    }
    if (credential.principal.kind === 'user') {
      const key = this.world.accounts.get(credential.principal.accountId)?.iam.accessKeys.get(accessKeyId);
      if (key?.status !== 'Active') throw invalid();
    }
    // The request's time is held against the machine's clock, which every client signs with:
    // the sandbox clock is virtual (tests move it by days) and only rules what the world does.
    const refused = this.verifier.verify(request, authorization, credential.secretAccessKey, {
      // S3's signing rules are S3's own, not restXml's: other REST services normalise the path.
      s3: service.signingName === 's3',
      nowMs: Date.now(),
    });
    if (refused) throw signatureError(protocolFamily(service), refused);
    if (credential.expiresAtMs !== undefined && credential.expiresAtMs <= nowMs) {
      throw new AwsError(
        errors.expiredToken.code,
        'The security token included in the request is expired',
        errors.expiredToken.status,
      );
    }
    return credential;
  }

  /** For a request that names no credential: S3 unless it has a JSON target or a query Action. */
  private serviceByShape(request: RestRequest): ServiceDefinition | undefined {
    const services = [...this.services.values()];
    if (request.headers['x-amz-target'] !== undefined) {
      return services.find((s) => protocolFamily(s) === 'json');
    }
    const form = new URLSearchParams(
      request.headers['content-type']?.startsWith('application/x-www-form-urlencoded')
        ? request.body.toString('utf8')
        : '',
    );
    const action = form.get('Action') ?? request.query.get('Action');
    if (action !== null) {
      const version = form.get('Version') ?? request.query.get('Version') ?? '';
      const query = services.filter((s) => s.kind === 'rpc' && s.protocol === 'query');
      return query.find((s) => s.kind === 'rpc' && s.xmlNamespace?.includes(`/${version}/`)) ?? query[0];
    }
    return services.find((s) => protocolFamily(s) === 'rest-xml');
  }

  private recordKeyUse(credential: Credential, serviceName: string, region: string): void {
    if (credential.principal.kind !== 'user') return;
    const key = this.world.accounts
      .get(credential.principal.accountId)
      ?.iam.accessKeys.get(credential.accessKeyId);
    if (key) key.lastUsed = { date: this.world.clock.now(), serviceName, region };
  }

  private context(
    credential: Credential,
    region: string,
    requestId: string,
    errors: CommonErrors,
  ): RequestContext {
    const principal = credential.principal;
    return {
      world: this.world,
      principal,
      accountId: principal.accountId,
      region,
      requestId,
      accessKeyId: credential.accessKeyId,
      authorize: (action, resource, options = {}) =>
        this.authorizer.authorize(principal, action, resource, options, errors.accessDenied),
    };
  }
}

function renderResult(
  service: ServiceDefinition,
  operation: string,
  result: unknown,
  rest: RestResponse | undefined,
  requestId: string,
): Served {
  if (service.kind === 'rest') {
    const response = rest ?? { status: 200 };
    return {
      status: response.status,
      headers: { 'x-amz-request-id': requestId, ...response.headers },
      body: response.body ?? '',
    };
  }
  if (service.protocol === 'query') {
    return {
      status: 200,
      headers: { 'content-type': 'text/xml', 'x-amzn-requestid': requestId },
      body: encodeQueryResponse(operation, service.xmlNamespace ?? '', requestId, result),
    };
  }
  return {
    status: 200,
    headers: {
      'content-type': `application/x-amz-json-${service.protocol === 'json1.0' ? '1.0' : '1.1'}`,
      'x-amzn-requestid': requestId,
    },
    body: encodeJsonResponse(result),
  };
}

function renderError(
  service: ServiceDefinition,
  error: AwsError,
  requestId: string,
  request: RestRequest,
  operation: string,
): Served {
  if (service.kind === 'rest') {
    const response = service.renderError(error, requestId, request);
    return {
      status: response.status,
      headers: { 'x-amz-request-id': requestId, ...response.headers },
      body: response.body ?? '',
    };
  }
  if (service.protocol === 'query') {
    return {
      status: error.status,
      headers: { 'content-type': 'text/xml', 'x-amzn-requestid': requestId },
      body: encodeQueryError(error, service.xmlNamespace ?? '', requestId),
    };
  }
  void operation;
  return {
    status: error.status,
    headers: {
      'content-type': `application/x-amz-json-${service.protocol === 'json1.0' ? '1.0' : '1.1'}`,
      'x-amzn-requestid': requestId,
      'x-amzn-errortype': error.code,
    },
    body: encodeJsonError(error),
  };
}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function lowerCaseHeaders(headers: http.IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) out[name.toLowerCase()] = Array.isArray(value) ? value.join(',') : value;
  }
  return out;
}
