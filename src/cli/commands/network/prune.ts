import { bool, type CommandSpec, list, type ParsedArgs } from '../../args.js';
import type { CommandContext } from '../../context.js';
import { confirmPrune } from '../_common.js';

export const spec: CommandSpec = {
  usage: 'network prune [OPTIONS]',
  description: 'Remove all unused networks',
  args: { min: 0, max: 0 },
  flags: [
    { name: 'force', short: 'f', type: 'bool', description: 'Do not prompt for confirmation' },
    {
      name: 'filter',
      type: 'list',
      value: 'filter',
      description: 'Provide filter values (label=, label!=, until=)',
    },
  ],
};

export async function run(ctx: CommandContext, { flags }: ParsedArgs) {
  const engine = await ctx.engine();
  const filters = list(flags, 'filter');
  const warning = 'all custom networks not used by at least one container';
  if (!(await confirmPrune(ctx, bool(flags, 'force'), warning))) return 0;
  const { deleted } = await engine.pruneNetworks({ filters });
  if (deleted.length > 0) ctx.stdout.write(`Deleted Networks:\n${deleted.join('\n')}\n`);
  return 0;
}
