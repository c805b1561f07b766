/**
 * An error as AWS would return it. `code` is the wire code (IAM's `NoSuchEntity`, not the SDK's
 * `NoSuchEntityException`); each protocol codec renders it in its own format so the SDK raises
 * the right exception class.
 */
export class AwsError extends Error {
  override readonly name = 'AwsError';

  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
    /** Extra members of the error shape, copied into the body (Organizations' `Reason`, S3's `BucketName`). */
    readonly fields: Record<string, string> = {},
  ) {
    super(message);
  }

  /** Query-protocol errors carry Sender/Receiver; 5xx are the service's fault. */
  get fault(): 'Sender' | 'Receiver' {
    return this.status >= 500 ? 'Receiver' : 'Sender';
  }
}

export function isAwsError(error: unknown): error is AwsError {
  return error instanceof AwsError;
}
