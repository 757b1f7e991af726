// A client of conmon's attach socket: an AF_UNIX SOCK_SEQPACKET socket (`attach` in the bundle
// directory). Each message from conmon is one chunk of output, prefixed by a byte naming the
// stream (2 stdout, 3 stderr; a terminal's output arrives as stdout). Each message to conmon is
// raw stdin, at most 32 KiB (conmon reads stdin messages into a buffer of that size). Closing
// our write side makes conmon close the container's stdin, unless it runs with
// --leave-stdin-open. Node's net cannot open SEQPACKET sockets, so the fd comes from socket(2)
// via util/ and is read and written with fs (libuv's thread pool) as one message per call.
import { closeSync, read, write } from 'node:fs';
import { Readable, Writable } from 'node:stream';
import { ConflictError, errnoCode, IOError, NotFoundError } from '../errors/index.js';
import { connectUnixSeqpacket, SHUT_RDWR, SHUT_WR, shutdownSocket } from '../util/index.js';

export const ATTACH_STDIN = 1;
export const ATTACH_STDOUT = 2;
export const ATTACH_STDERR = 3;

/** conmon's CONN_SOCK_BUF_SIZE: longer stdin messages would be cut. */
const STDIN_MESSAGE_MAX = 32 * 1024;
/** conmon sends at most STDIO_BUF_SIZE (8192) + 1 bytes per message; leave room. */
const READ_BUFFER = 64 * 1024;

export interface AttachStreams {
  /** The container's stdin; `end()` closes it in the container (EOF for `cat`). */
  stdin: Writable;
  stdout: Readable;
  stderr: Readable;
  /** Resolves once the connection is closed: the process exited (conmon hung up) or detach(). */
  done: Promise<void>;
  /** Stop attaching, leaving the container running. conmon then closes the container's stdin
   * unless it was created with `leaveStdinOpen`. */
  detach(): void;
}

function readFd(fd: number, buf: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    read(fd, buf, 0, buf.length, null, (err, n) => (err ? reject(err) : resolve(n)));
  });
}

function writeFd(fd: number, buf: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    write(fd, buf, 0, buf.length, null, (err, n) => (err ? reject(err) : resolve(n)));
  });
}

/** Connect to an attach socket at `path`. `what` names the container in errors. */
export function openAttachSocket(path: string, what = path): AttachStreams {
  let fd: number;
  try {
    fd = connectUnixSeqpacket(path);
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT')
      throw new NotFoundError(`cannot attach to ${what}: no attach socket`, { cause: err });
    if (code === 'ECONNREFUSED') {
      throw new ConflictError(`cannot attach to ${what}: it is not running`, { cause: err });
    }
    throw new IOError(`cannot attach to ${what}: ${code ?? String(err)}`, { cause: err });
  }
  return new AttachConnection(fd).streams;
}

class AttachConnection {
  readonly streams: AttachStreams;
  private closing = false;
  private readDone = false;
  private writesInFlight = 0;
  private fdClosed = false;
  private resumeRead: (() => void) | undefined;
  private resolveDone!: () => void;
  // like an open net.Socket, an open connection keeps the process alive even while the
  // reader is paused (a paused pump waits on a promise, which alone would not)
  private readonly keepAlive = setInterval(() => undefined, 1 << 30);

  constructor(private readonly fd: number) {
    const resume = () => {
      const r = this.resumeRead;
      this.resumeRead = undefined;
      r?.();
    };
    const stdout = new Readable({ read: resume });
    const stderr = new Readable({ read: resume });
    const stdin = new Writable({
      highWaterMark: STDIN_MESSAGE_MAX,
      write: (chunk: Buffer, _enc, cb) => {
        this.sendStdin(chunk).then(() => cb(), cb);
      },
      final: (cb) => {
        try {
          if (!this.closing) shutdownSocket(this.fd, SHUT_WR);
          cb();
        } catch (err) {
          cb(err as Error);
        }
      },
    });
    const done = new Promise<void>((resolve) => {
      this.resolveDone = resolve;
    });
    this.streams = { stdin, stdout, stderr, done, detach: () => this.detach() };
    void this.pump(stdout, stderr);
  }

  private async pump(stdout: Readable, stderr: Readable): Promise<void> {
    const buf = Buffer.allocUnsafe(READ_BUFFER);
    let failure: Error | undefined;
    try {
      while (!this.closing) {
        const n = await readFd(this.fd, buf);
        if (n === 0) break;
        const target = buf[0] === ATTACH_STDERR ? stderr : stdout;
        if (n === 1) continue;
        const wantMore = target.push(Buffer.from(buf.subarray(1, n)));
        if (!wantMore && !this.closing) {
          await new Promise<void>((resolve) => {
            this.resumeRead = resolve;
          });
        }
      }
    } catch (err) {
      // ECONNRESET: conmon went away; after detach the fd may be shut down under us
      if (!this.closing && errnoCode(err) !== 'ECONNRESET') failure = err as Error;
    }
    this.readDone = true;
    if (failure) {
      stdout.destroy(failure);
      stderr.destroy(failure);
    } else {
      stdout.push(null);
      stderr.push(null);
    }
    // nothing more can reach the container once conmon hung up
    if (!this.streams.stdin.writableFinished) this.streams.stdin.destroy();
    this.closing = true;
    this.maybeClose();
  }

  private async sendStdin(chunk: Buffer): Promise<void> {
    for (let off = 0; off < chunk.length; off += STDIN_MESSAGE_MAX) {
      if (this.closing) throw new IOError('attach connection is closed');
      const piece = chunk.subarray(off, off + STDIN_MESSAGE_MAX);
      this.writesInFlight++;
      try {
        await writeFd(this.fd, piece);
      } finally {
        this.writesInFlight--;
        this.maybeClose();
      }
    }
  }

  private detach(): void {
    if (this.closing) return;
    this.closing = true;
    // wakes a read or write blocked in the thread pool; the fd is closed once they return
    try {
      shutdownSocket(this.fd, SHUT_RDWR);
    } catch {
      // already gone
    }
    const r = this.resumeRead;
    this.resumeRead = undefined;
    r?.();
    this.maybeClose();
  }

  private maybeClose(): void {
    if (this.fdClosed || !this.closing || !this.readDone || this.writesInFlight > 0) return;
    this.fdClosed = true;
    clearInterval(this.keepAlive);
    try {
      closeSync(this.fd);
    } catch {
      // nothing left to release
    }
    this.resolveDone();
  }
}
