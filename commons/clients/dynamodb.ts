import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { clientConfig } from '../aws-clients';
import { Ledger } from '../ledger';
import { perRuntime } from '../runtime';

/** The ledger table, the only DynamoDB table casbridge uses. */
export const ledger = perRuntime(
  ({ config, settings, now }) =>
    // The document client wraps the middleware stack and refuses a cached one.
    new Ledger(
      DynamoDBDocumentClient.from(new DynamoDBClient(clientConfig(settings))),
      config.ledgerTable,
      now,
    ),
);
