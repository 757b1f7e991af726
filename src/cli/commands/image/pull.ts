import { parsePlatform, parseReference } from '../../../oci/index.js';
import { bool, type CommandSpec, type ParsedArgs, str } from '../../args.js';
import type { CommandContext } from '../../context.js';
import { createProgressRenderer } from '../../progress.js';
import { AUTHFILE_FLAG, interruptSignal, registryOptions, TLS_VERIFY_FLAG } from '../_common.js';

export const spec: CommandSpec = {
  usage: 'pull [OPTIONS] NAME[:TAG|@DIGEST]',
  description: 'Download an image from a registry',
  args: { min: 1, max: 1 },
  flags: [
    {
      name: 'platform',
      type: 'string',
      value: 'string',
      description: 'Set platform (os/arch[/variant]); default is the host',
    },
    { name: 'quiet', short: 'q', type: 'bool', description: 'Suppress verbose output' },
    TLS_VERIFY_FLAG,
    AUTHFILE_FLAG,
  ],
};

export async function run(ctx: CommandContext, { flags, args }: ParsedArgs) {
  const input = args[0]!;
  const ref = parseReference(input);
  const platformFlag = str(flags, 'platform');
  const platform = platformFlag ? parsePlatform(platformFlag) : undefined;
  const quiet = bool(flags, 'quiet');
  const engine = await ctx.engine(registryOptions(flags));
  const progress = createProgressRenderer(ctx.stdout, { quiet });
  if (!quiet) {
    if (!input.includes(':') && !input.includes('@')) ctx.stdout.write('Using default tag: latest\n');
    ctx.stdout.write(`${ref.digest ?? ref.tag}: Pulling from ${ref.path}\n`);
  }
  const result = await engine.pull(input, {
    ...(platform ? { platform, platformExplicit: true } : {}),
    onProgress: (e) => {
      if (e.type !== 'resolve') progress.emit(e);
    },
    signal: interruptSignal(),
  });
  progress.finish();
  if (!quiet) {
    ctx.stdout.write(`Digest: ${result.digest}\n`);
    const name = ref.digest ? input : `${input.includes(':') ? input : `${input}:latest`}`;
    ctx.stdout.write(
      result.upToDate
        ? `Status: Image is up to date for ${name}\n`
        : `Status: Downloaded newer image for ${name}\n`,
    );
  }
  ctx.stdout.write(`${result.reference}\n`);
  return 0;
}
