import { bool, type CommandSpec, type ParsedArgs } from '../../args.js';
import type { CommandContext } from '../../context.js';
import { humanSize } from '../../render.js';
import { confirmPrune } from '../_common.js';

export const spec: CommandSpec = {
  usage: 'system prune [OPTIONS]',
  description:
    'Remove stopped containers, dangling images (all unused ones with -a) and, with --volumes, unused anonymous volumes',
  args: { min: 0, max: 0 },
  flags: [
    {
      name: 'all',
      short: 'a',
      type: 'bool',
      description: 'Remove all unused images, not just dangling ones',
    },
    { name: 'volumes', type: 'bool', description: 'Prune anonymous volumes' },
    { name: 'force', short: 'f', type: 'bool', description: 'Do not prompt for confirmation' },
  ],
};

export async function run(ctx: CommandContext, { flags }: ParsedArgs) {
  const what = [
    'all stopped containers',
    ...(bool(flags, 'volumes') ? ['all anonymous volumes not used by at least one container'] : []),
    bool(flags, 'all')
      ? 'all images without at least one container associated to them'
      : 'all dangling images',
    'all build cache',
  ].join(', ');
  if (!(await confirmPrune(ctx, bool(flags, 'force'), what))) return 0;
  const engine = await ctx.engine();
  const r = await engine.pruneSystem({ all: bool(flags, 'all'), volumes: bool(flags, 'volumes') });
  if (r.containers.deleted.length > 0)
    ctx.stdout.write(`Deleted Containers:\n${r.containers.deleted.join('\n')}\n\n`);
  if (r.volumes && r.volumes.deleted.length > 0)
    ctx.stdout.write(`Deleted Volumes:\n${r.volumes.deleted.join('\n')}\n\n`);
  if (r.images.untagged.length + r.images.deleted.length > 0) {
    ctx.stdout.write('Deleted Images:\n');
    for (const u of r.images.untagged) ctx.stdout.write(`untagged: ${u}\n`);
    for (const d of r.images.deleted) ctx.stdout.write(`deleted: ${d}\n`);
    ctx.stdout.write('\n');
  }
  if (r.buildCache.entries > 0) ctx.stdout.write(`Deleted build cache entries: ${r.buildCache.entries}\n\n`);
  ctx.stdout.write(`Total reclaimed space: ${humanSize(r.reclaimed)}\n`);
  return 0;
}
