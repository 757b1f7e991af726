// Plain URL downloads (a build's `ADD <url>`) over the registry transport, so they follow the
// same TLS rules (tls-verify, per-host `insecure`, certificate errors), the same redirect
// rules (no downgrade to plain HTTP, credentials never forwarded) and the same timeouts.
// The body streams to a file under a byte cap enforced while reading.

import { createHash } from 'node:crypto';
import { open, rm } from 'node:fs/promises';
import {
  InvalidArgumentError,
  IOError,
  NetworkError,
  NotFoundError,
  SizeLimitError,
} from '../errors/index.js';
import type { Digest } from '../oci/index.js';
import { wrapFailure } from './_errors.js';
import { contentLength, discard, redactUrl } from './_http.js';
import type { Transport } from './_transport.js';

export interface DownloadOptions {
  /** Refuse a body over this many bytes: by Content-Length before reading, and while reading. */
  maxBytes: number;
  /**
   * Give up on a peer that sends nothing for this long, while connecting, before the response
   * headers or in the middle of the body. Default: the client's timeout (60 s).
   */
  idleTimeoutMs?: number;
  /** Retry network failures, 429 and 502-504 before the body starts (default true). */
  retry?: boolean;
  signal?: AbortSignal;
}

export interface DownloadResult {
  /** Bytes written to the file. */
  size: number;
  /** sha256 of what was written. */
  digest: Digest;
}

/**
 * GET `url` into a new file `dest` (created exclusively, mode 0600). On any failure, cap
 * included, nothing is left at `dest`.
 */
export async function downloadToFile(
  transport: Transport,
  url: string,
  dest: string,
  options: DownloadOptions,
): Promise<DownloadResult> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InvalidArgumentError(`cannot download "${redactUrl(url)}": not a valid URL`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new InvalidArgumentError(
      `cannot download ${redactUrl(parsed)}: only http and https URLs are supported`,
    );
  }
  const { maxBytes } = options;
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) {
    throw new InvalidArgumentError(`invalid download size limit ${maxBytes}`);
  }
  const what = `download ${redactUrl(parsed)}`;
  const { res } = await transport.send(
    { url: parsed },
    {
      method: 'GET',
      what,
      retry: options.retry ?? true,
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.idleTimeoutMs !== undefined ? { timeoutMs: options.idleTimeoutMs } : {}),
    },
  );
  const status = res.statusCode ?? 0;
  if (status < 200 || status > 299) {
    discard(res);
    const message = `cannot ${what}: HTTP ${status}`;
    throw status === 404 || status === 410 ? new NotFoundError(message) : new IOError(message);
  }
  const declared = contentLength(res);
  if (declared !== undefined && declared > maxBytes) {
    res.destroy();
    throw new SizeLimitError(`cannot ${what}: it is ${declared} bytes, over the ${maxBytes}-byte limit`);
  }
  // the transport destroys a request whose socket goes idle; name that, not the bare "aborted"
  const idleMs = options.idleTimeoutMs ?? transport.options.timeoutMs;
  let stalled = false;
  const socket = res.socket;
  const onIdle = (): void => {
    stalled = true;
  };
  socket?.on('timeout', onIdle);
  const file = await open(dest, 'wx', 0o600);
  const hash = createHash('sha256');
  let size = 0;
  try {
    try {
      for await (const chunk of res) {
        const b = chunk as Buffer;
        size += b.length;
        // counted as it arrives: a missing or false Content-Length changes nothing
        if (size > maxBytes) {
          throw new SizeLimitError(`cannot ${what}: the body goes over the ${maxBytes}-byte limit`);
        }
        hash.update(b);
        await file.write(b);
      }
    } catch (err) {
      res.destroy();
      if (stalled) {
        throw new NetworkError(`cannot ${what}: no data for ${idleMs} ms after ${size} bytes`, {
          cause: err,
        });
      }
      throw wrapFailure(err, what);
    }
    if (!res.complete || (declared !== undefined && size !== declared)) {
      throw new IOError(
        `cannot ${what}: the connection ended after ${size}${declared !== undefined ? ` of ${declared}` : ''} bytes`,
      );
    }
    await file.sync();
  } catch (err) {
    socket?.off('timeout', onIdle);
    await file.close().catch(() => {});
    await rm(dest, { force: true });
    throw err;
  }
  socket?.off('timeout', onIdle);
  await file.close();
  return { size, digest: `sha256:${hash.digest('hex')}` as Digest };
}
