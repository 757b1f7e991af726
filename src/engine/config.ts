import { readFileSync } from 'node:fs';
import { errnoCode, InvalidArgumentError } from '../errors/index.js';

export const DEFAULT_CONFIG_PATH = '/etc/berth/berth.json';

export interface BerthConfig {
  /** Default OCI runtime for containers that name none: runc, crun, a path, or auto. */
  runtime?: string;
}

/**
 * The engine's settings file (`$BERTH_CONFIG` or /etc/berth/berth.json); a missing file means
 * defaults. `BERTH_RUNTIME` overrides the runtime.
 */
export function loadBerthConfig(env: NodeJS.ProcessEnv = process.env): BerthConfig {
  const path = env.BERTH_CONFIG || DEFAULT_CONFIG_PATH;
  let config: BerthConfig = {};
  let text: string | undefined;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw new InvalidArgumentError(`cannot read ${path}`, { cause: err });
  }
  if (text !== undefined) {
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (err) {
      throw new InvalidArgumentError(`${path} is not valid JSON`, { cause: err });
    }
    if (typeof doc !== 'object' || doc === null || Array.isArray(doc))
      throw new InvalidArgumentError(`${path} must hold a JSON object`);
    const runtime = (doc as Record<string, unknown>).runtime;
    if (runtime !== undefined && (typeof runtime !== 'string' || runtime === '')) {
      throw new InvalidArgumentError(`${path}: "runtime" must be a non-empty string`);
    }
    config = runtime === undefined ? {} : { runtime };
  }
  if (env.BERTH_RUNTIME) config.runtime = env.BERTH_RUNTIME;
  return config;
}
