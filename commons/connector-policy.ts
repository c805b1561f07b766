/**
 * The IAM policy Microsoft documents for the Defender for Cloud Apps AWS connector
 * (reference/defender-for-cloud-apps.md §1.2). `s3:PutBucketAcl` is a write, used by the
 * "make bucket private" governance action; Microsoft includes it, so it is on by default.
 */
const READ_ACTIONS = [
  'cloudtrail:DescribeTrails',
  'cloudtrail:LookupEvents',
  'cloudtrail:GetTrailStatus',
  'cloudwatch:Describe*',
  'cloudwatch:Get*',
  'cloudwatch:List*',
  'iam:List*',
  'iam:Get*',
  's3:ListAllMyBuckets',
  's3:GetBucketAcl',
  's3:GetBucketLocation',
];

/**
 * The inline policy of the connector group that the member-role StackSet writes: an explicit Deny
 * of everything but the connector's maximal permissions (templates/member-role.yml,
 * ConnectorGroup). casbridge expects it on the group and may not change or remove it.
 */
export const CONNECTOR_CEILING_POLICY = 'casbridge-ceiling';

export interface ConnectorPolicyOptions {
  allowPutBucketAcl: boolean;
}

export function connectorPolicyDocument(options: ConnectorPolicyOptions): PolicyDocumentJson {
  const actions = options.allowPutBucketAcl ? [...READ_ACTIONS, 's3:PutBucketAcl'] : READ_ACTIONS;
  return {
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Action: [...actions].sort(), Resource: '*' }],
  };
}

export interface PolicyDocumentJson {
  Version: string;
  Statement: Record<string, unknown>[];
}

/**
 * Whether two policy documents grant the same thing, whatever their formatting: IAM returns
 * documents URL-encoded and may reorder keys; string-or-array and action order do not matter.
 */
export function samePolicy(a: string | object, b: string | object): boolean {
  return JSON.stringify(normalisePolicy(a)) === JSON.stringify(normalisePolicy(b));
}

export function normalisePolicy(document: string | object): unknown {
  const parsed = typeof document === 'string' ? JSON.parse(decodePolicyText(document)) : document;
  return canonical(parsed, '');
}

/** GetPolicyVersion's Document is RFC 3986 URL-encoded; a raw JSON document is returned as is. */
function decodePolicyText(text: string): string {
  return text.trimStart().startsWith('{') ? text : decodeURIComponent(text);
}

const LIST_KEYS = new Set(['Action', 'NotAction', 'Resource', 'NotResource']);

function canonical(value: unknown, key: string): unknown {
  if (Array.isArray(value)) {
    const items = value.map((v) => canonical(v, ''));
    return key === 'Statement' ? items.sort(byJson) : items;
  }
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) {
      const child = (value as Record<string, unknown>)[k];
      if (k === 'Sid') continue;
      out[k] = LIST_KEYS.has(k) ? [child].flat().map(String).sort() : canonical(child, k);
    }
    return out;
  }
  return value;
}

function byJson(a: unknown, b: unknown): number {
  return JSON.stringify(a).localeCompare(JSON.stringify(b));
}
