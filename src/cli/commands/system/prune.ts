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
  const removed = await engine.pruneContainers({ volumes: bool(flags, 'volumes') });
  if (removed.length > 0) ctx.stdout.write(`Deleted Containers:\n${removed.join('\n')}\n\n`);
  let reclaimed = 0;
  if (bool(flags, 'volumes')) {
    const v = engine.store.pruneVolumes({ filter: (vol) => vol.labels['berth.anonymous'] === 'true' });
    if (v.names.length > 0) ctx.stdout.write(`Deleted Volumes:\n${v.names.join('\n')}\n\n`);
    reclaimed += v.bytes;
  }
  const images = await engine.pruneImages({ all: bool(flags, 'all') });
  if (images.untagged.length + images.deleted.length > 0) {
    ctx.stdout.write('Deleted Images:\n');
    for (const u of images.untagged) ctx.stdout.write(`untagged: ${u}\n`);
    for (const d of images.deleted) ctx.stdout.write(`deleted: ${d}\n`);
    ctx.stdout.write('\n');
  }
  reclaimed += images.reclaimed;
  const cache = await engine.pruneBuildCache();
  if (cache.entries > 0) ctx.stdout.write(`Deleted build cache entries: ${cache.entries}\n\n`);
  reclaimed += cache.bytes;
  ctx.stdout.write(`Total reclaimed space: ${humanSize(reclaimed)}\n`);
  return 0;
}
