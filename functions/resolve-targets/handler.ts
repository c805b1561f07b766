import { centralCloudTrailClient } from '../../commons/clients/cloudtrail';
import { ledger } from '../../commons/clients/dynamodb';
import { organizationsClient } from '../../commons/clients/organizations';
import { s3Client } from '../../commons/clients/s3';
import { logger } from '../../commons/logger';
import { lambdaHandler } from '../../commons/step-handler';
import { resolveTargets } from './resolve-targets';

/**
 * Lambda, the state machine's first state: any trigger (run input, Organizations or Control
 * Tower event) in, with the execution's id and start time, the run out. Its input is not a
 * per-account TaskInput, so it goes as it is to the domain function, which parses it before any
 * call; log lines carry the run id once known.
 */
export const handler = lambdaHandler(
  'resolve',
  (event) => event,
  () => ({}),
  async ({ input, runtime }) => {
    const resolved = await resolveTargets(
      {
        organizations: organizationsClient(runtime),
        s3: s3Client(runtime),
        ledger: ledger(runtime),
        cloudtrail: centralCloudTrailClient(runtime),
        config: runtime.config,
        now: () => new Date(runtime.now()),
      },
      input,
    );
    logger.appendKeys({ runId: resolved.run.runId, dryRun: resolved.run.dryRun });
    logger.info('run resolved', {
      mode: resolved.run.mode,
      trigger: resolved.run.trigger.type,
      targets: resolved.targets.count,
      skipped: resolved.skipped.count,
    });
    return resolved;
  },
);
