// Build, save/load, commit and search. POST /build unpacks the request's tar (the checked layer
// unpacker: no path escapes, no links followed out, no device nodes, a size cap) into a private
// temp dir, runs berth's own builder (Engine.build: reproducible, cached, secret-scanned) and
// answers with the classic builder's JSON stream. The temp dir goes when the request ends.
import { createReadStream, mkdtempSync, realpathSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join, relative, sep } from 'node:path';
import { type Engine, familiarTag } from '../engine/index.js';
import { describeError, InvalidArgumentError, isBerthError, NotFoundError } from '../errors/index.js';
import {
  type BuildLine,
  buildEventLines,
  buildSuccessLines,
  parseBuildQuery,
  parseCommitQuery,
  parseRegistryConfig,
} from './_build-query.js';
import {
  errorReply,
  HttpError,
  onlyParams,
  queryBool,
  type Reply,
  type Request,
  type Router,
  readJson,
} from './_http.js';

/** Default Dockerfile names, in the order they are looked for (dockerd's two, then Podman's). */
const DOCKERFILE_NAMES = ['Dockerfile', 'dockerfile', 'Containerfile'];

/** A body a failed request did not read is drained up to this much, so the client sees the answer. */
const MAX_DRAIN_BYTES = 64 * 1024 * 1024;

export function addBuildRoutes(r: Router, engine: Engine): void {
  const running = new Map<string, AbortController>();
  r.add('POST', '/build', (req) => buildImage(engine, req, running), { streamBody: true });
  r.add('POST', '/build/cancel', (req) => {
    onlyParams(req.query, ['id']);
    const id = req.query.get('id');
    if (!id) throw new InvalidArgumentError('build cancel: the "id" query parameter is required');
    const build = running.get(id);
    if (!build) throw new NotFoundError(`no build with id "${id}" is running`);
    build.abort(new InvalidArgumentError('the build was cancelled'));
    return { status: 200 };
  });
  r.add('POST', '/build/prune', async (req) => {
    onlyParams(req.query, [
      'all',
      'filters',
      'keep-storage',
      'reserved-space',
      'max-used-space',
      'min-free-space',
    ]);
    queryBool(req.query, 'all');
    const filters = req.query.get('filters');
    if (filters && filters !== '{}') {
      throw new HttpError(
        400,
        'build cache prune filters are not supported: berth prunes its whole build cache',
      );
    }
    for (const p of ['keep-storage', 'reserved-space', 'max-used-space', 'min-free-space']) {
      const v = req.query.get(p);
      if (v && v !== '0')
        throw new HttpError(
          400,
          `build cache prune "${p}" is not supported: berth prunes its whole build cache`,
        );
    }
    const report = await engine.pruneBuildCache();
    return { status: 200, body: { CachesDeleted: [], SpaceReclaimed: report.bytes } };
  });

  r.add('GET', '/images/get', (req) => saveImages(engine, req, req.query.getAll('names')));
  r.add('GET', '/images/{name*}/get', (req) => saveImages(engine, req, [req.params[0]!]));
  r.add('POST', '/images/load', (req) => loadImages(engine, req), { streamBody: true });

  r.add('GET', '/images/search', () => {
    throw new HttpError(
      501,
      'berth does not search registries (docker search is not supported); browse the registry itself instead',
    );
  });

  r.add('POST', '/commit', async (req) => {
    const q = parseCommitQuery(req.query);
    const body = await readJson(req);
    if (body !== undefined && body !== null) {
      if (typeof body !== 'object' || Array.isArray(body)) {
        throw new InvalidArgumentError('commit: the request body must be a container config object');
      }
      // dockerode repeats the query (container, repo, tag, ...) in the body: those are not config
      const set = Object.entries(body as Record<string, unknown>).filter(
        ([k, v]) => !isEmpty(v) && !req.query.has(k),
      );
      if (set.length > 0) {
        throw new HttpError(
          400,
          `commit: a config in the request body (${set.map(([k]) => k).join(', ')}) is not supported; use "changes" (docker commit -c)`,
        );
      }
    }
    const image = await engine.commitContainer(q.container, {
      ...(q.reference ? { reference: q.reference } : {}),
      ...(q.comment ? { message: q.comment } : {}),
      ...(q.author ? { author: q.author } : {}),
      changes: q.changes,
      pause: q.pause,
    });
    return { status: 201, body: { Id: image.id } };
  });
}

function isEmpty(v: unknown): boolean {
  if (v === null || v === undefined || v === '' || v === false || v === 0) return true;
  if (Array.isArray(v)) return v.length === 0;
  if (typeof v === 'object') return Object.values(v as object).every(isEmpty);
  return false;
}

/** Read and drop what is left of the request body (up to a cap), so an early answer reaches the client. */
async function drain(req: Request): Promise<void> {
  if (req.raw.readableEnded) return;
  let seen = 0;
  try {
    for await (const chunk of req.raw) {
      seen += (chunk as Buffer).length;
      if (seen > MAX_DRAIN_BYTES) {
        req.res.setHeader('Connection', 'close');
        return;
      }
    }
  } catch {
    // the client went away: nothing to answer
  }
}

/**
 * `rel` inside `root`, symlinks followed only while they stay inside (dockerd follows them in
 * scope); NotFoundError when it does not exist, 400 when it leads out of the context.
 */
function containedPath(root: string, rel: string, what: string): string {
  const real = realpathSync(root);
  const candidate = join(real, rel.replace(/^\/+/, ''));
  let resolved: string;
  try {
    resolved = realpathSync(candidate);
  } catch {
    throw new NotFoundError(`${what} "${rel}" not found in the build context`);
  }
  const back = relative(real, resolved);
  if (back === '..' || back.startsWith(`..${sep}`) || isAbsolute(back)) {
    throw new HttpError(400, `${what} "${rel}" leads outside the build context`);
  }
  return resolved;
}

/** The Dockerfile's text and name, from `dockerfile` or the default names. */
async function readDockerfile(
  engine: Engine,
  dir: string,
  name: string | undefined,
): Promise<{ text: string; name: string }> {
  const names = name !== undefined ? [name] : DOCKERFILE_NAMES;
  for (const n of names) {
    let path: string;
    try {
      path = containedPath(dir, n, 'the Dockerfile');
    } catch (err) {
      if (err instanceof NotFoundError && n !== names.at(-1)) continue;
      if (err instanceof NotFoundError && name === undefined) {
        throw new NotFoundError('Cannot locate specified Dockerfile: Dockerfile');
      }
      throw err;
    }
    if (!statSync(path).isFile())
      throw new InvalidArgumentError(`the Dockerfile "${n}" is not a regular file`);
    const text = await engine.readStdinDockerfile(createReadStream(path));
    return { text, name: n.replace(/^\/+/, '') };
  }
  throw new NotFoundError('Cannot locate specified Dockerfile: Dockerfile');
}

/** The ignore files readBuildIgnore may read must not lead out of the context (their text reaches errors). */
function checkIgnoreFiles(dir: string, dockerfileName: string): void {
  for (const f of [`${dockerfileName}.dockerignore`, '.dockerignore', '.containerignore']) {
    try {
      containedPath(dir, f, 'the ignore file');
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
    }
  }
}

async function buildImage(
  engine: Engine,
  req: Request,
  running: Map<string, AbortController>,
): Promise<Reply | undefined> {
  let query: ReturnType<typeof parseBuildQuery>;
  let credentials: ReturnType<typeof parseRegistryConfig>;
  try {
    query = parseBuildQuery(req.query);
    // the client's credentials for base-image pulls, over berth's stored login for those hosts
    credentials = parseRegistryConfig(req.raw.headers['x-registry-config']);
  } catch (err) {
    await drain(req);
    throw err;
  }
  if (query.buildId && running.has(query.buildId)) {
    await drain(req);
    throw new HttpError(409, `a build with id "${query.buildId}" is already running`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'berth-api-context-'));
  const ac = new AbortController();
  const onAbort = () => ac.abort(new InvalidArgumentError('the client went away'));
  req.signal.addEventListener('abort', onAbort, { once: true });
  if (query.buildId) running.set(query.buildId, ac);
  try {
    let dockerfile: { text: string; name: string };
    let ignore: string[];
    try {
      const got = await engine.readStdinBuildContext(req.raw as AsyncIterable<Buffer>, dir, {
        allowDevices: false,
      });
      if (got.dockerfile !== undefined) dockerfile = { text: got.dockerfile, name: 'Dockerfile' };
      else dockerfile = await readDockerfile(engine, dir, query.dockerfile);
      checkIgnoreFiles(dir, dockerfile.name);
      ignore = await engine.readBuildIgnore(dir, dockerfile.name);
    } catch (err) {
      await drain(req);
      throw err;
    }

    const res = req.res;
    res.writeHead(200, { 'Content-Type': 'application/json' });
    const send = (lines: BuildLine[]) => {
      if (res.writableEnded || res.destroyed) return;
      for (const l of lines) res.write(`${JSON.stringify(l)}\n`);
    };
    if (query.cacheFrom.length > 0 && !query.quiet) {
      send([
        {
          stream: `[WARNING]: cache sources (${query.cacheFrom.join(', ')}) are not used: berth's own step cache applies\n`,
        },
      ]);
    }
    let last: BuildLine[];
    try {
      const result = await engine.build(
        {
          contextDir: dir,
          dockerfile,
          tags: query.tags,
          buildArgs: query.buildArgs,
          labels: query.labels,
          ...(query.target !== undefined ? { target: query.target } : {}),
          noCache: query.noCache,
          pull: query.pull,
          squash: query.squash,
          ...(query.network !== undefined ? { network: query.network } : {}),
          ...(query.sourceDateEpoch !== undefined ? { sourceDateEpoch: query.sourceDateEpoch } : {}),
          ignore,
          signal: ac.signal,
          onEvent: (e) => send(buildEventLines(e, query.quiet)),
        },
        Object.keys(credentials).length > 0 ? { credentials } : {},
      );
      if (!query.quiet) {
        for (const f of result.findings) {
          send([{ stream: `[WARNING]: ${f.step}: ${f.path} holds ${f.kind} (${f.detail})\n` }]);
        }
      }
      last = buildSuccessLines(result.image.id, query.tags, query.quiet);
    } catch (err) {
      const message = isBerthError(err) ? errorReply(err).message : describeError(err);
      last = [{ errorDetail: { message }, error: message }];
    }
    // the context goes before the last line: a client that has its answer finds nothing left
    rmSync(dir, { recursive: true, force: true });
    send(last);
    if (!res.destroyed) res.end();
    return undefined;
  } finally {
    req.signal.removeEventListener('abort', onAbort);
    if (query.buildId && running.get(query.buildId) === ac) running.delete(query.buildId);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** GET /images/get and /images/{name}/get: a docker-archive tar of the images, streamed. */
async function saveImages(engine: Engine, req: Request, names: string[]): Promise<Reply | undefined> {
  onlyParams(req.query, ['names', 'platform']);
  if (req.query.get('platform')) {
    throw new HttpError(
      400,
      'saving one platform of an image is not supported: berth saves the image as stored',
    );
  }
  const wanted = names.filter((n) => n !== '');
  if (wanted.length === 0) throw new InvalidArgumentError('no images named: give names=IMAGE');
  // every name is checked before the headers go out, so a missing one is a plain 404
  for (const n of wanted) engine.resolveImage(n);
  req.res.writeHead(200, { 'Content-Type': 'application/x-tar' });
  try {
    await engine.saveImages(wanted, { format: 'docker-archive', output: req.res });
  } catch {
    // after the headers there is no way to answer with an error: the stream is cut short
    req.res.destroy();
    return undefined;
  }
  if (!req.res.destroyed) req.res.end();
  return undefined;
}

/** POST /images/load: a docker-archive or oci-archive tar body; JSON lines name what was loaded. */
async function loadImages(engine: Engine, req: Request): Promise<Reply | undefined> {
  onlyParams(req.query, ['quiet', 'platform']);
  queryBool(req.query, 'quiet');
  if (req.query.get('platform')) {
    await drain(req);
    throw new HttpError(
      400,
      'loading one platform of an archive is not supported: berth loads the archive as it is',
    );
  }
  let result: Awaited<ReturnType<Engine['loadImages']>>;
  try {
    result = await engine.loadImages({ stream: req.raw as AsyncIterable<Buffer> });
  } catch (err) {
    await drain(req);
    throw err;
  }
  const lines: string[] = [];
  for (const { image, names } of result.images) {
    if (names.length === 0) lines.push(`Loaded image ID: ${image.id}\n`);
    for (const n of names) lines.push(`Loaded image: ${familiarTag(n)}\n`);
  }
  req.res.writeHead(200, { 'Content-Type': 'application/json' });
  req.res.end(lines.map((stream) => `${JSON.stringify({ stream })}\n`).join(''));
  return undefined;
}
