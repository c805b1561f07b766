import { JSON_ERRORS, type RpcService } from '../core/service';

// TODO(sandbox): operations to be implemented.
export const dynamodbService: RpcService = {
  kind: 'rpc',
  signingName: 'dynamodb',
  protocol: 'json1.0',
  errors: JSON_ERRORS,
  operations: {},
};
