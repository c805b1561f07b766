import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { Ledger } from '../../commons/ledger';
import type { Sandbox } from '../../sandbox';

/**
 * The ledger as the operator's commands read it (`casbridge status`: the sandbox's default
 * credentials), timed by the world's clock as the functions' ledger is.
 */
export function operatorLedger(sandbox: Sandbox): Ledger {
  return new Ledger(
    DynamoDBDocumentClient.from(new DynamoDBClient(sandbox.clientConfig())),
    sandbox.stack.ledgerTable,
    () => sandbox.world.clock.nowMs(),
  );
}
