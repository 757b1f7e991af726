import { InvalidArgumentError } from '../../errors/index.js';
import { type CommandSpec, type ParsedArgs, str } from '../args.js';
import type { CommandContext } from '../context.js';
import { FORMAT_FLAG } from './_common.js';
import { inspectImages } from './image/inspect.js';

export const spec: CommandSpec = {
  usage: 'inspect [OPTIONS] NAME|ID [NAME|ID...]',
  description: 'Return low-level information on objects',
  args: { min: 1, max: Number.POSITIVE_INFINITY },
  flags: [
    FORMAT_FLAG,
    { name: 'type', type: 'string', value: 'string', description: 'Return JSON for specified type (image)' },
  ],
};

export async function run(ctx: CommandContext, { flags, args }: ParsedArgs) {
  const type = str(flags, 'type');
  if (type !== undefined && type !== 'image')
    throw new InvalidArgumentError(`unsupported --type "${type}": only "image" exists so far`);
  return inspectImages(ctx, args, str(flags, 'format'));
}
