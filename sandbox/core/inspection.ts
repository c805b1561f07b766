import { FunctionRoleError, functionRoleSession } from '../services/lambda';
import { addStandaloneAccount, busEvents } from '../services/organizations/membership';
import type { CallFilter } from './call-log';
import type { EventFilter } from './event-log';
import type { World } from './world';

/**
 * The sandbox's own HTTP surface under `/_sandbox/`, for people and tests: the call log, the
 * events its buses received, a state dump, the clock, standalone accounts to invite, and faults.
 * It never shows secret values or secret access keys (but the one key of an account it creates).
 */
export async function handleInspection(
  world: World,
  method: string,
  url: URL,
  body: Buffer,
): Promise<{ status: number; body: string }> {
  const route = `${method} ${url.pathname}`;
  const ok = (value: unknown) => ({ status: 200, body: JSON.stringify(value, null, 2) });
  switch (route) {
    case 'GET /_sandbox/calls': {
      const q = url.searchParams;
      const filter: CallFilter = {};
      if (q.get('account')) filter.account = q.get('account') as string;
      if (q.get('service')) filter.service = q.get('service') as string;
      if (q.get('operation')) filter.operation = q.get('operation') as string;
      if (q.get('since')) filter.sinceSeq = Number(q.get('since'));
      return ok(world.callLog.list(filter));
    }
    case 'GET /_sandbox/events': {
      // The events EventBridge's default buses received (the lifecycle events among them).
      const q = url.searchParams;
      const filter: EventFilter = {};
      if (q.get('account')) filter.account = q.get('account') as string;
      if (q.get('source')) filter.source = q.get('source') as string;
      if (q.get('eventName')) filter.eventName = q.get('eventName') as string;
      if (q.get('since')) filter.sinceSeq = Number(q.get('since'));
      return ok(busEvents(world, filter));
    }
    case 'POST /_sandbox/accounts': {
      // Sandbox only: an AWS account outside the organization, to invite. Its administrator's
      // key is returned once, as a person signing up for an account would get one.
      const request = JSON.parse(body.toString('utf8') || '{}') as {
        id?: unknown;
        name?: unknown;
        email?: unknown;
      };
      const id = String(request.id ?? '');
      try {
        return ok(
          addStandaloneAccount(world, {
            id,
            name: String(request.name ?? `standalone-${id}`),
            email: String(request.email ?? `aws+standalone-${id}@example.com`),
          }),
        );
      } catch (error) {
        return { status: 400, body: JSON.stringify({ message: (error as Error).message }) };
      }
    }
    case 'GET /_sandbox/state':
      return ok(dumpState(world, url.searchParams.get('account') ?? undefined));
    case 'POST /_sandbox/clock/advance': {
      const { ms } = JSON.parse(body.toString('utf8') || '{}') as { ms?: number };
      world.clock.advance(Number(ms ?? 0));
      return ok({ now: world.clock.now().toISOString() });
    }
    case 'POST /_sandbox/lambda/credentials': {
      // Sandbox only: what the Lambda service does for a deployed function, for a local run in
      // another process (`casbridge run --local`, the benchmark) to run each function as its role.
      const { functionName } = JSON.parse(body.toString('utf8') || '{}') as { functionName?: unknown };
      try {
        const session = await functionRoleSession(world, String(functionName));
        return ok({
          AccessKeyId: session.accessKeyId,
          SecretAccessKey: session.secretAccessKey,
          SessionToken: session.sessionToken,
          ExpiresInSeconds: Math.floor(((session.expiresAtMs ?? 0) - world.clock.nowMs()) / 1000),
        });
      } catch (error) {
        if (!(error instanceof FunctionRoleError)) throw error;
        return { status: 400, body: JSON.stringify({ message: error.message }) };
      }
    }
    default:
      return { status: 404, body: JSON.stringify({ message: `No sandbox route ${route}` }) };
  }
}

/** A JSON-safe picture of the world, secrets redacted; one account's when `accountId` is given. */
export function dumpState(world: World, accountId?: string): unknown {
  const accounts = [...world.accounts.values()].filter((a) => accountId === undefined || a.id === accountId);
  return plain({
    organization: accountId ? undefined : world.organization,
    accounts: Object.fromEntries(accounts.map((a) => [a.id, a])),
    buckets: [...world.buckets.values()].filter(
      (b) => accountId === undefined || b.ownerAccountId === accountId,
    ),
    faults: accountId ? world.faults.byAccount.get(accountId) : Object.fromEntries(world.faults.byAccount),
  });
}

const REDACTED_KEYS = new Set(['secretString', 'secretBinary', 'secretAccessKey', 'sessionToken']);

function plain(value: unknown): unknown {
  if (value instanceof Map) return Object.fromEntries([...value].map(([k, v]) => [String(k), plain(v)]));
  if (value instanceof Set) return [...value].map(plain);
  if (value instanceof Date) return value.toISOString();
  if (Buffer.isBuffer(value)) return `<${value.length} bytes>`;
  if (Array.isArray(value)) return value.map(plain);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(value)) {
      if (child === undefined) continue;
      out[key] = REDACTED_KEYS.has(key) ? '<redacted>' : plain(child);
    }
    return out;
  }
  return value;
}
