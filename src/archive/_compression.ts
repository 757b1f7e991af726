// gzip through node's zlib (which writes a fixed gzip header: mtime 0, no name, so output is
// deterministic), zstd through the `zstd` binary (Debian package zstd) as a child process, so
// no native addon is needed and (de)compression runs on another core.
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { PassThrough, Transform, type TransformCallback } from 'node:stream';
import { createGunzip, createGzip } from 'node:zlib';
import { InterruptedError, InvalidArgumentError, IOError } from '../errors/index.js';
import { type Compression, type Digest, sniffCompression } from '../oci/index.js';

/** zlib output chunk size: big chunks mean fewer callbacks on the unpack hot path. */
export const ZLIB_CHUNK = 256 * 1024;

export interface CompressOptions {
  /** gzip 1-9 (default 6, as docker and containerd use), zstd 1-19 (default 3). */
  level?: number;
}

export function compressStream(kind: Compression, options: CompressOptions = {}): Transform {
  switch (kind) {
    case 'gzip': {
      const level = options.level ?? 6;
      if (!Number.isInteger(level) || level < 1 || level > 9) {
        throw new InvalidArgumentError(`invalid gzip level ${level}: expected 1-9`);
      }
      return createGzip({ level, chunkSize: ZLIB_CHUNK });
    }
    case 'zstd': {
      const level = options.level ?? 3;
      if (!Number.isInteger(level) || level < 1 || level > 19) {
        throw new InvalidArgumentError(`invalid zstd level ${level}: expected 1-19`);
      }
      return new ChildTransform('zstd', [`-${level}`, '-c', '-q', '--no-progress'], 'zstd compression');
    }
    case 'none':
      return new PassThrough();
    default:
      throw new InvalidArgumentError(`unknown compression "${String(kind)}"`);
  }
}

export function decompressStream(kind: Compression): Transform {
  switch (kind) {
    case 'gzip':
      return mapErrors(createGunzip({ chunkSize: ZLIB_CHUNK }), 'gzip');
    case 'zstd':
      return new ChildTransform('zstd', ['-d', '-c', '-q', '--no-progress'], 'zstd decompression');
    case 'none':
      return new PassThrough();
    default:
      throw new InvalidArgumentError(`unknown compression "${String(kind)}"`);
  }
}

/** Codecs only ADD's archive sniffing needs; decoded by the program of the same name. */
export type ExternalCodec = 'xz' | 'bzip2';

/** A decoder for xz or bzip2 (Debian packages xz-utils, bzip2) as a child process. */
export function decompressExternal(codec: ExternalCodec): Transform {
  if (codec !== 'xz' && codec !== 'bzip2') throw new InvalidArgumentError(`unknown codec "${String(codec)}"`);
  return new ChildTransform(codec, ['-d', '-c', '-q'], `${codec} decompression`);
}

/** Report zlib's data errors (bad header, truncated input) as InvalidArgumentError. */
function mapErrors(stream: Transform, what: string): Transform {
  const emit = stream.emit.bind(stream);
  stream.emit = ((event: string | symbol, ...args: unknown[]) => {
    const err = args[0] as NodeJS.ErrnoException | undefined;
    // Only zlib's own errors (Z_DATA_ERROR, Z_BUF_ERROR...): errors handed to destroy() by
    // others pass through untouched.
    if (event === 'error' && typeof err?.code === 'string' && err.code.startsWith('Z_')) {
      args[0] = new InvalidArgumentError(`invalid ${what} data: ${err.message}`, { cause: err });
    }
    return emit(event, ...args);
  }) as typeof stream.emit;
  return stream;
}

/** A Transform backed by a child process's stdin/stdout. */
class ChildTransform extends Transform {
  private readonly child: ChildProcessWithoutNullStreams;
  private stderr = '';
  private exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private onExit: (() => void) | undefined;

  constructor(
    command: string,
    args: string[],
    private readonly what: string,
  ) {
    super();
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child = child;
    child.on('error', (err) => {
      this.destroy(
        new IOError(`${what} failed: cannot run ${command}: ${err.message}`, {
          cause: err,
          hint: `install ${command} (Debian package ${command})`,
        }),
      );
    });
    child.stdout.on('data', (chunk: Buffer) => {
      if (!this.push(chunk)) child.stdout.pause();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      if (this.stderr.length < 2048) this.stderr += chunk.toString('utf8');
    });
    // EPIPE when the child died early: its exit status tells the real story.
    child.stdin.on('error', () => {});
    child.on('close', (code, signal) => {
      this.exit = { code, signal };
      if (this.onExit) this.onExit();
      else if (code !== 0 && !this.destroyed) this.destroy(this.exitError());
    });
  }

  private exitError(): Error {
    const { code, signal } = this.exit!;
    const why = signal ? `killed by ${signal}` : `exit status ${code}`;
    const detail = this.stderr.trim().split('\n').slice(-1)[0];
    const message = `${this.what} failed (${why})${detail ? `: ${detail}` : ''}`;
    // A failing decompressor almost always means corrupt input; a failing compressor, our side.
    return this.what.includes('decompression') ? new InvalidArgumentError(message) : new IOError(message);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    if (this.exit) {
      cb(this.exitError());
      return;
    }
    if (this.child.stdin.write(chunk)) {
      cb();
      return;
    }
    const done = (): void => {
      this.child.stdin.off('drain', done);
      this.child.stdin.off('close', done);
      cb();
    };
    this.child.stdin.on('drain', done);
    this.child.stdin.on('close', done);
  }

  override _flush(cb: TransformCallback): void {
    const finish = (): void => {
      const { code } = this.exit!;
      cb(code === 0 ? null : this.exitError());
    };
    if (this.exit) finish();
    else this.onExit = finish;
    this.child.stdin.end();
  }

  override _read(size: number): void {
    this.child.stdout.resume();
    super._read(size);
  }

  override _destroy(err: Error | null, cb: (error: Error | null) => void): void {
    if (this.child.exitCode === null && this.child.signalCode === null && this.child.pid !== undefined) {
      this.child.kill('SIGKILL');
    }
    this.child.stdout.destroy();
    this.child.stdin.destroy();
    cb(err);
  }
}

/** Errors thrown by a caller's source stream: reported as they are, not re-worded. */
const sourceErrors = new WeakSet<object>();

export function isSourceError(err: unknown): boolean {
  return err !== null && typeof err === 'object' && sourceErrors.has(err);
}

/** Bytes of decoded output queued before the decoder is paused. */
const QUEUE_HIGH = 4 * 1024 * 1024;

/**
 * Decode `source` and hand every decoded chunk, in order, to the synchronous `sink`. The
 * sink runs from setImmediate batches rather than inside zlib's 'data' callback, so zlib's
 * next inflate (on the libuv thread pool) or the zstd process overlaps with the sink's work
 * on the main thread. Rejects with the first error of the source, the decoder or the sink.
 */
export function decodeInto(
  source: AsyncIterable<Buffer>,
  compression: Compression | 'auto',
  sink: (chunk: Buffer) => void,
  signal?: AbortSignal,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let settled = false;
    let decoder: Transform | undefined;
    const queue: Buffer[] = [];
    let queued = 0;
    let scheduled = false;
    let ended = false;
    let paused = false;

    const settle = (err?: unknown): void => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      if (err === undefined) resolve();
      else {
        decoder?.destroy();
        reject(err);
      }
    };
    const onAbort = (): void => settle(new InterruptedError('aborted', { cause: signal?.reason }));
    if (signal?.aborted) {
      onAbort();
      return;
    }
    signal?.addEventListener('abort', onAbort, { once: true });

    const runQueue = (): void => {
      scheduled = false;
      if (settled) return;
      try {
        for (let i = 0; i < queue.length; i++) sink(queue[i]!);
      } catch (err) {
        settle(err);
        return;
      }
      queue.length = 0;
      queued = 0;
      if (paused) {
        paused = false;
        decoder!.resume();
      }
      if (ended) settle();
    };

    const start = (kind: Compression): void => {
      if (kind === 'none') return;
      const d = decompressStream(kind);
      decoder = d;
      d.on('data', (chunk: Buffer) => {
        queue.push(chunk);
        queued += chunk.length;
        if (queued >= QUEUE_HIGH && !paused) {
          paused = true;
          d.pause();
        }
        if (!scheduled) {
          scheduled = true;
          setImmediate(runQueue);
        }
      });
      d.on('end', () => {
        ended = true;
        if (!scheduled) settle();
      });
      d.on('error', settle);
    };

    const fromSource = (err: unknown): never => {
      if (err !== null && typeof err === 'object') sourceErrors.add(err);
      throw err;
    };
    const pump = async (): Promise<void> => {
      let kind: Compression | undefined = compression === 'auto' ? undefined : compression;
      if (kind !== undefined) start(kind);
      const head: Buffer[] = [];
      let headLen = 0;
      const deliver = async (chunk: Buffer): Promise<void> => {
        if (decoder) {
          if (!decoder.write(chunk)) await drained(decoder);
        } else {
          sink(chunk);
        }
      };
      const it = source[Symbol.asyncIterator]();
      let exhausted = false;
      try {
        for (;;) {
          const r = await it.next().catch(fromSource);
          if (r.done) {
            exhausted = true;
            break;
          }
          if (settled) return;
          const chunk = r.value;
          if (kind === undefined) {
            head.push(chunk);
            headLen += chunk.length;
            if (headLen < 4) continue;
            const all = Buffer.concat(head);
            kind = sniffCompression(all);
            start(kind);
            await deliver(all);
            continue;
          }
          await deliver(chunk);
        }
      } finally {
        // Stop the caller's source (e.g. close a socket) when we stop early.
        if (!exhausted) await it.return?.()?.catch(() => {});
      }
      if (settled) return;
      if (kind === undefined) {
        const all = Buffer.concat(head);
        kind = sniffCompression(all);
        start(kind);
        if (all.length > 0) await deliver(all);
      }
      if (decoder) decoder.end();
      else settle();
    };
    pump().catch(settle);
  });
}

/** The diffID (sha256 of the uncompressed tar) and uncompressed size of a layer stream. */
export async function diffIdOfTar(
  source: AsyncIterable<Buffer>,
  options: { compression?: Compression | 'auto'; signal?: AbortSignal } = {},
): Promise<{ diffId: Digest; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  await decodeInto(
    source,
    options.compression ?? 'none',
    (chunk) => {
      hash.update(chunk);
      size += chunk.length;
    },
    options.signal,
  );
  return { diffId: `sha256:${hash.digest('hex')}` as Digest, size };
}

/** Resolves on 'drain', or when the stream closes (its error is reported through 'error'). */
function drained(stream: Transform): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      stream.off('drain', done);
      stream.off('close', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('close', done);
  });
}
