// Image pull (POST /images/create) with dockerd's newline-delimited JSON progress, tag, history,
// and GET /system/df, all done by Engine methods.
//
// X-Registry-Auth: Engine.pull takes no per-call credentials; the service pulls with the
// credentials of berth's login config (`berth login`, or `docker login` through /auth once it
// exists). The header is accepted and not used.
import type { Engine, ProgressEvent } from '../engine/index.js';
import { hasCode, InvalidArgumentError } from '../errors/index.js';
import { parsePlatform, parseReference } from '../oci/index.js';
import { errorReply, HttpError, onlyParams, type Request, type Router } from './_http.js';
import { containerListEntry } from './_routes.js';

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
    return { status: 200, body: await systemDf(engine) };
  });
}

/**
 * Docker's /system/df. The engine reports image, container and volume sizes as totals, not per
 * object: `LayersSize` is the image total, per-container `SizeRw` and per-volume sizes are
 * unknown (0 and -1, as dockerd says for sizes it did not compute), and the build cache, which
 * berth keeps as its own step cache rather than BuildKit records, is not listed.
 */
async function systemDf(engine: Engine) {
  const du = engine.diskUsage();
  const containers = await engine.listContainers({ all: true });
  const perImage = new Map<string, number>();
  for (const c of containers) perImage.set(c.ImageID, (perImage.get(c.ImageID) ?? 0) + 1);
  const images = [];
  for (const id of new Set(engine.listImages().map((row) => row.ID))) {
    let inspect: Awaited<ReturnType<Engine['inspectImage']>>;
    try {
      inspect = await engine.inspectImage(id);
    } catch (err) {
      if (hasCode(err, 'NOT_FOUND')) continue;
      throw err;
    }
    images.push({
      Id: inspect.Id,
      ParentId: '',
      RepoTags: inspect.RepoTags,
      RepoDigests: inspect.RepoDigests,
      Created: Math.floor(Date.parse(inspect.Created) / 1000) || 0,
      Size: inspect.Size,
      SharedSize: 0,
      Labels: (inspect.Config as { Labels?: Record<string, string> | null }).Labels ?? {},
      Containers: perImage.get(inspect.Id) ?? 0,
    });
  }
  const entries = [];
  const refs = new Map<string, number>();
  for (const c of containers) {
    let inspect: Awaited<ReturnType<Engine['inspectContainer']>>;
    try {
      inspect = await engine.inspectContainer(c.Id);
    } catch (err) {
      if (hasCode(err, 'NOT_FOUND')) continue;
      throw err;
    }
    for (const m of inspect.Mounts) if (m.Name) refs.set(m.Name, (refs.get(m.Name) ?? 0) + 1);
    entries.push({ ...containerListEntry(c, inspect), SizeRw: 0, SizeRootFs: 0 });
  }
  const volumes = engine
    .listVolumes()
    .map((v) => ({ ...v, UsageData: { Size: -1, RefCount: refs.get(v.Name) ?? 0 } }));
  return {
    LayersSize: du.images.size,
    Images: images,
    Containers: entries,
    Volumes: volumes,
    BuildCache: [],
  };
}
