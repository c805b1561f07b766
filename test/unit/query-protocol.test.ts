import { decodeQueryRequest, encodeQueryResponse } from '../../sandbox/protocols/query';

describe('the awsQuery codec', () => {
  it('turns flattened member lists into arrays in index order', () => {
    const { operation, input } = decodeQueryRequest(
      'Action=CreateUser&Version=2010-05-08&UserName=CloudAppSecurity&Tags.member.2.Key=b&Tags.member.2.Value=2&Tags.member.1.Key=a&Tags.member.1.Value=1',
    );
    expect(operation).toBe('CreateUser');
    expect(input).toEqual({
      UserName: 'CloudAppSecurity',
      Tags: [
        { Key: 'a', Value: '1' },
        { Key: 'b', Value: '2' },
      ],
    });
  });

  it('turns entry maps into lists of entries', () => {
    const { input } = decodeQueryRequest(
      'Action=Publish&MessageAttributes.entry.1.Name=kind&MessageAttributes.entry.1.Value.DataType=String&MessageAttributes.entry.1.Value.StringValue=handoff',
    );
    expect(input.MessageAttributes).toEqual([
      { Name: 'kind', Value: { DataType: 'String', StringValue: 'handoff' } },
    ]);
  });

  it('renders lists as member elements, dates as ISO-8601 and escapes text', () => {
    const xml = encodeQueryResponse('ListUsers', 'urn:ns', 'req-1', {
      Users: [{ UserName: 'a&b', CreateDate: new Date(Date.UTC(2026, 0, 2, 3, 4, 5)) }],
      IsTruncated: false,
    });
    expect(xml).toBe(
      '<ListUsersResponse xmlns="urn:ns"><ListUsersResult><Users><member><UserName>a&amp;b</UserName><CreateDate>2026-01-02T03:04:05.000Z</CreateDate></member></Users><IsTruncated>false</IsTruncated></ListUsersResult><ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata></ListUsersResponse>',
    );
  });
});
