import type { AwsError } from '../core/aws-error';

/**
 * The awsJson 1.0/1.1 protocols (Organizations, CloudTrail, Secrets Manager, DynamoDB, Step
 * Functions): `X-Amz-Target: <prefix>.<Operation>`, JSON bodies, timestamps as epoch seconds,
 * errors named by `__type` and the `x-amzn-ErrorType` header.
 */
export function decodeJsonRequest(
  target: string,
  body: string,
): { operation: string; input: Record<string, unknown> } {
  const operation = target.slice(target.lastIndexOf('.') + 1);
  const input = body.trim() === '' ? {} : (JSON.parse(body) as Record<string, unknown>);
  return { operation, input };
}

export function encodeJsonResponse(result: unknown): string {
  if (result === undefined || result === null) return '{}';
  return JSON.stringify(
    result,
    function replacer(this: Record<string, unknown>, key: string, value: unknown) {
      // JSON.stringify has already turned a Date into a string; the original is on `this`.
      const original = this[key];
      return original instanceof Date ? original.getTime() / 1000 : value;
    },
  );
}

export function encodeJsonError(error: AwsError): string {
  return JSON.stringify({
    __type: error.code,
    message: error.message,
    Message: error.message,
    ...error.fields,
  });
}
