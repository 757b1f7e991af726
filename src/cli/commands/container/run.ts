import { bool, type CommandSpec, type ParsedArgs } from '../../args.js';
import type { CommandContext } from '../../context.js';
import { runFailure, startAttached } from './_attach.js';
import { CREATE_FLAGS, createFromFlags } from './_create-flags.js';

export const spec: CommandSpec = {
  usage: 'run [OPTIONS] IMAGE [COMMAND] [ARG...]',
  description: 'Create and run a new container from an image',
  args: { min: 1, max: Number.POSITIVE_INFINITY },
  stopAtFirstPositional: true,
  flags: [
    {
      name: 'detach',
      short: 'd',
      type: 'bool',
      description: 'Run container in background and print container ID',
    },
    ...CREATE_FLAGS,
  ],
};

export async function run(ctx: CommandContext, parsed: ParsedArgs): Promise<number> {
  try {
    return await runCommand(ctx, parsed);
  } catch (err) {
    // docker: 125 when the engine (not the container) failed, 126/127 when the command could not run
    return runFailure(ctx, err);
  }
}

async function runCommand(ctx: CommandContext, { flags, args }: ParsedArgs): Promise<number> {
  const detach = bool(flags, 'detach');
  const { engine, options, rec } = await createFromFlags(ctx, flags, args);
  // like docker, a container that could not start is kept for inspection unless --rm was given
  const removeOnFailure = async () => {
    if (options.autoRemove)
      await engine.removeContainer(rec.id, { force: true, volumes: true }).catch(() => {});
  };
  if (detach) {
    try {
      await engine.startContainer(rec.id);
    } catch (err) {
      await removeOnFailure();
      return runFailure(ctx, err);
    }
    ctx.stdout.write(`${rec.id}\n`);
    return 0;
  }
  return startAttached(ctx, engine, rec.id, {
    tty: options.tty === true,
    stdin: options.interactive === true,
    callerCleansUp: options.autoRemove === true && (options.restart ?? { name: 'no' }).name === 'no',
    onStartFailure: removeOnFailure,
  });
}
