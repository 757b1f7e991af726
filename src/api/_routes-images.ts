// Image pull (POST /images/create) with dockerd's newline-delimited JSON progress, tag, history,
// and GET /system/df, all done by Engine methods.
//
// X-Registry-Auth: Engine.pull takes no per-call credentials; the service pulls with the
// credentials of berth's login config (`berth login`, or `docker login` through /auth once it
// exists). The header is accepted and not used.
import type { Engine, ProgressEvent } from '../engine/index.js';
import { hasCode, InvalidArgumentError } from '../errors/index.js';
import { parsePlatform, parseReference } from '../oci/index.js';
import { compareVersions, errorReply, HttpError, onlyParams, type Request, type Router } from './_http.js';
import { containerListEntry } from './_routes.js';
import { withVirtualSize } from './_versions.js';

/** One line of dockerd's JSON message stream. */
export interface JsonMessage {
  status?: string;
  id?: string;
  progressDetail?: { current?: number; total?: number };
  errorDetail?: { message: string };
  error?: string;
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

  const res = req.res;
  const completed = new Set<string>();
  // nothing is sent until the registry has answered for the reference, so an unknown image or
  // registry is still a plain Docker error with its status code
  let started = false;
  const pending: JsonMessage[] = [
    { status: `Pulling from ${ref.path}`, id: ref.digest ?? ref.tag ?? 'latest' },
  ];
  const write = (line: JsonMessage) => {
    if (!started) pending.push(line);
    else if (!res.writableEnded && !res.destroyed) res.write(`${JSON.stringify(line)}\n`);
  };
  const start = () => {
    if (started) return;
    started = true;
    res.writeHead(200, { 'Content-Type': 'application/json' });
    for (const line of pending.splice(0)) res.write(`${JSON.stringify(line)}\n`);
  };
  try {
    const report = await engine.pull(input, {
      ...(platform ? { platform, platformExplicit: true } : {}),
      signal: req.signal,
      onProgress: (event) => {
        if (event.type === 'resolved') start();
        for (const line of pullProgressLines(event, completed)) write(line);
      },
    });
    start();
    write({ status: `Digest: ${report.digest}` });
    write({
      status: report.upToDate
        ? `Status: Image is up to date for ${name}`
        : `Status: Downloaded newer image for ${name}`,
    });
  } catch (err) {
    if (!started) {
      // a registry that cannot be reached is a 500 from dockerd, not a gateway error
      const { status, message } = errorReply(err);
      throw status === 502 ? new HttpError(500, message) : err;
    }
    const message = err instanceof Error ? err.message : String(err);
    write(errorLine(message));
  }
  res.end();
  return undefined;
}

export function addImageExtraRoutes(r: Router, engine: Engine): void {
  r.add('POST', '/images/create', (req) => pullImage(engine, req));

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
