import { UsageError } from '../../../errors/index.js';
import { bool, type CommandSpec, type ParsedArgs } from '../../args.js';
import type { CommandContext } from '../../context.js';

export const spec: CommandSpec = {
  usage: 'cp [OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n  berth cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH',
  description:
    'Copy files/folders between a container and the local filesystem\n\nUse "-" as the source to read a tar archive from stdin and extract it to a directory\ndestination in a container. Use "-" as the destination to stream a tar archive of a\ncontainer source to stdout.',
  args: { min: 2, max: 2 },
  flags: [
    { name: 'archive', short: 'a', type: 'bool', description: 'Archive mode (copy all uid/gid information)' },
    { name: 'follow-link', short: 'L', type: 'bool', description: 'Always follow symbol link in SRC_PATH' },
  ],
};

/** docker's rule: a path that starts with / or . is local; otherwise NAME:PATH names a container. */
function splitContainerPath(arg: string): { container: string; path: string } | undefined {
  if (arg.startsWith('/') || arg.startsWith('.')) return undefined;
  const colon = arg.indexOf(':');
  if (colon <= 0) return undefined;
  return { container: arg.slice(0, colon), path: arg.slice(colon + 1) };
}

export async function run(ctx: CommandContext, { flags, args }: ParsedArgs) {
  const [srcArg, destArg] = args as [string, string];
  const src = splitContainerPath(srcArg);
  const dest = splitContainerPath(destArg);
  if (src && dest) throw new UsageError('copying between containers is not supported');
  if (!src && !dest) throw new UsageError('must specify at least one container source');
  const options = { archive: bool(flags, 'archive'), followLink: bool(flags, 'follow-link') };
  const engine = await ctx.engine();
  if (src) {
    if (src.path === '') throw new UsageError('source path must not be empty');
    if (destArg === '-' && ctx.stdout.isTTY) {
      throw new UsageError('cowardly refusing to write a tar archive to a terminal; redirect it');
    }
    await engine.copyFromContainer(src.container, src.path, destArg === '-' ? ctx.stdout : destArg, options);
    return 0;
  }
  const target = dest!;
  if (target.path === '') throw new UsageError('destination path must not be empty');
  if (srcArg === '-') {
    if (process.stdin.isTTY)
      throw new UsageError('refusing to read a tar archive from a terminal; pipe it in');
    await engine.copyToContainer(process.stdin, target.container, target.path, options);
  } else {
    await engine.copyToContainer(srcArg, target.container, target.path, options);
  }
  return 0;
}
