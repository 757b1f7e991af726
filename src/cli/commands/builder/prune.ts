import { bool, type CommandSpec, type ParsedArgs } from '../../args.js';
import type { CommandContext } from '../../context.js';
import { humanSize } from '../../render.js';
import { confirmPrune } from '../_common.js';

export const spec: CommandSpec = {
  usage: 'builder prune [OPTIONS]',
  description: 'Remove the build cache',
  args: { min: 0, max: 0 },
  flags: [
    { name: 'force', short: 'f', type: 'bool', description: 'Do not prompt for confirmation' },
    {
      name: 'all',
      short: 'a',
      type: 'bool',
      description: 'Remove all build cache (the default: berth keeps no partial cache)',
    },
  ],
};

export async function run(ctx: CommandContext, { flags }: ParsedArgs): Promise<number> {
  if (!(await confirmPrune(ctx, bool(flags, 'force'), 'all build cache'))) return 0;
  const engine = await ctx.engine();
  const r = await engine.pruneBuildCache();
  ctx.stdout.write(
    `Deleted build cache entries: ${r.entries}\nTotal reclaimed space: ${humanSize(r.bytes)}\n`,
  );
  return 0;
}
