import { AwsError } from '../core/aws-error';
import type { RestService } from '../core/service';

// TODO(sandbox): operations to be implemented.
export const s3Service: RestService = {
  kind: 'rest',
  signingName: 's3',
  errors: {
    accessDenied: { code: 'AccessDenied', status: 403 },
    throttling: { code: 'SlowDown', status: 503 },
    invalidToken: { code: 'InvalidAccessKeyId', status: 403 },
    expiredToken: { code: 'ExpiredToken', status: 400 },
  },
  operationOf: () => 'Unknown',
  handle: async () => {
    throw new AwsError('NotImplemented', 'not implemented', 501);
  },
  renderError: (error) => ({ status: error.status, body: `<Error><Code>${error.code}</Code></Error>` }),
};
