import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';

/** The state machine definition exactly as deployed, from statemachine/casbridge.asl.yml. */
export const DEFINITION_PATH = path.resolve(__dirname, '../casbridge.asl.yml');

export type Definition = Record<string, unknown> & { StartAt: string; States: Record<string, State> };
export type State = Record<string, unknown> & { Type: string };

export function loadDefinition(file = DEFINITION_PATH): Definition {
  // `merge` is off and anchors are plain references: the anchored Retry/Catch blocks resolve as copies.
  return parse(readFileSync(file, 'utf8'), { maxAliasCount: -1 }) as Definition;
}

/** Every Task state, in every nesting level, with the function its Resource names. */
export function taskStates(definition: Definition): { name: string; state: State; functionName?: string }[] {
  const out: { name: string; state: State; functionName?: string }[] = [];
  const visit = (states: Record<string, State>) => {
    for (const [name, state] of Object.entries(states)) {
      if (state.Type === 'Task') {
        const getAtt = (state.Resource as { 'Fn::GetAtt'?: [string, string] } | undefined)?.['Fn::GetAtt'];
        out.push({ name, state, ...(getAtt ? { functionName: getAtt[0] } : {}) });
      }
      const processor = (state.ItemProcessor ?? state.Iterator) as
        | { States?: Record<string, State> }
        | undefined;
      if (processor?.States) visit(processor.States);
      for (const branch of (state.Branches ?? []) as { States: Record<string, State> }[])
        visit(branch.States);
    }
  };
  visit(definition.States);
  return out;
}
