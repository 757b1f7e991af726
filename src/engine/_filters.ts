// List filters as docker takes them (`--filter key=value`, or the API's `{"key": ["value"]}`),
// parsed and checked before anything is listed: a bad key or value is an InvalidArgumentError
// even when there is nothing to list.
import { InvalidArgumentError } from '../errors/index.js';
import type { ContainerSummary } from './_format.js';

/** `["status=running", "label=a"]` (CLI) or `{ status: ["running"], label: ["a"] }` (API). */
export type FilterInput = string[] | Record<string, string[]>;

/**
 * key → values; values of one key are OR-ed, keys are AND-ed, as docker does, except `label`:
 * every label given must match (docker-compose lists a project's containers by several labels).
 */
type FilterMap = Map<string, string[]>;

/** Split into pairs, calling `check` on each in the order given (so the first bad one is named). */
function toPairs(
  input: FilterInput | undefined,
  check: (key: string, value: string) => void,
): [key: string, value: string, text: string][] {
  if (input === undefined) return [];
  const out: [string, string, string][] = [];
  if (Array.isArray(input)) {
    for (const f of input) {
      const eq = typeof f === 'string' ? f.indexOf('=') : -1;
      if (eq <= 0) throw new InvalidArgumentError(`invalid filter "${f}": expected KEY=VALUE`);
      check(f.slice(0, eq), f.slice(eq + 1));
      out.push([f.slice(0, eq), f.slice(eq + 1), f]);
    }
    return out;
  }
  for (const [k, values] of Object.entries(input)) {
    if (!Array.isArray(values) || values.some((v) => typeof v !== 'string')) {
      throw new InvalidArgumentError(`invalid filter "${k}": values must be a list of strings`);
    }
    for (const v of values) {
      check(k, v);
      out.push([k, v, `${k}=${v}`]);
    }
  }
  return out;
}

function group(pairs: [string, string, string][]): FilterMap {
  const map: FilterMap = new Map();
  for (const [k, v] of pairs) map.set(k, [...(map.get(k) ?? []), v]);
  return map;
}

function labelMatches(labels: Record<string, string>, v: string): boolean {
  const eq = v.indexOf('=');
  return eq < 0 ? v in labels : labels[v.slice(0, eq)] === v.slice(eq + 1);
}

/** Whether the values of one key match: all of them for `label`, any one for the other keys. */
function keyMatches(key: string, values: string[], test: (value: string) => boolean): boolean {
  return key === 'label' ? values.every(test) : values.some(test);
}

/** Keys AND-ed, values of one key OR-ed (AND-ed for `label`). */
function matchAll<T>(byKey: FilterMap, test: (item: T, key: string, value: string) => boolean) {
  return (item: T): boolean =>
    [...byKey].every(([k, values]) => keyMatches(k, values, (v) => test(item, k, v)));
}

/** An unknown key, or a `dangling` value that is not a boolean, is refused. */
function checkKeyAndDangling(keys: string[], k: string, v: string): void {
  if (!keys.includes(k)) {
    throw new InvalidArgumentError(`invalid filter "${k}": supported are ${keys.join(', ')}`);
  }
  if (k === 'dangling' && !['true', 'false', '1', '0'].includes(v)) {
    throw new InvalidArgumentError(`invalid filter "dangling=${v}": use true or false`);
  }
}

const isTrue = (v: string) => v === 'true' || v === '1';

// ---------------------------------------------------------------- containers

const CONTAINER_KEYS = ['status', 'name', 'label', 'ancestor', 'id'];
export const CONTAINER_STATUSES = [
  'created',
  'restarting',
  'running',
  'removing',
  'paused',
  'exited',
  'dead',
];

export interface ContainerFilter {
  /** A status filter asks about stopped containers too, so it implies `--all`. */
  wantsAll: boolean;
  matches(c: ContainerSummary): boolean;
}

export function parseContainerFilters(input: FilterInput | undefined): ContainerFilter {
  const names = new Map<string, RegExp>();
  const pairs = toPairs(input, (k, v) => {
    if (!CONTAINER_KEYS.includes(k)) {
      throw new InvalidArgumentError(`invalid filter "${k}": supported are ${CONTAINER_KEYS.join(', ')}`);
    }
    if (k === 'status' && !CONTAINER_STATUSES.includes(v)) {
      throw new InvalidArgumentError(`invalid filter "status=${v}": one of ${CONTAINER_STATUSES.join(', ')}`);
    }
    if (k === 'name') {
      try {
        names.set(v, new RegExp(v));
      } catch {
        throw new InvalidArgumentError(`invalid filter "name=${v}": not a regular expression`);
      }
    }
  });
  const byKey = group(pairs);
  return {
    wantsAll: byKey.has('status'),
    matches(c) {
      for (const [k, values] of byKey) {
        const ok = keyMatches(k, values, (v) => {
          switch (k) {
            case 'status':
              return c.State === v;
            case 'name':
              return names.get(v)!.test(c.Name);
            case 'id':
              return c.Id.startsWith(v);
            case 'ancestor':
              return (
                c.Image === v ||
                c.ImageID === v ||
                c.ImageID.slice(7).startsWith(v) ||
                c.Image === `${v}:latest`
              );
            case 'label':
              return labelMatches(c.Labels, v);
            default:
              return false;
          }
        });
        if (!ok) return false;
      }
      return true;
    },
  };
}

// ---------------------------------------------------------------- images

export interface ImageFilter {
  dangling?: boolean;
  reference?: string;
}

/** `dangling=true|false` and `reference=PATTERN` (the last one wins). */
export function parseImageFilters(input: FilterInput | undefined): ImageFilter {
  const out: ImageFilter = {};
  const bad = (f: string) =>
    new InvalidArgumentError(
      `invalid filter "${f}": supported are dangling=true|false and reference=PATTERN`,
    );
  const pairs = Array.isArray(input)
    ? input.map((f): [string, string, string] => {
        const eq = f.indexOf('=');
        if (eq <= 0) throw bad(f);
        return [f.slice(0, eq), f.slice(eq + 1), f];
      })
    : toPairs(input, () => {});
  for (const [k, v, text] of pairs) {
    if (k === 'dangling' && (v === 'true' || v === 'false')) out.dangling = v === 'true';
    else if (k === 'reference' && v) out.reference = v;
    else throw bad(text);
  }
  return out;
}

// ---------------------------------------------------------------- volumes

const VOLUME_KEYS = ['dangling', 'driver', 'label', 'name'];

export interface VolumeFacts {
  name: string;
  labels: Record<string, string>;
  usedBy: string[];
}

/** `dangling=true|false` (used by no container), `driver=local`, `label=K[=V]`, `name=SUBSTRING`. */
export function parseVolumeFilters(input: FilterInput | undefined): (v: VolumeFacts) => boolean {
  const byKey = group(toPairs(input, (k, v) => checkKeyAndDangling(VOLUME_KEYS, k, v)));
  return matchAll<VolumeFacts>(byKey, (vol, k, v) => {
    switch (k) {
      case 'dangling':
        return (vol.usedBy.length === 0) === isTrue(v);
      case 'driver':
        return v === 'local';
      case 'label':
        return labelMatches(vol.labels, v);
      case 'name':
        return vol.name.includes(v);
      default:
        return false;
    }
  });
}

// ---------------------------------------------------------------- networks

const NETWORK_KEYS = ['dangling', 'driver', 'id', 'label', 'name', 'scope', 'type'];

export interface NetworkFacts {
  name: string;
  id: string;
  driver: string;
  labels: Record<string, string>;
  /** The default network (docker's "builtin" type). */
  builtin: boolean;
  /** Some container record names it. */
  inUse: boolean;
}

/**
 * `dangling=true|false` (used by no container), `driver=`, `id=PREFIX`, `label=K[=V]`,
 * `name=REGEXP`, `scope=local`, `type=custom|builtin`.
 */
export function parseNetworkFilters(input: FilterInput | undefined): (n: NetworkFacts) => boolean {
  const names = new Map<string, RegExp>();
  const pairs = toPairs(input, (k, v) => {
    checkKeyAndDangling(NETWORK_KEYS, k, v);
    if (k === 'type' && v !== 'custom' && v !== 'builtin') {
      throw new InvalidArgumentError(`invalid filter "type=${v}": use custom or builtin`);
    }
    if (k === 'name') {
      try {
        names.set(v, new RegExp(v));
      } catch {
        throw new InvalidArgumentError(`invalid filter "name=${v}": not a regular expression`);
      }
    }
  });
  return matchAll<NetworkFacts>(group(pairs), (n, k, v) => {
    switch (k) {
      case 'dangling':
        return (!n.inUse && !n.builtin) === isTrue(v);
      case 'driver':
        return n.driver === v;
      case 'id':
        return n.id.startsWith(v);
      case 'label':
        return labelMatches(n.labels, v);
      case 'name':
        return names.get(v)!.test(n.name);
      case 'scope':
        return v === 'local';
      case 'type':
        return n.builtin === (v === 'builtin');
      default:
        return false;
    }
  });
}

/** `network prune` filters: `label=K[=V]`, `label!=K[=V]`, `until=TIME` (created before). */
export function parseNetworkPruneFilters(
  input: FilterInput | undefined,
  parseTime: (text: string) => number,
): (n: { labels: Record<string, string>; created: string }) => boolean {
  const until: number[] = [];
  const pairs = toPairs(input, (k, v) => {
    if (k !== 'label' && k !== 'label!' && k !== 'until') {
      throw new InvalidArgumentError(`invalid filter "${k}": supported are label, label!, until`);
    }
    if (k === 'until') until.push(parseTime(v));
  });
  const byKey = group(pairs);
  return (n) => {
    const createdNs = Date.parse(n.created) * 1e6;
    if (until.some((t) => createdNs >= t)) return false;
    const labels = byKey.get('label') ?? [];
    if (!labels.every((v) => labelMatches(n.labels, v))) return false;
    const notLabels = byKey.get('label!') ?? [];
    if (notLabels.some((v) => labelMatches(n.labels, v))) return false;
    return true;
  };
}
