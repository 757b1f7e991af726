import { type CommandSpec, list, type ParsedArgs, str } from '../../args.js';
import type { CommandContext } from '../../context.js';

export const spec: CommandSpec = {
  usage: 'commit [OPTIONS] CONTAINER [REPOSITORY[:TAG]]',
  description: "Create a new image from a container's changes",
  args: { min: 1, max: 2 },
  flags: [
    {
      name: 'author',
      short: 'a',
      type: 'string',
      value: 'string',
      description: 'Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")',
    },
    {
      name: 'change',
      short: 'c',
      type: 'list',
      value: 'list',
      description: 'Apply Dockerfile instruction to the created image',
    },
    { name: 'message', short: 'm', type: 'string', value: 'string', description: 'Commit message' },
    {
      name: 'pause',
      short: 'p',
      type: 'bool',
      default: true,
      description: 'Pause container during commit',
    },
  ],
};

export async function run(ctx: CommandContext, { flags, args }: ParsedArgs) {
  const [container, reference] = args as [string, string | undefined];
  const author = str(flags, 'author');
  const message = str(flags, 'message');
  const engine = await ctx.engine();
  const image = await engine.commitContainer(container, {
    ...(reference ? { reference } : {}),
    ...(author ? { author } : {}),
    ...(message ? { message } : {}),
    changes: list(flags, 'change'),
    pause: flags.pause !== false,
  });
  ctx.stdout.write(`${image.id}\n`);
  return 0;
}
