import { bool, type CommandSpec, type ParsedArgs } from '../../args.js';
import type { CommandContext } from '../../context.js';

export const spec: CommandSpec = {
  usage: 'container prune [OPTIONS]',
  description: 'Remove all stopped containers',
  args: { min: 0, max: 0 },
  flags: [{ name: 'force', short: 'f', type: 'bool', description: 'Do not prompt for confirmation' }],
};

export async function run(ctx: CommandContext, { flags }: ParsedArgs) {
  if (!bool(flags, 'force') && process.stdin.isTTY) {
    ctx.stdout.write(
      'WARNING! This will remove all stopped containers.\nAre you sure you want to continue? [y/N] ',
    );
    const answer = await new Promise<string>((resolve) =>
      process.stdin.once('data', (d) => resolve(String(d))),
    );
    process.stdin.pause();
    if (!/^y(es)?$/i.test(answer.trim())) return 0;
  }
  const engine = await ctx.engine();
  const stopped = (await engine.listContainers({ all: true })).filter(
    (c) => c.state === 'exited' || c.state === 'created',
  );
  if (stopped.length > 0) ctx.stdout.write('Deleted Containers:\n');
  for (const c of stopped) {
    await engine.containers.remove(c.id);
    ctx.stdout.write(`${c.id}\n`);
  }
  return 0;
}
