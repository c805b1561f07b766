import { JSON_ERRORS, type RpcService } from '../core/service';

// TODO(sandbox): operations to be implemented.
export const cloudtrailService: RpcService = {
  kind: 'rpc',
  signingName: 'cloudtrail',
  protocol: 'json1.1',
  errors: JSON_ERRORS,
  operations: {},
};
