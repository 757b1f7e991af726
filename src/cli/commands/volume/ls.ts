import { bool, type CommandSpec, list, type ParsedArgs, str } from '../../args.js';
import type { CommandContext } from '../../context.js';
import { formatList } from '../../render.js';
import { FORMAT_FLAG } from '../_common.js';

export const spec: CommandSpec = {
  usage: 'volume ls [OPTIONS]',
  description: 'List volumes',
  args: { min: 0, max: 0 },
  flags: [
    {
      name: 'filter',
      short: 'f',
      type: 'list',
      value: 'filter',
      description: 'Filter output (dangling=true|false, driver=, label=, name=)',
    },
    FORMAT_FLAG,
    { name: 'quiet', short: 'q', type: 'bool', description: 'Only display volume names' },
  ],
};

export async function run(ctx: CommandContext, { flags }: ParsedArgs) {
  const engine = await ctx.engine();
  const vols = engine.listVolumes({ filters: list(flags, 'filter') });
  if (bool(flags, 'quiet')) {
    for (const v of vols) ctx.stdout.write(`${v.Name}\n`);
    return 0;
  }
  const rows = vols.map((v) => ({
    Driver: v.Driver,
    Name: v.Name,
    Mountpoint: v.Mountpoint,
    Labels: v.Labels,
  }));
  ctx.stdout.write(
    formatList(rows, str(flags, 'format'), {
      header: ['DRIVER', 'VOLUME NAME'],
      row: (r) => [r.Driver, r.Name],
    }),
  );
  return 0;
}
