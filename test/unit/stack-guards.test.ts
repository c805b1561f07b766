/**
 * scripts/package/stack-guards.cjs settles the conditions osls parameters decide, as CloudFormation
 * would evaluate them, and leaves those CloudFormation must decide alone.
 */
const { settleConditions } = require('../../scripts/package/stack-guards.cjs') as {
  settleConditions: (template: Record<string, unknown>) => void;
};

const noValue = { Ref: 'AWS::NoValue' };

describe('settling parameter-decided conditions at packaging', () => {
  it('takes the branch CloudFormation would, drops false resources, and keeps conditions on template parameters', () => {
    const template: Record<string, unknown> = {
      Conditions: {
        HasWebhook: { 'Fn::Not': [{ 'Fn::Equals': ['', ''] }] },
        CreateBucket: { 'Fn::Equals': ['', ''] },
        Both: { 'Fn::And': [{ Condition: 'CreateBucket' }, { 'Fn::Not': [{ Condition: 'HasWebhook' }] }] },
        FromParameter: { 'Fn::Equals': [{ Ref: 'Stage' }, 'prod'] },
      },
      Resources: {
        Bucket: { Type: 'AWS::S3::Bucket', Condition: 'CreateBucket', Properties: {} },
        Hook: { Type: 'AWS::SNS::Topic', Condition: 'HasWebhook', Properties: {} },
        Role: {
          Type: 'AWS::IAM::Role',
          Properties: {
            Statements: [
              { 'Fn::If': ['HasWebhook', { Resource: '' }, noValue] },
              { 'Fn::If': ['Both', { Sid: 'Both' }, noValue] },
              { 'Fn::If': ['FromParameter', { Sid: 'Prod' }, noValue] },
            ],
            Url: { 'Fn::If': ['HasWebhook', 'https://x', noValue] },
          },
        },
      },
      Outputs: {
        Hook: { Condition: 'HasWebhook', Value: { Ref: 'Hook' } },
        Bucket: { Value: { 'Fn::If': ['CreateBucket', { Ref: 'Bucket' }, 'theirs'] } },
      },
    };
    settleConditions(template);
    expect(template).toEqual({
      Conditions: { FromParameter: { 'Fn::Equals': [{ Ref: 'Stage' }, 'prod'] } },
      Resources: {
        Bucket: { Type: 'AWS::S3::Bucket', Properties: {} },
        Role: {
          Type: 'AWS::IAM::Role',
          Properties: {
            Statements: [{ Sid: 'Both' }, { 'Fn::If': ['FromParameter', { Sid: 'Prod' }, noValue] }],
          },
        },
      },
      Outputs: { Bucket: { Value: { Ref: 'Bucket' } } },
    });
  });
});
