import { VitkitError } from '../../errors/vitkit-error.js';

/**
 * What every fuzz property asks of a parser: it returns, or throws a VitkitError. Anything else
 * thrown (a TypeError, a RangeError from the engine) is rethrown, so fast-check reports and shrinks
 * it; the slowest input is kept so a property can bound it (a hang shows as the run never ending).
 */
export class FuzzOutcomes {
  readonly codes = new Map<string, number>();
  slowestMs = 0;
  private readonly rssBefore = process.resourceUsage().maxRSS * 1024;

  /** Runs `parse`, returning its result or undefined when it threw a VitkitError. */
  run<T>(parse: () => T): T | undefined {
    const started = performance.now();
    try {
      const result = parse();
      this.count('ok');
      return result;
    } catch (e) {
      if (!(e instanceof VitkitError)) throw e;
      this.count(e.code);
      return undefined;
    } finally {
      this.slowestMs = Math.max(this.slowestMs, performance.now() - started);
    }
  }

  /** `run` for a parser that resolves or rejects. */
  async runAsync<T>(parse: () => Promise<T>): Promise<T | undefined> {
    const started = performance.now();
    try {
      const result = await parse();
      this.count('ok');
      return result;
    } catch (e) {
      if (!(e instanceof VitkitError)) throw e;
      this.count(e.code);
      return undefined;
    } finally {
      this.slowestMs = Math.max(this.slowestMs, performance.now() - started);
    }
  }

  /** Growth of this process's peak RSS since the outcomes were created. */
  peakRssGrowth(): number {
    return process.resourceUsage().maxRSS * 1024 - this.rssBefore;
  }

  private count(code: string): void {
    this.codes.set(code, (this.codes.get(code) ?? 0) + 1);
  }
}
