// The streamed endpoints on a temporary socket over a real Engine on a temporary root: /events
// (bounded, open-ended, filtered, refused) and the checks logs makes before it streams. Logs of a
// running container are tested with the docker CLI (test/integration/api-streams.test.ts).
import assert from 'node:assert/strict';
import { type IncomingMessage, request } from 'node:http';
import { describe, test } from 'node:test';
import { apiUnderTest } from '../../test/helpers/api-unit.js';
import { dockerTime, frame } from './_routes-streams.js';

const api = apiUnderTest('berth-api-streams-');
const { sock } = api;

function open(path: string): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: sock, path }, resolve);
    req.on('error', reject);
    req.end();
  });
}

async function get(path: string): Promise<{ status: number; type: string; text: string }> {
  const res = await open(path);
  const chunks: Buffer[] = [];
  for await (const c of res) chunks.push(c as Buffer);
  return {
    status: res.statusCode ?? 0,
    type: String(res.headers['content-type']),
    text: Buffer.concat(chunks).toString('utf8'),
  };
}

// events carry microseconds, Date.now() only milliseconds: an upper bound is the next millisecond
const seconds = (ms = 0) => ((Date.now() + ms) / 1000).toFixed(6);

describe('/events', () => {
  test('since and until: the volume events in between, in Docker’s shape, and the stream ends', async () => {
    const since = seconds();
    api.engine.createVolume('evvol');
    await api.engine.removeVolume('evvol');
    const until = seconds(1);
    const filters = encodeURIComponent(JSON.stringify({ type: ['volume'] }));
    const r = await get(`/v1.45/events?since=${since}&until=${until}&filters=${filters}`);
    assert.equal(r.status, 200);
    assert.equal(r.type, 'application/json');
    const events = r.text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(
      events.map((e) => e.Action),
      ['create', 'destroy'],
    );
    const e = events[0] as {
      Type: string;
      Actor: { ID: string; Attributes: Record<string, string> };
      scope: string;
      time: number;
      timeNano: number;
    };
    assert.equal(e.Type, 'volume');
    assert.equal(e.Actor.ID, 'evvol');
    assert.equal(e.scope, 'local');
    assert.equal(e.time, Math.floor(e.timeNano / 1e9));
  });

  test('the map form of filters and event= narrow the stream', async () => {
    const since = seconds();
    api.engine.createVolume('evvol2');
    await api.engine.removeVolume('evvol2');
    const until = seconds(1);
    const filters = encodeURIComponent(JSON.stringify({ type: { volume: true }, event: ['destroy'] }));
    const r = await get(`/events?since=${since}&until=${until}&filters=${filters}`);
    assert.equal(r.status, 200);
    const actions = r.text
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { Action: string }).Action);
    assert.deepEqual(actions, ['destroy']);
  });

  test('without until it streams new events until the client goes away', async () => {
    const res = await open(`/events?filters=${encodeURIComponent(JSON.stringify({ type: ['volume'] }))}`);
    assert.equal(res.statusCode, 200);
    let text = '';
    const first = new Promise<string>((resolve) => {
      res.on('data', (d: Buffer) => {
        text += d.toString();
        if (text.includes('\n')) resolve(text);
      });
    });
    api.engine.createVolume('evlive');
    const line = JSON.parse((await first).split('\n')[0]!) as { Action: string; Actor: { ID: string } };
    assert.equal(line.Action, 'create');
    assert.equal(line.Actor.ID, 'evlive');
    res.destroy();
    await api.engine.removeVolume('evlive');
    // the server goes on answering after the client left
    assert.equal((await get('/_ping')).text, 'OK');
  });

  test('bad filters or times are a 400 in Docker’s JSON shape, before anything streams', async () => {
    for (const q of [
      'filters=notjson',
      `filters=${encodeURIComponent(JSON.stringify({ bogus: ['x'] }))}`,
      `filters=${encodeURIComponent(JSON.stringify({ type: ['nothing'] }))}`,
      'since=yesterday-ish',
      'since=20&until=10',
    ]) {
      const r = await get(`/events?${q}`);
      assert.equal(r.status, 400, q);
      assert.equal(typeof (JSON.parse(r.text) as { message: string }).message, 'string', q);
    }
  });
});

describe('/containers/{id}/logs before it streams', () => {
  test('neither stdout nor stderr is a 400; a missing container a 404; bad tail or since a 400', async () => {
    const none = await get('/containers/nothing-here/logs');
    assert.equal(none.status, 400);
    assert.match((JSON.parse(none.text) as { message: string }).message, /at least one stream/);
    const missing = await get('/containers/nothing-here/logs?stdout=1');
    assert.equal(missing.status, 404);
    assert.match((JSON.parse(missing.text) as { message: string }).message, /nothing-here/);
    for (const q of ['stdout=1&tail=some', 'stdout=1&since=soon', 'stdout=maybe']) {
      assert.equal((await get(`/containers/nothing-here/logs?${q}`)).status, 400, q);
    }
  });

  test('timestamps as dockerd writes them: UTC, Z, no trailing zeros', () => {
    assert.equal(dockerTime('2026-12-07T23:02:05.792861630+00:00'), '2026-12-07T23:02:05.79286163Z');
    assert.equal(dockerTime('2026-12-07T23:02:05.000000000Z'), '2026-12-07T23:02:05Z');
    assert.equal(dockerTime('2026-12-08T01:02:05.5+02:00'), '2026-12-07T23:02:05.5Z');
  });

  test('the multiplexing header: stream type, three zeros, the length big-endian', () => {
    const f = frame('stderr', Buffer.from('hello\n'));
    assert.deepEqual([...f.subarray(0, 8)], [2, 0, 0, 0, 0, 0, 0, 6]);
    assert.equal(f.subarray(8).toString(), 'hello\n');
    assert.equal(frame('stdout', Buffer.alloc(0x10203))[0], 1);
    assert.deepEqual([...frame('stdout', Buffer.alloc(0x10203)).subarray(4, 8)], [0, 1, 2, 3]);
  });
});
