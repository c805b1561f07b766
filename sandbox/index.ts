import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import type { StackResources } from '../commons/stack-resources';
import { writeGrantUsage } from './core/grant-usage';
import { DEFAULT_PERFORMANCE_MODEL, type PerformanceModel } from './core/performance-model';
import { SandboxServer } from './core/server';
import type { World } from './core/world';
import { defaultScenario } from './scenario/default-scenario';
import { parseScenario, type Scenario, type ScenarioInput } from './scenario/scenario';
import { seedWorld } from './scenario/seed';
import {
  deployedStack,
  deployStackRoles,
  type StackDeployment,
  type StackParameters,
  stackDeployment,
} from './scenario/stack-deployment';
import { stackEnvironment } from './scenario/stack-environment';
import { SERVICES } from './services';
import { useDynalite } from './services/dynamodb';

export interface SandboxOptions {
  /** Port on 127.0.0.1; 0 (default) picks a free one. */
  port?: number;
  /** The organization to seed; by default the default scenario with `accounts` accounts. */
  scenario?: ScenarioInput;
  accounts?: number;
  /** Latency and rate limits (the benchmark's); off by default. `true` takes the defaults. */
  performanceModel?: PerformanceModel | boolean;
  /** Delay before a new IAM access key works. Default 0. */
  keyPropagationMs?: number;
  /**
   * The casbridge stack's parameters beyond serverless.yml's defaults (`webhookUrl`,
   * `webhookSecretArn`, `fallbackRoleName`, …): its function roles are resolved with them.
   */
  stackParameters?: StackParameters;
}

export interface SandboxCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface Sandbox {
  readonly endpoint: string;
  readonly port: number;
  readonly region: string;
  readonly world: World;
  readonly scenario: Scenario;
  /**
   * The administrator (an IAM user with AdministratorAccess) of the account casbridge runs in: the
   * management account's by default.
   */
  readonly admin: SandboxCredentials & { arn: string };
  /**
   * The management account's administrator: `admin` itself, unless the scenario places casbridge
   * in a delegated administrator account (`organization.casbridgeAccountId`).
   */
  readonly managementAdmin: SandboxCredentials & { arn: string };
  /** What a deployed casbridge stack would have created in the management account. */
  readonly stack: StackResources;
  /** The stack's parameters, functions and roles as deployed now (see deployStack). */
  readonly deployment: StackDeployment;
  /**
   * Updates the stack with new parameters (as `osls deploy --param=…` would): its roles are
   * resolved again and changed in place. Returns the functions' environment for them.
   */
  deployStack(parameters: StackParameters): Record<string, string>;
  readonly server: SandboxServer;
  /** Client configuration for any AWS SDK v3 client, as the given caller (default: the administrator). */
  clientConfig(credentials?: SandboxCredentials): {
    endpoint: string;
    region: string;
    credentials: SandboxCredentials;
    forcePathStyle: true;
  };
  close(): Promise<void>;
}

const PROJECT_ROOT = path.resolve(__dirname, '..');
const SERVERLESS_PATH = path.join(PROJECT_ROOT, 'serverless.yml');

/** Starts a sandbox: seeds the world, starts dynalite behind the DynamoDB front, listens on loopback. */
export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const scenario = parseScenario(options.scenario ?? defaultScenario({ accounts: options.accounts ?? 40 }));
  const seeded = seedWorld(scenario, {
    keyPropagationMs: options.keyPropagationMs ?? 0,
    templateRoot: PROJECT_ROOT,
    ...(options.stackParameters ? { stackParameters: options.stackParameters } : {}),
  });
  const { world } = seeded;
  if (options.performanceModel) {
    world.faults.setModel(
      options.performanceModel === true ? DEFAULT_PERFORMANCE_MODEL : options.performanceModel,
    );
  }
  const dynamo = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve) => dynamo.listen(0, '127.0.0.1', () => resolve()));
  world.settings.dynamodbEndpoint = `http://127.0.0.1:${(dynamo.address() as AddressInfo).port}`;
  useDynalite(world, dynamo);
  await createLedgerTable(world.settings.dynamodbEndpoint, seeded.stack.ledgerTable);

  const server = new SandboxServer(world, SERVICES);
  const port = await server.listen(options.port ?? 0);
  const endpoint = `http://127.0.0.1:${port}`;
  const region = scenario.region;
  return {
    endpoint,
    port,
    region,
    world,
    scenario,
    admin: seeded.admin,
    managementAdmin: seeded.managementAdmin,
    stack: seeded.stack,
    get deployment() {
      return deployedStack(world);
    },
    deployStack: (parameters) => {
      deployStackRoles(
        world,
        seeded.stack,
        stackDeployment(seeded.stack, world.organization.id, parameters, SERVERLESS_PATH),
      );
      return stackEnvironment(seeded.stack, parameters);
    },
    server,
    clientConfig: (credentials = seeded.admin) => sandboxClientConfig(endpoint, region, credentials),
    close: async () => {
      writeGrantUsage(world);
      await server.close();
      await new Promise<void>((resolve) => dynamo.close(() => resolve()));
    },
  };
}

/** AWS SDK v3 client configuration for a sandbox at `endpoint`, as the given caller. */
export function sandboxClientConfig(endpoint: string, region: string, credentials: SandboxCredentials) {
  return {
    endpoint,
    region,
    credentials: {
      accessKeyId: credentials.accessKeyId,
      secretAccessKey: credentials.secretAccessKey,
      ...(credentials.sessionToken ? { sessionToken: credentials.sessionToken } : {}),
    },
    forcePathStyle: true as const,
  };
}

/** The ledger table as the stack defines it: one item per account, keyed by account id. */
async function createLedgerTable(endpoint: string, tableName: string): Promise<void> {
  const client = new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'dynalite', secretAccessKey: 'dynalite' },
  });
  await client.send(
    new CreateTableCommand({
      TableName: tableName,
      AttributeDefinitions: [{ AttributeName: 'accountId', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'accountId', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  client.destroy();
}
