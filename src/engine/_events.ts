// The events use-case: Docker's `events` query (since/until in Docker's time forms, filters),
// checked before anything is read, and the stream served from the store's journal, to the CLI
// and the API alike. Also the helpers the other use-cases record their events with.
import type { ManagerEvent } from '../container/index.js';
import { InvalidArgumentError } from '../errors/index.js';
import { familiarTag } from '../image/index.js';
import {
  type ContainerRecord,
  EVENT_ACTIONS,
  EVENT_TYPES,
  type EventRecord,
  type EventType,
  newEvent,
  type Store,
} from '../store/index.js';
import { parseGoDuration } from '../util/index.js';

export const EVENT_FILTER_KEYS = [
  'type',
  'event',
  'container',
  'image',
  'label',
  'volume',
  'network',
] as const;
export type EventFilterKey = (typeof EVENT_FILTER_KEYS)[number];

export interface EventQueryInput {
  /** Docker's forms: RFC 3339 (zone optional: local), unix seconds[.nanos], or a duration before now (`10m`). */
  since?: string;
  until?: string;
  /** `key=value` strings as `--filter` gives them, or the API's map (`{"type":["container"]}` or `{"type":{"container":true}}`). */
  filters?: readonly string[] | Record<string, readonly string[] | Record<string, boolean>>;
}

/** A checked query. Without `sinceNano` and `untilNano` only new events are streamed. */
export interface EventQuery {
  sinceNano?: number;
  untilNano?: number;
  filters: Partial<Record<EventFilterKey, string[]>>;
}

const KNOWN_ACTIONS = new Set(Object.values(EVENT_ACTIONS).flat());

/** Check an events query; throws InvalidArgumentError naming the bad part. */
export function parseEventQuery(input: EventQueryInput, now: number = Date.now()): EventQuery {
  const query: EventQuery = { filters: parseEventFilters(input.filters ?? []) };
  if (input.since !== undefined) query.sinceNano = parseEventTime(input.since, { flag: 'since', now });
  if (input.until !== undefined) query.untilNano = parseEventTime(input.until, { flag: 'until', now });
  if (query.sinceNano !== undefined && query.untilNano !== undefined && query.untilNano < query.sinceNano) {
    throw new InvalidArgumentError(`invalid --until "${input.until}": it is before --since "${input.since}"`);
  }
  return query;
}

function parseEventFilters(input: NonNullable<EventQueryInput['filters']>): EventQuery['filters'] {
  const pairs: [string, string][] = [];
  if (Array.isArray(input)) {
    for (const f of input as readonly string[]) {
      const eq = f.indexOf('=');
      if (eq <= 0) throw new InvalidArgumentError(`invalid filter "${f}": use KEY=VALUE`);
      pairs.push([f.slice(0, eq), f.slice(eq + 1)]);
    }
  } else {
    for (const [key, values] of Object.entries(input)) {
      if (Array.isArray(values)) {
        for (const v of values as unknown[]) {
          if (typeof v !== 'string')
            throw new InvalidArgumentError(`invalid filter "${key}": values must be strings`);
          pairs.push([key, v]);
        }
      } else if (values !== null && typeof values === 'object') {
        for (const [v, on] of Object.entries(values)) if (on === true) pairs.push([key, v]);
      } else {
        throw new InvalidArgumentError(`invalid filter "${key}": values must be a list of strings`);
      }
    }
  }
  const filters: EventQuery['filters'] = {};
  for (const [key, value] of pairs) {
    if (!(EVENT_FILTER_KEYS as readonly string[]).includes(key)) {
      throw new InvalidArgumentError(`invalid filter "${key}": use one of ${EVENT_FILTER_KEYS.join(', ')}`);
    }
    checkFilterValue(key as EventFilterKey, value);
    (filters[key as EventFilterKey] ??= []).push(value);
  }
  return filters;
}

function checkFilterValue(key: EventFilterKey, value: string): void {
  if (value === '' || (key === 'label' && value.startsWith('='))) {
    throw new InvalidArgumentError(`invalid filter "${key}=${value}": the value is empty`);
  }
  if (key === 'type' && !(EVENT_TYPES as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(`invalid filter "type=${value}": use one of ${EVENT_TYPES.join(', ')}`);
  }
  // `exec_create: sh -c ls` (Docker's exec actions carry the command) is matched by its head
  if (key === 'event' && !KNOWN_ACTIONS.has(actionHead(value))) {
    throw new InvalidArgumentError(
      `invalid filter "event=${value}": not an event berth records (${[...KNOWN_ACTIONS].sort().join(', ')})`,
    );
  }
}

function actionHead(action: string): string {
  const colon = action.indexOf(':');
  return colon < 0 ? action : action.slice(0, colon);
}

const UNIX = /^(\d{1,12})(?:\.(\d{1,9}))?$/;
const DATE =
  /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2})(?::(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?)?(Z|z|[+-]\d{2}:\d{2})?$/;

/**
 * A time as `docker events --since/--until` takes it, in unix nanoseconds: an RFC 3339 date-time
 * (or a prefix of one: `2024-05-01`, `2024-05-01T10:30`; without a zone it is local time), unix
 * seconds with optional nanoseconds, or a Go duration counted back from `now` (`10m`).
 */
export function parseEventTime(text: string, options: { flag?: string; now?: number } = {}): number {
  const flag = options.flag ?? 'time';
  const now = options.now ?? Date.now();
  const bad = (why: string) =>
    new InvalidArgumentError(
      `invalid --${flag} "${text}": ${why}; use RFC 3339 (2006-01-02T15:04:05Z), unix seconds, or a duration like 10m`,
    );
  // Docker reads a bare "0" as the unix epoch, not as a zero duration
  const nanos = text === '0' ? undefined : parseGoDuration(text);
  if (typeof nanos === 'number') return Math.round(now * 1e6 - nanos);
  const unix = UNIX.exec(text);
  if (unix) return Number(unix[1]) * 1e9 + Number((unix[2] ?? '').padEnd(9, '0'));
  const d = DATE.exec(text);
  if (!d) throw bad('not a time or duration');
  const [year, month, day, hour, minute, second] = [1, 2, 3, 4, 5, 6].map((i) => Number(d[i] ?? 0)) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const fraction = Number((d[7] ?? '').padEnd(9, '0'));
  const zone = d[8];
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59) {
    throw bad('a field is out of range');
  }
  let ms: number;
  let check: Date;
  if (zone === undefined) {
    check = new Date(year, month - 1, day, hour, minute, second);
    ms = check.getTime();
    if (check.getFullYear() !== year || check.getMonth() !== month - 1 || check.getDate() !== day) {
      throw bad('no such date');
    }
  } else {
    ms = Date.UTC(year, month - 1, day, hour, minute, second);
    check = new Date(ms);
    if (check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day) throw bad('no such date');
    if (zone !== 'Z' && zone !== 'z') {
      const sign = zone.startsWith('-') ? -1 : 1;
      const [zh, zm] = zone.slice(1).split(':').map(Number) as [number, number];
      if (zh > 23 || zm > 59) throw bad('the zone offset is out of range');
      ms -= sign * (zh * 60 + zm) * 60_000;
    }
  }
  return ms * 1e6 + fraction;
}

/** Does `e` pass the query's filters? Keys combine with AND, values of one key with OR (labels: AND). */
export function eventMatches(filters: EventQuery['filters'], e: EventRecord): boolean {
  const any = (key: EventFilterKey, test: (v: string) => boolean) => {
    const values = filters[key];
    return values === undefined || values.some(test);
  };
  const attrs = e.Actor.Attributes;
  return (
    any('type', (v) => v === e.Type) &&
    any('event', (v) => v === e.Action || v === actionHead(e.Action)) &&
    any('container', (v) => e.Type === 'container' && (v === attrs.name || e.Actor.ID.startsWith(v))) &&
    any('image', (v) => matchesImage(v, e)) &&
    any('volume', (v) => e.Type === 'volume' && e.Actor.ID === v) &&
    any('network', (v) => e.Type === 'network' && (v === attrs.name || e.Actor.ID.startsWith(v))) &&
    (filters.label ?? []).every((l) => {
      const eq = l.indexOf('=');
      return eq < 0 ? l in attrs : attrs[l.slice(0, eq)] === l.slice(eq + 1);
    })
  );
}

/**
 * As Docker: an image event by its ID or name, a container event by the image it runs; a value
 * without a tag matches any tag (`bb` finds `bb:1`), and `bb:latest` finds a plain `bb`.
 */
function matchesImage(value: string, e: EventRecord): boolean {
  if (e.Type !== 'image' && e.Type !== 'container') return false;
  const candidates: string[] = [];
  const name = e.Type === 'image' ? e.Actor.Attributes.name : e.Actor.Attributes.image;
  if (name) {
    const bare = stripTag(name);
    candidates.push(name, bare);
    if (bare === name && !name.startsWith('sha256:')) candidates.push(`${name}:latest`);
  }
  if (e.Type === 'image') {
    const id = e.Actor.ID;
    candidates.push(id, stripTag(id));
    if (/^[0-9a-f]{12,64}$/.test(value) && id.startsWith(`sha256:${value}`)) return true;
  }
  return candidates.includes(value);
}

function stripTag(ref: string): string {
  if (ref.startsWith('sha256:')) return ref;
  const at = ref.indexOf('@');
  if (at >= 0) return ref.slice(0, at);
  const colon = ref.lastIndexOf(':');
  return colon > ref.lastIndexOf('/') ? ref.slice(0, colon) : ref;
}

/** The longest single setTimeout Node allows. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * The events the query asks for: the recorded ones from `since`, then (unless `until` has passed)
 * new ones as they are recorded, until `until` or until `signal` fires.
 */
export async function* streamEvents(
  store: Store,
  query: EventQuery,
  signal?: AbortSignal,
): AsyncGenerator<EventRecord> {
  const nowNano = Date.now() * 1e6;
  const follow = query.untilNano === undefined || query.untilNano > nowNano;
  const ac = new AbortController();
  const stop = () => ac.abort();
  if (signal?.aborted) return;
  signal?.addEventListener('abort', stop, { once: true });
  let timer: NodeJS.Timeout | undefined;
  const armUntil = () => {
    const wait = (query.untilNano! - Date.now() * 1e6) / 1e6;
    if (wait <= 0) stop();
    else timer = setTimeout(armUntil, Math.min(Math.ceil(wait), MAX_TIMER_MS));
  };
  if (follow && query.untilNano !== undefined) armUntil();
  try {
    const journal = store.readEvents({
      follow,
      fromEnd: query.sinceNano === undefined && query.untilNano === undefined,
      signal: ac.signal,
    });
    for await (const e of journal) {
      if (query.sinceNano !== undefined && e.timeNano < query.sinceNano) continue;
      // not a stop: clocks of different processes may append slightly out of order
      if (query.untilNano !== undefined && e.timeNano > query.untilNano) continue;
      if (eventMatches(query.filters, e)) yield e;
    }
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', stop);
  }
}

/**
 * Record an event after the change it describes is committed. A journal that cannot be written
 * must not make a committed change look failed, so a failure only loses the event.
 */
export function recordEvent(
  store: Store,
  type: EventType,
  action: string,
  actor: EventRecord['Actor'],
): void {
  try {
    store.appendEvent(newEvent(type, action, actor));
  } catch {
    // the change stands; only its event is missing
  }
}

/** A container's attributes as Docker gives them: its labels, then image and name. */
export function containerAttributes(
  rec: ContainerRecord,
  extra: Record<string, string> = {},
): Record<string, string> {
  const image = (rec.config as { imageName?: unknown }).imageName;
  return {
    ...rec.labels,
    image: typeof image === 'string' ? image : rec.imageId,
    name: rec.name,
    ...extra,
  };
}

/** Wire the container manager's lifecycle notices into the journal. */
export function recordManagerEvent(store: Store, e: ManagerEvent): void {
  if (e.type === 'container') {
    recordEvent(store, 'container', e.action, {
      ID: e.container.id,
      Attributes: containerAttributes(e.container, e.attributes),
    });
  } else {
    recordEvent(store, 'volume', e.action, {
      ID: e.volume,
      Attributes: { driver: 'local', ...e.attributes },
    });
  }
}

/** An image event: Actor.ID is the image ID (or the reference, for pull and push), `name` its name. */
export function recordImageEvent(
  store: Store,
  action: (typeof EVENT_ACTIONS)['image'][number],
  id: string,
  name?: string,
): void {
  // pull and push name a reference, not an image: Docker shows it familiar (`alpine:latest`)
  const ID = action === 'pull' || action === 'push' ? shortName(id) : id;
  recordEvent(store, 'image', action, {
    ID,
    Attributes: name === undefined ? {} : { name: shortName(name) },
  });
}

function shortName(name: string): string {
  try {
    return familiarTag(name);
  } catch {
    return name;
  }
}
