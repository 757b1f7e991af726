// The byte stream of one blob upload: counted for progress, and stopped by an abort with an
// error the registry client does not retry.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { InterruptedError } from '../errors/index.js';
import { countedBlobStream } from './push.js';

async function drain(r: Readable): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const c of r) out.push(c as Buffer);
  return Buffer.concat(out);
}

test('bytes pass through unchanged; progress is reported in steps and at the end', async () => {
  const chunks = Array.from({ length: 10 }, (_, i) => Buffer.alloc(100 * 1024, i));
  const size = 10 * 100 * 1024;
  const seen: number[] = [];
  const body = await drain(
    countedBlobStream(() => Readable.from(chunks), size, { report: (n) => seen.push(n) }),
  );
  assert.deepEqual(body, Buffer.concat(chunks));
  assert.equal(seen.at(-1), size);
  assert.ok(seen.length >= 3 && seen.length < 10, String(seen));
  assert.deepEqual(
    [...seen].sort((a, b) => a - b),
    seen,
  );
});

test('an abort before the attempt fails it at once without opening the blob', async () => {
  const ac = new AbortController();
  ac.abort();
  let opened = false;
  const s = countedBlobStream(
    () => {
      opened = true;
      return Readable.from([Buffer.from('x')]);
    },
    1,
    { report: () => {}, signal: ac.signal },
  );
  await assert.rejects(drain(s), InterruptedError);
  assert.equal(opened, false);
});

test('an abort in the middle stops the stream with an InterruptedError and closes the source', async () => {
  const ac = new AbortController();
  const source = new Readable({ read() {} });
  const s = countedBlobStream(() => source, 10, { report: () => {}, signal: ac.signal });
  source.push(Buffer.from('12345'));
  const done = drain(s);
  ac.abort();
  await assert.rejects(done, InterruptedError);
  if (!source.closed) await once(source, 'close');
  assert.equal(source.destroyed, true);
});

test('a failing source fails the stream', async () => {
  const source = new Readable({
    read() {
      this.destroy(new Error('disk gone'));
    },
  });
  await assert.rejects(drain(countedBlobStream(() => source, 10, { report: () => {} })), /disk gone/);
});
