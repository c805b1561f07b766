import { AwsError } from './aws-error';
import type { ServiceDefinition } from './service';
import type { SignatureFailure } from './sigv4';

/** The wire protocols' families: each answers a refused signature with its own codes. */
export type ProtocolFamily = 'query' | 'json' | 'rest-xml';

export function protocolFamily(service: ServiceDefinition): ProtocolFamily {
  if (service.protocol === 'query' || service.protocol === 'rest-xml') return service.protocol;
  return 'json';
}

/**
 * A refused signature as the service's protocol answers it. The Coral services name the same
 * failures in both their families, the JSON ones with an `Exception` suffix and 400 throughout
 * (https://docs.aws.amazon.com/STS/latest/APIReference/CommonErrors.html,
 * https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/CommonErrors.html); S3 has its
 * own codes and extra members (https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html).
 */
export function signatureError(family: ProtocolFamily, failure: SignatureFailure): AwsError {
  if (family === 'rest-xml') return s3SignatureError(failure);
  const json = family === 'json';
  switch (failure.kind) {
    case 'missing':
      return json
        ? new AwsError('MissingAuthenticationTokenException', failure.message, 400)
        : new AwsError('MissingAuthenticationToken', failure.message, 403);
    case 'unsupported':
    case 'incomplete':
      return new AwsError(
        json ? 'IncompleteSignatureException' : 'IncompleteSignature',
        failure.message,
        400,
      );
    default:
      return json
        ? new AwsError('InvalidSignatureException', failure.message, 400)
        : new AwsError('SignatureDoesNotMatch', failure.message, 403);
  }
}

function s3SignatureError(failure: SignatureFailure): AwsError {
  const details = failure.details ?? {};
  switch (failure.kind) {
    // S3 serves unsigned requests as anonymous ones, which nothing in the sandbox allows.
    case 'missing':
      return new AwsError('AccessDenied', 'Access Denied', 403);
    case 'unsupported':
      return new AwsError(
        'InvalidRequest',
        'The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.',
        400,
      );
    case 'incomplete':
    case 'scope':
      return failure.presigned
        ? new AwsError(
            'AuthorizationQueryParametersError',
            `Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters. ${failure.message}`,
            400,
          )
        : new AwsError(
            'AuthorizationHeaderMalformed',
            `The authorization header is malformed; ${failure.message}`,
            400,
          );
    case 'both':
      return new AwsError(
        'InvalidArgument',
        'Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified',
        400,
      );
    case 'expired':
      return failure.presigned
        ? new AwsError('AccessDenied', 'Request has expired', 403, details)
        : new AwsError(
            'RequestTimeTooSkewed',
            'The difference between the request time and the current time is too large.',
            403,
            details,
          );
    case 'mismatch':
      return new AwsError(
        'SignatureDoesNotMatch',
        'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
        403,
        details,
      );
    case 'payload-missing':
      return new AwsError('InvalidRequest', failure.message, 400);
    case 'payload-mismatch':
      return new AwsError('XAmzContentSHA256Mismatch', failure.message, 400, details);
  }
}
