import { connectorLiveness } from '../../commons/connector-liveness';
import type { LedgerView } from '../../commons/ledger';

const DAY = 86_400_000;
const NOW = Date.parse('2026-12-20T12:00:00.000Z');
const KEY = 'AKIAEXAMPLEKEY000001';
const at = (daysAgo: number) => new Date(NOW - daysAgo * DAY).toISOString();
const CONFIG = { connectorStaleDays: 7 };
const connected: LedgerView = {
  connector: 'CONNECTED',
  accessKeyId: KEY,
  handoffAccessKeyId: KEY,
  handoffAt: at(40),
  connectedAt: at(39),
};

describe('connector liveness', () => {
  it('is live within connectorStaleDays of the last use, and stale with a notice due after them', () => {
    expect(connectorLiveness(connected, { accessKeyId: KEY, lastUsedAt: at(6) }, CONFIG, NOW)).toMatchObject({
      stale: false,
      noticeDue: false,
      idleDays: 6,
    });
    expect(connectorLiveness(connected, { accessKeyId: KEY, lastUsedAt: at(8) }, CONFIG, NOW)).toMatchObject({
      stale: true,
      noticeDue: true,
      idleDays: 8,
      failsIam22At: new Date(NOW - 8 * DAY + 45 * DAY).toISOString(),
    });
  });

  it('repeats the notice once per stale period while quiet, and anew after the key was used again', () => {
    const told = (daysAgo: number): LedgerView => ({
      ...connected,
      connector: 'STALE',
      staleNoticeAt: at(daysAgo),
      staleNoticeAccessKeyId: KEY,
    });
    const quiet = { accessKeyId: KEY, lastUsedAt: at(14) };
    expect(connectorLiveness(told(6), quiet, CONFIG, NOW)?.noticeDue).toBe(false);
    expect(connectorLiveness(told(7), quiet, CONFIG, NOW)?.noticeDue).toBe(true);
    // Told 10 days ago, used 9 days ago, quiet since: a new spell, a new notice.
    expect(connectorLiveness(told(10), { accessKeyId: KEY, lastUsedAt: at(9) }, CONFIG, NOW)?.noticeDue).toBe(
      true,
    );
  });

  it('counts a confirmation after the hand-off as activity, and the connection when IAM shows no use', () => {
    const confirmed = { ...connected, confirmedAt: at(2) };
    expect(connectorLiveness(confirmed, { accessKeyId: KEY }, CONFIG, NOW)).toMatchObject({
      stale: false,
      idleDays: 2,
    });
    // A confirmation older than the hand-off was for an earlier key.
    expect(
      connectorLiveness({ ...connected, confirmedAt: at(41) }, { accessKeyId: KEY }, CONFIG, NOW),
    ).toMatchObject({ stale: true, idleDays: 39 });
  });

  it('says nothing of an account not connected with the observed key', () => {
    const use = { accessKeyId: KEY, lastUsedAt: at(30) };
    for (const view of [
      { ...connected, connector: 'AWAITING_CONNECTION' as const },
      { ...connected, connector: 'OFFBOARDED' as const },
      { ...connected, handoffAccessKeyId: 'AKIAEXAMPLEKEY000002' },
    ])
      expect(connectorLiveness(view, use, CONFIG, NOW)).toBeUndefined();
    expect(connectorLiveness(connected, undefined, CONFIG, NOW)).toBeUndefined();
  });
});
