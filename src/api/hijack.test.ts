// The refusals of the attach/exec endpoints, over a real Engine on a temporary root: what
// cannot be hijacked is answered with Docker's JSON error instead of `101 UPGRADED`.
import assert from 'node:assert/strict';
import { createConnection } from 'node:net';
import { describe, test } from 'node:test';
import { apiUnderTest } from '../../test/helpers/api-unit.js';
import { consoleSize, escapeFilter, parseDetachKeys } from './_hijack.js';

const api = apiUnderTest('berth-api-hijack-');
const { sock } = api;

/** Send a raw HTTP request and read until the server closes; returns the whole answer. */
function raw(request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = createConnection(sock);
    const chunks: Buffer[] = [];
    c.on('data', (d: Buffer) => chunks.push(d));
    c.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    c.on('error', reject);
    c.write(request);
  });
}

function post(path: string, body?: string, upgrade = false): Promise<string> {
  const headers = [
    `POST ${path} HTTP/1.1`,
    'Host: berth',
    ...(upgrade ? ['Connection: Upgrade', 'Upgrade: tcp'] : ['Connection: close']),
    ...(body !== undefined
      ? ['Content-Type: application/json', `Content-Length: ${Buffer.byteLength(body)}`]
      : []),
  ];
  return raw(`${headers.join('\r\n')}\r\n\r\n${body ?? ''}`);
}

describe('hijacked endpoints refuse with JSON errors', () => {
  test('attach to a missing container is a 404, not an upgrade', async () => {
    const r = await post('/v1.45/containers/nope/attach?stream=1&stdout=1', undefined, true);
    assert.match(r, /^HTTP\/1\.1 404 /);
    assert.match(r, /"message"/);
  });

  test('starting an unknown exec is a 404; a malformed body is a 400', async () => {
    assert.match(await post('/v1.45/exec/abc/start', '{"Detach":false}', true), /^HTTP\/1\.1 404 /);
    assert.match(await post('/v1.45/exec/abc/start', '{nope', true), /^HTTP\/1\.1 400 /);
  });

  test('exec create, inspect and resize check their input', async () => {
    assert.match(await post('/v1.45/containers/nope/exec', '{"Cmd":[]}'), /^HTTP\/1\.1 400 /);
    assert.match(await post('/v1.45/containers/nope/exec', '{"Cmd":["true"]}'), /^HTTP\/1\.1 404 /);
    assert.match(
      await raw('GET /v1.45/exec/abc/json HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n'),
      /^HTTP\/1\.1 404 /,
    );
    assert.match(await post('/v1.45/exec/abc/resize?h=0&w=10'), /^HTTP\/1\.1 400 /);
    assert.match(await post('/v1.45/containers/nope/resize?h=10&w=10'), /^HTTP\/1\.1 404 /);
  });
});

describe('the plain (not upgraded) forms', () => {
  test('exec start and attach without an upgrade check their input the same way', async () => {
    assert.match(await post('/v1.45/exec/abc/start', '{"Detach":true}'), /^HTTP\/1\.1 404 /);
    assert.match(await post('/v1.45/containers/nope/attach?stream=1&stdout=1'), /^HTTP\/1\.1 404 /);
    // unknown query parameters are ignored, as dockerd does (dockerode sends `hijack=true`)
    assert.match(await post('/v1.45/containers/nope/attach?bogus=1'), /^HTTP\/1\.1 404 /);
  });

  test('exec create refuses a bad ConsoleSize, bad detach keys and --privileged', async () => {
    // the container is looked up after the body is checked, so these fail before any 404
    for (const body of [
      '{"Cmd":["true"],"ConsoleSize":[1]}',
      '{"Cmd":["true"],"ConsoleSize":[-1,2]}',
      '{"Cmd":["true"],"DetachKeys":"ctrl-é"}',
      '{"Cmd":["true"],"Privileged":true}',
    ]) {
      assert.match(await post('/v1.45/containers/nope/exec', body), /^HTTP\/1\.1 400 /, body);
    }
  });
});

describe('detach keys', () => {
  test('Docker’s syntax: ctrl-<key> and single characters; the default is ctrl-p,ctrl-q', () => {
    assert.deepEqual([...parseDetachKeys(undefined)!], [16, 17]);
    assert.deepEqual([...parseDetachKeys('ctrl-a,x,ctrl-@,ctrl-_')!], [1, 120, 0, 31]);
    assert.equal(parseDetachKeys(''), undefined);
    assert.throws(() => parseDetachKeys('ctrl-1'), /Invalid detach keys/);
    assert.throws(() => parseDetachKeys('ab'), /Invalid detach keys/);
  });

  test('the sequence is held back across chunks; a broken one passes as typed', () => {
    let detached = 0;
    const f = escapeFilter(Buffer.from([16, 17]), () => detached++);
    assert.deepEqual([...f(Buffer.from([65, 16]))], [65]);
    assert.deepEqual([...f(Buffer.from([66]))], [16, 66]);
    assert.deepEqual([...f(Buffer.from([16, 16]))], [16]);
    assert.equal(detached, 0);
    assert.deepEqual([...f(Buffer.from([17, 67]))], []);
    assert.equal(detached, 1);
    assert.deepEqual([...f(Buffer.from([68]))], [], 'nothing passes after a detach');
  });

  test('ConsoleSize is [rows, cols]; zeros mean none', () => {
    assert.deepEqual(consoleSize([24, 80]), { rows: 24, cols: 80 });
    assert.equal(consoleSize([0, 0]), undefined);
    assert.equal(consoleSize(undefined), undefined);
    assert.throws(() => consoleSize('24x80'), /ConsoleSize/);
  });
});
