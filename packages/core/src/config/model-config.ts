import { VitkitError } from '../errors/vitkit-error.js';

/** A config.json as Hugging Face writes it; families read it through `ConfigReader`. */
export type RawConfig = Record<string, unknown>;

/** Typed access to config.json keys, with errors that name the key and the file. */
export class ConfigReader {
  constructor(
    readonly raw: RawConfig,
    readonly source = 'config.json',
  ) {
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
      throw new VitkitError('CONFIG_INVALID', `${source} must hold a JSON object.`);
    }
  }

  number(key: string, fallback?: number): number {
    const v = this.raw[key];
    if (v === undefined || v === null) return this.missing(key, fallback);
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new VitkitError('CONFIG_INVALID', `${this.source}: "${key}" must be a number, got ${JSON.stringify(v)}.`);
    }
    return v;
  }

  int(key: string, fallback?: number): number {
    const v = this.number(key, fallback);
    if (!Number.isInteger(v) || v < 0) {
      throw new VitkitError('CONFIG_INVALID', `${this.source}: "${key}" must be a non-negative integer, got ${v}.`);
    }
    return v;
  }

  bool(key: string, fallback?: boolean): boolean {
    const v = this.raw[key];
    if (v === undefined || v === null) return this.missing(key, fallback);
    if (typeof v !== 'boolean')
      throw new VitkitError('CONFIG_INVALID', `${this.source}: "${key}" must be true or false, got ${JSON.stringify(v)}.`);
    return v;
  }

  string(key: string, fallback?: string): string {
    const v = this.raw[key];
    if (v === undefined || v === null) return this.missing(key, fallback);
    if (typeof v !== 'string')
      throw new VitkitError('CONFIG_INVALID', `${this.source}: "${key}" must be a string, got ${JSON.stringify(v)}.`);
    return v;
  }

  intArray(key: string, fallback?: number[]): number[] {
    const v = this.raw[key];
    if (v === undefined || v === null) return this.missing(key, fallback);
    if (!Array.isArray(v) || !v.every((x) => Number.isInteger(x))) {
      throw new VitkitError('CONFIG_INVALID', `${this.source}: "${key}" must be a list of integers, got ${JSON.stringify(v)}.`);
    }
    return v as number[];
  }

  optional<T>(key: string): T | undefined {
    const v = this.raw[key];
    return v === null ? undefined : (v as T | undefined);
  }

  /** `image_size` / `patch_size` may be an int or a pair. */
  pair(key: string, fallback?: number): [number, number] {
    const v = this.raw[key];
    if (Array.isArray(v) && v.length === 2 && v.every((x) => Number.isInteger(x))) return [v[0], v[1]];
    const n = this.int(key, fallback);
    return [n, n];
  }

  private missing<T>(key: string, fallback: T | undefined): T {
    if (fallback !== undefined) return fallback;
    throw new VitkitError('CONFIG_MISSING_KEY', `${this.source} is missing "${key}", which this model needs.`);
  }
}

/** `id2label` with integer keys, or undefined when the config has none. */
export function readId2Label(raw: RawConfig): Map<number, string> | undefined {
  const v = raw.id2label;
  if (!v || typeof v !== 'object') return undefined;
  return new Map(Object.entries(v as Record<string, string>).map(([k, label]) => [Number(k), String(label)]));
}
