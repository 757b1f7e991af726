// Image pull (POST /images/create) and push (POST /images/{name}/push) with dockerd's
// newline-delimited JSON progress, tag, history, and GET /system/df, all done by Engine methods.
// Both take the X-Registry-Auth header's credentials (see _registry-auth.ts) over the stored login.
import type { Engine, ProgressEvent, PushEvent } from '../engine/index.js';
import { hasCode, InvalidArgumentError } from '../errors/index.js';
import { parsePlatform, parseReference } from '../oci/index.js';
import { compareVersions, errorReply, HttpError, onlyParams, type Request, type Router } from './_http.js';
import { addAuthRoutes, requestCredentials } from './_registry-auth.js';
import { containerListEntry } from './_routes.js';
import { withVirtualSize } from './_versions.js';

/** One line of dockerd's JSON message stream. */
export interface JsonMessage {
  status?: string;
  id?: string;
  progressDetail?: { current?: number; total?: number };
  errorDetail?: { message: string };
  error?: string;
  aux?: Record<string, unknown>;
}

const LAYER_TEXT: Record<string, string> = {
  waiting: 'Pulling fs layer',
  exists: 'Already exists',
  downloading: 'Downloading',
  verifying: 'Verifying Checksum',
  done: 'Pull complete',
};

/**
 * The JSON lines dockerd would send for one berth progress event. `completed` remembers the
 * layers already reported "Download complete" (berth streams download and unpack in one pass,
 * so its first `extracting` event is the end of the download).
 */
export function pullProgressLines(event: ProgressEvent, completed: Set<string>): JsonMessage[] {
  switch (event.type) {
    case 'resolve':
    case 'resolved':
      return [];
    case 'message':
      return [{ status: event.text }];
    case 'layer': {
      const id = event.id;
      if (event.status === 'downloading' || event.status === 'extracting') {
        const detail: { current?: number; total?: number } = {};
        if (event.current !== undefined) detail.current = event.current;
        if (event.total !== undefined) detail.total = event.total;
        if (event.status === 'downloading') return [{ status: 'Downloading', progressDetail: detail, id }];
        const out: JsonMessage[] = [];
        if (!completed.has(id)) {
          completed.add(id);
          out.push({ status: 'Download complete', progressDetail: {}, id });
        }
        out.push({ status: 'Extracting', progressDetail: detail, id });
        return out;
      }
      const out: JsonMessage[] = [];
      if (event.status === 'done' && !completed.has(id)) {
        completed.add(id);
        out.push({ status: 'Download complete', progressDetail: {}, id });
      }
      out.push({ status: LAYER_TEXT[event.status] ?? event.status, progressDetail: {}, id });
      return out;
    }
  }
}

/** The error line the docker CLI prints (and exits non-zero on) once a stream has begun. */
export function errorLine(message: string): JsonMessage {
  return { errorDetail: { message }, error: message };
}

/** `fromImage` + `tag` as one reference: a tag that is a digest makes `name@digest`. */
export function pullReference(fromImage: string, tag: string | null): string {
  if (!tag) return fromImage;
  return tag.includes(':') ? `${fromImage}@${tag}` : `${fromImage}:${tag}`;
}

async function pullImage(engine: Engine, req: Request): Promise<undefined> {
  onlyParams(req.query, ['fromImage', 'fromSrc', 'repo', 'tag', 'message', 'changes', 'platform']);
  if (req.query.get('fromSrc')) {
    throw new HttpError(
      400,
      'importing an image (fromSrc) is not supported by berth system service; use `berth import` instead',
    );
  }
  const fromImage = req.query.get('fromImage');
  if (!fromImage) throw new InvalidArgumentError('fromImage is required (the image to pull)');
  const input = pullReference(fromImage, req.query.get('tag'));
  const ref = parseReference(input);
  const platformText = req.query.get('platform');
  const platform = platformText ? parsePlatform(platformText) : undefined;
  const name = ref.digest || input.split('/').pop()!.includes(':') ? input : `${input}:latest`;

  const credentials = requestCredentials(req);
  const completed = new Set<string>();
  // nothing is sent until the registry has answered for the reference, so an unknown image or
  // registry is still a plain Docker error with its status code
  const stream = new JsonLineStream(req);
  stream.write({ status: `Pulling from ${ref.path}`, id: ref.digest ?? ref.tag ?? 'latest' });
  try {
    const report = await engine.pull(input, {
      ...(platform ? { platform, platformExplicit: true } : {}),
      ...(credentials ? { credentials } : {}),
      signal: req.signal,
      onProgress: (event) => {
        if (event.type === 'resolved') stream.start();
        for (const line of pullProgressLines(event, completed)) stream.write(line);
      },
    });
    stream.start();
    stream.write({ status: `Digest: ${report.digest}` });
    stream.write({
      status: report.upToDate
        ? `Status: Image is up to date for ${name}`
        : `Status: Downloaded newer image for ${name}`,
    });
  } catch (err) {
    stream.fail(err);
  }
  stream.end();
  return undefined;
}

/**
 * A dockerd JSON message stream: lines are held back until `start()`, so a failure before it is
 * still a plain Docker error with its status; after it, a failure is an error line.
 */
export class JsonLineStream {
  #started = false;
  readonly #pending: JsonMessage[] = [];

  constructor(private readonly req: Request) {}

  get started(): boolean {
    return this.#started;
  }

  write(line: JsonMessage): void {
    const res = this.req.res;
    if (!this.#started) this.#pending.push(line);
    else if (!res.writableEnded && !res.destroyed) res.write(`${JSON.stringify(line)}\n`);
  }

  start(): void {
    if (this.#started) return;
    this.#started = true;
    this.req.res.writeHead(200, { 'Content-Type': 'application/json' });
    for (const line of this.#pending.splice(0)) this.write(line);
  }

  /** Rethrows a failure before the stream began (a registry that cannot be reached is dockerd's 500). */
  fail(err: unknown): void {
    if (!this.#started) {
      const { status, message } = errorReply(err);
      throw status === 502 ? new HttpError(500, message) : err;
    }
    const { message } = errorReply(err);
    this.write(errorLine(message));
  }

  end(): void {
    if (!this.#started) this.start();
    if (!this.req.res.writableEnded) this.req.res.end();
  }
}

const PUSH_TEXT: Record<string, string> = {
  preparing: 'Preparing',
  waiting: 'Waiting',
  pushing: 'Pushing',
  pushed: 'Pushed',
  exists: 'Layer already exists',
  mounted: 'Mounted',
};

/** The JSON lines dockerd sends for one push progress event. */
export function pushProgressLines(event: PushEvent): JsonMessage[] {
  if (event.type === 'manifest') {
    return [
      { status: `${event.tag}: digest: ${event.digest} size: ${event.size}` },
      { progressDetail: {}, aux: { Tag: event.tag, Digest: event.digest, Size: event.size } },
    ];
  }
  const id = event.id;
  if (event.status === 'pushing') {
    const detail: { current?: number; total?: number } = {};
    if (event.current !== undefined) detail.current = event.current;
    if (event.total !== undefined) detail.total = event.total;
    return [{ status: 'Pushing', progressDetail: detail, id }];
  }
  if (event.status === 'mounted' && event.from) {
    return [{ status: `Mounted from ${event.from}`, progressDetail: {}, id }];
  }
  return [{ status: PUSH_TEXT[event.status] ?? event.status, progressDetail: {}, id }];
}

/** The local names a push of `name` (no tag: every tag of that repository, as dockerd does) covers. */
function pushTargets(engine: Engine, name: string, tag: string | null): string[] {
  if (tag) return [pullReference(name, tag)];
  const ref = parseReference(name, { defaultTag: false });
  if (ref.tag !== undefined || ref.digest !== undefined) return [name];
  const repo = `${ref.domain}/${ref.path}`;
  const tags = new Set<string>();
  for (const row of engine.listImages()) {
    if (row.Tag === '<none>') continue;
    const r = parseReference(`${row.Repository}:${row.Tag}`);
    if (`${r.domain}/${r.path}` === repo) tags.add(`${name}:${row.Tag}`);
  }
  if (tags.size === 0) throw new HttpError(404, `An image does not exist locally with the tag: ${name}`);
  return [...tags].sort();
}

async function pushImage(engine: Engine, req: Request): Promise<undefined> {
  onlyParams(req.query, ['tag', 'platform']);
  const name = req.params[0]!;
  const credentials = requestCredentials(req);
  const targets = pushTargets(engine, name, req.query.get('tag'));
  for (const t of targets) parseReference(t); // a bad reference is a 400 before anything is sent
  const stream = new JsonLineStream(req);
  const repo = parseReference(targets[0]!);
  stream.write({ status: `The push refers to repository [${repo.domain}/${repo.path}]` });
  try {
    for (const target of targets) {
      if (!engine.findImage(target)) {
        throw new HttpError(404, `An image does not exist locally with the tag: ${target}`);
      }
      await engine.push(target, {
        ...(credentials ? { credentials } : {}),
        signal: req.signal,
        onProgress: (event) => {
          stream.start();
          for (const line of pushProgressLines(event)) stream.write(line);
        },
      });
    }
  } catch (err) {
    stream.fail(err);
  }
  stream.end();
  return undefined;
}

export function addImageExtraRoutes(r: Router, engine: Engine): void {
  r.add('POST', '/images/create', (req) => pullImage(engine, req));
  r.add('POST', '/images/{name*}/push', (req) => pushImage(engine, req));
  addAuthRoutes(r, engine);

  r.add('POST', '/images/{name*}/tag', (req) => {
    onlyParams(req.query, ['repo', 'tag']);
    const repo = req.query.get('repo');
    if (!repo) throw new InvalidArgumentError('repo is required (the new name)');
    const tag = req.query.get('tag');
    engine.tagImage(req.params[0]!, tag ? `${repo}:${tag}` : repo);
    return { status: 201 };
  });

  r.add('GET', '/images/{name*}/history', async (req) => {
    onlyParams(req.query, ['platform']);
    const rows = await engine.imageHistory(req.params[0]!);
    return {
      status: 200,
      body: rows.map((row) => ({
        Id: row.ID,
        Created: Math.floor(Date.parse(row.CreatedAt) / 1000) || 0,
        CreatedBy: row.CreatedBy,
        Tags: row.Tags.length ? row.Tags : null,
        Size: row.Size,
        Comment: row.Comment,
      })),
    };
  });

  r.add('GET', '/system/df', async (req) => {
    onlyParams(req.query, ['type', 'verbose']);
    return { status: 200, body: await systemDf(engine, req) };
  });
}

/**
 * Docker's /system/df: every image with the number of containers using it, every container
 * with the bytes it wrote (SizeRw) and sees (SizeRootFs), every volume with its size and
 * reference count. The build cache, which berth keeps as its own step cache rather than
 * BuildKit records, is not listed. `type` (1.42) narrows the answer to some kinds.
 */
async function systemDf(engine: Engine, req: Request) {
  // `type` came with 1.42; older clients always get every kind
  const types = compareVersions(req.version, '1.42') < 0 ? [] : req.query.getAll('type');
  for (const t of types) {
    if (!['container', 'image', 'volume', 'build-cache'].includes(t)) {
      throw new InvalidArgumentError(`invalid type "${t}": expected container, image, volume or build-cache`);
    }
  }
  const want = (t: string) => types.length === 0 || types.includes(t);
  const du = engine.diskUsage();
  const out: Record<string, unknown> = {};
  if (want('image')) {
    const images = [];
    for (const id of new Set(engine.listImages().map((row) => row.ID))) {
      let inspect: Awaited<ReturnType<Engine['inspectImage']>>;
      try {
        inspect = await engine.inspectImage(id);
      } catch (err) {
        if (hasCode(err, 'NOT_FOUND')) continue;
        throw err;
      }
      const entry = {
        Id: inspect.Id,
        ParentId: '',
        RepoTags: inspect.RepoTags,
        RepoDigests: inspect.RepoDigests,
        Created: Math.floor(Date.parse(inspect.Created) / 1000) || 0,
        Size: inspect.Size,
        SharedSize: 0,
        Labels: (inspect.Config as { Labels?: Record<string, string> | null }).Labels ?? {},
        Containers: du.images.containersOf[inspect.Id] ?? 0,
      };
      images.push(withVirtualSize(entry, req.version));
    }
    out.LayersSize = du.images.size;
    out.Images = images;
  }
  if (want('container')) {
    const entries = [];
    for (const c of await engine.listContainers({ all: true })) {
      let inspect: Awaited<ReturnType<Engine['inspectContainer']>>;
      try {
        inspect = await engine.inspectContainer(c.Id);
      } catch (err) {
        if (hasCode(err, 'NOT_FOUND')) continue;
        throw err;
      }
      const size = du.containers.items[c.Id];
      entries.push({
        ...containerListEntry(c, inspect),
        SizeRw: size?.sizeRw ?? 0,
        SizeRootFs: size?.sizeRootFs ?? 0,
      });
    }
    out.Containers = entries;
  }
  if (want('volume')) {
    out.Volumes = engine.listVolumes().map((v) => {
      const usage = du.volumes.items[v.Name];
      return { ...v, UsageData: { Size: usage?.size ?? -1, RefCount: usage?.refCount ?? 0 } };
    });
  }
  if (want('build-cache')) out.BuildCache = [];
  return out;
}
