import { bool, type CommandSpec, type ParsedArgs } from '../../args.js';
import type { CommandContext } from '../../context.js';
import { runFailure, startAttached } from './_attach.js';

export const spec: CommandSpec = {
  usage: 'start [OPTIONS] CONTAINER [CONTAINER...]',
  description: 'Start one or more stopped containers',
  args: { min: 1, max: Number.POSITIVE_INFINITY },
  flags: [
    { name: 'attach', short: 'a', type: 'bool', description: 'Attach STDOUT/STDERR and forward signals' },
    { name: 'interactive', short: 'i', type: 'bool', description: "Attach container's STDIN" },
  ],
};

export async function run(ctx: CommandContext, { flags, args }: ParsedArgs): Promise<number> {
  const engine = await ctx.engine();
  const attach = bool(flags, 'attach') || bool(flags, 'interactive');
  if (attach && args.length > 1) {
    ctx.stderr.write('Error: you cannot start and attach multiple containers at once\n');
    return 1;
  }
  if (attach) {
    const info = await engine.inspectContainer(args[0]!);
    return startAttached(ctx, engine, info.Id, {
      tty: info.Config.Tty,
      stdin: bool(flags, 'interactive') && info.Config.OpenStdin,
    });
  }
  let failed = false;
  for (const name of args) {
    try {
      await engine.startContainer(name);
      ctx.stdout.write(`${name}\n`);
    } catch (err) {
      failed = true;
      runFailure(ctx, err);
    }
  }
  return failed ? 1 : 0;
}
