import { eventSelectorDrift, managementEventCoverage } from '../../functions/trail/event-selectors';

/**
 * What another trail's selectors record, read as CloudTrail logs an event: when any selector
 * matches it. The sandbox tests judge whole trails; these pin the combinations.
 */
describe('the management events a trail’s selectors record', () => {
  it('takes reads and writes from different selectors, and a source as left out only if every selector for that kind leaves it out', () => {
    // Reads from one selector (KMS left out), writes from another that keeps KMS.
    const split = {
      EventSelectors: [
        { ReadWriteType: 'ReadOnly' as const, ExcludeManagementEventSources: ['kms.amazonaws.com'] },
        { ReadWriteType: 'WriteOnly' as const },
      ],
    };
    expect(managementEventCoverage(split)).toEqual({
      reads: true,
      writes: true,
      excludedSources: ['kms.amazonaws.com'],
    });
    // A second selector for reads that keeps KMS puts KMS's reads back.
    expect(
      managementEventCoverage({
        EventSelectors: [...split.EventSelectors, { ReadWriteType: 'ReadOnly' as const }],
      }),
    ).toEqual({ reads: true, writes: true, excludedSources: [] });
    // casbridge's own trail is held to every event: the same selectors are drift for it.
    expect(eventSelectorDrift(split)).toBe('management-events-write-only');
  });

  it('reads advanced selectors as AWS documents them: no readOnly field is both, true reads, false writes', () => {
    const management = { Field: 'eventCategory', Equals: ['Management'] };
    expect(managementEventCoverage({ AdvancedEventSelectors: [{ FieldSelectors: [management] }] })).toEqual({
      reads: true,
      writes: true,
      excludedSources: [],
    });
    expect(
      managementEventCoverage({
        AdvancedEventSelectors: [
          { FieldSelectors: [management, { Field: 'readOnly', Equals: ['true'] }] },
          { FieldSelectors: [management, { Field: 'readOnly', Equals: ['false'] }] },
        ],
      }),
    ).toMatchObject({ reads: true, writes: true });
    expect(
      managementEventCoverage({
        AdvancedEventSelectors: [{ FieldSelectors: [management, { Field: 'readOnly', Equals: ['false'] }] }],
      }),
    ).toMatchObject({ reads: false, writes: true });
  });

  it('does not read as coverage what it cannot read exactly, nor data events', () => {
    const management = { Field: 'eventCategory', Equals: ['Management'] };
    for (const selectors of [
      {
        AdvancedEventSelectors: [
          { FieldSelectors: [management, { Field: 'eventSource', Equals: ['iam.amazonaws.com'] }] },
        ],
      },
      {
        AdvancedEventSelectors: [{ FieldSelectors: [management, { Field: 'readOnly', StartsWith: ['t'] }] }],
      },
      {
        AdvancedEventSelectors: [
          {
            FieldSelectors: [
              { Field: 'eventCategory', Equals: ['Data'] },
              { Field: 'resources.type', Equals: ['AWS::S3::Object'] },
            ],
          },
        ],
      },
      {
        EventSelectors: [
          {
            IncludeManagementEvents: false,
            DataResources: [{ Type: 'AWS::S3::Object', Values: ['arn:aws:s3:::b/'] }],
          },
        ],
      },
      {},
    ])
      expect(managementEventCoverage(selectors)).toMatchObject({ reads: false, writes: false });
  });
});
