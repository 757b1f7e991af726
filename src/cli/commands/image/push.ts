import { writeFile } from 'node:fs/promises';
import type { PushEvent } from '../../../engine/index.js';
import { parseReference, repositoryName } from '../../../oci/index.js';
import { bool, type CommandSpec, type ParsedArgs, str } from '../../args.js';
import type { CommandContext } from '../../context.js';
import { humanSize } from '../../render.js';
import { AUTHFILE_FLAG, interruptSignal, registryOptions, TLS_VERIFY_FLAG } from '../_common.js';

export const spec: CommandSpec = {
  usage: 'push [OPTIONS] NAME[:TAG] [DESTINATION]',
  description: 'Upload an image to a registry',
  args: { min: 1, max: 2 },
  flags: [
    { name: 'quiet', short: 'q', type: 'bool', description: 'Suppress verbose output' },
    {
      name: 'digestfile',
      type: 'string',
      value: 'PATH',
      description: 'Write the digest of the pushed manifest to this file',
    },
    TLS_VERIFY_FLAG,
    AUTHFILE_FLAG,
  ],
};

export async function run(ctx: CommandContext, { flags, args }: ParsedArgs) {
  const source = args[0]!;
  const dest = args[1];
  const quiet = bool(flags, 'quiet');
  const target = dest ?? source;
  const ref = parseReference(target);
  const engine = await ctx.engine(registryOptions(flags));
  const progress = createPushRenderer(ctx.stdout, { quiet });
  if (!quiet) {
    if (!ref.digest && !/:[^/]*$/.test(target)) ctx.stdout.write('Using default tag: latest\n');
    ctx.stdout.write(`The push refers to repository [${repositoryName(ref)}]\n`);
  }
  const result = await engine.push(source, {
    ...(dest !== undefined ? { destination: dest } : {}),
    onProgress: progress.emit,
    signal: interruptSignal(),
  });
  progress.finish();
  const digestFile = str(flags, 'digestfile');
  if (digestFile) await writeFile(digestFile, result.digest);
  if (quiet) ctx.stdout.write(`${result.reference}\n`);
  return 0;
}

const STATUS_TEXT: Record<string, string> = {
  preparing: 'Preparing',
  waiting: 'Waiting',
  pushing: 'Pushing',
  pushed: 'Pushed',
  exists: 'Layer already exists',
  mounted: 'Mounted',
};

interface LayerLine {
  status: string;
  current?: number;
  total?: number;
  from?: string;
}

/** `docker push` output: a line per layer, redrawn in place on a TTY; one line per change otherwise. */
function createPushRenderer(stream: NodeJS.WriteStream, options: { quiet: boolean }) {
  const tty = stream.isTTY === true;
  const layers = new Map<string, LayerLine>();
  let drawn = 0;
  let lastDraw = 0;
  const draw = (force: boolean) => {
    const now = Date.now();
    if (!force && now - lastDraw < 80) return;
    lastDraw = now;
    let out = drawn > 0 ? `\x1b[${drawn}A` : '';
    for (const [id, l] of layers) out += `\x1b[2K${formatLine(id, l, true)}\n`;
    drawn = layers.size;
    stream.write(out);
  };
  const emit = (event: PushEvent) => {
    if (options.quiet) return;
    if (event.type === 'manifest') {
      if (tty) draw(true);
      stream.write(`${event.tag}: digest: ${event.digest} size: ${event.size}\n`);
      drawn = 0;
      return;
    }
    const prev = layers.get(event.id);
    const line: LayerLine = {
      status: event.status,
      ...(event.current !== undefined ? { current: event.current } : {}),
      ...(event.total !== undefined ? { total: event.total } : {}),
      ...(event.from !== undefined ? { from: event.from } : {}),
    };
    layers.set(event.id, line);
    if (tty) draw(event.status !== 'pushing');
    else if (prev?.status !== event.status) stream.write(`${formatLine(event.id, line, false)}\n`);
  };
  return {
    emit,
    finish() {
      if (tty && !options.quiet && drawn > 0) draw(true);
    },
  };
}

function formatLine(id: string, l: LayerLine, bar: boolean): string {
  const text = STATUS_TEXT[l.status] ?? l.status;
  if (l.status === 'mounted' && l.from) return `${id}: Mounted from ${l.from}`;
  if (bar && l.status === 'pushing' && l.total && l.total > 0) {
    const cur = Math.min(l.current ?? 0, l.total);
    const width = 40;
    const filled = Math.floor((cur / l.total) * width);
    const barText = `[${'='.repeat(Math.max(0, filled - 1))}${filled > 0 ? '>' : ''}${' '.repeat(width - filled)}]`;
    return `${id}: ${text.padEnd(12)} ${barText} ${humanSize(cur)}/${humanSize(l.total)}`;
  }
  return `${id}: ${text}`;
}
