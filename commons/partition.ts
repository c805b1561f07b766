/** The AWS partitions casbridge can run in; an ARN's second field. */
export type Partition = 'aws' | 'aws-us-gov' | 'aws-cn' | 'aws-iso' | 'aws-iso-b' | 'aws-iso-e' | 'aws-iso-f';

/**
 * The partition a Region belongs to, from its name alone (no call: Lambda knows its Region from
 * AWS_REGION). Every ARN casbridge builds takes its partition from here, because IAM refuses a
 * policy naming another partition's ARN ("Partition "aws" is not valid for resource …") and Step
 * Functions fails a state whose resource is in another partition than the execution.
 */
export function partitionOf(region: string): Partition {
  // Longest prefixes first: us-isob- and us-isof- also start with us-iso.
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-isob-')) return 'aws-iso-b';
  if (region.startsWith('us-isof-')) return 'aws-iso-f';
  if (region.startsWith('eu-isoe-')) return 'aws-iso-e';
  if (region.startsWith('us-iso-')) return 'aws-iso';
  return 'aws';
}

/**
 * The Region a partition's global services (IAM, STS's global endpoint, Organizations) live in,
 * where CloudTrail records their events.
 */
export function globalRegionOf(partition: Partition): string {
  switch (partition) {
    case 'aws-us-gov':
      return 'us-gov-west-1';
    case 'aws-cn':
      return 'cn-north-1';
    case 'aws-iso':
      return 'us-iso-east-1';
    case 'aws-iso-b':
      return 'us-isob-east-1';
    case 'aws-iso-e':
      return 'eu-isoe-west-1';
    case 'aws-iso-f':
      return 'us-isof-south-1';
    default:
      return 'us-east-1';
  }
}
