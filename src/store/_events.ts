// The events journal: every state change as one JSON line in events/events.log, shaped like
// Docker's /events messages. Any berth process appends (one write(2) per event on an O_APPEND fd,
// so lines from different processes never interleave); the file rotates to events.log.1 at
// EVENTS_ROTATE_BYTES, one old file kept. Readers replay both files, then follow the live one
// through one open fd, woken by fs.watch on the directory; nothing polls.
//
// Rotation and appends share events/rotate.lock: appenders (and a reader opening its files) hold it
// shared, the rotating process exclusive. So once events.log has been renamed away, nobody writes
// to it again, and a follower that sees the rename can drain its old fd and move to the new file
// without losing a line.
import {
  closeSync,
  constants,
  existsSync,
  type FSWatcher,
  fstatSync,
  mkdirSync,
  openSync,
  readSync,
  renameSync,
  statSync,
  watch,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { errnoCode, IOError, LockedError } from '../errors/index.js';
import { tryFlock, unflock } from '../util/index.js';

export type EventType = 'container' | 'image' | 'volume' | 'network';
export const EVENT_TYPES: readonly EventType[] = ['container', 'image', 'volume', 'network'];

/** The actions berth records, by type, as Docker names them. */
export const EVENT_ACTIONS: Readonly<Record<EventType, readonly string[]>> = {
  container: [
    'create',
    'start',
    'die',
    'stop',
    'kill',
    'pause',
    'unpause',
    'rename',
    'update',
    'destroy',
    'restart',
    'exec_create',
    'exec_start',
    'exec_die',
  ],
  image: ['pull', 'push', 'tag', 'untag', 'delete', 'import', 'load', 'save', 'build'],
  volume: ['create', 'destroy', 'mount', 'unmount'],
  network: ['create', 'connect', 'disconnect', 'destroy'],
};

export interface EventActor {
  /** Container ID, image ID (or reference for pull/push), volume name, network ID. */
  ID: string;
  Attributes: Record<string, string>;
}

/** One event, as Docker's /events sends it. */
export interface EventRecord {
  /** Docker's legacy fields, set on container and image events (docker-compose v1 reads them). */
  status?: string;
  id?: string;
  from?: string;
  Type: EventType;
  /** e.g. `die`; exec events carry their command as Docker does: `exec_create: sh -c ls`. */
  Action: string;
  Actor: EventActor;
  scope: 'local';
  /** Unix seconds. */
  time: number;
  /** Unix nanoseconds (microsecond precision). */
  timeNano: number;
}

/** events.log moves to events.log.1 once it reaches this size. */
export const EVENTS_ROTATE_BYTES = 4 * 1024 * 1024;
/** A line longer than this is cut down (attributes dropped) before it is written. */
export const MAX_EVENT_BYTES = 16 * 1024;
const MAX_KEY_CHARS = 256;
const MAX_VALUE_CHARS = 2048;
const LOCK_TIMEOUT_MS = 10_000;
/** A rotation that cannot get the lock this soon is left to the next append past the limit. */
const ROTATE_WAIT_MS = 1_000;
const READ_CHUNK = 64 * 1024;

let lastMicros = 0;

/** A new event stamped with the current time (strictly increasing within this process). */
export function newEvent(type: EventType, action: string, actor: EventActor): EventRecord {
  const wall = Date.now() * 1000 + Math.floor((performance.now() % 1) * 1000);
  lastMicros = Math.max(wall, lastMicros + 1);
  const legacy: Pick<EventRecord, 'status' | 'id' | 'from'> = {};
  if (type === 'container' || type === 'image') {
    legacy.status = action;
    legacy.id = actor.ID;
    const image = actor.Attributes.image;
    if (type === 'container' && image !== undefined) legacy.from = image;
  }
  return {
    ...legacy,
    Type: type,
    Action: action,
    Actor: { ID: actor.ID, Attributes: { ...actor.Attributes } },
    scope: 'local',
    time: Math.floor(lastMicros / 1e6),
    timeNano: lastMicros * 1000,
  };
}

/** The journal's paths, for the store's layout and for tests. */
export function journalPaths(dir: string): { log: string; old: string; lock: string } {
  return { log: join(dir, 'events.log'), old: join(dir, 'events.log.1'), lock: join(dir, 'rotate.lock') };
}

interface Tail {
  fd: number;
  ino: number;
  offset: number;
  /** Bytes after the last newline read so far (a line still being written). */
  rest: Buffer;
  /** Started mid-line (following from the end): drop everything up to the first newline. */
  skipPartial: boolean;
}

export interface ReadEventsOptions {
  /** After the history, keep yielding new events until `signal` fires. */
  follow?: boolean;
  /** Skip the history: only events appended after the call. */
  fromEnd?: boolean;
  signal?: AbortSignal;
}

export class EventJournal {
  private lockFd: number | undefined;
  private readonly paths: { log: string; old: string; lock: string };
  private readonly rotateBytes: number;

  constructor(
    readonly dir: string,
    options: { rotateBytes?: number } = {},
  ) {
    this.paths = journalPaths(dir);
    this.rotateBytes = options.rotateBytes ?? EVENTS_ROTATE_BYTES;
  }

  /** Append one event: a single write(2) on an O_APPEND fd, then rotate if the file is full. */
  append(event: EventRecord): void {
    const line = Buffer.from(`${serialize(event)}\n`);
    const lockFd = this.lock(false, LOCK_TIMEOUT_MS);
    let size: number;
    try {
      let fd: number;
      try {
        fd = openSync(this.paths.log, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT, 0o600);
      } catch (err) {
        throw new IOError(`cannot open the events journal "${this.paths.log}"`, { cause: err });
      }
      try {
        const written = writeSync(fd, line);
        if (written !== line.length) {
          // end the torn line, so the next event starts on a line of its own
          writeSync(fd, '\n');
          throw new IOError(`short write to the events journal (${written} of ${line.length} bytes)`);
        }
        size = fstatSync(fd).size;
      } catch (err) {
        if (err instanceof IOError) throw err;
        throw new IOError(`cannot append to the events journal "${this.paths.log}"`, { cause: err });
      } finally {
        closeSync(fd);
      }
    } finally {
      unflock(lockFd);
    }
    if (size >= this.rotateBytes) this.rotate();
  }

  /**
   * The events in the journal, oldest first (events.log.1, then events.log); with `follow`, then
   * each new one as it is appended, until `signal` fires. Stop a follower with the signal: a
   * `break` out of the loop only takes effect at the next event.
   */
  async *read(options: ReadEventsOptions = {}): AsyncGenerator<EventRecord> {
    const { follow = false, signal } = options;
    let changed = false;
    let wake: (() => void) | undefined;
    let watchError: unknown;
    let watcher: FSWatcher | undefined;
    const onAbort = () => wake?.();
    let cur: Tail | undefined;
    let old: Tail | undefined;
    try {
      if (follow) {
        // watch before opening: a change that lands between the two is seen, not lost
        try {
          watcher = watch(this.dir, { persistent: true }, () => {
            changed = true;
            wake?.();
          });
        } catch (err) {
          throw new IOError(`cannot watch the events journal "${this.dir}"`, { cause: err });
        }
        watcher.on('error', (err) => {
          watchError = err;
          wake?.();
        });
        signal?.addEventListener('abort', onAbort, { once: true });
      }
      // the inode of the last rotated file this reader has read (or chose to skip) in full
      let doneIno: number | undefined;
      ({ cur, old, oldIno: doneIno } = this.openForReading(options.fromEnd === true));
      if (old) {
        yield* readLines(old);
        closeSync(old.fd);
        old = undefined;
      }
      if (cur) yield* readLines(cur);
      if (!follow) return;
      while (!signal?.aborted) {
        if (watchError !== undefined) {
          throw new IOError(`lost the watch on the events journal "${this.dir}"`, { cause: watchError });
        }
        if (!changed) {
          await new Promise<void>((resolve) => {
            wake = resolve;
          });
          wake = undefined;
          continue;
        }
        changed = false;
        if (cur) yield* readLines(cur);
        const ino = inodeOf(this.paths.log);
        if (cur && ino === cur.ino) continue;
        if (cur) {
          // rotated: the rename happened under the exclusive lock, so the old file is complete
          yield* readLines(cur);
          closeSync(cur.fd);
          doneIno = cur.ino;
          cur = undefined;
        }
        if (ino === undefined) continue; // renamed, not yet created again
        // two rotations since we last looked leave in events.log.1 a file this reader never saw
        ({ cur, old } = this.openForReading(false));
        if (old) {
          if (old.ino !== doneIno) yield* readLines(old);
          doneIno = old.ino;
          closeSync(old.fd);
          old = undefined;
        }
        if (cur) yield* readLines(cur);
      }
    } finally {
      watcher?.close();
      signal?.removeEventListener('abort', onAbort);
      if (old) closeSync(old.fd);
      if (cur) closeSync(cur.fd);
    }
  }

  close(): void {
    if (this.lockFd !== undefined) closeSync(this.lockFd);
    this.lockFd = undefined;
  }

  /** Open events.log and events.log.1 together, so no rotation can slip in between. */
  private openForReading(fromEnd: boolean): { cur?: Tail; old?: Tail; oldIno?: number } {
    // a read-only root that never had a journal: nothing to read
    if (!existsSync(this.dir)) return {};
    const lockFd = this.lock(false, LOCK_TIMEOUT_MS);
    try {
      const cur = openTail(this.paths.log, fromEnd);
      const withCur = cur ? { cur } : {};
      if (fromEnd) {
        // skipped, as if read: only a file rotated after this call is new to the reader
        const oldIno = inodeOf(this.paths.old);
        return oldIno === undefined ? withCur : { ...withCur, oldIno };
      }
      const old = openTail(this.paths.old, false);
      // the same file twice only if a rotation slipped in, which the lock rules out
      if (!old || (cur && old.ino === cur.ino)) {
        if (old) closeSync(old.fd);
        return withCur;
      }
      return { ...withCur, old, oldIno: old.ino };
    } finally {
      unflock(lockFd);
    }
  }

  /** Move events.log to events.log.1 (replacing it) unless another process did it first. */
  private rotate(): void {
    let lockFd: number;
    try {
      lockFd = this.lock(true, ROTATE_WAIT_MS);
    } catch (err) {
      if (err instanceof LockedError) return;
      throw err;
    }
    try {
      let size: number;
      try {
        size = statSync(this.paths.log).size;
      } catch (err) {
        if (errnoCode(err) === 'ENOENT') return;
        throw new IOError(`cannot rotate the events journal "${this.paths.log}"`, { cause: err });
      }
      if (size < this.rotateBytes) return;
      try {
        renameSync(this.paths.log, this.paths.old);
      } catch (err) {
        throw new IOError(`cannot rotate the events journal "${this.paths.log}"`, { cause: err });
      }
    } finally {
      unflock(lockFd);
    }
  }

  /** flock rotate.lock (one cached fd: every lock section is synchronous, so they never overlap). */
  private lock(exclusive: boolean, timeoutMs: number): number {
    if (this.lockFd === undefined) {
      try {
        mkdirSync(this.dir, { recursive: true, mode: 0o700 });
        this.lockFd = openSync(this.paths.lock, constants.O_RDWR | constants.O_CREAT, 0o600);
      } catch (err) {
        throw new IOError(`cannot open the events journal lock "${this.paths.lock}"`, { cause: err });
      }
    }
    const fd = this.lockFd;
    const deadline = Date.now() + timeoutMs;
    let delay = 1;
    while (!tryFlock(fd, exclusive)) {
      if (Date.now() >= deadline) {
        throw new LockedError(`timed out waiting for the events journal lock "${this.paths.lock}"`);
      }
      sleepSync(delay);
      delay = Math.min(delay * 2, 20);
    }
    return fd;
  }
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));
/** Lock holders keep it for microseconds (one write, one rename): a short synchronous wait is fine. */
function sleepSync(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}

function inodeOf(path: string): number | undefined {
  try {
    return statSync(path).ino;
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw new IOError(`cannot stat the events journal "${path}"`, { cause: err });
  }
}

function openTail(path: string, atEnd: boolean): Tail | undefined {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw new IOError(`cannot open the events journal "${path}"`, { cause: err });
  }
  const st = fstatSync(fd);
  const tail: Tail = { fd, ino: st.ino, offset: 0, rest: Buffer.alloc(0), skipPartial: false };
  if (atEnd && st.size > 0) {
    tail.offset = st.size;
    // a size taken while another process's write(2) was copying may fall mid-line
    const last = Buffer.alloc(1);
    readSync(fd, last, 0, 1, st.size - 1);
    tail.skipPartial = last[0] !== 0x0a;
  }
  return tail;
}

/** Read from the tail's offset to the end of its file, yielding each complete, valid line. */
function* readLines(t: Tail): Generator<EventRecord> {
  const buf = Buffer.allocUnsafe(READ_CHUNK);
  for (;;) {
    const n = readSync(t.fd, buf, 0, buf.length, t.offset);
    if (n === 0) return;
    t.offset += n;
    const chunk = t.rest.length > 0 ? Buffer.concat([t.rest, buf.subarray(0, n)]) : buf.subarray(0, n);
    let start = 0;
    if (t.skipPartial) {
      const nl = chunk.indexOf(0x0a);
      if (nl < 0) {
        t.rest = Buffer.alloc(0);
        continue;
      }
      start = nl + 1;
      t.skipPartial = false;
    }
    const events: EventRecord[] = [];
    for (let nl = chunk.indexOf(0x0a, start); nl >= 0; nl = chunk.indexOf(0x0a, start)) {
      const ev = parseLine(chunk.subarray(start, nl));
      if (ev) events.push(ev);
      start = nl + 1;
    }
    // a torn write with no newline would grow forever: past any valid line's size, drop it
    t.rest = chunk.length - start > MAX_EVENT_BYTES ? Buffer.alloc(0) : Buffer.from(chunk.subarray(start));
    yield* events;
  }
}

/** A journal line back into an event; anything malformed (a torn write) is skipped. */
export function parseLine(line: Buffer | string): EventRecord | undefined {
  let v: unknown;
  try {
    v = JSON.parse(line.toString());
  } catch {
    return undefined;
  }
  if (v === null || typeof v !== 'object') return undefined;
  const e = v as Record<string, unknown>;
  const actor = e.Actor as Record<string, unknown> | null | undefined;
  if (
    typeof e.Type !== 'string' ||
    !(EVENT_TYPES as readonly string[]).includes(e.Type) ||
    typeof e.Action !== 'string' ||
    typeof e.time !== 'number' ||
    typeof e.timeNano !== 'number' ||
    actor === null ||
    typeof actor !== 'object' ||
    typeof actor.ID !== 'string' ||
    actor.Attributes === null ||
    typeof actor.Attributes !== 'object' ||
    Object.values(actor.Attributes).some((x) => typeof x !== 'string')
  ) {
    return undefined;
  }
  return v as EventRecord;
}

/** JSON for one line, cut to MAX_EVENT_BYTES by shortening, then dropping, attributes. */
function serialize(event: EventRecord): string {
  const whole = JSON.stringify(event);
  if (Buffer.byteLength(whole) < MAX_EVENT_BYTES) return whole;
  const attrs: Record<string, string> = {};
  const base = Buffer.byteLength(JSON.stringify({ ...event, Actor: { ...event.Actor, Attributes: {} } }));
  let budget = MAX_EVENT_BYTES - base - 1;
  // the attributes Docker's own tools read first, then the rest (labels) while they fit
  const keys = Object.keys(event.Actor.Attributes).sort(
    (a, b) => Number(!CORE_ATTRIBUTES.has(a)) - Number(!CORE_ATTRIBUTES.has(b)),
  );
  for (const key of keys) {
    const k = key.slice(0, MAX_KEY_CHARS);
    const v = (event.Actor.Attributes[key] ?? '').slice(0, MAX_VALUE_CHARS);
    const cost = Buffer.byteLength(JSON.stringify(k)) + Buffer.byteLength(JSON.stringify(v)) + 2;
    if (cost > budget) continue;
    attrs[k] = v;
    budget -= cost;
  }
  return JSON.stringify({ ...event, Actor: { ID: event.Actor.ID, Attributes: attrs } });
}

const CORE_ATTRIBUTES = new Set(['name', 'image', 'exitCode', 'signal', 'oldName', 'execID', 'driver']);
