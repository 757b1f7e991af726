import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { LookupFunction } from 'node:net';
import { pipeline, Readable } from 'node:stream';
import {
  type BerthError,
  DigestMismatchError,
  InvalidArgumentError,
  InvalidManifestError,
  InvalidReferenceError,
  IOError,
  isBerthError,
  NetworkError,
  NotFoundError,
  RegistryError,
  SizeLimitError,
} from '../errors/index.js';
import {
  type Descriptor,
  type Digest,
  digestAlgorithm,
  digestOf,
  formatReference,
  type ImageReference,
  isDigest,
  isValidTag,
  MANIFEST_ACCEPT,
  MAX_CONFIG_BYTES,
  MAX_MANIFEST_BYTES,
  type ParsedManifest,
  parseManifest,
  parseReference,
} from '../oci/index.js';
import { AuthSession } from './_auth.js';
import { type Credentials, getCredentials, normalizeAuthHost } from './_authfile.js';
import { type RegistriesConfig, validateRegistriesConfig } from './_config.js';
import { type DownloadOptions, type DownloadResult, downloadToFile } from './_download.js';
import { errorFromResponse, wrapFailure } from './_errors.js';
import { contentLength, discard, header, readBody } from './_http.js';
import { ExactLength, fixedChunks, VerifiedContent } from './_streams.js';
import { checkUserAgent, type Endpoint, type RetryInfo, Transport } from './_transport.js';

export interface RegistryClientOptions {
  /** Docker config.json / auth.json to read credentials from (see authFilePath). */
  authFile?: string;
  /**
   * Credentials per registry host, instead of the auth file (an API request's X-Registry-Auth);
   * undefined for a host means anonymous access to it.
   */
  credentials?: (host: string) => Promise<Credentials | undefined>;
  /** false = allow plain HTTP and skip certificate checks for every host. */
  tlsVerify?: boolean;
  config?: RegistriesConfig;
  userAgent?: string;
  /** Retries after network failures, 429 and 502-504. Default 4. */
  maxRetries?: number;
  /** First backoff delay; doubles per retry, with jitter. Default 250 ms. */
  retryBaseMs?: number;
  onRetry?: (info: RetryInfo) => void;
  /** Give up on a peer that sends nothing for this long. Default 60 s. */
  timeoutMs?: number;
  /** Blobs larger than this are uploaded in PATCH chunks of this size. Default 64 MiB. */
  uploadChunkBytes?: number;
  /** Where HTTP_PROXY, HTTPS_PROXY and NO_PROXY are read from (default process.env). */
  env?: Record<string, string | undefined>;
  /** Name resolution for direct connections (default dns.lookup). */
  lookup?: LookupFunction;
}

export interface FetchedManifest {
  digest: Digest;
  mediaType: string;
  bytes: Buffer;
  parsed: ParsedManifest;
}

const DEFAULT_CHUNK_BYTES = 64 * 1024 * 1024;
const MEDIA_TYPE_RE = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9!#$&^_.+-]{1,127}$/;

/** Only refs that survive a round trip through the reference grammar reach a URL or a header. */
function checkRef(ref: ImageReference): void {
  let parsed: ImageReference | undefined;
  try {
    parsed = parseReference(formatReference(ref), { defaultTag: false });
  } catch (err) {
    throw new InvalidReferenceError(`invalid image reference for a registry request`, { cause: err });
  }
  if (
    parsed.domain !== ref.domain ||
    parsed.path !== ref.path ||
    parsed.tag !== ref.tag ||
    parsed.digest !== ref.digest
  ) {
    throw new InvalidReferenceError(`image reference "${formatReference(parsed)}" is not normalized`);
  }
}

function checkDescriptor(desc: Descriptor, what: string): void {
  if (!isDigest(desc.digest)) throw new InvalidArgumentError(`cannot ${what}: invalid digest`);
  if (!Number.isSafeInteger(desc.size) || desc.size < 0)
    throw new InvalidArgumentError(`cannot ${what}: invalid size`);
}

function repoName(ref: ImageReference): string {
  return `${ref.domain}/${ref.path}`;
}

/** Errors after which the next mirror (or the registry itself) is worth asking. */
function mirrorMayFallThrough(err: unknown): boolean {
  if (err instanceof NotFoundError || err instanceof NetworkError || err instanceof DigestMismatchError)
    return true;
  return (
    err instanceof RegistryError && err.status !== undefined && (err.status === 404 || err.status >= 500)
  );
}

/**
 * Client for the OCI distribution API: manifests and blobs in and out, with auth, retries,
 * mirrors and ranged resume. Everything the registry sends is treated as hostile: sizes are
 * capped before buffering and content is checked against the digest that was asked for.
 */
export class RegistryClient {
  private readonly transport: Transport;
  private readonly session: AuthSession;
  private readonly uploadChunkBytes: number;

  constructor(options: RegistryClientOptions = {}) {
    const config = options.config ? validateRegistriesConfig(options.config) : {};
    const maxRetries = options.maxRetries ?? 4;
    if (!Number.isInteger(maxRetries) || maxRetries < 0)
      throw new InvalidArgumentError('maxRetries must be >= 0');
    this.transport = new Transport({
      tlsVerify: options.tlsVerify ?? true,
      config,
      userAgent: checkUserAgent(options.userAgent ?? 'berth'),
      maxRetries,
      retryBaseMs: options.retryBaseMs ?? 250,
      timeoutMs: options.timeoutMs ?? 60_000,
      onRetry: options.onRetry,
      ...(options.env ? { env: options.env } : {}),
      ...(options.lookup ? { lookup: options.lookup } : {}),
    });
    // validate every mirror now, so a bad config fails before the first pull
    for (const host of Object.keys(config.registries ?? {})) this.transport.mirrors(host);
    const authFile = options.authFile;
    this.session = new AuthSession(
      this.transport,
      options.credentials ?? ((host) => getCredentials(host, { authFile })),
    );
    this.uploadChunkBytes = options.uploadChunkBytes ?? DEFAULT_CHUNK_BYTES;
  }

  /** GET a plain URL into a new file `dest` under a byte cap (see downloadToFile). */
  downloadToFile(url: string, dest: string, options: DownloadOptions): Promise<DownloadResult> {
    return downloadToFile(this.transport, url, dest, options);
  }

  /** Drop idle keep-alive connections. The client is unusable afterwards. */
  close(): void {
    this.transport.close();
  }

  private pullEndpoints(domain: string): Endpoint[] {
    return [...this.transport.mirrors(domain), this.transport.upstream(domain)];
  }

  private async withMirrors<T>(domain: string, fn: (ep: Endpoint) => Promise<T>): Promise<T> {
    const endpoints = this.pullEndpoints(domain);
    for (let i = 0; ; i++) {
      try {
        return await fn(endpoints[i]!);
      } catch (err) {
        if (i < endpoints.length - 1 && mirrorMayFallThrough(err)) continue;
        throw err;
      }
    }
  }

  /**
   * GET a manifest or index by digest (options.digest, else ref.digest) or by tag. The body is
   * capped at MAX_MANIFEST_BYTES; by-digest fetches must hash to that digest; for tag fetches a
   * Docker-Content-Digest header that disagrees with the bytes is an error.
   */
  async getManifest(
    ref: ImageReference,
    options: { digest?: Digest; accept?: string; signal?: AbortSignal } = {},
  ): Promise<FetchedManifest> {
    checkRef(ref);
    if (options.digest !== undefined && !isDigest(options.digest)) {
      throw new InvalidArgumentError(`invalid manifest digest for ${repoName(ref)}`);
    }
    const expected = options.digest ?? ref.digest;
    const reference = expected ?? ref.tag;
    if (reference === undefined)
      throw new InvalidReferenceError(`${repoName(ref)} has neither tag nor digest`);
    const accept = options.accept ?? MANIFEST_ACCEPT;
    if (!/^[\x20-\x7e]{1,2000}$/.test(accept)) throw new InvalidArgumentError('invalid Accept header');
    const shown = expected ? `${repoName(ref)}@${expected}` : formatReference(ref);
    const what = `fetch manifest for ${shown}`;
    return this.withMirrors(ref.domain, async (ep) => {
      const { res } = await this.session.send(ep, `/v2/${ep.prefix}${ref.path}/manifests/${reference}`, {
        method: 'GET',
        what,
        headers: { accept },
        scopes: [`repository:${ref.path}:pull`],
        signal: options.signal,
      });
      if (res.statusCode !== 200) throw await errorFromResponse(res, what, { host: ep.credHost });
      const bytes = await readResponse(res, MAX_MANIFEST_BYTES, `manifest for ${shown}`, what);
      let digest: Digest;
      if (expected) {
        const got = digestOf(bytes, digestAlgorithm(expected));
        if (got !== expected) {
          throw new DigestMismatchError(
            `cannot ${what}: registry ${ep.host} sent content with digest ${got}`,
          );
        }
        digest = expected;
      } else {
        digest = digestOf(bytes, 'sha256');
        const claimed = header(res, 'docker-content-digest')?.trim();
        if (claimed && isDigest(claimed)) {
          const got = digestOf(bytes, digestAlgorithm(claimed));
          if (got !== claimed) {
            throw new DigestMismatchError(
              `cannot ${what}: registry ${ep.host} says the manifest is ${claimed} but its content hashes to ${got}`,
            );
          }
        }
      }
      let parsed: ParsedManifest;
      try {
        parsed = parseManifest(bytes, header(res, 'content-type'));
      } catch (err) {
        throw rephrase(err, what);
      }
      return { digest, mediaType: parsed.mediaType, bytes, parsed };
    });
  }

  /** A small blob (a config), read whole and checked against desc.size and desc.digest. */
  async fetchBlobBytes(
    ref: ImageReference,
    desc: Descriptor,
    options: { limit?: number; signal?: AbortSignal } = {},
  ): Promise<Buffer> {
    checkRef(ref);
    const what = `fetch blob ${desc.digest} from ${repoName(ref)}`;
    checkDescriptor(desc, what);
    const limit = options.limit ?? MAX_CONFIG_BYTES;
    if (desc.size > limit) {
      throw new SizeLimitError(`cannot ${what}: it is ${desc.size} bytes, over the ${limit}-byte limit`);
    }
    return this.withMirrors(ref.domain, async (ep) => {
      const { res } = await this.session.send(ep, `/v2/${ep.prefix}${ref.path}/blobs/${desc.digest}`, {
        method: 'GET',
        what,
        scopes: [`repository:${ref.path}:pull`],
        signal: options.signal,
      });
      if (res.statusCode !== 200) throw await errorFromResponse(res, what, { host: ep.credHost });
      const bytes = await readResponse(res, desc.size, `blob ${desc.digest}`, what);
      if (bytes.length !== desc.size) {
        throw new SizeLimitError(`cannot ${what}: got ${bytes.length} bytes, expected ${desc.size}`);
      }
      const got = digestOf(bytes, digestAlgorithm(desc.digest));
      if (got !== desc.digest) throw new DigestMismatchError(`cannot ${what}: content hashes to ${got}`);
      return bytes;
    });
  }

  /**
   * A blob as a stream, for layers; the caller hashes it. With `offset` > 0 a Range request is
   * sent; the result's `offset` is where the stream really starts (0 when Range was ignored).
   * Redirects to storage on other hosts are followed without our Authorization.
   */
  async fetchBlob(
    ref: ImageReference,
    desc: Descriptor,
    options: { offset?: number; signal?: AbortSignal } = {},
  ): Promise<{ stream: Readable; offset: number; size: number }> {
    checkRef(ref);
    const what = `fetch blob ${desc.digest} from ${repoName(ref)}`;
    checkDescriptor(desc, what);
    const offset = options.offset ?? 0;
    if (!Number.isSafeInteger(offset) || offset < 0 || offset > desc.size) {
      throw new InvalidArgumentError(`cannot ${what}: offset ${offset} is outside 0..${desc.size}`);
    }
    if (offset === desc.size && offset > 0) return { stream: Readable.from([]), offset, size: desc.size };
    return this.withMirrors(ref.domain, async (ep) => {
      const { res } = await this.session.send(ep, `/v2/${ep.prefix}${ref.path}/blobs/${desc.digest}`, {
        method: 'GET',
        what,
        headers: offset > 0 ? { range: `bytes=${offset}-` } : {},
        scopes: [`repository:${ref.path}:pull`],
        signal: options.signal,
      });
      let start = 0;
      if (res.statusCode === 206 && offset > 0) {
        const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(header(res, 'content-range') ?? '');
        if (!m || Number(m[1]) !== offset || (m[3] !== '*' && Number(m[3]) !== desc.size)) {
          res.destroy();
          throw new RegistryError(`cannot ${what}: range answer does not match the request`, { status: 206 });
        }
        start = offset;
      } else if (res.statusCode !== 200) {
        throw await errorFromResponse(res, what, { host: ep.credHost });
      }
      const remaining = desc.size - start;
      const declared = contentLength(res);
      if (declared !== undefined && declared !== remaining) {
        res.destroy();
        throw new SizeLimitError(
          `cannot ${what}: registry announces ${declared} bytes, expected ${remaining}`,
        );
      }
      // Timeouts are the caller's business while it consumes the stream (it may apply backpressure).
      res.socket?.setTimeout(0);
      const out = new ExactLength(remaining, `blob ${desc.digest}`);
      const signal = options.signal;
      res.on('error', (err) =>
        out.destroy(wrapFailure(signal?.aborted ? (signal.reason ?? err) : err, what)),
      );
      out.on('close', () => {
        if (!res.complete) res.destroy();
      });
      res.pipe(out);
      return { stream: out, offset: start, size: desc.size };
    });
  }

  /** HEAD a blob in the ref's repository. */
  async blobExists(ref: ImageReference, digest: Digest): Promise<boolean> {
    checkRef(ref);
    if (!isDigest(digest)) throw new InvalidArgumentError(`invalid blob digest for ${repoName(ref)}`);
    const ep = this.transport.upstream(ref.domain);
    return this.headBlob(
      ep,
      ref,
      digest,
      [`repository:${ref.path}:pull`],
      `check blob ${digest} in ${repoName(ref)}`,
    );
  }

  private async headBlob(
    ep: Endpoint,
    ref: ImageReference,
    digest: Digest,
    scopes: string[],
    what: string,
  ): Promise<boolean> {
    const { res } = await this.session.send(ep, `/v2/${ref.path}/blobs/${digest}`, {
      method: 'HEAD',
      what,
      scopes,
    });
    if (res.statusCode === 200) {
      discard(res);
      return true;
    }
    if (res.statusCode === 404) {
      discard(res);
      return false;
    }
    throw await errorFromResponse(res, what, { host: ep.credHost });
  }

  /**
   * Upload a blob unless the repository has it: HEAD, then a cross-repository mount when
   * `mountFrom` (a repository path on the same registry) is given, then POST + PUT, or PATCH
   * chunks for blobs over the chunk size. `open` is called again for each attempt.
   */
  async pushBlob(
    ref: ImageReference,
    desc: Descriptor,
    open: () => Readable,
    options: { mountFrom?: string } = {},
  ): Promise<'exists' | 'mounted' | 'uploaded'> {
    checkRef(ref);
    const what = `push blob ${desc.digest} to ${repoName(ref)}`;
    checkDescriptor(desc, what);
    const ep = this.transport.upstream(ref.domain);
    const mountFrom = mountSource(ref, options.mountFrom);
    const scopes = [`repository:${ref.path}:pull,push`];
    if (mountFrom) scopes.push(`repository:${mountFrom}:pull`);
    if (await this.headBlob(ep, ref, desc.digest, scopes, what)) return 'exists';
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.uploadOnce(ep, ref, desc, open, mountFrom, scopes, what);
      } catch (err) {
        const transient =
          (err instanceof NetworkError && !isBerthError(err.cause)) ||
          (err instanceof RegistryError &&
            err.status !== undefined &&
            (err.status >= 500 || err.status === 429));
        if (!transient || attempt >= this.transport.options.maxRetries) throw err;
        await this.transport.backoff(attempt, {
          url: new URL(`https://${ep.host}/v2/${ref.path}/blobs/uploads/`),
          reason: (err as BerthError).message,
          what,
        });
      }
    }
  }

  private async uploadOnce(
    ep: Endpoint,
    ref: ImageReference,
    desc: Descriptor,
    open: () => Readable,
    mountFrom: string | undefined,
    scopes: string[],
    what: string,
  ): Promise<'mounted' | 'uploaded'> {
    const query = mountFrom ? `?mount=${desc.digest}&from=${encodeURIComponent(mountFrom)}` : '';
    const started = await this.session.send(ep, `/v2/${ref.path}/blobs/uploads/${query}`, {
      method: 'POST',
      what,
      headers: { 'content-length': '0' },
      body: Buffer.alloc(0),
      scopes,
    });
    if (started.res.statusCode === 201 && mountFrom) {
      checkDigestHeader(started.res, desc.digest, what);
      discard(started.res);
      return 'mounted';
    }
    if (started.res.statusCode !== 202)
      throw await errorFromResponse(started.res, what, { host: ep.credHost });
    discard(started.res);
    let location = this.uploadLocation(started.res, started.url, what);

    if (desc.size <= this.uploadChunkBytes) {
      const url = new URL(location);
      url.searchParams.set('digest', desc.digest);
      const { res } = await this.session.sendUrl(ep, url, {
        method: 'PUT',
        what,
        headers: { 'content-type': 'application/octet-stream', 'content-length': String(desc.size) },
        body: () => verifiedSource(open, desc),
        scopes,
        retry: false,
      });
      if (res.statusCode !== 201 && res.statusCode !== 204)
        throw await errorFromResponse(res, what, { host: ep.credHost });
      checkDigestHeader(res, desc.digest, what);
      discard(res);
      return 'uploaded';
    }

    const hash = createHash(digestAlgorithm(desc.digest));
    let sent = 0;
    for await (const piece of fixedChunks(sourceOf(open, what), this.uploadChunkBytes)) {
      if (sent + piece.length > desc.size) {
        throw new SizeLimitError(`cannot ${what}: content is longer than ${desc.size} bytes`);
      }
      hash.update(piece);
      const { res, url } = await this.session.sendUrl(ep, new URL(location), {
        method: 'PATCH',
        what,
        headers: {
          'content-type': 'application/octet-stream',
          'content-length': String(piece.length),
          'content-range': `${sent}-${sent + piece.length - 1}`,
        },
        body: piece,
        scopes,
        retry: false,
      });
      if (res.statusCode !== 202) throw await errorFromResponse(res, what, { host: ep.credHost });
      discard(res);
      location = this.uploadLocation(res, url, what);
      sent += piece.length;
    }
    if (sent !== desc.size)
      throw new SizeLimitError(`cannot ${what}: content ended after ${sent} of ${desc.size} bytes`);
    const got = `${digestAlgorithm(desc.digest)}:${hash.digest('hex')}`;
    if (got !== desc.digest) throw new DigestMismatchError(`cannot ${what}: content hashes to ${got}`);
    const url = new URL(location);
    url.searchParams.set('digest', desc.digest);
    const { res } = await this.session.sendUrl(ep, url, {
      method: 'PUT',
      what,
      headers: { 'content-length': '0' },
      body: Buffer.alloc(0),
      scopes,
      retry: false,
    });
    if (res.statusCode !== 201 && res.statusCode !== 204)
      throw await errorFromResponse(res, what, { host: ep.credHost });
    checkDigestHeader(res, desc.digest, what);
    discard(res);
    return 'uploaded';
  }

  private uploadLocation(res: IncomingMessage, requestUrl: URL, what: string): string {
    const raw = header(res, 'location');
    let url: URL;
    try {
      if (!raw) throw new Error('missing');
      url = new URL(raw, requestUrl);
    } catch {
      throw new RegistryError(`cannot ${what}: registry gave no valid upload location`, {
        status: res.statusCode,
      });
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw new RegistryError(`cannot ${what}: upload location has scheme ${url.protocol}`);
    }
    if (url.protocol === 'http:' && !this.transport.mayUseHttp(url.host)) {
      throw new RegistryError(`cannot ${what}: refusing a plain-HTTP upload location on ${url.host}`);
    }
    url.username = '';
    url.password = '';
    return url.href;
  }

  /**
   * PUT a manifest under `tagOrDigest` (default: ref's tag, else its digest, else the content
   * digest). Returns the sha256 digest of the bytes.
   */
  async pushManifest(
    ref: ImageReference,
    bytes: Buffer,
    mediaType: string,
    options: { tagOrDigest?: string } = {},
  ): Promise<Digest> {
    checkRef(ref);
    const digest = digestOf(bytes, 'sha256');
    const reference = options.tagOrDigest ?? ref.tag ?? ref.digest ?? digest;
    const what = `push manifest to ${repoName(ref)}${isDigest(reference) ? '@' : ':'}${reference}`;
    if (!isDigest(reference) && !isValidTag(reference)) {
      throw new InvalidReferenceError(`cannot push manifest to ${repoName(ref)}: invalid tag`);
    }
    if (isDigest(reference) && digestOf(bytes, digestAlgorithm(reference)) !== reference) {
      throw new DigestMismatchError(`cannot ${what}: the manifest does not hash to that digest`);
    }
    if (bytes.length > MAX_MANIFEST_BYTES) {
      throw new SizeLimitError(
        `cannot ${what}: manifest is ${bytes.length} bytes, over ${MAX_MANIFEST_BYTES}`,
      );
    }
    if (!MEDIA_TYPE_RE.test(mediaType)) throw new InvalidArgumentError(`cannot ${what}: invalid media type`);
    try {
      parseManifest(bytes, mediaType);
    } catch (err) {
      throw rephrase(err, what);
    }
    const ep = this.transport.upstream(ref.domain);
    const { res } = await this.session.send(ep, `/v2/${ref.path}/manifests/${reference}`, {
      method: 'PUT',
      what,
      headers: { 'content-type': mediaType, 'content-length': String(bytes.length) },
      body: bytes,
      scopes: [`repository:${ref.path}:pull,push`],
    });
    if (res.statusCode !== 201 && res.statusCode !== 200 && res.statusCode !== 204) {
      throw await errorFromResponse(res, what, { host: ep.credHost });
    }
    checkDigestHeader(res, digest, what);
    discard(res);
    return digest;
  }

  /** GET /v2/ with the given credentials; UnauthorizedError when the registry refuses them. */
  async checkLogin(host: string, credentials: { username: string; password: string }): Promise<void> {
    const h = normalizeAuthHost(host);
    if (!h || !/^[A-Za-z0-9.\-[\]:]+$/.test(h))
      throw new InvalidArgumentError(`invalid registry host "${host.slice(0, 100)}"`);
    const ep = this.transport.upstream(h);
    const what = `log in to ${h}`;
    const session = new AuthSession(this.transport, async () => ({ ...credentials }));
    const { res } = await session.send(ep, '/v2/', { method: 'GET', what, scopes: [] });
    if (res.statusCode !== 200) throw await errorFromResponse(res, what, { host: h, hadCredentials: true });
    discard(res);
  }
}

/** A repository path on the same registry to mount from, or undefined when mounting makes no sense. */
function mountSource(ref: ImageReference, mountFrom: string | undefined): string | undefined {
  if (mountFrom === undefined || mountFrom === '') return undefined;
  let path = mountFrom;
  if (path.startsWith(`${ref.domain}/`)) path = path.slice(ref.domain.length + 1);
  else if (path.includes('/') && /[.:]/.test(path.slice(0, path.indexOf('/')))) return undefined; // another registry
  try {
    const parsed = parseReference(`${ref.domain}/${path}`, { defaultTag: false });
    if (parsed.tag !== undefined || parsed.digest !== undefined || parsed.path !== path) return undefined;
  } catch {
    throw new InvalidArgumentError(`invalid repository to mount from: "${mountFrom.slice(0, 100)}"`);
  }
  return path === ref.path ? undefined : path;
}

/** The caller's content, checked on the way out; its failures surface as stream errors. */
function verifiedSource(open: () => Readable, desc: Descriptor): Readable {
  const verifier = new VerifiedContent(desc.digest, desc.size, `content of ${desc.digest}`);
  let source: Readable;
  try {
    source = open();
  } catch (err) {
    verifier.destroy(err as Error);
    return verifier;
  }
  pipeline(source, verifier, () => {}); // errors reach the consumer through `verifier`
  return verifier;
}

/** The caller's content for chunked upload; a failing source is an IOError, not a network one. */
async function* sourceOf(open: () => Readable, what: string): AsyncGenerator<Buffer> {
  try {
    for await (const chunk of open())
      yield typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
  } catch (err) {
    if (isBerthError(err)) throw err;
    throw new IOError(`cannot ${what}: reading the content failed: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

function checkDigestHeader(res: IncomingMessage, digest: Digest, what: string): void {
  const claimed = header(res, 'docker-content-digest')?.trim();
  if (
    claimed &&
    isDigest(claimed) &&
    digestAlgorithm(claimed) === digestAlgorithm(digest) &&
    claimed !== digest
  ) {
    res.destroy();
    throw new DigestMismatchError(`cannot ${what}: registry stored it as ${claimed}, expected ${digest}`);
  }
}

async function readResponse(
  res: IncomingMessage,
  limit: number,
  label: string,
  what: string,
): Promise<Buffer> {
  try {
    return await readBody(res, limit, label);
  } catch (err) {
    if (err instanceof SizeLimitError)
      throw new SizeLimitError(`cannot ${what}: ${err.message}`, { cause: err });
    throw wrapFailure(err, what);
  }
}

function rephrase(err: unknown, what: string): unknown {
  if (err instanceof InvalidManifestError)
    return new InvalidManifestError(`cannot ${what}: ${err.message}`, { cause: err });
  if (err instanceof SizeLimitError)
    return new SizeLimitError(`cannot ${what}: ${err.message}`, { cause: err });
  return err;
}
