import { containerStatusText } from '../../../engine/index.js';
import { bool, type CommandSpec, list, type ParsedArgs, str } from '../../args.js';
import type { CommandContext } from '../../context.js';
import { formatList, humanAge } from '../../render.js';
import { FORMAT_FLAG } from '../_common.js';

export const spec: CommandSpec = {
  usage: 'ps [OPTIONS]',
  description: 'List containers',
  args: { min: 0, max: 0 },
  flags: [
    {
      name: 'all',
      short: 'a',
      type: 'bool',
      description: 'Show all containers (default shows just running)',
    },
    {
      name: 'filter',
      short: 'f',
      type: 'list',
      value: 'filter',
      description: 'Filter output (status=, name=, label=, ancestor=, id=)',
    },
    FORMAT_FLAG,
    { name: 'no-trunc', type: 'bool', description: "Don't truncate output" },
    { name: 'quiet', short: 'q', type: 'bool', description: 'Only display container IDs' },
  ],
};

export async function run(ctx: CommandContext, { flags }: ParsedArgs) {
  const engine = await ctx.engine();
  const recs = await engine.listContainers({ all: bool(flags, 'all'), filters: list(flags, 'filter') });
  const noTrunc = bool(flags, 'no-trunc');
  const id = (s: string) => (noTrunc ? s : s.slice(0, 12));
  if (bool(flags, 'quiet')) {
    for (const r of recs) ctx.stdout.write(`${id(r.Id)}\n`);
    return 0;
  }
  const rows = recs.map((r) => {
    const command = r.Command;
    return {
      ID: id(r.Id),
      Image: r.Image,
      Command: noTrunc ? command : command.length > 20 ? `${command.slice(0, 19)}…` : command,
      CreatedAt: r.Created,
      RunningFor: humanAge(r.Created),
      Status: containerStatusText(r),
      State: r.State,
      Ports: r.Ports,
      Networks: r.Networks.join(','),
      Names: r.Name,
      Labels: r.Labels,
      ExitCode: r.ExitCode,
    };
  });
  ctx.stdout.write(
    formatList(rows, str(flags, 'format'), {
      header: ['CONTAINER ID', 'IMAGE', 'COMMAND', 'CREATED', 'STATUS', 'PORTS', 'NAMES'],
      row: (r) => [r.ID, r.Image, `"${r.Command}"`, r.RunningFor, r.Status, r.Ports, r.Names],
    }),
  );
  return 0;
}
