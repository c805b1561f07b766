/** Rounding, formatting and progress lines shared by the run benchmark's modules. */
export function difference(after: number | undefined, before: number | undefined): number | undefined {
  return after === undefined || before === undefined ? undefined : after - before;
}

export function progress(message: string): void {
  process.stderr.write(`bench: ${message}\n`);
}

export function ignore(): void {}

export function medianOf(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

export function percent(share: number | undefined): string {
  return share === undefined ? '-' : `${Math.round(share * 100)} %`;
}

export function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}

export function round2(v: number): number {
  return Math.round(v * 100) / 100;
}

export function round4(v: number): number {
  return Math.round(v * 10000) / 10000;
}
