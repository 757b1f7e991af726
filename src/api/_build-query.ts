// The pure half of POST /build, /commit and save/load: Docker's query parameters checked and
// turned into berth's build request, X-Registry-Config decoded, and berth's build events turned
// into the classic builder's JSON stream. What berth's builder cannot honour is a clear 400.
import type { BuildEvent, RegistryCredentials } from '../engine/index.js';
import { InvalidArgumentError } from '../errors/index.js';
import {
  formatPlatform,
  hostPlatform,
  parsePlatform,
  parseReference,
  platformMatches,
} from '../oci/index.js';
import { HttpError, onlyParams, queryBool } from './_http.js';
import { authConfigCredentials } from './_registry-auth.js';

/** Every parameter some docker client sends to POST /build (API 1.41–1.45). */
const BUILD_PARAMS = [
  't',
  'dockerfile',
  'remote',
  'q',
  'nocache',
  'rm',
  'forcerm',
  'pull',
  'squash',
  'isolation',
  'cpusetcpus',
  'cpusetmems',
  'cpushares',
  'cpuquota',
  'cpuperiod',
  'memory',
  'memswap',
  'cgroupparent',
  'shmsize',
  'ulimits',
  'buildargs',
  'labels',
  'cachefrom',
  'networkmode',
  'extrahosts',
  'securityopt',
  'target',
  'platform',
  'session',
  'buildid',
  'version',
  'outputs',
];

/** What the query asks of berth's builder. */
export interface BuildQuery {
  tags: string[];
  /** Path of the Dockerfile inside the context; undefined = the default lookup. */
  dockerfile?: string;
  quiet: boolean;
  noCache: boolean;
  pull: boolean;
  squash: boolean;
  buildArgs: Record<string, string>;
  labels: Record<string, string>;
  target?: string;
  network?: 'none' | 'host';
  /** SOURCE_DATE_EPOCH given as a build arg (BuildKit's convention); berth's default is 0. */
  sourceDateEpoch?: number;
  /** The client's id for POST /build/cancel. */
  buildId?: string;
  /** Images named as cache sources: berth's own step cache applies instead (said in the stream). */
  cacheFrom: string[];
}

function jsonParam(q: URLSearchParams, name: string): unknown {
  const raw = q.get(name);
  if (raw === null || raw === '') return undefined;
  try {
    return JSON.parse(raw);
  } catch {
    throw new InvalidArgumentError(`invalid "${name}": not JSON: ${raw.slice(0, 200)}`);
  }
}

/** A JSON object of strings; `null` values (a build arg named without a value) are dropped. */
function stringMap(q: URLSearchParams, name: string): Record<string, string> {
  const v = jsonParam(q, name);
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) {
    throw new InvalidArgumentError(`invalid "${name}": expected a JSON object of strings`);
  }
  const out: Record<string, string> = {};
  for (const [k, value] of Object.entries(v as Record<string, unknown>)) {
    if (k === '') throw new InvalidArgumentError(`invalid "${name}": an empty key`);
    if (value === null) continue;
    if (typeof value !== 'string') {
      throw new InvalidArgumentError(`invalid "${name}": the value of "${k}" must be a string`);
    }
    out[k] = value;
  }
  return out;
}

function stringList(q: URLSearchParams, name: string): string[] {
  const v = jsonParam(q, name);
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) {
    throw new InvalidArgumentError(`invalid "${name}": expected a JSON list of strings`);
  }
  return v as string[];
}

/** A resource setting the client sends as "" (or "0" for numbers) by default; anything else is refused. */
function refuseSet(q: URLSearchParams, name: string, what: string, numeric = true): void {
  for (const v of q.getAll(name)) {
    if (v !== '' && !(numeric && v === '0')) {
      throw new HttpError(
        400,
        `berth's builder does not support ${what} (${name}=${v}) for RUN steps; build without it`,
      );
    }
  }
}

/** The query of POST /build, checked; anything that would change the image and cannot be honoured is a 400. */
export function parseBuildQuery(q: URLSearchParams): BuildQuery {
  onlyParams(q, BUILD_PARAMS);
  const version = q.get('version');
  if (version === '2' || q.get('session')) {
    throw new HttpError(
      400,
      'BuildKit builds (version=2) are not supported: berth serves the classic builder API (unset DOCKER_BUILDKIT or set it to 0)',
    );
  }
  if (version !== null && version !== '' && version !== '1') {
    throw new InvalidArgumentError(`invalid builder version "${version}": expected 1`);
  }
  if (q.get('outputs')) {
    throw new HttpError(
      400,
      'build outputs are a BuildKit feature; berth stores the built image (use `berth build -o`)',
    );
  }
  const remote = q.get('remote');
  if (remote) {
    throw new HttpError(
      400,
      'remote build contexts (a URL or a git repository) are not supported by berth: send the context as a tar body',
    );
  }
  const tags = q.getAll('t').filter((t) => t !== '');
  for (const t of tags) {
    try {
      parseReference(t);
    } catch (err) {
      throw new InvalidArgumentError(`invalid tag "${t}": ${(err as Error).message}`, { cause: err });
    }
  }
  const dockerfile = q.get('dockerfile') || undefined;
  if (dockerfile !== undefined) {
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(dockerfile) || dockerfile.startsWith('git@')) {
      throw new HttpError(
        400,
        `remote Dockerfiles are not supported by berth ("${dockerfile}"): put the Dockerfile in the context`,
      );
    }
    if (dockerfile.includes('\0') || dockerfile.length > 4096) {
      throw new InvalidArgumentError('invalid "dockerfile": not a path');
    }
  }
  const isolation = q.get('isolation');
  if (isolation && isolation !== 'default') {
    throw new HttpError(400, `isolation "${isolation}" is not supported (Linux containers use the default)`);
  }
  refuseSet(q, 'cpusetcpus', 'CPU sets', false);
  refuseSet(q, 'cpusetmems', 'memory-node sets', false);
  refuseSet(q, 'cpushares', 'CPU shares');
  refuseSet(q, 'cpuquota', 'a CPU quota');
  refuseSet(q, 'cpuperiod', 'a CPU period');
  refuseSet(q, 'memory', 'a memory limit');
  refuseSet(q, 'memswap', 'a swap limit');
  refuseSet(q, 'cgroupparent', 'a cgroup parent', false);
  refuseSet(q, 'shmsize', 'a /dev/shm size');
  if (stringListOrMap(q, 'ulimits') > 0) refuseSet(q, 'ulimits', 'ulimits');
  const extraHosts = q.getAll('extrahosts').filter((h) => h !== '');
  if (extraHosts.length > 0) {
    throw new HttpError(400, `berth's builder does not support extra hosts (--add-host ${extraHosts[0]})`);
  }
  const securityOpts = q.getAll('securityopt').filter((s) => s !== '');
  if (securityOpts.length > 0) {
    throw new HttpError(400, `berth's builder does not support security options (${securityOpts[0]})`);
  }
  const networkMode = q.get('networkmode') ?? '';
  let network: 'none' | 'host' | undefined;
  if (networkMode === 'none' || networkMode === 'host') network = networkMode;
  else if (networkMode !== '' && networkMode !== 'default') {
    throw new HttpError(
      400,
      `network mode "${networkMode}" is not supported for builds: RUN steps use the host network (default) or none`,
    );
  }
  const platformText = q.get('platform');
  if (platformText) {
    const wanted = parsePlatform(platformText);
    const host = hostPlatform();
    if (!platformMatches(wanted, host)) {
      throw new HttpError(
        400,
        `berth builds for this machine's platform (${formatPlatform(host)}), not ${formatPlatform(wanted)}`,
      );
    }
  }
  const buildArgs = stringMap(q, 'buildargs');
  let sourceDateEpoch: number | undefined;
  const epoch = buildArgs.SOURCE_DATE_EPOCH;
  if (epoch !== undefined) {
    if (!/^[0-9]{1,15}$/.test(epoch)) {
      throw new InvalidArgumentError(
        `invalid SOURCE_DATE_EPOCH "${epoch}": expected seconds since the epoch`,
      );
    }
    sourceDateEpoch = Number(epoch);
    delete buildArgs.SOURCE_DATE_EPOCH;
  }
  const target = q.get('target') || undefined;
  const buildId = q.get('buildid') || undefined;
  // rm/forcerm: berth always removes its RUN containers, on success and failure alike
  queryBool(q, 'rm');
  queryBool(q, 'forcerm');
  return {
    tags,
    ...(dockerfile !== undefined ? { dockerfile } : {}),
    quiet: queryBool(q, 'q'),
    noCache: queryBool(q, 'nocache'),
    pull: queryBool(q, 'pull'),
    squash: queryBool(q, 'squash'),
    buildArgs,
    labels: stringMap(q, 'labels'),
    ...(target !== undefined ? { target } : {}),
    ...(network !== undefined ? { network } : {}),
    ...(sourceDateEpoch !== undefined ? { sourceDateEpoch } : {}),
    ...(buildId !== undefined ? { buildId } : {}),
    cacheFrom: stringList(q, 'cachefrom'),
  };
}

/** How many entries a JSON list or map parameter holds (0 when absent or null). */
function stringListOrMap(q: URLSearchParams, name: string): number {
  const v = jsonParam(q, name);
  if (v === undefined || v === null) return 0;
  if (Array.isArray(v)) return v.length;
  if (typeof v === 'object') return Object.keys(v).length;
  throw new InvalidArgumentError(`invalid "${name}": expected a JSON list`);
}

/**
 * X-Registry-Config: base64url (or standard base64) JSON of registry host -> AuthConfig, which
 * the client sends for FROM pulls; each entry is read as X-Registry-Auth's AuthConfig is. An
 * empty or `{}`/`null` header, and entries without credentials, are no credentials.
 */
export function parseRegistryConfig(
  header: string | string[] | undefined,
): Record<string, RegistryCredentials> {
  const text = Array.isArray(header) ? header[0] : header;
  if (!text) return {};
  const json = Buffer.from(text.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('utf8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    throw new InvalidArgumentError('invalid X-Registry-Config header: not base64-encoded JSON');
  }
  if (parsed === null) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new InvalidArgumentError('invalid X-Registry-Config header: expected a JSON object');
  }
  const bad = (why: string) => new InvalidArgumentError(`invalid X-Registry-Config header: ${why}`);
  const out: Record<string, RegistryCredentials> = {};
  for (const [host, value] of Object.entries(parsed as Record<string, unknown>)) {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw bad(`the entry for "${host}" is not an object`);
    }
    const { credentials } = authConfigCredentials(value as Record<string, unknown>, bad);
    if (credentials) out[host] = credentials;
  }
  return out;
}

/** One line of the classic builder's JSON stream. */
export interface BuildLine {
  stream?: string;
  aux?: { ID: string };
  errorDetail?: { message: string };
  error?: string;
}

/**
 * The stream lines for one build event, as the classic builder words them: `Step i/n : TEXT`
 * (with the stage in brackets when it has a name), the RUN output, ` ---> Using cache`.
 * With `quiet` only a failure's output is sent (the docker CLI shows it with the error).
 */
export function buildEventLines(e: BuildEvent, quiet: boolean): BuildLine[] {
  if (e.type === 'failed') return quiet ? e.output.map((l) => ({ stream: `${l}\n` })) : [];
  if (quiet) return [];
  switch (e.type) {
    case 'step': {
      const stage = /^stage-[0-9]+$/.test(e.stage) ? '' : `[${e.stage}] `;
      return [{ stream: `${stage}Step ${e.index}/${e.total} : ${e.text}\n` }];
    }
    case 'output':
      return [{ stream: `${e.line}\n` }];
    case 'cached':
      return [{ stream: ' ---> Using cache\n' }];
    case 'warning':
      return [{ stream: `[WARNING]: ${e.message}\n` }];
    case 'done':
      return [];
  }
}

/** The lines that end a successful build: the ID, then Successfully built/tagged (or the ID alone with `quiet`). */
export function buildSuccessLines(id: string, tags: string[], quiet: boolean): BuildLine[] {
  const aux: BuildLine = { aux: { ID: id } };
  if (quiet) return [aux, { stream: `${id}\n` }];
  const short = id.replace(/^sha256:/, '').slice(0, 12);
  return [
    aux,
    { stream: ` ---> ${short}\n` },
    { stream: `Successfully built ${short}\n` },
    ...tags.map((t) => ({ stream: `Successfully tagged ${familiarTagOf(t)}\n` })),
  ];
}

/** `x` -> `x:latest`, as dockerd prints a tag (a digest or a tag already given stays). */
function familiarTagOf(tag: string): string {
  const last = tag.slice(tag.lastIndexOf('/') + 1);
  return last.includes(':') || last.includes('@') ? tag : `${tag}:latest`;
}

/** POST /commit's query, as the docker CLI and dockerode send it. */
export interface CommitQuery {
  container: string;
  reference?: string;
  comment?: string;
  author?: string;
  changes: string[];
  pause: boolean;
}

export function parseCommitQuery(q: URLSearchParams): CommitQuery {
  onlyParams(q, ['container', 'repo', 'tag', 'comment', 'author', 'changes', 'pause']);
  const container = q.get('container');
  if (!container) throw new InvalidArgumentError('commit: the "container" query parameter is required');
  const repo = q.get('repo') || undefined;
  const tag = q.get('tag') || undefined;
  if (tag && !repo) throw new InvalidArgumentError('commit: a tag needs a repository ("repo")');
  const reference = repo ? (tag ? `${repo}:${tag}` : repo) : undefined;
  if (reference) parseReference(reference);
  const comment = q.get('comment') || undefined;
  const author = q.get('author') || undefined;
  // dockerd: pause defaults to true; `pause=0` leaves a running container running
  const pause = q.get('pause') === null || q.get('pause') === '' ? true : queryBool(q, 'pause');
  return {
    container,
    ...(reference ? { reference } : {}),
    ...(comment ? { comment } : {}),
    ...(author ? { author } : {}),
    changes: q.getAll('changes').filter((c) => c !== ''),
    pause,
  };
}
