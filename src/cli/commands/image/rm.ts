import { bool, type CommandSpec, type ParsedArgs } from '../../args.js';
import type { CommandContext } from '../../context.js';

export const spec: CommandSpec = {
  usage: 'rmi [OPTIONS] IMAGE [IMAGE...]',
  description: 'Remove one or more images',
  args: { min: 1, max: Number.POSITIVE_INFINITY },
  flags: [{ name: 'force', short: 'f', type: 'bool', description: 'Force removal of the image' }],
};

export async function run(ctx: CommandContext, { flags, args }: ParsedArgs) {
  const engine = await ctx.engine();
  const reports = await engine.removeImages(args, { force: bool(flags, 'force') });
  let failed = false;
  for (const r of reports) {
    if (r.error) {
      failed = true;
      ctx.stderr.write(`Error: ${r.error}\n`);
      continue;
    }
    for (const u of r.untagged) ctx.stdout.write(`Untagged: ${u}\n`);
    for (const d of r.deleted) ctx.stdout.write(`Deleted: ${d}\n`);
  }
  return failed ? 1 : 0;
}
