import { readFileSync } from 'node:fs';
import { inflateRawSync } from 'node:zlib';
import { partitionOf } from '../../commons/partition';

/**
 * Just enough of CloudFormation to read the packaged template as AWS would deploy it: intrinsic
 * functions resolved for one account, Region and set of conditions, so tests compare names and
 * policies as strings rather than as nests of Fn::Sub.
 */
export interface Template {
  Resources: Record<string, Resource>;
  Conditions?: Record<string, unknown>;
  Outputs?: Record<string, { Value: unknown }>;
}

export interface Resource {
  Type: string;
  Condition?: string;
  Properties: Record<string, unknown>;
  DependsOn?: string[];
}

export interface Statement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Principal?: unknown;
  Action: string | string[];
  Resource: string | string[];
  Condition?: Record<string, Record<string, unknown>>;
}

/** Removed from its object or list, as AWS::NoValue is. */
const NO_VALUE = Symbol('AWS::NoValue');

export class Resolver {
  constructor(
    private readonly template: Template,
    readonly accountId: string,
    readonly region: string,
    /** The id AWS would give the KMS key. */
    private readonly keyId = '00000000-0000-4000-8000-000000000000',
  ) {}

  /** The value with every intrinsic function resolved. */
  resolve<T = unknown>(value: unknown): T {
    return this.walk(value) as T;
  }

  /** Whether a template condition holds. */
  condition(name: string): boolean {
    const body = this.template.Conditions?.[name];
    if (body === undefined) throw new Error(`no condition ${name}`);
    return this.evaluate(body);
  }

  private evaluate(body: unknown): boolean {
    const fn = body as Record<string, unknown[]>;
    if (fn['Fn::Equals']) {
      const [a, b] = fn['Fn::Equals'].map((v) => this.walk(v));
      return a === b;
    }
    if (fn['Fn::Not']) return !this.evaluate(fn['Fn::Not'][0]);
    if (fn['Fn::And']) return fn['Fn::And'].every((c) => this.evaluate(c));
    if (fn['Fn::Or']) return fn['Fn::Or'].some((c) => this.evaluate(c));
    if ((body as { Condition?: string }).Condition)
      return this.condition((body as { Condition: string }).Condition);
    throw new Error(`unsupported condition ${JSON.stringify(body)}`);
  }

  private walk(value: unknown): unknown {
    if (Array.isArray(value)) return value.map((v) => this.walk(v)).filter((v) => v !== NO_VALUE);
    if (value === null || typeof value !== 'object') return value;
    const obj = value as Record<string, unknown>;
    const keys = Object.keys(obj);
    if (keys.length === 1) {
      const [key] = keys as [string];
      const arg = obj[key];
      switch (key) {
        case 'Ref':
          return this.ref(arg as string);
        case 'Fn::GetAtt':
          return this.getAtt(...(arg as [string, string]));
        case 'Fn::Sub':
          return this.sub(arg as string | [string, Record<string, unknown>]);
        case 'Fn::Join': {
          const [sep, parts] = arg as [string, unknown[]];
          return (this.walk(parts) as string[]).join(sep);
        }
        case 'Fn::If': {
          const [cond, yes, no] = arg as [string, unknown, unknown];
          return this.walk(this.condition(cond) ? yes : no);
        }
      }
    }
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(obj)) {
      const resolved = this.walk(v);
      if (resolved !== NO_VALUE) out[k] = resolved;
    }
    return out;
  }

  private sub(arg: string | [string, Record<string, unknown>]): string {
    const [text, vars] = typeof arg === 'string' ? [arg, {}] : arg;
    return text.replace(/\$\{(!?)([^}]+)\}/g, (_, literal: string, name: string) => {
      // `${!x}` is Fn::Sub's escape for a literal `${x}` (an IAM policy variable, say).
      if (literal) return `\${${name}}`;
      if (name in vars) return String(this.walk(vars[name]));
      const [logicalId, attribute] = name.split('.');
      return String(attribute ? this.getAtt(logicalId as string, attribute) : this.ref(name));
    });
  }

  private ref(name: string): unknown {
    switch (name) {
      case 'AWS::NoValue':
        return NO_VALUE;
      case 'AWS::AccountId':
        return this.accountId;
      case 'AWS::Region':
        return this.region;
      case 'AWS::Partition':
        return partitionOf(this.region);
    }
    const resource = this.resource(name);
    const p = resource.Properties;
    switch (resource.Type) {
      case 'AWS::S3::Bucket':
        return this.walk(p.BucketName);
      case 'AWS::DynamoDB::Table':
        return this.walk(p.TableName);
      case 'AWS::SNS::Topic':
        return `arn:${partitionOf(this.region)}:sns:${this.region}:${this.accountId}:${this.walk(p.TopicName)}`;
      case 'AWS::Lambda::Function':
        return this.walk(p.FunctionName);
      case 'AWS::IAM::Role':
        return this.walk(p.RoleName);
      case 'AWS::KMS::Key':
        return this.keyId;
      case 'AWS::StepFunctions::StateMachine':
        return `arn:${partitionOf(this.region)}:states:${this.region}:${this.accountId}:stateMachine:${this.walk(p.StateMachineName)}`;
      case 'AWS::SQS::Queue':
        return `https://sqs.${this.region}.amazonaws.com/${this.accountId}/${this.walk(p.QueueName)}`;
    }
    throw new Error(`Ref ${name} (${resource.Type}) is not modelled`);
  }

  private getAtt(name: string, attribute: string): unknown {
    if (attribute !== 'Arn') throw new Error(`Fn::GetAtt ${name}.${attribute} is not modelled`);
    const resource = this.resource(name);
    const p = resource.Properties;
    switch (resource.Type) {
      case 'AWS::S3::Bucket':
        return `arn:${partitionOf(this.region)}:s3:::${this.walk(p.BucketName)}`;
      case 'AWS::DynamoDB::Table':
        return `arn:${partitionOf(this.region)}:dynamodb:${this.region}:${this.accountId}:table/${this.walk(p.TableName)}`;
      case 'AWS::Lambda::Function':
        return `arn:${partitionOf(this.region)}:lambda:${this.region}:${this.accountId}:function:${this.walk(p.FunctionName)}`;
      case 'AWS::IAM::Role':
        return `arn:${partitionOf(this.region)}:iam::${this.accountId}:role/${this.walk(p.RoleName)}`;
      case 'AWS::KMS::Key':
        return `arn:${partitionOf(this.region)}:kms:${this.region}:${this.accountId}:key/${this.keyId}`;
      case 'AWS::SQS::Queue':
        return `arn:${partitionOf(this.region)}:sqs:${this.region}:${this.accountId}:${this.walk(p.QueueName)}`;
    }
    throw new Error(`Fn::GetAtt ${name}.Arn (${resource.Type}) is not modelled`);
  }

  private resource(name: string): Resource {
    const resource = this.template.Resources[name];
    if (!resource) throw new Error(`no resource ${name}`);
    return resource;
  }
}

export function asList<T>(value: T | T[] | undefined): T[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/**
 * The files of a zip archive (stored or deflated entries), read from its central directory: the
 * packaged functions are checked without an unzip tool.
 */
export function readZip(file: string): Map<string, Buffer> {
  const zip = readFileSync(file);
  const end = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (end < 0) throw new Error(`${file} is not a zip archive`);
  const count = zip.readUInt16LE(end + 10);
  let at = zip.readUInt32LE(end + 16);
  const files = new Map<string, Buffer>();
  for (let i = 0; i < count; i++) {
    const method = zip.readUInt16LE(at + 10);
    const compressedSize = zip.readUInt32LE(at + 20);
    const nameLength = zip.readUInt16LE(at + 28);
    const extraLength = zip.readUInt16LE(at + 30);
    const commentLength = zip.readUInt16LE(at + 32);
    const localHeader = zip.readUInt32LE(at + 42);
    const name = zip.toString('utf8', at + 46, at + 46 + nameLength);
    const dataStart =
      localHeader + 30 + zip.readUInt16LE(localHeader + 26) + zip.readUInt16LE(localHeader + 28);
    const data = zip.subarray(dataStart, dataStart + compressedSize);
    if (!name.endsWith('/')) files.set(name, method === 8 ? inflateRawSync(data) : Buffer.from(data));
    at += 46 + nameLength + extraLength + commentLength;
  }
  return files;
}
