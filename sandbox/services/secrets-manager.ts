import { JSON_ERRORS, type RpcService } from '../core/service';

// TODO(sandbox): operations to be implemented.
export const secretsManagerService: RpcService = {
  kind: 'rpc',
  signingName: 'secretsmanager',
  protocol: 'json1.1',
  errors: JSON_ERRORS,
  operations: {},
};
