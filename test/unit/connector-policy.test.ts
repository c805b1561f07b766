import { connectorPolicyDocument, samePolicy } from '../../commons/connector-policy';

describe('the connector policy', () => {
  it('grants exactly the actions Microsoft documents, s3:PutBucketAcl included by default', () => {
    const actions = connectorPolicyDocument({ allowPutBucketAcl: true }).Statement[0]?.Action;
    expect(actions).toEqual(
      expect.arrayContaining([
        'cloudtrail:LookupEvents',
        'cloudtrail:DescribeTrails',
        'cloudtrail:GetTrailStatus',
        'iam:List*',
        'iam:Get*',
        's3:PutBucketAcl',
      ]),
    );
    expect(actions).toHaveLength(12);
  });

  it('leaves out the one write action when configured read-only', () => {
    expect(connectorPolicyDocument({ allowPutBucketAcl: false }).Statement[0]?.Action).not.toContain(
      's3:PutBucketAcl',
    );
  });

  it('matches a URL-encoded document with reordered actions and a Sid as the same policy', () => {
    const ours = connectorPolicyDocument({ allowPutBucketAcl: true });
    const theirs = {
      Statement: [
        {
          Sid: 'x',
          Resource: '*',
          Effect: 'Allow',
          Action: [...((ours.Statement[0]?.Action ?? []) as string[])].reverse(),
        },
      ],
      Version: '2012-10-17',
    };
    expect(samePolicy(encodeURIComponent(JSON.stringify(theirs)), ours)).toBe(true);
  });

  it('sees a removed action as drift', () => {
    const ours = connectorPolicyDocument({ allowPutBucketAcl: true });
    expect(samePolicy(connectorPolicyDocument({ allowPutBucketAcl: false }), ours)).toBe(false);
  });
});
