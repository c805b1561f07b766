import { stepHandler } from '../../commons/step-handler';

/** Lambda: reach the member account through its role (the credentials stay in this process). */
export const handler = stepHandler(
  'access',
  async ({ input, runtime }) => (await runtime.access(input.account, input.runId)).result,
);
