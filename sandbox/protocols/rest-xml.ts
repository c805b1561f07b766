import { XMLBuilder, XMLParser } from 'fast-xml-parser';
import type { AwsError } from '../core/aws-error';
import type { RestResponse } from '../core/service';
import { escapeXml } from './query';

/**
 * The restXml protocol (S3): the operation is the method, path and sub-resource query; payloads
 * are XML documents whose root carries the service namespace, lists are flattened (a repeated
 * element per item), dates are ISO-8601 in bodies and HTTP-dates in headers, and errors are a bare
 * `<Error><Code>` document (no `ErrorResponse` wrapper).
 */
export type XmlValue = string | number | boolean | Date | XmlNode | XmlValue[] | undefined;
export interface XmlNode {
  [element: string]: XmlValue;
}

const builder = new XMLBuilder({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  suppressEmptyNode: false,
});
const parser = new XMLParser({
  ignoreAttributes: true,
  removeNSPrefix: true,
  ignoreDeclaration: true,
  parseTagValue: false,
  trimValues: true,
  processEntities: true,
});

/** Renders a document whose root is in `namespace`; arrays repeat their element; text is escaped. */
export function encodeXmlDocument(root: string, body: XmlNode, namespace: string): string {
  const tree = { [root]: { '@_xmlns': namespace, ...(prepare(body) as Record<string, unknown>) } };
  return `<?xml version="1.0" encoding="UTF-8"?>\n${builder.build(tree) as string}`;
}

/** A root element holding only text, as GetBucketLocation answers. */
export function encodeXmlText(root: string, text: string, namespace: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${root} xmlns="${namespace}">${escapeXml(text)}</${root}>`;
}

function prepare(value: XmlValue): unknown {
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(prepare);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(value)) {
      if (child !== undefined) out[key] = prepare(child);
    }
    return out;
  }
  return value;
}

/** Parses a request payload; every leaf is a string, namespaces are dropped. Undefined if malformed. */
export function decodeXmlDocument(body: Buffer | string): Record<string, unknown> | undefined {
  const text = body.toString();
  if (text.trim() === '') return {};
  try {
    return parser.parse(text, true) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

export function encodeRestXmlError(
  error: Pick<AwsError, 'code' | 'message' | 'status' | 'fields'>,
  requestId: string,
): RestResponse {
  const extra = Object.entries(error.fields)
    .map(([name, value]) => `<${name}>${escapeXml(value)}</${name}>`)
    .join('');
  return {
    status: error.status,
    headers: { 'content-type': 'application/xml' },
    body: `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${escapeXml(error.code)}</Code><Message>${escapeXml(error.message)}</Message>${extra}<RequestId>${requestId}</RequestId><HostId>${Buffer.from(requestId).toString('base64')}</HostId></Error>`,
  };
}

/** RFC 7231 date, as S3 sends `Last-Modified`. */
export function httpDate(date: Date): string {
  return date.toUTCString();
}

/**
 * Decodes an `aws-chunked` body: `<hex size>[;chunk-signature=…]\r\n<data>\r\n` repeated, a
 * zero-size chunk, then trailer headers (`x-amz-checksum-crc32:…`). The SDK v3 sends uploads of
 * streams this way by default (STREAMING-UNSIGNED-PAYLOAD-TRAILER), with the checksum as a
 * trailer. Returns the payload and the trailers, or undefined when the framing is broken.
 */
export function decodeAwsChunked(
  body: Buffer,
): { payload: Buffer; trailers: Record<string, string> } | undefined {
  const parts: Buffer[] = [];
  let offset = 0;
  for (;;) {
    const lineEnd = body.indexOf('\r\n', offset);
    if (lineEnd < 0) return undefined;
    const sizeText = body.subarray(offset, lineEnd).toString('latin1').split(';')[0]?.trim() ?? '';
    if (!/^[0-9a-fA-F]+$/.test(sizeText)) return undefined;
    const size = Number.parseInt(sizeText, 16);
    offset = lineEnd + 2;
    if (size === 0) break;
    if (offset + size > body.length) return undefined;
    parts.push(body.subarray(offset, offset + size));
    offset += size;
    if (body.subarray(offset, offset + 2).toString('latin1') !== '\r\n') return undefined;
    offset += 2;
  }
  const trailers: Record<string, string> = {};
  for (const line of body.subarray(offset).toString('latin1').split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) trailers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { payload: Buffer.concat(parts), trailers };
}
