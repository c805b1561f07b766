import type { AwsError } from './aws-error';

/**
 * One page of a listing. The token is opaque to callers, as AWS's are; it is emitted only when more
 * items follow, because the SDK paginators stop on a missing token.
 */
export function paginate<T>(
  items: readonly T[],
  maxResults: number,
  nextToken: unknown,
  invalidToken: () => AwsError,
): { page: T[]; nextToken?: string } {
  const start = nextToken === undefined || nextToken === '' ? 0 : decodeOffset(nextToken);
  if (start === undefined || start > items.length) throw invalidToken();
  const end = start + maxResults;
  const page = items.slice(start, end);
  return end < items.length ? { page, nextToken: encodeOffset(end) } : { page };
}

function encodeOffset(offset: number): string {
  return Buffer.from(JSON.stringify({ offset }), 'utf8').toString('base64');
}

function decodeOffset(token: unknown): number | undefined {
  if (typeof token !== 'string') return undefined;
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64').toString('utf8')) as { offset?: unknown };
    return Number.isInteger(parsed.offset) && (parsed.offset as number) >= 0
      ? (parsed.offset as number)
      : undefined;
  } catch {
    return undefined;
  }
}
