import { createReadStream } from 'node:fs';
import { UsageError } from '../../../errors/index.js';
import { parsePlatform } from '../../../oci/index.js';
import { type CommandSpec, list, type ParsedArgs, str } from '../../args.js';
import type { CommandContext } from '../../context.js';

export const spec: CommandSpec = {
  usage: 'import [OPTIONS] file|- [REPOSITORY[:TAG]]',
  description: 'Import the contents from a tarball (plain, gzip or zstd) to create a filesystem image',
  args: { min: 1, max: 2 },
  flags: [
    {
      name: 'change',
      short: 'c',
      type: 'list',
      value: 'list',
      description:
        'Apply Dockerfile instruction to the created image (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, USER, VOLUME, WORKDIR, STOPSIGNAL, ONBUILD)',
    },
    {
      name: 'message',
      short: 'm',
      type: 'string',
      value: 'string',
      description: 'Set commit message for imported image',
    },
    {
      name: 'platform',
      type: 'string',
      value: 'string',
      description: 'Set platform if server is multi-platform capable',
    },
    { name: 'quiet', short: 'q', type: 'bool', description: 'Only print the image ID' },
  ],
};

export async function run(ctx: CommandContext, { flags, args }: ParsedArgs) {
  const [source, reference] = args as [string, string | undefined];
  if (/^https?:\/\//.test(source))
    throw new UsageError('importing from a URL is not supported; download the file first');
  if (source === '-' && process.stdin.isTTY)
    throw new UsageError('refusing to read a tarball from a terminal; pipe it in');
  const platform = str(flags, 'platform');
  const message = str(flags, 'message');
  const engine = await ctx.engine();
  const image = await engine.importImage(source === '-' ? process.stdin : createReadStream(source), {
    ...(reference ? { reference } : {}),
    changes: list(flags, 'change'),
    ...(message ? { message } : {}),
    ...(platform ? { platform: parsePlatform(platform) } : {}),
  });
  ctx.stdout.write(`${image.id}\n`);
  return 0;
}
