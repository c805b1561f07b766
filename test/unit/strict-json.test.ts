import { findDuplicateKey, parseStrictJson } from '../../commons/strict-json';
import { parseRunInputText, parseTrigger } from '../../functions/resolve-targets/run-input';

describe('strict JSON', () => {
  it('parses JSON without duplicate keys to what JSON.parse gives', () => {
    const text = '{"mode":"onboard","accounts":["200000000001"],"nested":{"a":[{"b":1},{"b":2}]}}';
    expect(parseStrictJson(text)).toEqual({ ok: true, value: JSON.parse(text) });
  });

  it.each([
    ['a top-level key', '{"mode":"onboard","mode":"offboard"}', [], 'mode'],
    [
      'a key inside a nested object',
      '{"detail":{"eventName":"a","x":1,"eventName":"b"}}',
      ['detail'],
      'eventName',
    ],
    ['a key in an object inside an array', '{"list":[{"a":1},{"b":1,"b":2}]}', ['list', 1], 'b'],
    ['a key spelled with an escape', '{"mode":"onboard","m\\u006fde":"offboard"}', [], 'mode'],
    ['a key with escaped quotes and backslashes', '{"a\\"\\\\":1,"a\\"\\\\":2}', [], 'a"\\'],
    ['a key of astral characters', '{"\\ud83d\\ude00":1,"😀":2}', [], '😀'],
    ['a key after a sibling object closed', '{"a":{"b":{"c":1}},"a":2}', [], 'a'],
    ['the empty key', '{"":1,"":2}', [], ''],
  ])('finds %s named twice, with the path of its object', (_, text, path, key) => {
    expect(parseStrictJson(text)).toEqual({ ok: false, duplicate: { path, key } });
  });

  it.each([
    ['the same key in two sibling objects', '[{"a":1},{"a":2}]'],
    ['the same key at two depths', '{"a":{"a":{"a":1}}}'],
    ['a value that looks like a repeated key', '{"a":"\\"a\\":","b":["a","a"]}'],
    ['keys that differ only in case', '{"Mode":1,"mode":2}'],
    ['strings holding braces and commas', '{"a":"{,}","b":"[,]","c":"\\\\"}'],
  ])('accepts %s', (_, text) => {
    expect(findDuplicateKey(text)).toBeUndefined();
  });

  it('walks 100,000 levels of nesting without overflowing the stack', () => {
    const depth = 100_000;
    const text = `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
    expect(findDuplicateKey(text)).toBeUndefined();
    const twice = `${'[{"a":'.repeat(depth)}1${'}]'.repeat(depth)}`.replace(/1/, '1,"a":2');
    expect(findDuplicateKey(twice)?.key).toBe('a');
    expect(findDuplicateKey(twice)?.path).toHaveLength(2 * depth - 1);
  });

  it('throws JSON.parse’s SyntaxError for text that is not JSON', () => {
    expect(() => parseStrictJson('{"mode":')).toThrow(SyntaxError);
  });
});

describe('a run input given as text', () => {
  it('is refused with InvalidRunInput naming a key given twice', () => {
    expect(() => parseRunInputText('{"mode":"onboard","mode":"offboard"}')).toThrow(
      expect.objectContaining({
        name: 'InvalidRunInput',
        step: 'resolve',
        message: expect.stringMatching(/^duplicate key 'mode': a JSON object names it twice/),
      }),
    );
    expect(() =>
      parseRunInputText(
        '{"version":"0","detail":{"serviceEventDetails":{"createAccountStatus":{"state":"FAILED","state":"SUCCEEDED"}}}}',
      ),
    ).toThrow(/^duplicate key 'detail\.serviceEventDetails\.createAccountStatus\.state'/);
    expect(() => parseRunInputText('{"mode":"onboard","accounts":[{"a":1,"a":2}]}')).toThrow(
      /^duplicate key 'accounts\[0\]\.a'/,
    );
  });

  it('is refused with InvalidRunInput when it is not JSON', () => {
    expect(() => parseRunInputText('{"mode":')).toThrow(
      expect.objectContaining({
        name: 'InvalidRunInput',
        message: expect.stringMatching(/^run input is not JSON/),
      }),
    );
  });

  it('parses to the run input JSON.parse would give when every key is named once', () => {
    const text = '{"mode":"reconcile","accounts":["200000000001"],"dryRun":true}';
    expect(parseTrigger(parseRunInputText(text))).toMatchObject({
      kind: 'request',
      mode: 'reconcile',
      accounts: ['200000000001'],
      dryRun: true,
    });
  });

  it('refuses 200,000 account ids by their number rather than overflowing the stack', () => {
    const ids = Array.from({ length: 200_000 }, (_, i) => String(300_000_000_000 + i));
    expect(() => parseTrigger(parseRunInputText(JSON.stringify({ mode: 'onboard', accounts: ids })))).toThrow(
      expect.objectContaining({
        name: 'InvalidRunInput',
        message: expect.stringMatching(/^accounts: names 200,000 accounts; a run input names at most 10,000/),
      }),
    );
  });
});
