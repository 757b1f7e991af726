import { hasCode, InvalidArgumentError, NotFoundError } from '../../errors/index.js';
import { type CommandSpec, type ParsedArgs, str } from '../args.js';
import type { CommandContext } from '../context.js';
import { FORMAT_FLAG } from './_common.js';
import { inspectImages, printInspect } from './image/inspect.js';

export const spec: CommandSpec = {
  usage: 'inspect [OPTIONS] NAME|ID [NAME|ID...]',
  description: 'Return low-level information on objects',
  args: { min: 1, max: Number.POSITIVE_INFINITY },
  flags: [
    FORMAT_FLAG,
    {
      name: 'type',
      type: 'string',
      value: 'string',
      description: 'Return JSON for specified type (container or image)',
    },
  ],
};

export async function run(ctx: CommandContext, { flags, args }: ParsedArgs) {
  const type = str(flags, 'type');
  if (type !== undefined && type !== 'image' && type !== 'container') {
    throw new InvalidArgumentError(`unsupported --type "${type}": use container or image`);
  }
  if (type === 'image') return inspectImages(ctx, args, str(flags, 'format'));
  const engine = await ctx.engine();
  // docker looks for a container first, then an image
  return printInspect(ctx, args, str(flags, 'format'), async (ref) => {
    try {
      return await engine.inspectContainer(ref);
    } catch (err) {
      if (!hasCode(err, 'NOT_FOUND')) throw err;
    }
    if (type === 'container') throw new NotFoundError(`no such container: ${ref}`);
    return engine.inspectImage(ref);
  });
}
