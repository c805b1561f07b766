/**
 * What reaches a terminal. Account and OU names, tags, AWS's and casbridge's error messages and
 * the user's own flags can hold control characters: ESC starts sequences that clear the screen,
 * move the cursor, retitle the window or fake colours; CR rewrites the line; C1 controls (0x9B is
 * a one-byte CSI on some terminals) and the Unicode bidi overrides and isolates ("trojan source",
 * CVE-2021-42574) make text read differently from what it is. None of them reaches a terminal
 * raw: each is shown escaped, `\x1b`, `\r`, `\n`, `\t`, `\u009b`, `\u202e`.
 *
 * Two layers, both here:
 * - `escapeControl` / `terminalSafe`: text that came from outside is escaped whole (newlines too)
 *   before it is laid out, so a name cannot break a table row or pass for casbridge's colours;
 * - `terminal(stream)`: every write of the CLI goes through it. It lets through newlines, CRLF
 *   line ends (the CSV report), and — only on a terminal — casbridge's own colour (SGR) and
 *   erase-line sequences and the progress line's CR; it escapes everything else. C1, DEL and
 *   bidi are escaped as `\uXXXX`, so JSON written through it stays valid JSON with the same value
 *   (JSON.stringify escapes C0 itself but leaves C1, DEL, U+2028/2029 and bidi raw).
 */

/** Every unsafe character of `text` escaped, newlines included: for text from outside. */
export function escapeControl(text: string): string {
  let out = '';
  for (const character of text) out += isUnsafe(character) ? escapeCharacter(character) : character;
  return out;
}

/** A copy of plain data (strings, arrays, objects) with every string escaped: a report, ledger records. */
export function terminalSafe<T>(value: T): T {
  if (typeof value === 'string') return escapeControl(value) as T;
  if (Array.isArray(value)) return value.map((item: unknown) => terminalSafe(item)) as T;
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>).map(([key, item]) => [
        escapeControl(key),
        terminalSafe(item),
      ]),
    ) as T;
  }
  return value;
}

/**
 * The text as it may be written: on a terminal (`tty`) casbridge's own SGR colours, erase-line
 * and CR stay; anywhere, newlines and CRLF stay; everything else unsafe is escaped.
 */
export function terminalOutput(text: string, tty: boolean): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const character = text[i] as string;
    if (!isUnsafe(character) || character === '\n') {
      out += character;
      continue;
    }
    if (character === '\r' && (tty || text[i + 1] === '\n')) {
      out += character;
      continue;
    }
    const sequence = tty && character === ESC ? ownSequenceLength(text, i) : 0;
    if (sequence > 0) {
      out += text.slice(i, i + sequence);
      i += sequence - 1;
    } else {
      out += escapeCharacter(character);
    }
  }
  return out;
}

/** A stream as the CLI writes to it. */
export interface TerminalStream {
  readonly isTTY: boolean;
  readonly columns: number | undefined;
  /** Output casbridge laid out (tables, progress, reports): its own colours stay on a terminal. */
  write(text: string): void;
  /** Messages that quote what they were given (commander's errors): no sequence stays, even on a terminal. */
  writePlain(text: string): void;
  /**
   * `--output text` records (scripts/render/text-output.ts): their tabs are the separators and
   * stay; each field was escaped whole before, and is written as `write` writes.
   */
  writeRecords(text: string): void;
}

export function terminal(
  stream: NodeJS.WritableStream & { isTTY?: boolean; columns?: number },
): TerminalStream {
  const isTTY = Boolean(stream.isTTY);
  return {
    isTTY,
    get columns() {
      return stream.columns;
    },
    write: (text) => {
      stream.write(terminalOutput(text, isTTY));
    },
    writePlain: (text) => {
      stream.write(text.split('\n').map(escapeControl).join('\n'));
    },
    writeRecords: (text) => {
      stream.write(
        text
          .split('\t')
          .map((field) => terminalOutput(field, isTTY))
          .join('\t'),
      );
    },
  };
}

const ESC = '\u001b';

/**
 * The length of casbridge's own sequence at `at` (picocolors' SGR `ESC [ n;n m`, or erase to end
 * of line `ESC [ K`), or 0 when what starts there is anything else.
 */
function ownSequenceLength(text: string, at: number): number {
  if (text[at + 1] !== '[') return 0;
  if (text[at + 2] === 'K') return 3;
  let i = at + 2;
  while (i < text.length && /[0-9;]/.test(text[i] as string)) i++;
  return text[i] === 'm' ? i - at + 1 : 0;
}

/** C0, DEL, C1, the bidi marks, embeddings, overrides and isolates, and the line/paragraph separators. */
function isUnsafe(character: string): boolean {
  const code = character.codePointAt(0) ?? 0;
  return (
    code < 0x20 ||
    (code >= 0x7f && code <= 0x9f) ||
    code === 0x061c ||
    code === 0x200e ||
    code === 0x200f ||
    code === 0x2028 ||
    code === 0x2029 ||
    (code >= 0x202a && code <= 0x202e) ||
    (code >= 0x2066 && code <= 0x2069)
  );
}

const NAMED: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function escapeCharacter(character: string): string {
  const named = NAMED[character];
  if (named) return named;
  const code = character.charCodeAt(0);
  // C0 as \xHH, as terminals' own tools show it; from DEL up as \uXXXX, which JSON reads back.
  return code < 0x20
    ? `\\x${code.toString(16).padStart(2, '0')}`
    : `\\u${code.toString(16).padStart(4, '0')}`;
}
