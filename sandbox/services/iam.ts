import { QUERY_ERRORS, type RpcService } from '../core/service';
import { accessKeyOperations } from './iam/access-keys';
import { attachmentOperations } from './iam/attachments';
import { groupOperations } from './iam/groups';
import { inlinePolicyOperations } from './iam/inline-policies';
import { loginProfileOperations } from './iam/login-profiles';
import { permissionsBoundaryOperations } from './iam/permissions-boundaries';
import { policyOperations } from './iam/policies';
import { roleOperations } from './iam/roles';
import { simulateOperations } from './iam/simulate';
import { userOperations } from './iam/users';

/**
 * IAM over awsQuery. Global: one state per account whatever Region the request is signed for
 * (AWS signs IAM for us-east-1; the sandbox accepts any).
 */
export const iamService: RpcService = {
  kind: 'rpc',
  signingName: 'iam',
  protocol: 'query',
  xmlNamespace: 'https://iam.amazonaws.com/doc/2010-05-08/',
  global: true,
  errors: QUERY_ERRORS,
  operations: {
    ...userOperations,
    ...policyOperations,
    ...attachmentOperations,
    ...groupOperations,
    ...inlinePolicyOperations,
    ...loginProfileOperations,
    ...permissionsBoundaryOperations,
    ...accessKeyOperations,
    ...roleOperations,
    ...simulateOperations,
  },
};
