import { QUERY_ERRORS, type RpcService } from '../core/service';

// TODO(sandbox): operations to be implemented.
export const iamService: RpcService = {
  kind: 'rpc',
  signingName: 'iam',
  protocol: 'query',
  errors: QUERY_ERRORS,
  operations: {},
};
