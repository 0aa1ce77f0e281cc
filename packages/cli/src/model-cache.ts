import { Option } from 'commander';

/**
 * `--no-cache`: every command that loads a model keeps its compiled graph on disk (Node, cpu), so the
 * next invocation starts without reading the weights or building the graph. See `optimizedModelCache`.
 */
export const cacheOption = () =>
  new Option('--no-cache', 'do not keep compiled graphs on disk ($VITKIT_CACHE, default ~/.cache/vitkit) for faster next starts');

export interface CacheFlag {
  /** false with --no-cache */
  cache?: boolean;
}

/** The `optimizedModelCache` option for a command's flags: on unless --no-cache. */
export const optimizedModelCache = (o: CacheFlag): boolean => o.cache !== false;
