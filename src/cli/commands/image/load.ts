import { familiarTag } from '../../../engine/index.js';
import { UsageError } from '../../../errors/index.js';
import { bool, type CommandSpec, type ParsedArgs, str } from '../../args.js';
import type { CommandContext } from '../../context.js';
import { createProgressRenderer } from '../../progress.js';

export const spec: CommandSpec = {
  usage: 'load [OPTIONS]',
  description:
    'Load images from a docker-archive, an oci-archive (tar, optionally compressed) or an OCI layout directory',
  args: { min: 0, max: 0 },
  flags: [
    {
      name: 'input',
      short: 'i',
      type: 'string',
      value: 'string',
      description: 'Read from a tar archive file or OCI layout directory, instead of STDIN',
    },
    { name: 'quiet', short: 'q', type: 'bool', description: 'Suppress the load output' },
  ],
};

export async function run(ctx: CommandContext, { flags }: ParsedArgs) {
  const input = str(flags, 'input');
  if (!input && process.stdin.isTTY) {
    throw new UsageError('requested load from stdin, but stdin is empty; use -i FILE or pipe an archive');
  }
  const quiet = bool(flags, 'quiet');
  const engine = await ctx.engine();
  const progress = createProgressRenderer(ctx.stdout, { quiet: quiet || !ctx.stdout.isTTY });
  const result = await engine.loadImages(input ? { path: input } : { stream: process.stdin }, {
    onProgress: progress.emit,
  });
  progress.finish();
  for (const { image, names } of result.images) {
    if (names.length === 0) ctx.stdout.write(`Loaded image ID: ${image.id}\n`);
    for (const n of names) ctx.stdout.write(`Loaded image: ${familiarTag(n)}\n`);
  }
  return 0;
}
