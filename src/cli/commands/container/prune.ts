import { bool, type CommandSpec, type ParsedArgs } from '../../args.js';
import type { CommandContext } from '../../context.js';
import { confirmPrune } from '../_common.js';

export const spec: CommandSpec = {
  usage: 'container prune [OPTIONS]',
  description: 'Remove all stopped containers',
  args: { min: 0, max: 0 },
  flags: [{ name: 'force', short: 'f', type: 'bool', description: 'Do not prompt for confirmation' }],
};

export async function run(ctx: CommandContext, { flags }: ParsedArgs) {
  if (!(await confirmPrune(ctx, bool(flags, 'force'), 'all stopped containers'))) return 0;
  const engine = await ctx.engine();
  const { deleted } = await engine.pruneContainers();
  if (deleted.length > 0) ctx.stdout.write(`Deleted Containers:\n${deleted.join('\n')}\n`);
  return 0;
}
