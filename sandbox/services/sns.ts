import { QUERY_ERRORS, type RpcService } from '../core/service';

// TODO(sandbox): operations to be implemented.
export const snsService: RpcService = {
  kind: 'rpc',
  signingName: 'sns',
  protocol: 'query',
  errors: QUERY_ERRORS,
  operations: {},
};
