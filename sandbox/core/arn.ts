import type { Partition } from '../../commons/partition';
import type { World } from './world';

/**
 * An ARN in the world's partition: the sandbox emulates one partition at a time (the scenario's
 * Region decides it), as one AWS account lives in one partition. Global services (IAM, STS,
 * Organizations, S3) pass an empty Region.
 */
export function worldArn(
  world: World,
  service: string,
  region: string,
  accountId: string,
  resource: string,
): string {
  return `${arnPrefix(world.settings.partition)}${service}:${region}:${accountId}:${resource}`;
}

/** `arn:<partition>:`, for ARNs built field by field. */
export function arnPrefix(partition: Partition): string {
  return `arn:${partition}:`;
}

/** The partition field of an ARN, in a regular expression: `aws`, `aws-us-gov`, `aws-cn`, `aws-iso-b`, … */
export const PARTITION_PATTERN = 'aws(?:-[a-z]+)*';
