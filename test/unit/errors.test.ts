import {
  AccessDeniedError,
  classifyAwsError,
  ERROR_NAMES,
  RoleMissingError,
  TransientAwsError,
} from '../../commons/errors';

describe('casbridge errors', () => {
  it('map AWS throttling and 5xx to the one retryable name', () => {
    const throttled = classifyAwsError(
      { name: 'Throttling', $fault: 'client', $metadata: { httpStatusCode: 400 } },
      'user',
    );
    const failed = classifyAwsError(
      { name: 'ServiceFailure', $fault: 'server', $metadata: { httpStatusCode: 500 } },
      'policy',
    );
    expect(throttled).toBeInstanceOf(TransientAwsError);
    expect(failed).toMatchObject({ name: 'TransientAwsError', retryable: true, step: 'policy' });
  });

  it('name the action an SCP denied', () => {
    const error = classifyAwsError(
      {
        name: 'AccessDeniedException',
        message:
          'User: arn:aws:sts::1:assumed-role/R/s is not authorized to perform: cloudtrail:CreateTrail on resource: arn:x with an explicit deny in a service control policy',
      },
      'trail',
    ) as AccessDeniedError;
    expect(error).toBeInstanceOf(AccessDeniedError);
    expect(error.action).toBe('cloudtrail:CreateTrail');
    expect(error.remediation).toMatch(/service control policy denies cloudtrail:CreateTrail/);
  });

  it("send a central function role's denial to the stack and a member role's to the StackSet", () => {
    const denied = (principal: string) =>
      classifyAwsError(
        {
          name: 'AccessDeniedException',
          message: `User: arn:aws:sts::999988887777:assumed-role/${principal}/s is not authorized to perform: secretsmanager:RestoreSecret on resource: arn:x because no identity-based policy allows the action`,
        },
        'accessKey',
      ) as AccessDeniedError;
    expect(denied('casbridge-prod-accessKey').remediation).toMatch(
      /function role casbridge-prod-accessKey lacks secretsmanager:RestoreSecret; deploy the current serverless\.yml/,
    );
    expect(denied('CasBridgeExecutionRole').remediation).toMatch(/member role lacks .*member-role\.yml/);
  });

  it("take SNS's AuthorizationErrorException for the AccessDenied it is", () => {
    // SNS answers AuthorizationError (403); its SDK client names the exception with the suffix.
    const error = classifyAwsError(
      {
        name: 'AuthorizationErrorException',
        message:
          'User: arn:aws:sts::999988887777:assumed-role/casbridge-prod-register/s is not authorized to perform: SNS:Publish on resource: arn:x',
      },
      'register',
    ) as AccessDeniedError;
    expect(error).toMatchObject({ name: 'AccessDenied', action: 'SNS:Publish', step: 'register' });
    expect(error.remediation).toMatch(/function role casbridge-prod-register lacks SNS:Publish/);
  });

  it('leave other AWS errors for the caller to decide', () => {
    const original = { name: 'NoSuchEntityException' };
    expect(classifyAwsError(original, 'user')).toBe(original);
  });

  it('tell an invited account how the StackSet reaches it', () => {
    expect(new RoleMissingError('no role', { invited: true }).remediation).toMatch(/StackSet.*invited/);
  });

  it('have unique names', () => {
    expect(new Set(ERROR_NAMES).size).toBe(ERROR_NAMES.length);
  });
});
