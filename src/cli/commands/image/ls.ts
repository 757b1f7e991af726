import { shortId } from '../../../oci/index.js';
import { bool, type CommandSpec, list, type ParsedArgs, str } from '../../args.js';
import type { CommandContext } from '../../context.js';
import { formatList, humanAge, humanSize } from '../../render.js';
import { FORMAT_FLAG } from '../_common.js';

export const spec: CommandSpec = {
  usage: 'images [OPTIONS] [REPOSITORY[:TAG]]',
  description: 'List images',
  args: { min: 0, max: 1 },
  flags: [
    { name: 'all', short: 'a', type: 'bool', description: 'Show all images' },
    { name: 'digests', type: 'bool', description: 'Show digests' },
    {
      name: 'filter',
      short: 'f',
      type: 'list',
      value: 'filter',
      description: 'Filter output (dangling=true|false, reference=PATTERN)',
    },
    FORMAT_FLAG,
    { name: 'no-trunc', type: 'bool', description: "Don't truncate output" },
    { name: 'quiet', short: 'q', type: 'bool', description: 'Only show image IDs' },
  ],
};

export async function run(ctx: CommandContext, { flags, args }: ParsedArgs) {
  const engine = await ctx.engine();
  const rows = engine.listImages({
    ...(args[0] ? { reference: args[0] } : {}),
    filters: list(flags, 'filter'),
  });
  const noTrunc = bool(flags, 'no-trunc');
  const id = (s: string) => (noTrunc ? s : shortId(s));
  if (bool(flags, 'quiet')) {
    const seen = new Set<string>();
    for (const r of rows) {
      if (!seen.has(r.ID)) ctx.stdout.write(`${id(r.ID)}\n`);
      seen.add(r.ID);
    }
    return 0;
  }
  const format = str(flags, 'format');
  const digests = bool(flags, 'digests');
  const header = digests
    ? ['REPOSITORY', 'TAG', 'DIGEST', 'IMAGE ID', 'CREATED', 'SIZE']
    : ['REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED', 'SIZE'];
  ctx.stdout.write(
    formatList(
      format === 'json' || (format && format !== 'table')
        ? rows.map((r) => ({ ...r, ID: id(r.ID), CreatedSince: humanAge(r.CreatedAt), VirtualSize: r.Size }))
        : rows,
      format,
      {
        header,
        row: (r) => {
          const cells = [r.Repository, r.Tag, id(r.ID), humanAge(r.CreatedAt), humanSize(r.Size)];
          if (digests) cells.splice(2, 0, r.Digest);
          return cells;
        },
      },
    ),
  );
  return 0;
}
