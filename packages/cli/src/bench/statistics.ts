// The two statistics every bench row and the varied-sizes run report with.

export function percentile(values: readonly number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const rank = (p / 100) * (s.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return s[lo] + (s[hi] - s[lo]) * (rank - lo);
}

/** Two decimals, or four significant digits for small values (tiny fixture models run in microseconds). */
export const round = (v: number, digits = 2) =>
  Math.abs(v) < 1 && digits === 2 ? Number(v.toPrecision(4)) : Math.round(v * 10 ** digits) / 10 ** digits;
