// The streamed endpoints: container logs (Docker's 8-byte multiplexing without a TTY, raw bytes
// with one) and `/events` (newline-delimited JSON). Everything that can be refused is checked
// before the headers go out, so errors keep Docker's JSON shape; after that the stream just ends.
// A client that goes away aborts `req.signal`, which stops the engine's iterators.
import type { Engine } from '../engine/index.js';
import { InvalidArgumentError } from '../errors/index.js';
import {
  drained,
  onlyParams,
  queryBool,
  queryFilters,
  type Reply,
  type Request,
  type Router,
} from './_http.js';

export function addStreamRoutes(r: Router, engine: Engine): void {
  r.add('GET', '/containers/{id}/logs', (req) => containerLogs(engine, req));
  r.add('GET', '/events', (req) => events(engine, req));
}

/** Unix seconds (fractional allowed) as Docker's clients send them; 0 or absent = no bound. */
function queryUnixTime(q: URLSearchParams, name: string): Date | undefined {
  const v = q.get(name);
  if (v === null || v === '') return undefined;
  if (!/^[0-9]+(\.[0-9]+)?$/.test(v)) {
    throw new InvalidArgumentError(`invalid value for "${name}": "${v}" (expected unix seconds)`);
  }
  const seconds = Number(v);
  return seconds === 0 ? undefined : new Date(seconds * 1000);
}

/** Docker's stream header: type (1 stdout, 2 stderr), three zero bytes, the length (uint32 BE). */
export function frame(stream: 'stdout' | 'stderr', payload: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header[0] = stream === 'stderr' ? 2 : 1;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

/**
 * A log entry's time as dockerd writes it (Go's RFC3339Nano in UTC: `…T23:02:05.79286163Z`,
 * trailing zeros of the fraction dropped); conmon writes `+00:00` or a local offset.
 */
export function dockerTime(time: string): string {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/.exec(time);
  if (!m) return time;
  const base =
    m[3] === 'Z' || m[3] === '+00:00' ? m[1]! : new Date(`${m[1]}${m[3]}`).toISOString().slice(0, 19);
  const frac = (m[2] ?? '').replace(/0+$/, '');
  return `${base}${frac ? `.${frac}` : ''}Z`;
}

/** Write and wait for the socket to drain when it asks; false when the client is gone. */
function write(req: Request, chunk: Buffer | string): Promise<boolean> {
  if (req.signal.aborted || req.res.destroyed) return Promise.resolve(false);
  if (req.res.write(chunk)) return Promise.resolve(true);
  return drained(req.res);
}

async function containerLogs(engine: Engine, req: Request): Promise<Reply | undefined> {
  onlyParams(req.query, ['follow', 'stdout', 'stderr', 'since', 'until', 'timestamps', 'tail', 'details']);
  const follow = queryBool(req.query, 'follow');
  const stdout = queryBool(req.query, 'stdout');
  const stderr = queryBool(req.query, 'stderr');
  const timestamps = queryBool(req.query, 'timestamps');
  queryBool(req.query, 'details');
  if (!stdout && !stderr) {
    throw new InvalidArgumentError('Bad parameters: you must choose at least one stream');
  }
  const since = queryUnixTime(req.query, 'since');
  const until = queryUnixTime(req.query, 'until');
  const tailText = req.query.get('tail') ?? 'all';
  let tail: number | undefined;
  if (tailText !== 'all' && tailText !== '') {
    if (!/^-?[0-9]+$/.test(tailText)) {
      throw new InvalidArgumentError(`invalid value for "tail": "${tailText}" (a number or "all")`);
    }
    // docker: a negative tail means all of it
    tail = Number(tailText) < 0 ? undefined : Number(tailText);
  }
  const c = await engine.inspectContainer(req.params[0]!);
  const tty = c.Config.Tty;

  // `until` ends a follow once it passes, as dockerd does
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  req.signal.addEventListener('abort', onAbort, { once: true });
  let timer: NodeJS.Timeout | undefined;
  if (until && follow) timer = setTimeout(onAbort, Math.max(0, until.getTime() - Date.now()));
  try {
    const entries = engine
      .containerLogs(c.Id, {
        follow,
        ...(since ? { since } : {}),
        ...(tail !== undefined ? { tail } : {}),
        signal: stop.signal,
      })
      [Symbol.asyncIterator]();
    // the first entry (or the end) before the headers: a log that cannot be read is still a JSON error
    let next: IteratorResult<Awaited<ReturnType<typeof entries.next>>['value']> | undefined;
    if (!follow) next = await entries.next();
    req.res.writeHead(200, {
      'Content-Type': tty ? 'application/vnd.docker.raw-stream' : 'application/vnd.docker.multiplexed-stream',
    });
    req.res.flushHeaders();
    try {
      for (;;) {
        next ??= await entries.next();
        if (next.done) break;
        const e = next.value;
        next = undefined;
        if (until && Date.parse(e.time) > until.getTime()) {
          if (follow) continue;
          break;
        }
        if (e.stream === 'stdout' ? !stdout : !stderr) continue;
        const line = e.partial ? e.line : Buffer.concat([e.line, Buffer.from('\n')]);
        const payload = timestamps ? Buffer.concat([Buffer.from(`${dockerTime(e.time)} `), line]) : line;
        if (!(await write(req, tty ? payload : frame(e.stream, payload)))) break;
      }
    } catch (err) {
      // after the headers there is no way to answer with an error: the stream ends
      if (!stop.signal.aborted) req.res.destroy(err instanceof Error ? err : undefined);
      return undefined;
    } finally {
      await entries.return?.();
    }
    if (!req.res.destroyed) req.res.end();
    return undefined;
  } finally {
    if (timer) clearTimeout(timer);
    req.signal.removeEventListener('abort', onAbort);
  }
}

async function events(engine: Engine, req: Request): Promise<Reply | undefined> {
  onlyParams(req.query, ['since', 'until', 'filters']);
  const since = req.query.get('since') || undefined;
  const until = req.query.get('until') || undefined;
  const filters = queryFilters(req.query);
  // the query is checked here (bad filters or times are a 400), before anything streams
  const stream = engine.events(
    { ...(since ? { since } : {}), ...(until ? { until } : {}), ...(filters ? { filters } : {}) },
    { signal: req.signal },
  );
  req.res.writeHead(200, { 'Content-Type': 'application/json' });
  req.res.flushHeaders();
  try {
    for await (const e of stream) {
      const out = {
        ...(e.status !== undefined ? { status: e.status } : {}),
        ...(e.id !== undefined ? { id: e.id } : {}),
        ...(e.from !== undefined ? { from: e.from } : {}),
        Type: e.Type,
        Action: e.Action,
        Actor: e.Actor,
        scope: e.scope,
        time: e.time,
        timeNano: e.timeNano,
      };
      if (!(await write(req, `${JSON.stringify(out)}\n`))) break;
    }
  } catch (err) {
    if (!req.signal.aborted) req.res.destroy(err instanceof Error ? err : undefined);
    return undefined;
  }
  if (!req.res.destroyed) req.res.end();
  return undefined;
}
