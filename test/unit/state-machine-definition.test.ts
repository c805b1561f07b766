import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { ERROR_NAMES } from '../../commons/errors';

/**
 * statemachine/casbridge.asl.yml as written, before serverless-step-functions resolves its Task
 * resources: valid ASL, and naming only errors the tasks can throw.
 */
const FILE = path.resolve(__dirname, '../../statemachine/casbridge.asl.yml');

type AslValidator = (definition: unknown) => { isValid: boolean; errors: unknown[] };
const validateAsl: AslValidator = require('asl-validator');

/** The file, its `Fn::GetAtt: [<function>, Arn]` resources replaced by the ARNs they resolve to. */
function definitionWithArns(): Record<string, unknown> {
  const definition = parse(readFileSync(FILE, 'utf8'), { maxAliasCount: -1 });
  const replace = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(replace);
    if (value === null || typeof value !== 'object') return value;
    const getAtt = (value as { 'Fn::GetAtt'?: [string, string] })['Fn::GetAtt'];
    if (getAtt) return `arn:aws:lambda:us-east-1:123456789012:function:casbridge-dev-${getAtt[0]}`;
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, replace(v)]));
  };
  return replace(definition) as Record<string, unknown>;
}

/** Every name in every ErrorEquals (Retry and Catch), at every nesting level. */
function errorNames(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(errorNames);
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([key, v]) =>
    key === 'ErrorEquals' ? (v as string[]) : errorNames(v),
  );
}

describe('the state machine definition', () => {
  it('is valid Amazon States Language', () => {
    // Guards: a broken Next, an unreachable state or a bad path, found before a deploy is tried.
    // asl-validator adds QueryLanguage to every state: it validates a copy.
    const definition = definitionWithArns();
    const result = validateAsl(structuredClone(definition));
    expect(result.errors).toEqual([]);
    expect(result.isValid).toBe(true);
  });

  it('names in Retry and Catch only errors casbridge throws, or States.* and Lambda.* errors', () => {
    // Guards: a Retry or Catch that never matches because of a misspelt or renamed error (an
    // account failing instead of being retried), since ErrorEquals compares error.name exactly.
    const names = errorNames(definitionWithArns());
    expect(names.length).toBeGreaterThan(0);
    const known = new Set<string>(ERROR_NAMES);
    const unknown = names.filter(
      (n) => !known.has(n) && !n.startsWith('States.') && !n.startsWith('Lambda.'),
    );
    expect(unknown).toEqual([]);
  });

  it('retries and catches every Task, with a timeout', () => {
    // Guards: one Task added without the shared policy (DESIGN §3): a throttled call would then
    // fail the account, or the whole run, at the first attempt.
    const tasks: [string, Record<string, unknown>][] = [];
    const visit = (states: Record<string, Record<string, unknown>>, inMap: boolean) => {
      for (const [name, state] of Object.entries(states)) {
        if (state.Type === 'Task') tasks.push([name, { ...state, inMap }]);
        const inner = (
          state.ItemProcessor as { States?: Record<string, Record<string, unknown>> } | undefined
        )?.States;
        if (inner) visit(inner, true);
      }
    };
    visit(definitionWithArns().States as Record<string, Record<string, unknown>>, false);
    expect(tasks.length).toBeGreaterThan(0);
    for (const [name, task] of tasks) {
      expect([name, typeof task.TimeoutSeconds]).toEqual([name, 'number']);
      expect([name, Array.isArray(task.Retry)]).toEqual([name, true]);
      // In the map, every Task but the one recording the result catches into RecordResult.
      if (task.inMap && name !== 'RecordResult')
        expect([name, task.Catch]).toEqual([
          name,
          [expect.objectContaining({ ErrorEquals: ['States.ALL'], Next: 'RecordResult' })],
        ]);
    }
  });
});
