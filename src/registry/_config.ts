import { readFileSync } from 'node:fs';
import { errnoCode, InvalidArgumentError } from '../errors/index.js';

export interface RegistryHostConfig {
  /** Pull-through mirrors tried in order before the registry itself: URLs or `host[:port][/prefix]`. */
  mirrors?: string[];
  /** Allow plain HTTP and unverified TLS for this host. */
  insecure?: boolean;
}

export interface RegistriesConfig {
  /** Keyed by `host[:port]`; Docker Hub is `docker.io`. */
  registries?: Record<string, RegistryHostConfig>;
}

export const DEFAULT_REGISTRIES_CONF = '/etc/berth/registries.json';
const MAX_CONFIG_FILE_BYTES = 1024 * 1024;

/** The canonical key of a registry host: lowercased, Docker Hub's aliases folded into `docker.io`. */
export function registryKey(host: string): string {
  const h = host.toLowerCase();
  if (h === 'index.docker.io' || h === 'registry-1.docker.io' || h === 'registry.hub.docker.com')
    return 'docker.io';
  return h;
}

/**
 * Read the registries file. Missing file → `{}`; unreadable or malformed → InvalidArgumentError
 * naming the file. Default path: $BERTH_REGISTRIES_CONF, else /etc/berth/registries.json.
 */
export function loadRegistriesConfig(path?: string): RegistriesConfig {
  const file = path ?? (process.env.BERTH_REGISTRIES_CONF || DEFAULT_REGISTRIES_CONF);
  let text: Buffer;
  try {
    text = readFileSync(file);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return {};
    throw new InvalidArgumentError(`cannot read registries config ${file}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  if (text.length > MAX_CONFIG_FILE_BYTES) {
    throw new InvalidArgumentError(`registries config ${file} is larger than ${MAX_CONFIG_FILE_BYTES} bytes`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text.toString('utf8'));
  } catch (err) {
    throw new InvalidArgumentError(`registries config ${file} is not valid JSON`, { cause: err });
  }
  try {
    return validateRegistriesConfig(doc);
  } catch (err) {
    throw new InvalidArgumentError(`invalid registries config ${file}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function validateRegistriesConfig(doc: unknown): RegistriesConfig {
  if (!isObject(doc)) throw new InvalidArgumentError('top level is not an object');
  if (doc.registries === undefined) return {};
  if (!isObject(doc.registries)) throw new InvalidArgumentError('"registries" is not an object');
  const registries: Record<string, RegistryHostConfig> = {};
  for (const [host, entry] of Object.entries(doc.registries)) {
    if (!/^[A-Za-z0-9.\-[\]:]+$/.test(host))
      throw new InvalidArgumentError(`invalid registry host "${host}"`);
    if (!isObject(entry)) throw new InvalidArgumentError(`entry for "${host}" is not an object`);
    const out: RegistryHostConfig = {};
    if (entry.mirrors !== undefined) {
      if (!Array.isArray(entry.mirrors) || entry.mirrors.some((m) => typeof m !== 'string')) {
        throw new InvalidArgumentError(`"mirrors" of "${host}" is not a list of strings`);
      }
      for (const m of entry.mirrors as string[]) parseMirror(m);
      out.mirrors = entry.mirrors as string[];
    }
    if (entry.insecure !== undefined) {
      if (typeof entry.insecure !== 'boolean')
        throw new InvalidArgumentError(`"insecure" of "${host}" is not a boolean`);
      out.insecure = entry.insecure;
    }
    registries[host] = out;
  }
  return { registries };
}

export interface MirrorLocation {
  host: string;
  scheme: 'http' | 'https' | undefined;
  /** Repository path prefix on the mirror, without slashes at either end ('' for none). */
  prefix: string;
}

const HOST_RE =
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;
const PREFIX_RE = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;

/** `https://mirror.example/prefix`, `mirror:5000`, `http://127.0.0.1:5001`. */
export function parseMirror(spec: string): MirrorLocation {
  const bad = (why: string) => new InvalidArgumentError(`invalid mirror "${spec.slice(0, 100)}": ${why}`);
  let scheme: 'http' | 'https' | undefined;
  let rest = spec.trim();
  const m = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(rest);
  if (m) {
    const proto = m[1]!.toLowerCase();
    if (proto !== 'http' && proto !== 'https') throw bad('only http and https are supported');
    scheme = proto;
    rest = rest.slice(m[0].length);
  }
  rest = rest.replace(/\/+$/, '');
  const slash = rest.indexOf('/');
  const host = slash >= 0 ? rest.slice(0, slash) : rest;
  const prefix = slash >= 0 ? rest.slice(slash + 1) : '';
  if (host.includes('@')) throw bad('credentials do not belong in a mirror address');
  if (!HOST_RE.test(host)) throw bad('bad host');
  if (prefix !== '' && !PREFIX_RE.test(prefix)) throw bad('bad path prefix');
  return { host, scheme, prefix };
}

export function hostConfig(config: RegistriesConfig, host: string): RegistryHostConfig | undefined {
  const registries = config.registries;
  if (!registries) return undefined;
  const key = registryKey(host);
  for (const [k, v] of Object.entries(registries)) if (registryKey(k) === key) return v;
  return undefined;
}
