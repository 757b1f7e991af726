import { shortId } from '../../../oci/index.js';
import type { CommandSpec, ParsedArgs } from '../../args.js';
import { str } from '../../args.js';
import type { CommandContext } from '../../context.js';

export const spec: CommandSpec = {
  usage: 'image diff [OPTIONS] IMAGE_A IMAGE_B',
  description:
    'Show which build steps differ between two images (e.g. two builds of one Dockerfile), and the paths inside differing layers',
  args: { min: 2, max: 2 },
  flags: [
    { name: 'format', type: 'string', value: 'string', description: 'json for machine-readable output' },
  ],
};

export async function run(ctx: CommandContext, { flags, args }: ParsedArgs): Promise<number> {
  const engine = await ctx.engine();
  const diff = await engine.diffImages(args[0]!, args[1]!);
  if (str(flags, 'format') === 'json') {
    ctx.stdout.write(`${JSON.stringify(diff, null, 2)}\n`);
    return diff.same ? 0 : 1;
  }
  if (diff.same) {
    ctx.stdout.write('the images are identical\n');
    return 0;
  }
  for (const s of diff.steps) {
    const layer = (d?: string) => (d ? shortId(d) : '-');
    const mark = s.same ? 'same   ' : 'DIFFERS';
    ctx.stdout.write(`${mark} step ${s.step}: ${s.createdBy}  (${layer(s.a)} / ${layer(s.b)})\n`);
    for (const p of s.paths) ctx.stdout.write(`        ${p}\n`);
  }
  if (diff.config.length > 0) ctx.stdout.write(`config differs in: ${diff.config.join(', ')}\n`);
  // like diff(1): 1 when the inputs differ
  return 1;
}
