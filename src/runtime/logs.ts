import { type FSWatcher, watch } from 'node:fs';
import { type FileHandle, open, stat } from 'node:fs/promises';
import { errnoCode } from '../errors/index.js';

/**
 * One entry of conmon's k8s-file log: `<RFC3339Nano time> <stdout|stderr> <F|P> <bytes>\n`.
 * `line` carries no trailing newline; a full entry (`partial: false`) ended with one in the
 * container's output, a partial entry continues in the next entry of the same stream.
 */
export interface LogEntry {
  time: string;
  stream: 'stdout' | 'stderr';
  partial: boolean;
  line: Buffer;
}

export interface ReadLogsOptions {
  /** Keep reading as the file grows until `signal` aborts. */
  follow?: boolean;
  /** Only entries at or after this time. */
  since?: Date;
  /** Only the last `tail` lines (a run of partial entries and their final entry count once). */
  tail?: number;
  signal?: AbortSignal;
  /** Poll interval while following, for file systems without inotify (ms). */
  pollMs?: number;
}

const CHUNK = 64 * 1024;

/** Parse one k8s-file line (without its '\n'); undefined for a malformed line. */
export function parseLogLine(raw: Buffer): LogEntry | undefined {
  const s1 = raw.indexOf(0x20);
  if (s1 <= 0) return undefined;
  const s2 = raw.indexOf(0x20, s1 + 1);
  if (s2 < 0) return undefined;
  const stream = raw.toString('latin1', s1 + 1, s2);
  if (stream !== 'stdout' && stream !== 'stderr') return undefined;
  const tag = raw[s2 + 1];
  if (tag !== 0x46 && tag !== 0x50) return undefined; // 'F' | 'P'
  if (raw.length > s2 + 2 && raw[s2 + 2] !== 0x20) return undefined;
  return {
    time: raw.toString('latin1', 0, s1),
    stream,
    partial: tag === 0x50,
    line: Buffer.from(raw.subarray(Math.min(raw.length, s2 + 3))),
  };
}

/**
 * Milliseconds since the epoch of a k8s-file timestamp (`2024-05-01T10:00:00.123456789+02:00`);
 * NaN when unparsable. Date.parse handles only milliseconds, so the fraction is cut to three digits.
 */
export function logTimeMs(time: string): number {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})$/.exec(time);
  if (!m) return Number.NaN;
  const frac = (m[2] ?? '').padEnd(3, '0').slice(0, 3);
  return Date.parse(`${m[1]}.${frac}${m[3]}`);
}

/** Byte offset where the last `tail` log lines begin (0 when the file has fewer). */
async function tailOffset(fh: FileHandle, size: number, tail: number): Promise<number> {
  if (tail <= 0) return size;
  let complete = 0;
  let pos = size; // bytes before `pos` are not scanned yet
  let carry = Buffer.alloc(0); // the scanned end of a line that starts before `pos`
  const counts = (line: Buffer) => {
    const entry = parseLogLine(line);
    return entry !== undefined && !entry.partial;
  };
  while (pos > 0) {
    const start = Math.max(0, pos - CHUNK);
    const chunk = Buffer.alloc(pos - start);
    await fh.read(chunk, 0, chunk.length, start);
    const data = Buffer.concat([chunk, carry]);
    let end = data.length;
    for (let i = data.length - 1; i >= 0; i--) {
      if (data[i] !== 0x0a) continue;
      if (i + 1 < end && counts(data.subarray(i + 1, end))) {
        complete++;
        // the line in data[i+1, end) is one too many: start right after it
        if (complete > tail) return Math.min(size, start + end + 1);
      }
      end = i;
    }
    carry = Buffer.from(data.subarray(0, end));
    pos = start;
  }
  if (carry.length > 0 && counts(carry) && complete + 1 > tail) return Math.min(size, carry.length + 1);
  return 0;
}

/**
 * Read conmon's k8s-file log. With `follow`, waits for more (fs.watch plus a poll fallback)
 * until `signal` aborts, and starts over if the file is replaced (log rotation).
 */
export async function* readLogs(logPath: string, options: ReadLogsOptions = {}): AsyncGenerator<LogEntry> {
  const { signal } = options;
  const sinceMs = options.since ? options.since.getTime() : undefined;
  let fh = await openLog(logPath, options);
  if (!fh) return;
  let watcher: FSWatcher | undefined;
  let wake: (() => void) | undefined;
  const onAbort = () => wake?.();
  signal?.addEventListener('abort', onAbort);
  try {
    const first = await fh.stat();
    let ino = first.ino;
    let pos = options.tail !== undefined ? await tailOffset(fh, first.size, options.tail) : 0;
    let pending = Buffer.alloc(0);
    const buf = Buffer.alloc(CHUNK);
    // without follow, read what was there when we looked: lines appended since would break --tail
    let end = options.follow ? Number.POSITIVE_INFINITY : first.size;
    for (;;) {
      // an abort while following ends the stream at what the file holds now, so output written
      // just before the container exited is not lost
      if (signal?.aborted && end === Number.POSITIVE_INFINITY) end = (await fh.stat()).size;
      const want = Math.min(buf.length, end - pos);
      if (want <= 0) return;
      const { bytesRead } = await fh.read(buf, 0, want, pos);
      if (bytesRead > 0) {
        pos += bytesRead;
        let data = pending.length
          ? Buffer.concat([pending, buf.subarray(0, bytesRead)])
          : buf.subarray(0, bytesRead);
        let nl = data.indexOf(0x0a);
        while (nl >= 0) {
          const entry = parseLogLine(data.subarray(0, nl));
          if (entry && (sinceMs === undefined || logTimeMs(entry.time) >= sinceMs)) yield entry;
          data = data.subarray(nl + 1);
          nl = data.indexOf(0x0a);
        }
        pending = Buffer.from(data);
        continue;
      }
      if (!options.follow || signal?.aborted) return;
      // At the end: was the file rotated under us?
      const current = await stat(logPath).catch(() => undefined);
      if (current && (current.ino !== ino || current.size < pos)) {
        await fh.close();
        fh = await open(logPath, 'r');
        ino = (await fh.stat()).ino;
        pos = 0;
        pending = Buffer.alloc(0);
        continue;
      }
      if (!watcher) {
        try {
          watcher = watch(logPath, { persistent: false }, () => wake?.());
        } catch {
          watcher = undefined; // poll only
        }
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, options.pollMs ?? 250);
        function done() {
          clearTimeout(timer);
          wake = undefined;
          resolve();
        }
        wake = done;
        if (signal?.aborted) done();
      });
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
    watcher?.close();
    await fh.close();
  }
}

/** Open the log; when following, wait for conmon to create it. Undefined when there is none. */
async function openLog(logPath: string, options: ReadLogsOptions): Promise<FileHandle | undefined> {
  for (;;) {
    try {
      return await open(logPath, 'r');
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw err;
      if (!options.follow || options.signal?.aborted) return undefined;
    }
    await new Promise((r) => setTimeout(r, options.pollMs ?? 250));
  }
}
