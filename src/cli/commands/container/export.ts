import { UsageError } from '../../../errors/index.js';
import { type CommandSpec, type ParsedArgs, str } from '../../args.js';
import type { CommandContext } from '../../context.js';

export const spec: CommandSpec = {
  usage: 'export [OPTIONS] CONTAINER',
  description: "Export a container's filesystem as a tar archive",
  args: { min: 1, max: 1 },
  flags: [
    {
      name: 'output',
      short: 'o',
      type: 'string',
      value: 'string',
      description: 'Write to a file, instead of STDOUT',
    },
  ],
};

export async function run(ctx: CommandContext, { flags, args }: ParsedArgs) {
  const output = str(flags, 'output');
  if (!output && ctx.stdout.isTTY) {
    throw new UsageError('cowardly refusing to save to a terminal. Use the -o flag or redirect');
  }
  const engine = await ctx.engine();
  await engine.exportContainer(args[0]!, output ?? ctx.stdout);
  return 0;
}
