import { bool, type CommandSpec, list, type ParsedArgs, str } from '../../args.js';
import type { CommandContext } from '../../context.js';
import { formatList } from '../../render.js';
import { FORMAT_FLAG } from '../_common.js';

export const spec: CommandSpec = {
  usage: 'network ls [OPTIONS]',
  description: 'List networks',
  args: { min: 0, max: 0 },
  flags: [
    {
      name: 'filter',
      short: 'f',
      type: 'list',
      value: 'filter',
      description:
        'Filter output (dangling=true|false, driver=, id=, label=, name=, scope=local, type=custom|builtin)',
    },
    FORMAT_FLAG,
    { name: 'no-trunc', type: 'bool', description: 'Do not truncate the output' },
    { name: 'quiet', short: 'q', type: 'bool', description: 'Only display network IDs' },
  ],
};

export async function run(ctx: CommandContext, { flags }: ParsedArgs) {
  const engine = await ctx.engine();
  const nets = engine.listNetworks({ filters: list(flags, 'filter') });
  const id = (full: string) => (bool(flags, 'no-trunc') ? full : full.slice(0, 12));
  if (bool(flags, 'quiet')) {
    for (const n of nets) ctx.stdout.write(`${id(n.Id)}\n`);
    return 0;
  }
  const rows = nets.map((n) => ({
    ID: id(n.Id),
    Name: n.Name,
    Driver: n.Driver,
    Scope: n.Scope,
    IPv6: n.EnableIPv6,
    Internal: n.Internal,
    Labels: Object.entries(n.Labels)
      .map(([k, v]) => `${k}=${v}`)
      .join(','),
    CreatedAt: n.Created,
  }));
  ctx.stdout.write(
    formatList(rows, str(flags, 'format'), {
      header: ['NETWORK ID', 'NAME', 'DRIVER', 'SCOPE'],
      row: (r) => [r.ID, r.Name, r.Driver, r.Scope],
    }),
  );
  return 0;
}
