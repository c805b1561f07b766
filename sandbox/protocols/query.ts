import type { AwsError } from '../core/aws-error';

/**
 * The awsQuery protocol (STS, IAM, SNS): form-encoded requests, XML responses wrapped in
 * `<OpResponse><OpResult>`, lists as `<member>` elements, errors in `<ErrorResponse>` with the
 * wire code the SDK maps to its exception class.
 */
export function decodeQueryRequest(body: string): { operation: string; input: Record<string, unknown> } {
  const params = new URLSearchParams(body);
  const operation = params.get('Action') ?? '';
  const tree: Record<string, unknown> = {};
  for (const [key, value] of params) {
    if (key === 'Action' || key === 'Version') continue;
    setPath(tree, key.split('.'), value);
  }
  return { operation, input: listify(tree) as Record<string, unknown> };
}

function setPath(node: Record<string, unknown>, parts: string[], value: string): void {
  let current = node;
  for (let i = 0; i < parts.length - 1; i++) {
    const part = parts[i] as string;
    let next = current[part];
    if (typeof next !== 'object' || next === null) {
      next = {};
      current[part] = next;
    }
    current = next as Record<string, unknown>;
  }
  current[parts[parts.length - 1] as string] = value;
}

/** `{member: {1: a, 2: b}}` and `{1: a, 2: b}` become `[a, b]`; `entry` maps become lists of entries. */
function listify(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record);
  if (keys.length === 1 && (keys[0] === 'member' || keys[0] === 'entry')) return listify(record[keys[0]]);
  if (keys.length > 0 && keys.every((k) => /^\d+$/.test(k))) {
    return keys
      .map(Number)
      .sort((a, b) => a - b)
      .map((k) => listify(record[String(k)]));
  }
  const out: Record<string, unknown> = {};
  for (const key of keys) out[key] = listify(record[key]);
  return out;
}

export function encodeQueryResponse(
  operation: string,
  namespace: string,
  requestId: string,
  result: unknown,
): string {
  const resultXml =
    result === undefined || result === null
      ? ''
      : `<${operation}Result>${toXml(result)}</${operation}Result>`;
  return `<${operation}Response xmlns="${namespace}">${resultXml}<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></${operation}Response>`;
}

export function encodeQueryError(error: AwsError, namespace: string, requestId: string): string {
  return `<ErrorResponse xmlns="${namespace}"><Error><Type>${error.fault}</Type><Code>${escapeXml(error.code)}</Code><Message>${escapeXml(error.message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`;
}

/**
 * A map member of a response. awsQuery renders maps unlike structures, as
 * `<entry><key>…</key><value>…</value></entry>`, and the SDK reads a map only in that shape.
 */
export class QueryMap {
  constructor(readonly entries: Readonly<Record<string, unknown>>) {}
}

/** Marks a record as a map member (SNS `Attributes`), not a structure. */
export function queryMap(entries: Readonly<Record<string, unknown>>): QueryMap {
  return new QueryMap(entries);
}

/** Serialises a handler's result: arrays as `<member>` lists, dates as ISO-8601, booleans as text. */
export function toXml(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (value instanceof Date) return value.toISOString();
  if (value instanceof QueryMap) {
    return Object.entries(value.entries)
      .filter(([, child]) => child !== undefined && child !== null)
      .map(([key, child]) => `<entry><key>${escapeXml(key)}</key><value>${toXml(child)}</value></entry>`)
      .join('');
  }
  if (Array.isArray(value)) return value.map((item) => `<member>${toXml(item)}</member>`).join('');
  if (typeof value === 'object') {
    let out = '';
    for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
      if (child === undefined || child === null) continue;
      out += `<${key}>${toXml(child)}</${key}>`;
    }
    return out;
  }
  return escapeXml(String(value));
}

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => XML_ENTITIES[c] as string);
}

const XML_ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
};
