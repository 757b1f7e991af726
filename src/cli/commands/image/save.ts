import { UsageError } from '../../../errors/index.js';
import { type CommandSpec, type ParsedArgs, str } from '../../args.js';
import type { CommandContext } from '../../context.js';

export const spec: CommandSpec = {
  usage: 'save [OPTIONS] IMAGE [IMAGE...]',
  description: 'Save one or more images to a tar archive (streamed to STDOUT by default)',
  args: { min: 1, max: Number.POSITIVE_INFINITY },
  flags: [
    {
      name: 'output',
      short: 'o',
      type: 'string',
      value: 'string',
      description: 'Write to a file (a directory for oci-dir), instead of STDOUT',
    },
    {
      name: 'format',
      type: 'string',
      value: 'string',
      default: 'docker-archive',
      description: 'Archive format: docker-archive, oci-archive or oci-dir',
    },
  ],
};

const FORMATS = ['docker-archive', 'oci-archive', 'oci-dir'] as const;

export async function run(ctx: CommandContext, { flags, args }: ParsedArgs) {
  const format = str(flags, 'format') ?? 'docker-archive';
  if (!(FORMATS as readonly string[]).includes(format)) {
    throw new UsageError(`invalid --format "${format}": want one of ${FORMATS.join(', ')}`);
  }
  const output = str(flags, 'output');
  if (!output && (format === 'oci-dir' || ctx.stdout.isTTY)) {
    throw new UsageError(
      format === 'oci-dir'
        ? 'oci-dir needs --output DIRECTORY'
        : 'cowardly refusing to save to a terminal. Use the -o flag or redirect',
    );
  }
  const engine = await ctx.engine();
  await engine.saveImages(args, { format: format as (typeof FORMATS)[number], output: output ?? ctx.stdout });
  return 0;
}
