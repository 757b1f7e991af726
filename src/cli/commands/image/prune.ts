import { bool, type CommandSpec, type ParsedArgs } from '../../args.js';
import type { CommandContext } from '../../context.js';
import { humanSize } from '../../render.js';
import { confirmPrune } from '../_common.js';

export const spec: CommandSpec = {
  usage: 'image prune [OPTIONS]',
  description: 'Remove dangling images (all unused images with -a) and free their layers',
  args: { min: 0, max: 0 },
  flags: [
    {
      name: 'all',
      short: 'a',
      type: 'bool',
      description: 'Remove all unused images, not just dangling ones',
    },
    { name: 'force', short: 'f', type: 'bool', description: 'Do not prompt for confirmation' },
  ],
};

export async function run(ctx: CommandContext, { flags }: ParsedArgs) {
  const what = bool(flags, 'all')
    ? 'all images without at least one container associated to them'
    : 'all dangling images';
  if (!(await confirmPrune(ctx, bool(flags, 'force'), what))) return 0;
  const engine = await ctx.engine();
  const r = await engine.pruneImages({ all: bool(flags, 'all') });
  if (r.untagged.length + r.deleted.length > 0) {
    ctx.stdout.write('Deleted Images:\n');
    for (const u of r.untagged) ctx.stdout.write(`untagged: ${u}\n`);
    for (const d of r.deleted) ctx.stdout.write(`deleted: ${d}\n`);
    ctx.stdout.write('\n');
  }
  ctx.stdout.write(`Total reclaimed space: ${humanSize(r.reclaimed)}\n`);
  return 0;
}
