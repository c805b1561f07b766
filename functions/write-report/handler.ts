import { Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { ledger } from '../../commons/clients/dynamodb';
import { s3Client } from '../../commons/clients/s3';
import { snsClient } from '../../commons/clients/sns';
import { logger } from '../../commons/logger';
import { lambdaHandler } from '../../commons/step-handler';
import { parseWriteReportInput, writeReport } from './write-report';

/** The run's metrics (EMF in the function's log), flushed after every invocation, failed or not. */
const metrics = new Metrics({ namespace: 'casbridge', serviceName: 'casbridge' });

/**
 * Lambda, the state machine's last state: the run's report to S3, its summary to the topic, its
 * metrics to CloudWatch; fails with AccountsFailed, after all that, when any account of a real
 * run failed (a dry run's predicted failures do not fail it).
 */
export const handler = lambdaHandler(
  'report',
  parseWriteReportInput,
  (input) => ({ runId: input.run.runId, dryRun: input.run.dryRun }),
  async ({ input, runtime }) => {
    const output = await writeReport(
      {
        s3: s3Client(runtime),
        sns: snsClient(runtime),
        ledger: ledger(runtime),
        config: runtime.config,
        metrics,
      },
      input,
    );
    logger.info('report written', { reportKey: output.reportKey, ...output.summary.byOutcome });
    return output;
  },
).use(logMetrics(metrics));
