import {
  BucketPolicyNotReadyError,
  CasBridgeError,
  ConfigurationError,
  classifyAwsError,
  ForeignUserConflictError,
  InvalidTaskInputError,
  KeyNotPropagatedError,
  LeaseHeldError,
  RoleMissingError,
  RoleNotReadyError,
  type StepName,
  TransientAwsError,
} from './errors';

/** A failed account's error as the report and the ledger keep it. */
export interface FailureRecord {
  name: string;
  message: string;
  step?: string;
  remediation: string;
}

/**
 * Rebuilds the record of an error that crossed the state machine: a Catch keeps only the error's
 * name and message (Lambda serialises nothing else), so the remediation is derived again here
 * from the name, with what the account tells (an invited account's role hint).
 */
export function failureRecord(
  error: { name: string; message: string },
  context: { step?: string; joinedMethod?: 'CREATED' | 'INVITED' } = {},
): FailureRecord {
  const step = context.step as StepName | undefined;
  const rebuilt =
    error instanceof CasBridgeError ? error : rebuild(error, step, context.joinedMethod === 'INVITED');
  return {
    name: error.name,
    message: error.message,
    ...(step ? { step } : rebuilt?.step ? { step: rebuilt.step } : {}),
    remediation: rebuilt?.remediation ?? fallbackRemediation(error.name),
  };
}

function rebuild(
  error: { name: string; message: string },
  step: StepName | undefined,
  invited: boolean,
): CasBridgeError | undefined {
  const options = step ? { step } : {};
  const m = error.message;
  switch (error.name) {
    case 'RoleMissing':
      return new RoleMissingError(m, { ...options, invited });
    case 'RoleNotReady':
      return new RoleNotReadyError(m, options);
    case 'ForeignUserConflict':
      return new ForeignUserConflictError(m, options);
    case 'TransientAwsError':
      return new TransientAwsError(m, options);
    case 'BucketPolicyNotReady':
      return new BucketPolicyNotReadyError(m, options);
    case 'KeyNotPropagated':
      return new KeyNotPropagatedError(m, options);
    case 'LeaseHeld':
      return new LeaseHeldError(m, options);
    case 'InvalidTaskInput':
      return new InvalidTaskInputError(m, options);
    case 'ConfigurationError':
      return new ConfigurationError(m, options);
    case 'AccessDenied': {
      const classified = classifyAwsError({ name: 'AccessDenied', message: m }, step ?? 'access');
      return classified instanceof CasBridgeError ? classified : undefined;
    }
    default:
      return undefined;
  }
}

function fallbackRemediation(name: string): string {
  if (name === 'States.Timeout')
    return 'The task timed out; it is retried on the next run. If it recurs, raise the task timeout or look for a slow AWS endpoint.';
  if (name.startsWith('Lambda.')) return 'Lambda failed to run the task; it is retried on the next run.';
  if (name === 'LimitReached')
    return 'An AWS quota named in the message is full: free one (an unused trail or access key) and run again.';
  return 'Unexpected error: look up the run id and account id in the logs, then start a retry-failed run.';
}

/**
 * The message of an error that crossed Step Functions: Lambda's cause is JSON
 * `{errorType, errorMessage, trace}`; a States.* error (timeout, runtime) carries plain text.
 */
export function causeMessage(cause: string | undefined): string {
  if (!cause) return '';
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: unknown };
    return typeof parsed.errorMessage === 'string' ? parsed.errorMessage : cause;
  } catch {
    return cause;
  }
}
