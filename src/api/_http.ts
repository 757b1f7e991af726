// The HTTP plumbing of the Docker Engine API: the `/vX.YY` prefix and version negotiation,
// routing, query and body parsing with limits, and errors in Docker's `{"message": …}` shape.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Writable } from 'node:stream';
import type { FilterInput } from '../engine/index.js';
import { type BerthError, httpStatusFor, InvalidArgumentError, isBerthError } from '../errors/index.js';

export const API_VERSION = '1.45';
export const MIN_API_VERSION = '1.41';
/** JSON request bodies larger than this are refused with 413. */
export const MAX_JSON_BODY = 1024 * 1024;

/** An HTTP answer with a status of its own (413, 304, 400 for a bad version). */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface Request {
  method: string;
  /** The path without the version prefix. */
  path: string;
  /** The API version the client asked for (the prefix), or the server's. */
  version: string;
  params: string[];
  query: URLSearchParams;
  raw: IncomingMessage;
  res: ServerResponse;
  /** Fires when the client goes away. */
  signal: AbortSignal;
}

export type Handler = (req: Request) => Promise<Reply | undefined> | Reply | undefined;

/** What a handler answers: a status and a JSON (or text) body; undefined = handler wrote it. */
export interface Reply {
  status: number;
  body?: unknown;
  text?: string;
}

function versionNumber(v: string): number {
  const [major, minor] = v.split('.').map(Number);
  return (major ?? 0) * 1000 + (minor ?? 0);
}

export function compareVersions(a: string, b: string): number {
  return versionNumber(a) - versionNumber(b);
}

/** Split `/v1.43/containers/json` into the version and the rest; refuse versions out of range. */
export function splitVersion(pathname: string): { version: string; path: string } {
  const m = /^\/v([0-9]+\.[0-9]+)(\/.*)$/.exec(pathname);
  if (!m) return { version: API_VERSION, path: pathname };
  const version = m[1]!;
  if (compareVersions(version, API_VERSION) > 0) {
    throw new HttpError(
      400,
      `client version ${version} is too new. Maximum supported API version is ${API_VERSION}`,
    );
  }
  if (compareVersions(version, MIN_API_VERSION) < 0) {
    throw new HttpError(
      400,
      `client version ${version} is too old. Minimum supported API version is ${MIN_API_VERSION}, please upgrade your client to a newer version`,
    );
  }
  return { version, path: m[2]! };
}

interface Route {
  method: string;
  re: RegExp;
  handler: Handler;
  streamBody: boolean;
}

export interface RouteOptions {
  /** The handler streams the request body itself (a tar of any size): no JSON body cap. */
  streamBody?: boolean;
}

/** `{id}` matches one path segment; `{name*}` (images) matches the rest, slashes included. */
export class Router {
  readonly #routes: Route[] = [];

  add(method: string, pattern: string, handler: Handler, options: RouteOptions = {}): this {
    const re = new RegExp(`^${pattern.replace(/\{[a-z]+\*\}/g, '(.+?)').replace(/\{[a-z]+\}/g, '([^/]+)')}$`);
    this.#routes.push({ method, re, handler, streamBody: options.streamBody === true });
    return this;
  }

  /** The handler and decoded parameters; `allowed` lists the methods of a path that exists. */
  match(
    method: string,
    path: string,
  ): { handler: Handler; params: string[]; streamBody: boolean } | { allowed: string[] } {
    const allowed: string[] = [];
    for (const r of this.#routes) {
      const m = r.re.exec(path);
      if (!m) continue;
      if (r.method !== method && !(method === 'HEAD' && r.method === 'GET')) {
        allowed.push(r.method);
        continue;
      }
      const params = m.slice(1).map((p) => {
        try {
          return decodeURIComponent(p);
        } catch {
          throw new HttpError(400, `invalid path parameter "${p}"`);
        }
      });
      return { handler: r.handler, params, streamBody: r.streamBody };
    }
    return { allowed };
  }
}

/** The request body as JSON (undefined when empty), refused past `limit` bytes or when malformed. */
export async function readJson(req: Request, limit = MAX_JSON_BODY): Promise<unknown> {
  const declared = Number(req.raw.headers['content-length'] ?? 0);
  if (declared > limit) throw new HttpError(413, `request body too large (over ${limit} bytes)`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req.raw) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new HttpError(413, `request body too large (over ${limit} bytes)`);
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new InvalidArgumentError(`invalid JSON in request body: ${(err as Error).message}`);
  }
}

/** A JSON object body (`{}` when empty); anything else is a 400. */
export async function readObject(req: Request): Promise<Record<string, unknown>> {
  const body = await readJson(req);
  if (body === undefined || body === null) return {};
  if (typeof body !== 'object' || Array.isArray(body)) {
    throw new InvalidArgumentError('request body must be a JSON object');
  }
  return body as Record<string, unknown>;
}

/** Docker's boolean query values: 1/true/True are true, 0/false/'' false, anything else a 400. */
export function queryBool(q: URLSearchParams, name: string): boolean {
  const v = q.get(name);
  if (v === null || v === '' || v === '0' || v.toLowerCase() === 'false') return false;
  if (v === '1' || v.toLowerCase() === 'true') return true;
  throw new InvalidArgumentError(`invalid boolean value for "${name}": "${v}"`);
}

/** A non-negative integer query value, or undefined when absent. */
export function queryInt(q: URLSearchParams, name: string): number | undefined {
  const v = q.get(name);
  if (v === null || v === '') return undefined;
  if (!/^-?[0-9]+$/.test(v)) throw new InvalidArgumentError(`invalid integer value for "${name}": "${v}"`);
  return Number(v);
}

/**
 * `filters` as the docker client sends them: `{"status":["running"]}`, or the older
 * `{"status":{"running":true}}` map form. Anything else is a 400.
 */
export function queryFilters(q: URLSearchParams): Record<string, string[]> | undefined {
  const raw = q.get('filters');
  if (raw === null || raw === '') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new InvalidArgumentError(`invalid filters: not JSON: ${raw.slice(0, 200)}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new InvalidArgumentError('invalid filters: expected a JSON object');
  }
  const out: Record<string, string[]> = {};
  for (const [key, value] of Object.entries(parsed as Record<string, unknown>)) {
    if (Array.isArray(value) && value.every((v) => typeof v === 'string')) out[key] = value as string[];
    else if (value && typeof value === 'object' && !Array.isArray(value)) {
      out[key] = Object.entries(value as Record<string, unknown>)
        .filter(([, on]) => on === true)
        .map(([v]) => v);
    } else throw new InvalidArgumentError(`invalid filters: "${key}" must be a list of strings`);
  }
  return out;
}

/** Filters for an engine call; undefined stays undefined. */
export function filterInput(q: URLSearchParams): (FilterInput & Record<string, string[]>) | undefined {
  return queryFilters(q);
}

/**
 * The query parameters a handler reads. Any others are ignored, as dockerd ignores them: real
 * clients send extras (dockerode repeats a create body's fields in the query, docker-py adds
 * `trunc_cmd`), so refusing them would break those clients. The values of the known ones are
 * still checked where they are read.
 */
export function onlyParams(_q: URLSearchParams, _known: string[]): void {}

/** Status and message of any thrown value; internal faults say only that they happened. */
export function errorReply(err: unknown): { status: number; message: string } {
  if (err instanceof HttpError) return { status: err.status, message: err.message };
  if (isBerthError(err)) return { status: httpStatusFor(err), message: messageOf(err) };
  return { status: 500, message: `internal error: ${err instanceof Error ? err.message : String(err)}` };
}

function messageOf(err: BerthError): string {
  return err.hint ? `${err.message} (${err.hint})` : err.message;
}

/**
 * Resolves once `out` (a response or an upgraded socket) can take more after a write returned
 * false: true at 'drain', false when the client went away instead.
 */
export function drained(out: Writable): Promise<boolean> {
  return new Promise((resolve) => {
    const go = () => {
      out.off('drain', go);
      out.off('close', go);
      resolve(!out.destroyed);
    };
    out.once('drain', go);
    out.once('close', go);
  });
}
