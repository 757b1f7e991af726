// The container extras: `top`, `changes`, `export`, `stats` (one-shot or NDJSON every second)
// and the archive endpoints behind `docker cp` (HEAD/GET a path as a tar with its stat header,
// PUT a tar into a directory). Each calls Engine methods only; the engine does the path checks.
import { Writable } from 'node:stream';
import type { ContainerStats, Engine } from '../engine/index.js';
import { InvalidArgumentError } from '../errors/index.js';
import { drained, onlyParams, queryBool, type Reply, type Request, type Router } from './_http.js';

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
  r.add('PUT', '/containers/{id}/archive', (req) => putArchive(engine, req), { streamBody: true });
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

/**
 * Docker's path stat from the first entry of a tar (pax and GNU long-name headers skipped).
 * With `partial`, a buffer that ends before the first entry's header is whole gives undefined
 * (read more and ask again); otherwise that is an empty archive.
 */
export function statFromTar(tar: Buffer, path: string, partial = false): Record<string, unknown> | undefined {
  let off = 0;
  let linkTarget = '';
  while (off + 512 <= tar.length) {
    const block = tar.subarray(off, off + 512);
    const type = String.fromCharCode(block[156] ?? 48);
    const size = octal(block, 124, 12);
    if (type === 'x' || type === 'g' || type === 'L' || type === 'K') {
      if (off + 512 + size > tar.length) break;
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
  if (partial) return undefined;
  throw new InvalidArgumentError(`could not stat "${path}": empty archive`);
}

/** The most a tar's leading headers may take before its first entry (long names, pax records). */
const MAX_HEADER_BYTES = 1 << 20;

/** Thrown into the copy once a HEAD has its stat: the rest of the tar is not wanted. */
class HeadAnswered extends Error {}

/**
 * GET/HEAD: the tar streams straight to the client. Only its first entry's headers are held
 * back, to fill the stat header that must precede the body; HEAD stops the copy right there.
 */
async function getArchive(engine: Engine, req: Request): Promise<Reply | undefined> {
  onlyParams(req.query, ['path']);
  const path = req.query.get('path');
  if (!path) throw new InvalidArgumentError('Bad parameters: path is required');
  const res = req.res;
  const head = req.method === 'HEAD';
  let held: Buffer[] = [];
  let started = false;
  const begin = (stat: Record<string, unknown>, length?: number): void => {
    res.writeHead(200, {
      'Content-Type': 'application/x-tar',
      'X-Docker-Container-Path-Stat': Buffer.from(JSON.stringify(stat)).toString('base64'),
      ...(length === undefined || head ? {} : { 'Content-Length': String(length) }),
    });
    started = true;
  };
  const send = (chunk: Buffer, done: (err?: Error | null) => void): void => {
    if (res.destroyed) {
      done(new Error('client went away'));
      return;
    }
    if (res.write(chunk)) {
      done();
      return;
    }
    void drained(res).then((ok) => done(ok ? undefined : new Error('client went away')));
  };
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      if (started) {
        send(chunk, done);
        return;
      }
      held.push(chunk);
      const sofar = Buffer.concat(held);
      const stat = statFromTar(sofar, path, true);
      if (!stat) {
        if (sofar.length > MAX_HEADER_BYTES)
          return done(new InvalidArgumentError(`could not stat "${path}"`));
        return done();
      }
      held = [];
      begin(stat);
      if (head) {
        res.end();
        done(new HeadAnswered());
        return;
      }
      send(sofar, done);
    },
  });
  try {
    await engine.copyFromContainer(req.params[0]!, path, sink);
  } catch (err) {
    if (err instanceof HeadAnswered || sink.errored instanceof HeadAnswered) return undefined;
    if (!started) throw err;
    res.destroy(err as Error);
    return undefined;
  }
  if (!started) {
    // The whole tar fitted before its first entry was complete: a small file or empty dir.
    const tar = Buffer.concat(held);
    begin(statFromTar(tar, path)!, tar.length);
    res.end(head ? undefined : tar);
    return undefined;
  }
  res.end();
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
