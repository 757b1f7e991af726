// The one environment merge for container processes (create and exec): KEY=VALUE lists where a
// later entry replaces an earlier one with the same key in place, so the image's order is kept
// and the user's values win, as Docker does.
import { InvalidArgumentError } from '../errors/index.js';

function envKey(kv: string): string {
  const eq = kv.indexOf('=');
  return eq < 0 ? kv : kv.slice(0, eq);
}

/**
 * `base` (image config, defaults: trusted as they are) overridden by `overrides` (user input:
 * each must be KEY=VALUE with a non-empty KEY, else InvalidArgumentError).
 */
export function mergeEnv(base: readonly string[], overrides: readonly string[]): string[] {
  const out = new Map<string, string>();
  for (const kv of base) out.set(envKey(kv), kv);
  for (const kv of overrides) {
    if (kv.indexOf('=') <= 0)
      throw new InvalidArgumentError(`invalid environment variable "${kv}": use KEY=VALUE`);
    out.set(envKey(kv), kv);
  }
  return [...out.values()];
}
