import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { waitFor } from '../../test/helpers/wait.js';
import { type LogEntry, logTimeMs, parseLogLine, readLogs } from './logs.js';

const dir = mkdtempSync(join(tmpdir(), 'berth-logs-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const T1 = '2024-05-01T10:00:00.000000001+00:00';
const T2 = '2024-05-01T10:00:01.500000000+00:00';
const T3 = '2024-05-01T12:00:02.999999999+02:00';

function line(time: string, stream: string, tag: string, text: string): string {
  return `${time} ${stream} ${tag} ${text}\n`;
}

async function all(path: string, options = {}): Promise<LogEntry[]> {
  const out: LogEntry[] = [];
  for await (const e of readLogs(path, options)) out.push(e);
  return out;
}

const show = (entries: LogEntry[]) => entries.map((e) => `${e.stream}:${e.partial ? 'P' : 'F'}:${e.line}`);

test('parseLogLine reads conmon k8s-file lines', () => {
  assert.deepEqual(parseLogLine(Buffer.from(`${T1} stdout F hello world`)), {
    time: T1,
    stream: 'stdout',
    partial: false,
    line: Buffer.from('hello world'),
  });
  assert.equal(parseLogLine(Buffer.from(`${T1} stderr P `))?.line.length, 0);
  assert.equal(parseLogLine(Buffer.from(`${T1} stderr F`))?.line.length, 0);
  assert.equal(parseLogLine(Buffer.from(`${T1} stdin F x`)), undefined);
  assert.equal(parseLogLine(Buffer.from(`${T1} stdout X x`)), undefined);
  assert.equal(parseLogLine(Buffer.from('garbage')), undefined);
  // bytes are kept as they are, not decoded
  const bin = Buffer.concat([Buffer.from(`${T1} stdout F `), Buffer.from([0xff, 0x00, 0xfe])]);
  assert.deepEqual(parseLogLine(bin)?.line, Buffer.from([0xff, 0x00, 0xfe]));
});

test('logTimeMs honours nanoseconds and offsets', () => {
  assert.equal(logTimeMs(T1), Date.UTC(2024, 4, 1, 10, 0, 0, 0));
  assert.equal(logTimeMs(T2), Date.UTC(2024, 4, 1, 10, 0, 1, 500));
  assert.equal(logTimeMs(T3), Date.UTC(2024, 4, 1, 10, 0, 2, 999));
  assert.ok(Number.isNaN(logTimeMs('yesterday')));
});

test('readLogs: all, tail (partials count once), since', async () => {
  const path = join(dir, 'a.log');
  writeFileSync(
    path,
    line(T1, 'stdout', 'F', 'one') +
      line(T1, 'stderr', 'F', 'two') +
      line(T2, 'stdout', 'P', 'thr') +
      line(T2, 'stdout', 'F', 'ee') +
      'not a log line\n' +
      line(T3, 'stdout', 'F', 'four'),
  );
  assert.deepEqual(show(await all(path)), [
    'stdout:F:one',
    'stderr:F:two',
    'stdout:P:thr',
    'stdout:F:ee',
    'stdout:F:four',
  ]);
  assert.deepEqual(show(await all(path, { tail: 1 })), ['stdout:F:four']);
  assert.deepEqual(show(await all(path, { tail: 2 })), ['stdout:P:thr', 'stdout:F:ee', 'stdout:F:four']);
  assert.deepEqual((await all(path, { tail: 4 })).length, 5);
  assert.deepEqual((await all(path, { tail: 100 })).length, 5);
  assert.deepEqual(await all(path, { tail: 0 }), []);
  assert.deepEqual(show(await all(path, { since: new Date(Date.UTC(2024, 4, 1, 10, 0, 1)) })), [
    'stdout:P:thr',
    'stdout:F:ee',
    'stdout:F:four',
  ]);
  assert.deepEqual(await all(join(dir, 'missing.log')), []);
});

test('readLogs: tail across chunk boundaries', async () => {
  const path = join(dir, 'big.log');
  let text = '';
  for (let i = 0; i < 5000; i++) text += line(T1, 'stdout', 'F', `line ${i} ${'x'.repeat(i % 50)}`);
  writeFileSync(path, text);
  const last = await all(path, { tail: 3 });
  assert.deepEqual(
    last.map((e) => e.line.toString().split(' ').slice(0, 2).join(' ')),
    ['line 4997', 'line 4998', 'line 4999'],
  );
  assert.equal((await all(path, { tail: 4321 })).length, 4321);
});

test('readLogs follows a growing file and a rotated one until aborted', async () => {
  const path = join(dir, 'follow.log');
  const controller = new AbortController();
  // The reader looks at `aborted` only once it has found the file missing: counting those
  // looks proves it is waiting before the file is created.
  let missingChecks = 0;
  const abortedGetter = Object.getOwnPropertyDescriptor(AbortSignal.prototype, 'aborted')!.get!;
  Object.defineProperty(controller.signal, 'aborted', {
    get() {
      missingChecks++;
      return abortedGetter.call(this);
    },
  });
  const seen: string[] = [];
  const reading = (async () => {
    for await (const e of readLogs(path, { follow: true, signal: controller.signal, pollMs: 20 })) {
      seen.push(e.line.toString());
      if (seen.length === 1) appendFileSync(path, line(T2, 'stdout', 'F', 'second'));
      if (seen.length === 2) {
        // rotation: a new file under the same name
        writeFileSync(`${path}.new`, line(T3, 'stdout', 'F', 'rotated'));
        renameSync(`${path}.new`, path);
      }
      if (seen.length === 3) controller.abort();
    }
  })();
  // the file does not exist yet: follow waits for it
  await waitFor(() => missingChecks > 0, { what: 'the reader to find the log missing' });
  assert.deepEqual(seen, []);
  writeFileSync(path, line(T1, 'stdout', 'F', 'first'));
  await reading;
  assert.deepEqual(seen, ['first', 'second', 'rotated']);
});
