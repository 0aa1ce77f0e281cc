/** Inputs per fuzz property: the CI default, or `VITKIT_FUZZ_RUNS` for a long run (`pnpm fuzz`). */
export function fuzzRuns(ciDefault: number): number {
  const n = Number(process.env.VITKIT_FUZZ_RUNS);
  return Number.isInteger(n) && n > 0 ? n : ciDefault;
}
