import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, relative, resolve } from 'node:path';
import type { BuildSecret } from '../../../engine/index.js';
import { InvalidArgumentError, NotFoundError, UsageError } from '../../../errors/index.js';
import { parseReference } from '../../../oci/index.js';
import { bool, type CommandSpec, list, type ParsedArgs, str } from '../../args.js';
import { createBuildRenderer } from '../../build-progress.js';
import type { CommandContext } from '../../context.js';

export const spec: CommandSpec = {
  usage: 'build [OPTIONS] PATH | -',
  description: 'Build an image from a Dockerfile (reproducible by default)',
  args: { min: 1, max: 1 },
  flags: [
    {
      name: 'tag',
      short: 't',
      type: 'list',
      value: 'list',
      description: 'Name and optionally a tag (repeatable)',
    },
    {
      name: 'file',
      short: 'f',
      type: 'string',
      value: 'string',
      description: 'Name of the Dockerfile (default: PATH/Dockerfile, else PATH/Containerfile)',
    },
    { name: 'build-arg', type: 'list', value: 'list', description: 'Set build-time variables' },
    { name: 'target', type: 'string', value: 'string', description: 'Set the target build stage to build' },
    { name: 'no-cache', type: 'bool', description: 'Do not use cache when building the image' },
    { name: 'pull', type: 'bool', description: 'Always attempt to pull a newer version of the base images' },
    {
      name: 'secret',
      type: 'list',
      value: 'list',
      description: 'Secret to expose to the build: id=ID,src=FILE or id=ID,env=VAR',
    },
    {
      name: 'allow',
      type: 'list',
      value: 'list',
      description: 'Grant an entitlement: security.insecure (RUN --security=insecure), network.host',
    },
    { name: 'label', type: 'list', value: 'list', description: 'Set metadata for an image' },
    {
      name: 'quiet',
      short: 'q',
      type: 'bool',
      description: 'Suppress the build output and print image ID on success',
    },
    { name: 'iidfile', type: 'string', value: 'string', description: 'Write the image ID to the file' },
    {
      name: 'network',
      type: 'string',
      value: 'string',
      description: 'Networking mode for the RUN instructions: none or host (default host)',
    },
    {
      name: 'output',
      short: 'o',
      type: 'string',
      value: 'string',
      description: 'Export instead of storing: type=oci|docker,dest=FILE',
    },
    {
      name: 'timestamp',
      type: 'string',
      value: 'int',
      description: 'Seconds since the epoch for every timestamp (default: SOURCE_DATE_EPOCH, else 0)',
    },
    {
      name: 'strict-secrets',
      type: 'bool',
      description: 'Fail the build when a layer contains a secret or a private key',
    },
    {
      name: 'runtime',
      type: 'string',
      value: 'string',
      description: 'OCI runtime for RUN steps (runc, crun or a path)',
    },
    { name: 'squash', type: 'bool', description: 'Squash newly built layers into a single new layer' },
  ],
};

function keyValues(text: string, flag: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new InvalidArgumentError(`invalid ${flag} "${text}": expected key=value pairs`);
    out.set(part.slice(0, eq).trim(), part.slice(eq + 1));
  }
  return out;
}

function parseSecret(text: string): BuildSecret {
  const kv = keyValues(text, '--secret');
  const id = kv.get('id');
  if (!id) throw new InvalidArgumentError(`invalid --secret "${text}": id= is required`);
  for (const k of kv.keys()) {
    if (!['id', 'src', 'source', 'env', 'type'].includes(k)) {
      throw new InvalidArgumentError(`invalid --secret "${text}": unknown key "${k}"`);
    }
  }
  const type = kv.get('type');
  const src = kv.get('src') ?? kv.get('source');
  const envName = kv.get('env') ?? (type === 'env' ? src : undefined);
  if (envName !== undefined && type !== 'file') {
    const v = process.env[envName];
    if (v === undefined)
      throw new NotFoundError(`--secret ${id}: environment variable ${envName} is not set`);
    return { id, value: Buffer.from(v) };
  }
  if (src !== undefined) {
    try {
      return { id, value: readFileSync(src) };
    } catch (err) {
      throw new NotFoundError(`--secret ${id}: cannot read "${src}"`, { cause: err });
    }
  }
  const v = process.env[id];
  if (v !== undefined) return { id, value: Buffer.from(v) };
  throw new InvalidArgumentError(`invalid --secret "${text}": give src=FILE or env=VAR`);
}

function parseBuildArgs(items: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of items) {
    const eq = item.indexOf('=');
    if (eq === 0) throw new InvalidArgumentError(`invalid --build-arg "${item}"`);
    if (eq < 0) {
      // docker: `--build-arg NAME` takes the value from the environment, if set
      const v = process.env[item];
      if (v !== undefined) out[item] = v;
    } else out[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return out;
}

function parseLabels(items: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of items) {
    const eq = item.indexOf('=');
    if (eq === 0) throw new InvalidArgumentError(`invalid --label "${item}"`);
    if (eq < 0) out[item] = '';
    else out[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return out;
}

function parseOutput(text: string): { type: 'oci' | 'docker'; dest: string } {
  const kv = keyValues(text, '--output');
  const type = kv.get('type');
  const dest = kv.get('dest');
  if (type !== 'oci' && type !== 'docker') {
    throw new InvalidArgumentError(`unsupported --output type "${type ?? ''}": use type=oci or type=docker`);
  }
  if (!dest) throw new InvalidArgumentError(`invalid --output "${text}": dest=FILE is required`);
  return { type, dest };
}

function epochFrom(flags: ParsedArgs['flags']): number {
  const raw = str(flags, 'timestamp') ?? process.env.SOURCE_DATE_EPOCH;
  if (raw === undefined || raw === '') return 0;
  if (!/^\d+$/.test(raw))
    throw new InvalidArgumentError(`invalid timestamp "${raw}": expected seconds since the epoch`);
  return Number(raw);
}

export async function run(ctx: CommandContext, { flags, args }: ParsedArgs): Promise<number> {
  const quiet = bool(flags, 'quiet');
  const network = str(flags, 'network');
  if (network !== undefined && network !== 'none' && network !== 'host' && network !== 'default') {
    throw new InvalidArgumentError(`unsupported --network "${network}": use none or host`);
  }
  const output = str(flags, 'output') !== undefined ? parseOutput(str(flags, 'output')!) : undefined;
  const secrets = list(flags, 'secret').map(parseSecret);
  const buildArgs = parseBuildArgs(list(flags, 'build-arg'));
  const labels = parseLabels(list(flags, 'label'));
  const sourceDateEpoch = epochFrom(flags);
  const engine = await ctx.engine();
  const tags = list(flags, 'tag');
  for (const t of tags) parseReference(t);

  let contextDir = args[0]!;
  let tempContext: string | undefined;
  let dockerfileText: string | undefined;
  let dockerfileName = 'Dockerfile';
  try {
    if (contextDir === '-') {
      if (process.stdin.isTTY)
        throw new UsageError(
          'refusing to read a build context from a terminal; pipe a tar or a Dockerfile in',
        );
      tempContext = mkdtempSync(join(tmpdir(), 'berth-context-'));
      const got = await engine.readStdinBuildContext(process.stdin, tempContext);
      if (got.dockerfile !== undefined) dockerfileText = got.dockerfile;
      contextDir = tempContext;
    } else if (!existsSync(contextDir) || !statSync(contextDir).isDirectory()) {
      throw new NotFoundError(`unable to prepare context: path "${contextDir}" not found or not a directory`);
    }
    const file = str(flags, 'file');
    if (dockerfileText === undefined) {
      let path: string;
      if (file === '-') {
        if (process.stdin.isTTY) throw new UsageError('refusing to read a Dockerfile from a terminal');
        dockerfileText = await engine.readStdinDockerfile(process.stdin);
      } else {
        if (file !== undefined) path = resolve(file);
        else {
          path = join(contextDir, 'Dockerfile');
          if (!existsSync(path) && existsSync(join(contextDir, 'Containerfile')))
            path = join(contextDir, 'Containerfile');
        }
        if (!existsSync(path))
          throw new NotFoundError(`cannot find a Dockerfile or Containerfile in "${contextDir}"`);
        dockerfileText = readFileSync(path, 'utf8');
        dockerfileName = file !== undefined ? file : basename(path);
        const rel = relative(resolve(contextDir), path);
        if (!rel.startsWith('..')) dockerfileName = rel;
      }
    }
    const ignore = await engine.readBuildIgnore(contextDir, dockerfileName);
    const ac = new AbortController();
    const onSignal = () => ac.abort(new InvalidArgumentError('build interrupted'));
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    let result: Awaited<ReturnType<typeof engine.build>>;
    try {
      result = await engine.build({
        contextDir,
        dockerfile: { text: dockerfileText, name: dockerfileName },
        tags,
        ...(output
          ? {
              output: { format: output.type === 'oci' ? 'oci-archive' : 'docker-archive', dest: output.dest },
            }
          : {}),
        buildArgs,
        ...(str(flags, 'target') !== undefined ? { target: str(flags, 'target')! } : {}),
        noCache: bool(flags, 'no-cache'),
        pull: bool(flags, 'pull'),
        secrets,
        labels,
        ...(network === 'none' || network === 'host' ? { network } : {}),
        ...(list(flags, 'allow').length > 0 ? { allow: list(flags, 'allow') } : {}),
        sourceDateEpoch,
        strictSecrets: bool(flags, 'strict-secrets'),
        squash: bool(flags, 'squash'),
        ...(str(flags, 'runtime') !== undefined ? { runtime: str(flags, 'runtime')! } : {}),
        ignore,
        signal: ac.signal,
        onEvent: createBuildRenderer(ctx.stderr, { quiet }),
      });
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    const image = result.image;
    if (output) {
      if (!quiet) ctx.stderr.write(`exported ${image.id} to ${output.dest} (${output.type})\n`);
    } else if (!quiet) {
      for (const t of image.names) ctx.stderr.write(`naming to ${t}\n`);
    }
    const iidfile = str(flags, 'iidfile');
    if (iidfile) writeFileSync(iidfile, image.id);
    ctx.stdout.write(`${image.id}\n`);
    return 0;
  } finally {
    if (tempContext) rmSync(tempContext, { recursive: true, force: true });
  }
}
