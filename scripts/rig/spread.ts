/** Medians and ranges over benchmark rounds, and the number formats the report uses. */

export interface Spread {
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

export function spread(values: readonly number[]): Spread {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
  return { median, min: sorted[0], max: sorted[sorted.length - 1] };
}

export function fixed(value: number, digits = 2): string {
  return value.toFixed(digits);
}

export function rangeText(values: Spread, digits = 2): string {
  return `${fixed(values.min, digits)}–${fixed(values.max, digits)}`;
}

export function kib(bytes: number): string {
  return `${(bytes / 1024).toFixed(1)} KiB`;
}

/** The benchmark's sizes, from `BENCH_ROUNDS` (default 9). */
export const ROUNDS = Math.max(3, Number(process.env.BENCH_ROUNDS ?? 9));
export const COLD_ROUNDS = ROUNDS * 2;
