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
    { ...FORMAT_FLAG, short: 'f' },
    {
      name: 'type',
      type: 'string',
      value: 'string',
      description: 'Return JSON for specified type (container, image, volume or network)',
    },
  ],
};

export async function run(ctx: CommandContext, { flags, args }: ParsedArgs) {
  const type = str(flags, 'type');
  if (type !== undefined && !['image', 'container', 'volume', 'network'].includes(type)) {
    throw new InvalidArgumentError(`unsupported --type "${type}": use container, image, volume or network`);
  }
  if (type === 'image') return inspectImages(ctx, args, str(flags, 'format'));
  const engine = await ctx.engine();
  // docker looks for a container, then an image, a volume and a network
  return printInspect(ctx, args, str(flags, 'format'), async (ref) => {
    if (type === undefined || type === 'container') {
      try {
        return await engine.inspectContainer(ref);
      } catch (err) {
        if (!hasCode(err, 'NOT_FOUND')) throw err;
      }
      if (type === 'container') throw new NotFoundError(`no such container: ${ref}`);
    }
    if (type === undefined) {
      try {
        return await engine.inspectImage(ref);
      } catch (err) {
        if (!hasCode(err, 'NOT_FOUND', 'INVALID_ARGUMENT')) throw err;
      }
    }
    if (type === undefined || type === 'volume') {
      try {
        return engine.inspectVolume(ref);
      } catch (err) {
        if (!hasCode(err, 'NOT_FOUND') || type === 'volume') throw err;
      }
    }
    try {
      return engine.inspectNetwork(ref);
    } catch (err) {
      if (hasCode(err, 'NOT_FOUND') && type === undefined) throw new NotFoundError(`no such object: ${ref}`);
      throw err;
    }
  });
}
