import { connectorPolicyArn, connectorUserArn, loadConfig, memberRoleArn } from '../../commons/config';
import { globalRegionOf, partitionOf } from '../../commons/partition';

describe('the partition of a Region', () => {
  it.each([
    ['us-east-1', 'aws'],
    ['eu-central-2', 'aws'],
    ['us-gov-west-1', 'aws-us-gov'],
    ['us-gov-east-1', 'aws-us-gov'],
    ['cn-north-1', 'aws-cn'],
    ['cn-northwest-1', 'aws-cn'],
    ['us-iso-east-1', 'aws-iso'],
    ['us-isob-east-1', 'aws-iso-b'],
    ['eu-isoe-west-1', 'aws-iso-e'],
    ['us-isof-south-1', 'aws-iso-f'],
  ])('puts %s in %s', (region, partition) => {
    expect(partitionOf(region)).toBe(partition);
  });

  it('names the Region where each partition records its global services’ events', () => {
    expect(globalRegionOf('aws')).toBe('us-east-1');
    expect(globalRegionOf(partitionOf('us-gov-east-1'))).toBe('us-gov-west-1');
    expect(globalRegionOf(partitionOf('cn-northwest-1'))).toBe('cn-north-1');
  });

  it('gives the configuration’s IAM ARNs the partition of AWS_REGION', () => {
    const config = loadConfig({
      AWS_REGION: 'us-gov-west-1',
      CASBRIDGE_EXTERNAL_ID: 'external-id',
      CASBRIDGE_LOG_BUCKET: 'logs-bucket',
      CASBRIDGE_TOPIC_ARN: 'arn:aws-us-gov:sns:us-gov-west-1:111122223333:casbridge-handoff',
      CASBRIDGE_LEDGER_TABLE: 'casbridge-ledger',
    });
    expect(config.partition).toBe('aws-us-gov');
    expect(connectorUserArn(config, '111122223333')).toBe(
      'arn:aws-us-gov:iam::111122223333:user/casbridge/CloudAppSecurity',
    );
    expect(connectorPolicyArn(config, '111122223333')).toBe(
      'arn:aws-us-gov:iam::111122223333:policy/casbridge/CasBridgeCloudAppSecurity',
    );
    expect(memberRoleArn(config, '111122223333')).toBe(
      'arn:aws-us-gov:iam::111122223333:role/CasBridgeExecutionRole',
    );
  });
});
