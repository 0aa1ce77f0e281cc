/**
 * How many inputs a property-based (fuzz) test tries: the test's CI default, or `VITKIT_FUZZ_RUNS`
 * when set to a positive integer (`pnpm fuzz` sets it for a long run on demand).
 */
export function fuzzRuns(ciDefault: number): number {
  const n = Number(process.env.VITKIT_FUZZ_RUNS);
  return Number.isInteger(n) && n > 0 ? n : ciDefault;
}
