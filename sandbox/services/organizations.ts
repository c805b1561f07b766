import { JSON_ERRORS, type RpcService } from '../core/service';

// TODO(sandbox): operations to be implemented.
export const organizationsService: RpcService = {
  kind: 'rpc',
  signingName: 'organizations',
  protocol: 'json1.1',
  errors: JSON_ERRORS,
  operations: {},
};
