import type { Style } from './style';

/**
 * Tables that fit the terminal they are printed on. Every table of the CLI is one `fitTable`
 * call: the caller names its columns in a few layouts, widest first (all columns; without the
 * OU; step marks in one cell; abbreviated words...), and the first layout whose rows fit the
 * width is printed, its wrapping column (the error) folded onto more lines as needed.
 *
 * The width: a terminal's own (`stdout.columns`, 80 when a pseudo-terminal reports none); a pipe
 * or a file gets every column, unwrapped, as `ls -l` and the AWS CLI's table output do, so `grep`
 * and `awk` see one whole account per line. `--wide` asks for that on a terminal too.
 */
export interface Column<Row> {
  head: string;
  /** The cell's text, plain: it is measured, cut and wrapped before it is painted. */
  cell(row: Row): string;
  /** Colour for the cell's text (after fitting, so escape codes never count toward the width). */
  paint?(text: string, row: Row): string;
  /** This column folds its words onto more lines, down to `min` characters, instead of widening the row. */
  wrap?: { min: number };
}

export interface FitOptions {
  style: Style;
  /** The width to fit; undefined prints the first layout whole (a pipe, `--wide`). */
  width: number | undefined;
}

/** The usual width a terminal opens at, and what a pseudo-terminal that reports no size gets. */
export const FALLBACK_WIDTH = 80;
const GAP = '  ';

/** The width a table written to `stream` fits: the terminal's, or none (a pipe, a file, `--wide`). */
export function tableWidth(
  stream: { isTTY?: boolean; columns?: number | undefined },
  wide = false,
): number | undefined {
  if (wide || !stream.isTTY) return undefined;
  return stream.columns && stream.columns > 0 ? stream.columns : FALLBACK_WIDTH;
}

/** The rows under the first layout that fits, columns two spaces apart, lines trimmed at the end. */
export function fitTable<Row>(
  layouts: readonly (readonly Column<Row>[])[],
  rows: readonly Row[],
  options: FitOptions,
): string {
  const chosen = chooseLayout(layouts, rows, options.width);
  const cells = rows.map((row) => chosen.columns.map((column) => column.cell(row)));
  const lines: string[] = [
    joinLine(
      chosen.columns.map((column, i) => ({
        text: column.head,
        width: chosen.widths[i] as number,
        paint: options.style.bold,
      })),
    ),
  ];
  rows.forEach((row, r) => {
    const folded = chosen.columns.map((column, i) => {
      const text = cells[r]?.[i] ?? '';
      return column.wrap ? wrapWords(text, chosen.widths[i] as number) : [text];
    });
    const height = Math.max(1, ...folded.map((parts) => parts.length));
    for (let line = 0; line < height; line++) {
      lines.push(
        joinLine(
          chosen.columns.map((column, i) => ({
            text: folded[i]?.[line] ?? '',
            width: chosen.widths[i] as number,
            paint: (text: string) => (column.paint && text ? column.paint(text, row) : text),
          })),
        ),
      );
    }
  });
  return lines.join('\n');
}

/** Words onto lines of at most `width` characters; a word longer than the line is cut across lines. */
export function wrapWords(text: string, width: number): string[] {
  const limit = Math.max(1, width);
  const lines: string[] = [];
  let line = '';
  for (const whole of text.split(/\s+/).filter(Boolean)) {
    let word = whole;
    while (word.length > limit) {
      if (line) {
        lines.push(line);
        line = '';
      }
      lines.push(word.slice(0, limit));
      word = word.slice(limit);
    }
    if (!word) continue;
    if (line && line.length + 1 + word.length > limit) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) lines.push(line);
  return lines;
}

/** The widest line of a text, as a terminal shows it (colour codes take no room). */
export function visibleWidth(text: string): number {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the SGR sequences picocolors writes.
  return Math.max(0, ...text.split('\n').map((line) => [...line.replace(/\u001b\[[0-9;]*m/g, '')].length));
}

function chooseLayout<Row>(
  layouts: readonly (readonly Column<Row>[])[],
  rows: readonly Row[],
  width: number | undefined,
): { columns: readonly Column<Row>[]; widths: number[] } {
  let best: { columns: readonly Column<Row>[]; widths: number[]; total: number } | undefined;
  for (const columns of width === undefined ? layouts.slice(0, 1) : layouts) {
    const natural = columns.map((column) =>
      Math.max(column.head.length, ...rows.map((row) => column.cell(row).length)),
    );
    const total = natural.reduce((sum, w) => sum + w, 0) + GAP.length * (columns.length - 1);
    if (width === undefined || total <= width) return { columns, widths: natural };
    // Too wide: give the wrapping columns what is left of the line, down to their minimum.
    const fixed = columns.reduce((sum, column, i) => sum + (column.wrap ? 0 : (natural[i] as number)), 0);
    const wrapping = columns.filter((column) => column.wrap);
    const room = width - fixed - GAP.length * (columns.length - 1);
    const widths = columns.map((column, i) =>
      column.wrap
        ? Math.min(natural[i] as number, Math.max(column.wrap.min, Math.floor(room / wrapping.length)))
        : (natural[i] as number),
    );
    const fitted = widths.reduce((sum, w) => sum + w, 0) + GAP.length * (columns.length - 1);
    if (fitted <= width) return { columns, widths };
    if (!best || fitted < best.total) best = { columns, widths, total: fitted };
  }
  // Nothing fits (a very narrow terminal): the narrowest layout, which overflows the least.
  return best as { columns: readonly Column<Row>[]; widths: number[] };
}

function joinLine(
  cells: readonly { text: string; width: number; paint: (text: string) => string }[],
): string {
  return cells
    .map((cell) => cell.paint(cell.text) + ' '.repeat(Math.max(0, cell.width - cell.text.length)))
    .join(GAP)
    .trimEnd();
}
