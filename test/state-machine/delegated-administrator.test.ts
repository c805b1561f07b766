import { ListRootsCommand, MoveAccountCommand, OrganizationsClient } from '@aws-sdk/client-organizations';
import type { RunReport } from '../../commons/run';
import type { BusEvent } from '../../sandbox/core/event-log';
import { defaultAccountId, defaultScenario } from '../../sandbox/scenario/default-scenario';
import { busEvents } from '../../sandbox/services/organizations/membership';
import { setLambdaEnvironment } from '../support/lambda-env';
import { runStateMachine } from '../support/local-run';
import { functionRoleSettings } from '../support/product';
import { useSandbox } from '../support/sandbox';

const MANAGEMENT = '999988887777';
/** casbridge's home: a member account the management account delegated to. */
const DELEGATED = defaultAccountId(2);
const FOREIGN_USER = defaultAccountId(3);

/**
 * casbridge deployed in a delegated administrator account (README, "Delegated administrator"):
 * its stack, and the operator, in a member account; the management account's delegation policy
 * (templates/organizations-delegation.yml, as the sandbox seeds it) is all that lets it read the
 * organization, and the lifecycle events reach it forwarded from the management account's bus.
 */
describe('casbridge as a delegated administrator', () => {
  const base = defaultScenario({ accounts: 5 });
  const sandbox = useSandbox({
    scenario: { ...base, organization: { ...base.organization, casbridgeAccountId: DELEGATED } },
  });
  const worked = (report: RunReport) =>
    Object.fromEntries(
      report.accounts.map((a) => [a.accountId, a.outcome === 'SKIPPED' ? a.skipReason : a.outcome]),
    );

  /**
   * What templates/event-forwarding.yml's rule does with an event on the management account's
   * default bus: puts it on casbridge's bus unchanged (its account and Region stay the emitter's),
   * where casbridge's own rule starts the state machine with it.
   */
  const forwarded = (event: BusEvent): BusEvent => structuredClone(event);

  beforeAll(async () => {
    await setLambdaEnvironment(sandbox());
  });

  it("reads the organization with its own function role only through the management account's delegation policy", async () => {
    // Guards: a sandbox in which a member account reads the organization freely, so a delegated
    // casbridge passes tests that AWS would refuse.
    const org = sandbox().world.organization;
    const client = new OrganizationsClient({
      ...(await functionRoleSettings(sandbox(), 'resolveTargets')),
      maxAttempts: 1,
    });
    expect(sandbox().stack.accountId).toBe(DELEGATED);
    await expect(client.send(new ListRootsCommand({}))).resolves.toMatchObject({
      Roots: [{ Id: org.rootId }],
    });
    const policy = org.delegationPolicy;
    org.delegationPolicy = undefined;
    try {
      await expect(client.send(new ListRootsCommand({}))).rejects.toMatchObject({
        name: 'AccessDeniedException',
      });
    } finally {
      org.delegationPolicy = policy;
    }
  });

  it("onboards every member, its own account included, skips the management account and makes no call with the management account's credentials", async () => {
    const mark = sandbox().world.callLog.mark();
    const outcome = await runStateMachine(sandbox(), { mode: 'onboard' });
    expect(worked(outcome.report!)).toEqual({
      [MANAGEMENT]: 'management-account',
      [defaultAccountId(1)]: 'SUCCEEDED',
      [DELEGATED]: 'SUCCEEDED',
      // The default scenario's foreign user, refused by name as anywhere.
      [FOREIGN_USER]: 'FAILED',
      [defaultAccountId(4)]: 'SUCCEEDED',
      [defaultAccountId(5)]: 'SUCCEEDED',
    });
    const calls = sandbox().world.callLog.list({ sinceSeq: mark });
    expect(calls.length).toBeGreaterThan(0);
    expect(calls.filter((c) => c.account === MANAGEMENT).map((c) => `${c.service}:${c.operation}`)).toEqual(
      [],
    );
  });

  it("starts an onboard run of a moved account from the management account's event, forwarded with its envelope", async () => {
    const id = defaultAccountId(5);
    const org = sandbox().world.organization;
    const security = [...org.ous.values()].find((ou) => ou.name === 'Security')!.id;
    const from = org.accounts.get(id)!.parentId;
    const events = sandbox().world.events.mark();
    const calls = sandbox().world.callLog.mark();
    await new OrganizationsClient({
      ...sandbox().clientConfig(sandbox().managementAdmin),
      maxAttempts: 1,
    }).send(new MoveAccountCommand({ AccountId: id, SourceParentId: from, DestinationParentId: security }));
    const [event] = busEvents(sandbox().world, {
      sinceSeq: events,
      account: MANAGEMENT,
      eventName: 'MoveAccount',
    });
    expect(event).toMatchObject({ account: MANAGEMENT, region: 'us-east-1' });

    const outcome = await runStateMachine(sandbox(), forwarded(event!));

    expect(outcome.report?.trigger).toMatchObject({ type: 'organizations-event', eventName: 'MoveAccount' });
    expect(outcome.report?.accounts).toMatchObject([{ accountId: id, outcome: 'SUCCEEDED' }]);
    // The run itself called nothing as the management account: only the move was its call.
    expect(
      sandbox()
        .world.callLog.list({ sinceSeq: calls, account: MANAGEMENT })
        .map((c) => `${c.service}:${c.operation}`),
    ).toEqual(['organizations:MoveAccount']);
  });
});
