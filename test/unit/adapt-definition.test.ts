import { adaptForLocalRun, LOAD_TARGETS_STATE } from '../../statemachine/local/adapt-definition';
import { loadDefinition, type State } from '../../statemachine/local/definition';

describe('the local adaptation of the state machine', () => {
  const deployed = loadDefinition();
  const local = adaptForLocalRun(deployed, { region: 'us-east-1', accountId: '999988887777' });
  const map = local.States.ProcessAccounts as State;

  it('turns the Distributed Map into an inline Map over items an inserted task reads from S3', () => {
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

  it('keeps every state, retrier, catcher, timeout and concurrency of the deployed definition', () => {
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

  it('leaves the deployed definition untouched', () => {
    expect((deployed.States.ProcessAccounts as State).ItemReader).toBeDefined();
    expect(deployed.States.EnsureOrganizationTrail?.Next).toBe('ProcessAccounts');
  });

  it('builds every ARN in the partition of the Region it runs in', () => {
    const gov = adaptForLocalRun(deployed, { region: 'us-gov-west-1', accountId: '999988887777' });
    const text = JSON.stringify(gov);
    expect(text).not.toContain('arn:aws:');
    expect(text).not.toContain('#{');
    expect(gov.States[LOAD_TARGETS_STATE]?.Resource).toBe(
      'arn:aws-us-gov:lambda:us-gov-west-1:999988887777:function:casbridge-local-load-targets',
    );
  });
});
