import { flags as parse } from '../../../engine/index.js';
import { InvalidArgumentError } from '../../../errors/index.js';
import { bool, type CommandSpec, type ParsedArgs, str } from '../../args.js';
import type { CommandContext } from '../../context.js';
import { interruptSignal } from '../_common.js';

export const spec: CommandSpec = {
  usage: 'logs [OPTIONS] CONTAINER',
  description: 'Fetch the logs of a container',
  args: { min: 1, max: 1 },
  flags: [
    { name: 'follow', short: 'f', type: 'bool', description: 'Follow log output' },
    {
      name: 'since',
      type: 'string',
      value: 'string',
      description: 'Show logs since timestamp (RFC 3339) or relative (e.g. 42m)',
    },
    {
      name: 'tail',
      short: 'n',
      type: 'string',
      value: 'string',
      default: 'all',
      description: 'Number of lines to show from the end of the logs',
    },
    { name: 'timestamps', short: 't', type: 'bool', description: 'Show timestamps' },
  ],
};

/** `42m`, `1h30m`, `10s` before now, or an absolute RFC 3339 / Unix timestamp. */
export function parseSince(text: string, now = Date.now()): Date {
  const rel = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(text);
  if (rel && text !== '' && (rel[1] || rel[2] || rel[3])) {
    const ms = (Number(rel[1] ?? 0) * 3600 + Number(rel[2] ?? 0) * 60 + Number(rel[3] ?? 0)) * 1000;
    return new Date(now - ms);
  }
  if (/^\d+(\.\d+)?$/.test(text)) return new Date(Number(text) * 1000);
  const t = Date.parse(text);
  if (Number.isNaN(t))
    throw new InvalidArgumentError(`invalid --since "${text}": use a duration like 10m or an RFC 3339 time`);
  return new Date(t);
}

export async function run(ctx: CommandContext, { flags, args }: ParsedArgs) {
  const engine = await ctx.engine();
  const since = str(flags, 'since');
  const tailText = str(flags, 'tail') ?? 'all';
  const tail = tailText === 'all' ? undefined : parse.parseInteger(tailText, '--tail', { min: 0 });
  const timestamps = bool(flags, 'timestamps');
  const entries = engine.containerLogs(args[0]!, {
    follow: bool(flags, 'follow'),
    ...(since ? { since: parseSince(since) } : {}),
    ...(tail !== undefined ? { tail } : {}),
    signal: interruptSignal(),
  });
  for await (const e of entries) {
    const out = e.stream === 'stderr' ? ctx.stderr : ctx.stdout;
    if (timestamps) out.write(`${e.time} `);
    out.write(e.partial ? e.line : Buffer.concat([e.line, Buffer.from('\n')]));
  }
  return 0;
}
