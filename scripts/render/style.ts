import Table from 'cli-table3';
import pc from 'picocolors';

/**
 * How the CLI's tables and marks look. Colour only on a terminal and only when NO_COLOR is unset
 * (no-color.org): piped output, files and tests get plain text with the same layout.
 */
export interface Style {
  readonly color: boolean;
  green(text: string): string;
  red(text: string): string;
  yellow(text: string): string;
  dim(text: string): string;
  bold(text: string): string;
}

export function styleFor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): Style {
  return createStyle(colorAllowed && Boolean(stream.isTTY) && !('NO_COLOR' in env && env.NO_COLOR !== ''));
}

let colorAllowed = true;

/** `--no-color`: no colour for the rest of the process, as NO_COLOR would say. */
export function disableColor(): void {
  colorAllowed = false;
}

export function createStyle(color: boolean): Style {
  const c = pc.createColors(color);
  return { color, green: c.green, red: c.red, yellow: c.yellow, dim: c.dim, bold: c.bold };
}

export const PLAIN: Style = createStyle(false);

/**
 * A borderless, left-aligned table: columns two spaces apart, so a row reads like a line of text
 * and `grep` finds it. cli-table3 measures cells without their colour codes.
 */
export function renderTable(
  head: readonly string[],
  rows: readonly (readonly string[])[],
  style: Style,
): string {
  const table = new Table({
    head: head.map((h) => style.bold(h)),
    chars: {
      top: '',
      'top-mid': '',
      'top-left': '',
      'top-right': '',
      bottom: '',
      'bottom-mid': '',
      'bottom-left': '',
      'bottom-right': '',
      left: '',
      'left-mid': '',
      mid: '',
      'mid-mid': '',
      right: '',
      'right-mid': '',
      middle: ' ',
    },
    // cli-table3 colours headers and borders itself unless told not to.
    style: { 'padding-left': 0, 'padding-right': 1, head: [], border: [], compact: true },
  });
  for (const row of rows) table.push([...row]);
  return table
    .toString()
    .split('\n')
    .map((line) => line.trimEnd())
    .join('\n');
}

/**
 * An outcome in its colour: green succeeded, red failed, dim skipped; shown as `label` (a plan's
 * `WOULD FAIL`) or the outcome itself.
 */
export function paintOutcome(outcome: string, style: Style, label = outcome): string {
  if (outcome === 'SUCCEEDED') return style.green(label);
  if (outcome === 'FAILED') return style.red(label);
  if (outcome === 'SKIPPED') return style.dim(label);
  return label;
}

/**
 * A connector status in its colour: green connected, yellow awaiting the operator, red when the
 * operator is overdue (Security Hub IAM.22 is coming), dim otherwise.
 */
export function paintConnector(status: string, style: Style): string {
  if (status === 'CONNECTED') return style.green(status);
  if (status === 'AWAITING_CONNECTION') return style.yellow(status);
  if (status === 'HANDOFF_OVERDUE' || status === 'STALE') return style.red(status);
  return style.dim(status);
}
