import { type CommandSpec, list, type ParsedArgs } from '../../args.js';
import type { CommandContext } from '../../context.js';

export const spec: CommandSpec = {
  usage: 'volume create [OPTIONS] [VOLUME]',
  description: 'Create a volume',
  args: { min: 0, max: 1 },
  flags: [
    { name: 'label', short: 'l', type: 'list', value: 'list', description: 'Set metadata for a volume' },
  ],
};

export async function run(ctx: CommandContext, { flags, args }: ParsedArgs) {
  const labels: Record<string, string> = {};
  for (const l of list(flags, 'label')) {
    const eq = l.indexOf('=');
    labels[eq < 0 ? l : l.slice(0, eq)] = eq < 0 ? '' : l.slice(eq + 1);
  }
  const engine = await ctx.engine();
  const v = engine.createVolume(args[0], { labels });
  ctx.stdout.write(`${v.Name}\n`);
  return 0;
}
