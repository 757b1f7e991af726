import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  EventJournal,
  type EventRecord,
  journalPaths,
  MAX_EVENT_BYTES,
  newEvent,
  parseLine,
} from './_events.js';
import { Store } from './index.js';

const CHILD = fileURLToPath(new URL('../../test/helpers/events-child.js', import.meta.url));

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function freshDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'berth-events-'));
  dirs.push(dir);
  const journal = join(dir, 'events');
  mkdirSync(journal);
  return journal;
}

/** A writer process: appends `count` events and exits, or (no count) appends in rounds on request. */
function writer(
  dir: string,
  name: string,
  options: { rotateBytes: number; padBytes: number; count?: number },
) {
  const args = [CHILD, dir, name, String(options.rotateBytes), String(options.padBytes)];
  if (options.count !== undefined) args.push(String(options.count));
  const proc = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let err = '';
  proc.stderr!.on('data', (c: Buffer) => {
    err += c.toString();
  });
  const answers = createInterface({ input: proc.stdout! })[Symbol.asyncIterator]();
  return {
    proc,
    stderr: () => err,
    /** Append `n` more events; resolves once they are written. */
    async append(n: number): Promise<void> {
      proc.stdin!.write(`${n}\n`);
      const { value, done } = await answers.next();
      assert.ok(!done && value === 'ok', `writer ${name} answered ${String(value)}: ${err}`);
    },
  };
}

/** Follow the journal in the background; `stop()` ends it (call it in a finally). */
function follower(journal: EventJournal, options: { fromEnd?: boolean } = {}) {
  const ac = new AbortController();
  const seen: EventRecord[] = [];
  const done = (async () => {
    for await (const e of journal.read({ ...options, follow: true, signal: ac.signal })) seen.push(e);
  })();
  return {
    seen,
    ids: () => seen.map((e) => e.Actor.ID),
    async stop(): Promise<void> {
      ac.abort();
      await done;
    },
  };
}

/** Poll `check` until it holds, failing at the deadline. */
async function until(check: () => boolean, what: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function exitCode(proc: ChildProcess): Promise<number | null> {
  if (proc.exitCode !== null) return proc.exitCode;
  const [code] = (await once(proc, 'exit')) as [number | null];
  return code;
}

async function collect(it: AsyncIterable<EventRecord>): Promise<EventRecord[]> {
  const out: EventRecord[] = [];
  for await (const e of it) out.push(e);
  return out;
}

/** Each writer's events arrive complete and in its own order. */
function assertSequences(events: EventRecord[], writers: string[], count: number): void {
  for (const w of writers) {
    const mine = events.filter((e) => e.Actor.ID.startsWith(`${w}-`)).map((e) => e.Actor.ID);
    assert.deepEqual(
      mine,
      Array.from({ length: count }, (_, i) => `${w}-${i}`),
      `events of ${w} are all there, once each, in order`,
    );
  }
}

test('two processes appending at once: every line whole (lines past PIPE_BUF), none lost', async () => {
  const dir = freshDir();
  const count = 400;
  // 6 KiB lines: a write(2) of more than PIPE_BUF would interleave on a pipe, not with O_APPEND on a file
  const writers = ['a', 'b'].map((w) => writer(dir, w, { rotateBytes: 1 << 30, padBytes: 6000, count }));
  for (const w of writers) assert.equal(await exitCode(w.proc), 0, w.stderr());
  const raw = readFileSync(journalPaths(dir).log, 'utf8');
  const lines = raw.split('\n');
  assert.equal(lines.pop(), '', 'the file ends with a newline');
  assert.equal(lines.length, 2 * count);
  for (const line of lines) assert.ok(parseLine(line), `a whole event: ${line.slice(0, 80)}…`);
  const events = await collect(new EventJournal(dir).read());
  assertSequences(events, ['a', 'b'], count);
});

test('rotation across processes: a follower started first sees every event, files stay bounded', async () => {
  const dir = freshDir();
  const rotateBytes = 128 * 1024;
  const perRound = 40;
  const rounds = 8;
  const count = perRound * rounds;
  const journal = new EventJournal(dir, { rotateBytes });
  const f = follower(journal);
  const { seen } = f;
  // ~1 KiB lines from both writers at once, in rounds of 80 KiB: each round rotates the 128 KiB
  // journal at most once and the follower catches up before the next (a bounded journal keeps
  // one old file: a follower two whole files behind would lose one); five rotations in all
  const writers = ['p', 'q'].map((w) => writer(dir, w, { rotateBytes, padBytes: 1000 }));
  try {
    for (let round = 1; round <= rounds; round++) {
      await Promise.all(writers.map((w) => w.append(perRound)));
      await until(() => seen.length >= 2 * perRound * round, `the follower has seen round ${round}`);
    }
    for (const w of writers) {
      w.proc.stdin!.end();
      assert.equal(await exitCode(w.proc), 0, w.stderr());
    }
  } finally {
    for (const w of writers) w.proc.kill();
    await f.stop();
  }
  assert.equal(seen.length, 2 * count);
  assertSequences(seen, ['p', 'q'], count);

  const { log, old } = journalPaths(dir);
  assert.ok(existsSync(old), 'the journal was rotated');
  assert.ok(statSync(log).size < rotateBytes + MAX_EVENT_BYTES);
  assert.ok(statSync(old).size < rotateBytes + MAX_EVENT_BYTES);
  // a reader from the start gets what the two files keep, oldest first, with no gaps inside
  const kept = await collect(new EventJournal(dir).read());
  assert.ok(kept.length > 0 && kept.length < 2 * count);
  for (const w of ['p', 'q']) {
    // a writer that finished early may have been rotated out entirely
    const n = kept.filter((e) => e.Actor.ID.startsWith(`${w}-`)).map((e) => Number(e.Actor.ID.slice(2)));
    if (n.length === 0) continue;
    assert.deepEqual(
      n,
      n.map((_, i) => count - n.length + i),
      `${w}: a contiguous tail`,
    );
  }
});

test('history reads events.log.1 then events.log; fromEnd starts after both', async () => {
  const dir = freshDir();
  const journal = new EventJournal(dir, { rotateBytes: 4096 });
  const pad = 'x'.repeat(1500);
  const add = (id: string) => journal.append(newEvent('image', 'tag', { ID: id, Attributes: { pad } }));
  // ~1.6 KiB lines: the third and the sixth append fill the 4 KiB journal and rotate it
  for (let i = 0; i < 7; i++) add(`e${i}`);
  assert.ok(existsSync(journalPaths(dir).old));
  assert.deepEqual(
    (await collect(journal.read())).map((e) => e.Actor.ID),
    ['e3', 'e4', 'e5', 'e6'],
  );
  assert.deepEqual(await collect(journal.read({ fromEnd: true })), []);

  const f = follower(journal, { fromEnd: true });
  try {
    add('e7');
    add('e8');
    await until(() => f.seen.length >= 2, 'the follower has read e7 and e8');
  } finally {
    await f.stop();
  }
  assert.deepEqual(f.ids(), ['e7', 'e8']);
  journal.close();
});

test('a follower that slept through two rotations finds the file in between in events.log.1', async () => {
  const dir = freshDir();
  const journal = new EventJournal(dir, { rotateBytes: 4096 });
  const pad = 'x'.repeat(1500);
  const add = (id: string) => journal.append(newEvent('image', 'tag', { ID: id, Attributes: { pad } }));
  add('e0');
  const f = follower(journal);
  try {
    await until(() => f.seen.length === 1, 'the follower has read e0');
    // synchronously, so the follower cannot look in between: its file fills and rotates (e2),
    // the next one too (e5), and a third begins
    for (let i = 1; i <= 6; i++) add(`e${i}`);
    await until(() => f.ids().at(-1) === 'e6', 'the follower has read e6', 10_000);
  } finally {
    await f.stop();
  }
  assert.deepEqual(f.ids(), ['e0', 'e1', 'e2', 'e3', 'e4', 'e5', 'e6']);
});

test('a torn line (a crashed writer) is skipped, and the lines after it are read', async () => {
  const dir = freshDir();
  const journal = new EventJournal(dir);
  journal.append(newEvent('volume', 'create', { ID: 'before', Attributes: {} }));
  appendFileSync(journalPaths(dir).log, '{"Type":"volume","Action":"cre\n');
  appendFileSync(journalPaths(dir).log, '{"Type":"volume","Action":"create","Actor":{"ID":1}}\n');
  journal.append(newEvent('volume', 'destroy', { ID: 'after', Attributes: {} }));
  assert.deepEqual(
    (await collect(journal.read())).map((e) => `${e.Action} ${e.Actor.ID}`),
    ['create before', 'destroy after'],
  );
});

test('an oversized event is cut down to its core attributes before it is written', async () => {
  const dir = freshDir();
  const journal = new EventJournal(dir);
  const labels = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`label${i}`, 'v'.repeat(1000)]));
  journal.append(
    newEvent('container', 'die', { ID: 'c1', Attributes: { ...labels, name: 'web', exitCode: '3' } }),
  );
  const line = readFileSync(journalPaths(dir).log, 'utf8');
  assert.ok(Buffer.byteLength(line) <= MAX_EVENT_BYTES, `${Buffer.byteLength(line)} bytes`);
  const [e] = await collect(journal.read());
  assert.equal(e!.Actor.Attributes.name, 'web');
  assert.equal(e!.Actor.Attributes.exitCode, '3');
  assert.ok(Object.keys(e!.Actor.Attributes).length > 2, 'labels are kept while they fit');
});

test('event times increase within a process and carry Docker legacy fields', () => {
  const a = newEvent('container', 'start', { ID: 'c', Attributes: { image: 'bb', name: 'x' } });
  const b = newEvent('container', 'die', { ID: 'c', Attributes: { image: 'bb', name: 'x' } });
  assert.ok(b.timeNano > a.timeNano);
  assert.equal(a.time, Math.floor(a.timeNano / 1e9));
  assert.deepEqual([a.status, a.id, a.from, a.scope], ['start', 'c', 'bb', 'local']);
  const v = newEvent('volume', 'create', { ID: 'v', Attributes: {} });
  assert.equal(v.status, undefined);
});

test('the store records volume create (new ones only) and destroy, prune per volume', async () => {
  const root = join(mkdtempSync(join(tmpdir(), 'berth-events-store-')), 'root');
  dirs.push(root);
  const store = Store.open(root);
  try {
    store.createVolume('one');
    store.createVolume('one'); // exists: no second create
    store.createVolume('two');
    store.createVolume('three');
    store.removeVolume('one');
    store.removeVolume('gone', { force: true }); // nothing removed: no event
    store.pruneVolumes();
    const events = await collect(store.readEvents());
    assert.deepEqual(
      events.map((e) => `${e.Type} ${e.Action} ${e.Actor.ID} ${e.Actor.Attributes.driver}`),
      [
        'volume create one local',
        'volume create two local',
        'volume create three local',
        'volume destroy one local',
        'volume destroy three local',
        'volume destroy two local',
      ],
    );
  } finally {
    store.close();
  }
});
