// The container extras: `top`, `changes`, `export`, `stats` (one-shot or NDJSON every second)
// and the archive endpoints behind `docker cp` (HEAD/GET a path as a tar with its stat header,
// PUT a tar into a directory). Each calls Engine methods only; the engine does the path checks.
import { Writable } from 'node:stream';
import type { ContainerStats, Engine } from '../engine/index.js';
import { InvalidArgumentError } from '../errors/index.js';
import { onlyParams, queryBool, type Reply, type Request, type Router, readObject } from './_http.js';

export function addContainerExtraRoutes(r: Router, engine: Engine): void {
  r.add('GET', '/containers/{id}/top', (req) => top(engine, req));
  r.add('GET', '/containers/{id}/changes', (req) => {
    onlyParams(req.query, []);
    return { status: 200, body: engine.containerChanges(req.params[0]!) };
  });
  r.add('GET', '/containers/{id}/export', (req) => exportTar(engine, req));
  r.add('GET', '/containers/{id}/stats', (req) => stats(engine, req));
  r.add('HEAD', '/containers/{id}/archive', (req) => getArchive(engine, req));
  r.add('GET', '/containers/{id}/archive', (req) => getArchive(engine, req));
  r.add('PUT', '/containers/{id}/archive', (req) => putArchive(engine, req));
  r.add('POST', '/commit', (req) => commit(engine, req));
}

/** The query parameters of POST /commit, which dockerode repeats in the body. */
const COMMIT_PARAMS = ['container', 'repo', 'tag', 'comment', 'author', 'pause', 'changes'];

/**
 * POST /commit: the container's changes as a new image. A body of Config overrides is refused
 * (the `changes` instructions do that job); the query's own names in it are dockerode's echo.
 */
async function commit(engine: Engine, req: Request): Promise<Reply> {
  onlyParams(req.query, COMMIT_PARAMS);
  const container = req.query.get('container');
  if (!container) throw new InvalidArgumentError('commit: the "container" query parameter is required');
  const body = await readObject(req);
  for (const [key, value] of Object.entries(body)) {
    const unset =
      value === null || value === '' || value === false || (Array.isArray(value) && !value.length);
    if (
      !COMMIT_PARAMS.includes(key) &&
      !unset &&
      !(typeof value === 'object' && !Object.keys(value).length)
    ) {
      throw new InvalidArgumentError(`commit: Config override "${key}" is not supported; use "changes"`);
    }
  }
  const repo = req.query.get('repo') || undefined;
  const tag = req.query.get('tag') || undefined;
  if (tag && !repo) throw new InvalidArgumentError('commit: a "tag" needs a "repo"');
  const author = req.query.get('author') || undefined;
  const message = req.query.get('comment') || undefined;
  const image = await engine.commitContainer(container, {
    ...(repo ? { reference: tag ? `${repo}:${tag}` : repo } : {}),
    ...(author ? { author } : {}),
    ...(message ? { message } : {}),
    changes: req.query.getAll('changes').filter((c) => c !== ''),
    // docker pauses unless told not to
    pause: req.query.get('pause') === null || queryBool(req.query, 'pause'),
  });
  return { status: 201, body: { Id: image.id } };
}

/** `ps_args` as one string, split on blanks (`-eo pid,comm`). */
function top(engine: Engine, req: Request): Reply {
  onlyParams(req.query, ['ps_args']);
  const psArgs = (req.query.get('ps_args') ?? '').split(/\s+/).filter((a) => a !== '');
  return { status: 200, body: engine.topContainer(req.params[0]!, psArgs) };
}

async function exportTar(engine: Engine, req: Request): Promise<Reply | undefined> {
  onlyParams(req.query, []);
  const c = await engine.inspectContainer(req.params[0]!);
  req.res.writeHead(200, { 'Content-Type': 'application/x-tar' });
  try {
    await engine.exportContainer(c.Id, req.res);
  } catch (err) {
    if (!req.res.destroyed) req.res.destroy(err instanceof Error ? err : undefined);
    return undefined;
  }
  if (!req.res.writableEnded) req.res.end();
  return undefined;
}

/** The CLI computes CPU % as Δtotal/Δsystem × online_cpus × 100: counters that give the engine's %. */
const SYSTEM_DELTA = 1e11;

/** One stats report in Docker's shape, as far as the engine reports (the CPU counters are derived). */
export function dockerStats(s: ContainerStats, read: Date, preread: Date): Record<string, unknown> {
  return {
    read: read.toISOString(),
    preread: preread.toISOString(),
    id: s.id,
    name: `/${s.name}`,
    cpu_stats: {
      cpu_usage: { total_usage: Math.round((s.cpuPercent / 100) * SYSTEM_DELTA) },
      system_cpu_usage: SYSTEM_DELTA,
      online_cpus: 1,
    },
    precpu_stats: { cpu_usage: { total_usage: 0 }, system_cpu_usage: 0, online_cpus: 1 },
    memory_stats: { usage: s.memoryUsage, limit: s.memoryLimit },
    pids_stats: { current: s.pids },
    blkio_stats: {
      io_service_bytes_recursive: [
        { major: 0, minor: 0, op: 'read', value: s.blockRead },
        { major: 0, minor: 0, op: 'write', value: s.blockWrite },
      ],
    },
    networks: { eth0: { rx_bytes: s.netRx, tx_bytes: s.netTx } },
  };
}

async function stats(engine: Engine, req: Request): Promise<Reply | undefined> {
  onlyParams(req.query, ['stream', 'one-shot']);
  const stream = req.query.get('stream') === null ? true : queryBool(req.query, 'stream');
  queryBool(req.query, 'one-shot');
  const id = req.params[0]!;
  let before = new Date();
  const first = await engine.containerStats([id], { intervalMs: stream ? 1000 : 200 });
  const one = (s: ContainerStats[]) => {
    const now = new Date();
    const out = dockerStats(s[0]!, now, before);
    before = now;
    return out;
  };
  if (!stream) return { status: 200, body: one(first) };
  req.res.writeHead(200, { 'Content-Type': 'application/json' });
  req.res.flushHeaders();
  try {
    let next = first;
    while (!req.signal.aborted && !req.res.destroyed) {
      req.res.write(`${JSON.stringify(one(next))}\n`);
      next = await engine.containerStats([id], { intervalMs: 1000 });
    }
  } catch (err) {
    // the container went away (or stopped): the stream ends
    if (!req.signal.aborted && !req.res.destroyed) req.res.end();
    void err;
    return undefined;
  }
  if (!req.res.destroyed) req.res.end();
  return undefined;
}

/** Go's os.FileMode bits for a directory and a symlink, as the docker CLI reads them. */
const MODE_DIR = 0x80000000;
const MODE_SYMLINK = 0x08000000;

function field(block: Buffer, start: number, len: number): string {
  const raw = block.subarray(start, start + len);
  const nul = raw.indexOf(0);
  return (nul < 0 ? raw : raw.subarray(0, nul)).toString('utf8');
}

function octal(block: Buffer, start: number, len: number): number {
  const t = field(block, start, len).trim();
  return t === '' ? 0 : Number.parseInt(t, 8);
}

/** Docker's path stat from the first entry of a tar (pax and GNU long-name headers skipped). */
export function statFromTar(tar: Buffer, path: string): Record<string, unknown> {
  let off = 0;
  let linkTarget = '';
  while (off + 512 <= tar.length) {
    const block = tar.subarray(off, off + 512);
    const type = String.fromCharCode(block[156] ?? 48);
    const size = octal(block, 124, 12);
    if (type === 'x' || type === 'g' || type === 'L' || type === 'K') {
      const data = tar.subarray(off + 512, off + 512 + size).toString('utf8');
      const link = /\d+ linkpath=([^\n]*)\n/.exec(data);
      if (link) linkTarget = link[1]!;
      if (type === 'K') linkTarget = data.replace(/\0.*$/s, '');
      off += 512 + Math.ceil(size / 512) * 512;
      continue;
    }
    let mode = octal(block, 100, 8) & 0o7777;
    if (type === '5') mode = (mode | MODE_DIR) >>> 0;
    if (type === '2') mode = (mode | MODE_SYMLINK) >>> 0;
    const trimmed = path.replace(/\/+$/, '');
    const name = trimmed === '' ? '/' : trimmed.slice(trimmed.lastIndexOf('/') + 1);
    return {
      name,
      size: type === '0' || type === '\0' ? size : 0,
      mode,
      mtime: new Date(octal(block, 136, 12) * 1000).toISOString(),
      linkTarget: linkTarget || (type === '2' ? field(block, 157, 100) : ''),
    };
  }
  throw new InvalidArgumentError(`could not stat "${path}": empty archive`);
}

async function getArchive(engine: Engine, req: Request): Promise<Reply | undefined> {
  onlyParams(req.query, ['path']);
  const path = req.query.get('path');
  if (!path) throw new InvalidArgumentError('Bad parameters: path is required');
  const chunks: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk);
      done();
    },
  });
  await engine.copyFromContainer(req.params[0]!, path, sink);
  const tar = Buffer.concat(chunks);
  const stat = Buffer.from(JSON.stringify(statFromTar(tar, path))).toString('base64');
  req.res.writeHead(200, {
    'Content-Type': 'application/x-tar',
    'X-Docker-Container-Path-Stat': stat,
    ...(req.method === 'HEAD' ? {} : { 'Content-Length': String(tar.length) }),
  });
  req.res.end(req.method === 'HEAD' ? undefined : tar);
  return undefined;
}

async function putArchive(engine: Engine, req: Request): Promise<Reply> {
  onlyParams(req.query, ['path', 'noOverwriteDirNonDir', 'copyUIDGID']);
  const path = req.query.get('path');
  if (!path) throw new InvalidArgumentError('Bad parameters: path is required');
  queryBool(req.query, 'noOverwriteDirNonDir');
  const archive = queryBool(req.query, 'copyUIDGID');
  await engine.copyToContainer(req.raw as AsyncIterable<Buffer>, req.params[0]!, path, { archive });
  return { status: 200 };
}
