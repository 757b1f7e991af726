import { shortId } from '../../../oci/index.js';
import { bool, type CommandSpec, type ParsedArgs, str } from '../../args.js';
import type { CommandContext } from '../../context.js';
import { formatList, humanAge, humanSize } from '../../render.js';
import { FORMAT_FLAG } from '../_common.js';

export const spec: CommandSpec = {
  usage: 'history [OPTIONS] IMAGE',
  description: 'Show the history of an image',
  args: { min: 1, max: 1 },
  flags: [
    FORMAT_FLAG,
    {
      name: 'human',
      short: 'H',
      type: 'bool',
      default: true,
      description: 'Print sizes and dates in human readable format',
    },
    { name: 'no-trunc', type: 'bool', description: "Don't truncate output" },
    { name: 'quiet', short: 'q', type: 'bool', description: 'Only show image IDs' },
  ],
};

export async function run(ctx: CommandContext, { flags, args }: ParsedArgs) {
  const engine = await ctx.engine();
  const rows = await engine.imageHistory(args[0]!);
  const noTrunc = bool(flags, 'no-trunc');
  const human = flags.human !== false;
  const id = (s: string) => (s === '<missing>' || noTrunc ? s : shortId(s));
  if (bool(flags, 'quiet')) {
    for (const r of rows) ctx.stdout.write(`${id(r.ID)}\n`);
    return 0;
  }
  const clip = (s: string) => (noTrunc || s.length <= 45 ? s : `${s.slice(0, 44)}…`);
  ctx.stdout.write(
    formatList(rows, str(flags, 'format'), {
      header: ['IMAGE', 'CREATED', 'CREATED BY', 'SIZE', 'COMMENT'],
      row: (r) => [
        id(r.ID),
        human ? humanAge(r.CreatedAt) : r.CreatedAt,
        clip(r.CreatedBy),
        human ? humanSize(r.Size) : String(r.Size),
        r.Comment,
      ],
    }),
  );
  return 0;
}
