import { type CommandSpec, type ParsedArgs, str } from '../../args.js';
import type { CommandContext } from '../../context.js';
import { formatList, humanSize } from '../../render.js';
import { FORMAT_FLAG } from '../_common.js';

export const spec: CommandSpec = {
  usage: 'system df [OPTIONS]',
  description: 'Show berth disk usage',
  args: { min: 0, max: 0 },
  flags: [FORMAT_FLAG],
};

export async function run(ctx: CommandContext, { flags }: ParsedArgs) {
  const engine = await ctx.engine();
  const du = engine.diskUsage();
  const rows = [
    { Type: 'Images', ...du.images },
    { Type: 'Containers', ...du.containers },
    { Type: 'Local Volumes', ...du.volumes },
    { Type: 'Build Cache', ...du.buildCache },
  ].map((r) => ({
    Type: r.Type,
    TotalCount: r.total,
    Active: r.active,
    Size: humanSize(r.size),
    Reclaimable: `${humanSize(r.reclaimable)}${r.size > 0 ? ` (${Math.round((r.reclaimable / r.size) * 100)}%)` : ''}`,
    SizeBytes: r.size,
    ReclaimableBytes: r.reclaimable,
  }));
  ctx.stdout.write(
    formatList(rows, str(flags, 'format'), {
      header: ['TYPE', 'TOTAL', 'ACTIVE', 'SIZE', 'RECLAIMABLE'],
      row: (r) => [r.Type, String(r.TotalCount), String(r.Active), r.Size, r.Reclaimable],
    }),
  );
  return 0;
}
