import { bool, type CommandSpec, type ParsedArgs } from '../../args.js';
import type { CommandContext } from '../../context.js';
import { humanSize } from '../../render.js';

export const spec: CommandSpec = {
  usage: 'volume prune [OPTIONS]',
  description: 'Remove unused anonymous volumes (all unused volumes with -a)',
  args: { min: 0, max: 0 },
  flags: [
    {
      name: 'all',
      short: 'a',
      type: 'bool',
      description: 'Remove all unused volumes, not just anonymous ones',
    },
    { name: 'force', short: 'f', type: 'bool', description: 'Do not prompt for confirmation' },
  ],
};

export async function run(ctx: CommandContext, { flags }: ParsedArgs) {
  const engine = await ctx.engine();
  const all = bool(flags, 'all');
  const r = engine.pruneVolumes({ all });
  if (r.deleted.length > 0) ctx.stdout.write(`Deleted Volumes:\n${r.deleted.join('\n')}\n\n`);
  ctx.stdout.write(`Total reclaimed space: ${humanSize(r.reclaimed)}\n`);
  return 0;
}
