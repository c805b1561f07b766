import { Logger } from '@aws-lambda-powertools/logger';

/**
 * The one logger: structured JSON lines (Powertools), each carrying the run id, account id and
 * step once a handler has appended them. Never given a secret: steps log actions and ids only.
 */
export const logger = new Logger({ serviceName: 'casbridge' });
