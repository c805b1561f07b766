import {
  adaptForLocalRun,
  DISTRIBUTED_MAP_TASK_TIMEOUT_SECONDS,
  distributedMapStates,
  LOAD_TARGETS_STATE,
  resolveForLocalRun,
} from '../../statemachine/local/adapt-definition';
import { loadDefinition, type State } from '../../statemachine/local/definition';

describe('the local adaptation of the state machine', () => {
  const deployed = loadDefinition();
  const place = { region: 'us-east-1', accountId: '999988887777' };
  const local = adaptForLocalRun(deployed, { ...place, distributedMap: 'inline' });
  const map = local.States.ProcessAccounts as State;

  it('inline: turns the Distributed Map into an inline Map over items an inserted task reads from S3', () => {
    // The state before the map (EnsureOrganizationTrail) now leads to the inserted loader.
    expect(local.States.EnsureOrganizationTrail?.Next).toBe(LOAD_TARGETS_STATE);
    expect(local.States[LOAD_TARGETS_STATE]).toMatchObject({
      Type: 'Task',
      ResultPath: '$.items',
      Next: 'ProcessAccounts',
    });
    expect(map).toMatchObject({
      ItemsPath: '$.items',
      ItemProcessor: { ProcessorConfig: { Mode: 'INLINE' } },
    });
    for (const field of ['ItemReader', 'ResultWriter', 'ToleratedFailurePercentage', 'Label'])
      expect(map).not.toHaveProperty(field);
  });

  it('inline: keeps every state, retrier, catcher, timeout and concurrency of the deployed definition', () => {
    const deployedMap = deployed.States.ProcessAccounts as State;
    expect(Object.keys((map.ItemProcessor as { States: object }).States)).toEqual(
      Object.keys((deployedMap.ItemProcessor as { States: object }).States),
    );
    expect(map.MaxConcurrencyPath).toBe(deployedMap.MaxConcurrencyPath);
    const strip = (s: State) => JSON.stringify({ ...s, Resource: undefined });
    const localTasks = (map.ItemProcessor as { States: Record<string, State> }).States;
    for (const [name, state] of Object.entries(
      (deployedMap.ItemProcessor as { States: Record<string, State> }).States,
    )) {
      expect(strip(localTasks[name] as State)).toBe(strip(state));
    }
  });

  it("native: puts a Task with the map's data flow in the map's place, for the Distributed Map driver", () => {
    const native = adaptForLocalRun(deployed, place);
    const deployedMap = deployed.States.ProcessAccounts as State;

    expect(native.States.ProcessAccounts).toEqual({
      Type: 'Task',
      Resource: 'arn:aws:states:us-east-1:999988887777:map:ProcessAccounts',
      TimeoutSeconds: DISTRIBUTED_MAP_TASK_TIMEOUT_SECONDS,
      ResultPath: deployedMap.ResultPath,
      Next: deployedMap.Next,
    });
    expect(native.States).not.toHaveProperty(LOAD_TARGETS_STATE);
    // The driver reads the map as deployed, its pseudo parameters and Task resources resolved.
    const driven = distributedMapStates(resolveForLocalRun(deployed, place)).get('ProcessAccounts');
    expect(driven).toMatchObject({
      Label: 'Accounts',
      ItemReader: { Resource: 'arn:aws:states:::s3:getObject', ReaderConfig: { InputType: 'JSON' } },
      ResultWriter: { Resource: 'arn:aws:states:::s3:putObject' },
      ToleratedFailurePercentage: 100,
    });
    // A native map's timer never fires: it waits at most 2^31 - 1 ms.
    expect(DISTRIBUTED_MAP_TASK_TIMEOUT_SECONDS * 1000).toBeLessThan(2 ** 31);
  });

  it('leaves the deployed definition untouched', () => {
    adaptForLocalRun(deployed, place);
    expect((deployed.States.ProcessAccounts as State).ItemReader).toBeDefined();
    expect(deployed.States.EnsureOrganizationTrail?.Next).toBe('ProcessAccounts');
    expect(deployed.States.ProcessAccounts?.Type).toBe('Map');
  });

  it('builds every ARN in the partition of the Region it runs in', () => {
    const gov = adaptForLocalRun(deployed, {
      region: 'us-gov-west-1',
      accountId: '999988887777',
      distributedMap: 'inline',
    });
    const text = JSON.stringify(gov);
    expect(text).not.toContain('arn:aws:');
    expect(text).not.toContain('#{');
    expect(gov.States[LOAD_TARGETS_STATE]?.Resource).toBe(
      'arn:aws-us-gov:lambda:us-gov-west-1:999988887777:function:casbridge-local-load-targets',
    );
    const native = JSON.stringify(
      resolveForLocalRun(deployed, { region: 'us-gov-west-1', accountId: '999988887777' }),
    );
    expect(native).not.toContain('arn:aws:');
    expect(native).toContain('"arn:aws-us-gov:states:::s3:getObject"');
  });
});
