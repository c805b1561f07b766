/**
 * JSON text parsed strictly: valid JSON (as `JSON.parse` judges it) in which no object names the
 * same key twice. `JSON.parse` keeps the last of two equal keys without a word, so
 * `{"mode":"onboard","mode":"offboard"}` would silently be an offboard run; RFC 8259 §4 leaves
 * duplicate names to the implementation, and casbridge refuses them wherever it reads a run
 * input as text. A reviver cannot see duplicates (it runs after they collapsed), so a scanner
 * walks the text once more, iteratively (no recursion: nesting depth cannot overflow the stack).
 */
export type StrictJsonResult =
  | { ok: true; value: unknown }
  | { ok: false; duplicate: { path: (string | number)[]; key: string } };

/** Throws the SyntaxError `JSON.parse` throws for text that is not JSON. */
export function parseStrictJson(text: string): StrictJsonResult {
  const value: unknown = JSON.parse(text);
  const duplicate = findDuplicateKey(text);
  return duplicate ? { ok: false, duplicate } : { ok: true, value };
}

interface ObjectFrame {
  kind: 'object';
  keys: Set<string>;
  /** The key whose value is being read, once its name is known. */
  key: string | undefined;
}

interface ArrayFrame {
  kind: 'array';
  index: number;
}

/**
 * The first key an object of `text` names twice (compared after unescaping, as `JSON.parse`
 * compares them: `"mode"` and `"m\u006fde"` are the same key), with the path of that object.
 * `text` must be valid JSON: the scanner relies on it and does not re-validate the grammar.
 */
export function findDuplicateKey(text: string): { path: (string | number)[]; key: string } | undefined {
  const stack: (ObjectFrame | ArrayFrame)[] = [];
  /** In an object, the next string is a key (after `{` or `,`), not a value (after `:`). */
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      const end = stringEnd(text, i);
      const top = stack.at(-1);
      if (expectKey && top?.kind === 'object') {
        const key = JSON.parse(text.slice(i, end + 1)) as string;
        if (top.keys.has(key)) return { path: pathOf(stack.slice(0, -1)), key };
        top.keys.add(key);
        top.key = key;
        expectKey = false;
      }
      i = end;
    } else if (c === '{') {
      stack.push({ kind: 'object', keys: new Set(), key: undefined });
      expectKey = true;
    } else if (c === '[') {
      stack.push({ kind: 'array', index: 0 });
    } else if (c === '}' || c === ']') {
      stack.pop();
    } else if (c === ',') {
      const top = stack.at(-1);
      if (top?.kind === 'array') top.index++;
      else expectKey = true;
    }
  }
  return undefined;
}

/** The index of the quote that closes the string opening at `start`. */
function stringEnd(text: string, start: number): number {
  for (let i = start + 1; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === '"') return i;
  }
  return text.length - 1;
}

/** Where the frames stand: each object's current key, each array's current index. */
function pathOf(frames: readonly (ObjectFrame | ArrayFrame)[]): (string | number)[] {
  return frames.map((frame) => (frame.kind === 'array' ? frame.index : (frame.key ?? '')));
}
