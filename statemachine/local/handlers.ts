import type { Context } from 'aws-lambda';
import { handler as access } from '../../functions/access/handler';
import { handler as accessKey } from '../../functions/access-key/handler';
import { handler as depart } from '../../functions/depart/handler';
import { handler as offboard } from '../../functions/offboard/handler';
import { handler as organizationTrail } from '../../functions/organization-trail/handler';
import { handler as policy } from '../../functions/policy/handler';
import { handler as recordResult } from '../../functions/record-result/handler';
import { handler as register } from '../../functions/register/handler';
import { handler as resolveTargets } from '../../functions/resolve-targets/handler';
import { handler as trail } from '../../functions/trail/handler';
import { handler as user } from '../../functions/user/handler';
import { handler as verify } from '../../functions/verify/handler';
import { handler as writeReport } from '../../functions/write-report/handler';

export type LambdaHandler = (event: never, context: Context) => Promise<unknown>;

/** Every Lambda function of the stack by its serverless.yml name: the state machine's Resources. */
export const FUNCTION_HANDLERS: Readonly<Record<string, LambdaHandler>> = {
  resolveTargets,
  access,
  user,
  policy,
  accessKey,
  organizationTrail,
  trail,
  register,
  verify,
  offboard,
  depart,
  recordResult,
  writeReport,
};
