import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { hasCode } from '../errors/index.js';
import { type EventRecord, newEvent } from '../store/index.js';
import { eventMatches, parseEventQuery, parseEventTime } from './_events.js';

const NOW = Date.UTC(2026, 0, 15, 12, 0, 0); // ms
const NOW_NS = NOW * 1e6;

function rejects(fn: () => unknown, message: RegExp): void {
  assert.throws(
    fn,
    (err: unknown) => hasCode(err, 'INVALID_ARGUMENT') && message.test((err as Error).message),
  );
}

test('times: RFC 3339 with a zone, with fractions, and prefixes of it', () => {
  const at = (text: string) => parseEventTime(text, { now: NOW });
  assert.equal(at('2026-01-15T12:00:00Z'), NOW_NS);
  assert.equal(at('2026-01-15T14:00:00+02:00'), NOW_NS);
  assert.equal(at('2026-01-15T07:30:00-04:30'), NOW_NS);
  assert.equal(at('2026-01-15T12:00:00.000000001Z'), NOW_NS + 1);
  assert.equal(at('2026-01-15T12:00:00.5Z'), NOW_NS + 5e8);
  assert.equal(at('2026-01-15T12:00Z'), NOW_NS);
  assert.equal(at('2026-01-15T12Z'), NOW_NS);
  assert.equal(at('2026-01-15Z'), Date.UTC(2026, 0, 15) * 1e6);
});

test('times: without a zone they are local, as Docker reads them', () => {
  assert.equal(parseEventTime('2026-01-15T12:34:56'), new Date(2026, 0, 15, 12, 34, 56).getTime() * 1e6);
  assert.equal(parseEventTime('2026-01-15'), new Date(2026, 0, 15).getTime() * 1e6);
});

test('times: unix seconds with optional nanoseconds; "0" is the epoch', () => {
  assert.equal(parseEventTime('1700000000'), 1700000000e9);
  assert.equal(parseEventTime('1700000000.25'), 1700000000e9 + 250_000_000);
  assert.equal(parseEventTime('1700000000.000000007'), 1700000000e9 + 7);
  assert.equal(parseEventTime('0', { now: NOW }), 0);
});

test('times: Go durations count back from now; a negative one is in the future', () => {
  const at = (text: string) => parseEventTime(text, { now: NOW });
  assert.equal(at('10m'), NOW_NS - 600e9);
  assert.equal(at('1h30m'), NOW_NS - 5400e9);
  assert.equal(at('1.5h'), NOW_NS - 5400e9);
  assert.equal(at('300ms'), NOW_NS - 300e6);
  assert.equal(at('2us'), NOW_NS - 2000);
  assert.equal(at('0s'), NOW_NS);
  assert.equal(at('-10s'), NOW_NS + 10e9);
});

test('times: bad input is refused with the flag named', () => {
  const bad = ['', 'yesterday', '10x', '1.2.3', 'm', '1h-30m', '2026-02-30', '2026-13-01', '2026-1-5'];
  bad.push('2026-01-15T24:00Z', '2026-01-15T12:60Z', '2026-01-15T12:00:00+25:00', '2026-01-15T12:00:00.Z');
  bad.push('1700000000.1234567891', ' 10m', '10m ', '2026-01-15 12:00:00');
  for (const text of bad) {
    rejects(() => parseEventTime(text, { flag: 'since' }), /^invalid --since /);
  }
});

test('queries: filters as --filter strings and as the API map, both checked', () => {
  const q = parseEventQuery({ filters: ['type=container', 'type=image', 'label=a=b', 'event=exec_create'] });
  assert.deepEqual(q.filters, { type: ['container', 'image'], label: ['a=b'], event: ['exec_create'] });
  assert.deepEqual(parseEventQuery({ filters: { type: ['volume'] } }).filters, { type: ['volume'] });
  assert.deepEqual(parseEventQuery({ filters: { type: { volume: true, image: false } } }).filters, {
    type: ['volume'],
  });
  rejects(() => parseEventQuery({ filters: ['nope'] }), /invalid filter "nope": use KEY=VALUE/);
  rejects(() => parseEventQuery({ filters: ['=x'] }), /use KEY=VALUE/);
  rejects(
    () => parseEventQuery({ filters: ['colour=red'] }),
    /invalid filter "colour": use one of type, event/,
  );
  rejects(
    () => parseEventQuery({ filters: ['type=daemon'] }),
    /type=daemon.*container, image, volume, network/,
  );
  rejects(() => parseEventQuery({ filters: ['event=strat'] }), /event=strat.*not an event berth records/);
  rejects(() => parseEventQuery({ filters: ['container='] }), /the value is empty/);
  rejects(() => parseEventQuery({ filters: ['label==v'] }), /the value is empty/);
  rejects(
    () => parseEventQuery({ filters: { type: [1] } as unknown as Record<string, string[]> }),
    /values must be strings/,
  );
  rejects(
    () => parseEventQuery({ filters: { type: 'container' } as unknown as Record<string, string[]> }),
    /values must be a list/,
  );
});

test('queries: since and until are checked, and until may not come before since', () => {
  const q = parseEventQuery({ since: '10m', until: '0s' }, NOW);
  assert.deepEqual([q.sinceNano, q.untilNano], [NOW_NS - 600e9, NOW_NS]);
  rejects(() => parseEventQuery({ since: 'soon' }), /^invalid --since "soon"/);
  rejects(() => parseEventQuery({ until: 'later' }), /^invalid --until "later"/);
  rejects(
    () => parseEventQuery({ since: '1m', until: '10m' }, NOW),
    /--until "10m": it is before --since "1m"/,
  );
});

function container(action: string, id: string, attrs: Record<string, string>): EventRecord {
  return newEvent('container', action, { ID: id, Attributes: attrs });
}

test('matching: container by name or ID prefix, only container events', () => {
  const f = parseEventQuery({ filters: ['container=web'] }).filters;
  const web = container('start', 'abc123', { name: 'web', image: 'bb' });
  assert.ok(eventMatches(f, web));
  assert.ok(!eventMatches(f, container('start', 'def456', { name: 'webby', image: 'bb' })));
  assert.ok(!eventMatches(f, newEvent('volume', 'create', { ID: 'web', Attributes: { name: 'web' } })));
  assert.ok(eventMatches(parseEventQuery({ filters: ['container=abc'] }).filters, web));
  assert.ok(!eventMatches(parseEventQuery({ filters: ['container=bc'] }).filters, web));
});

test('matching: image by name with or without a tag, by ID, and the containers that run it', () => {
  const img = newEvent('image', 'tag', { ID: `sha256:${'a'.repeat(64)}`, Attributes: { name: 'bb:1' } });
  const run = container('start', 'c1', { name: 'x', image: 'bb:1' });
  const other = container('start', 'c2', { name: 'y', image: 'alpine' });
  const byName = ['bb:1', 'bb'];
  for (const value of [...byName, 'aaaaaaaaaaaa', `sha256:${'a'.repeat(64)}`]) {
    const f = parseEventQuery({ filters: [`image=${value}`] }).filters;
    assert.ok(eventMatches(f, img), value);
    // a container event names its image as it was given, so only a name finds it
    assert.equal(eventMatches(f, run), byName.includes(value), value);
    assert.ok(!eventMatches(f, other), value);
  }
  assert.ok(!eventMatches(parseEventQuery({ filters: ['image=bb:2'] }).filters, img));
  const plain = container('start', 'c3', { name: 'z', image: 'bb' });
  assert.ok(eventMatches(parseEventQuery({ filters: ['image=bb:latest'] }).filters, plain));
  assert.ok(!eventMatches(parseEventQuery({ filters: ['image=bb:1'] }).filters, plain));
});

test('matching: labels (all must hold), events by action head, types OR, keys AND', () => {
  const e = container('exec_start: sh -c ls', 'c1', { name: 'x', image: 'bb', tier: 'web', 'com.x': '' });
  const q = (...filters: string[]) => parseEventQuery({ filters }).filters;
  assert.ok(eventMatches(q('label=tier'), e));
  assert.ok(eventMatches(q('label=tier=web', 'label=com.x'), e));
  assert.ok(!eventMatches(q('label=tier=web', 'label=missing'), e));
  assert.ok(!eventMatches(q('label=tier=db'), e));
  assert.ok(eventMatches(q('event=exec_start'), e));
  assert.ok(eventMatches(q('event=exec_start: sh -c ls'), e));
  assert.ok(!eventMatches(q('event=exec_create'), e));
  assert.ok(eventMatches(q('type=volume', 'type=container'), e));
  assert.ok(!eventMatches(q('type=container', 'event=die'), e));
  assert.ok(eventMatches(q(), e));
});

test('property: any since/until/filter text gives a query or an InvalidArgumentError, nothing else', () => {
  const piece = fc.oneof(
    fc.string({ maxLength: 40 }),
    fc.constantFrom(
      '10m',
      '1.5h',
      '-3s',
      '0',
      '1700000000.5',
      '2026-01-15T12:00:00Z',
      '2026-02-29',
      'type=x',
    ),
  );
  fc.assert(
    fc.property(piece, piece, fc.array(piece, { maxLength: 4 }), (since, until, filters) => {
      try {
        const q = parseEventQuery({ since, until, filters });
        for (const t of [q.sinceNano, q.untilNano]) assert.ok(t === undefined || Number.isFinite(t));
      } catch (err) {
        if (!hasCode(err, 'INVALID_ARGUMENT')) throw err;
      }
    }),
    { numRuns: 2000, seed: Number(process.env.FC_SEED ?? Date.now() % 2 ** 31) },
  );
});
