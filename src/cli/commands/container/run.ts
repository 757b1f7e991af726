import type { ContainerRecord } from '../../../engine/index.js';
import { parsePlatform } from '../../../oci/index.js';
import { bool, type CommandSpec, type ParsedArgs, str } from '../../args.js';
import type { CommandContext } from '../../context.js';
import { createProgressRenderer } from '../../progress.js';
import { attachStdio, forwardSignals, runFailure, streamUntilExit } from './_attach.js';
import { CREATE_FLAGS, createOptionsFromFlags, pullPolicy } from './_create-flags.js';

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
  const options = createOptionsFromFlags(flags, args);
  const detach = bool(flags, 'detach');
  const engine = await ctx.engine();
  const platform = str(flags, 'platform');
  let rec: ContainerRecord;
  try {
    const progress = createProgressRenderer(ctx.stderr);
    rec = await engine.createContainer(options, {
      pull: pullPolicy(flags),
      onProgress: (e) => progress.emit(e),
      ...(platform ? { platform: parsePlatform(platform) } : {}),
    });
  } catch (err) {
    return runFailure(ctx, err);
  }
  // like docker, a container that could not start is kept for inspection unless --rm was given
  const removeOnFailure = async () => {
    if (options.autoRemove)
      await engine.containers.remove(rec.id, { force: true, volumes: true }).catch(() => {});
  };
  if (detach) {
    try {
      await engine.containers.start(rec.id);
    } catch (err) {
      await removeOnFailure();
      return runFailure(ctx, err);
    }
    ctx.stdout.write(`${rec.id}\n`);
    return 0;
  }
  const interactive = options.interactive === true || options.tty === true;
  let attached: { done: Promise<void> } | undefined;
  try {
    await engine.containers.start(rec.id, {
      callerCleansUp: options.autoRemove === true && (options.restart ?? { name: 'no' }).name === 'no',
      beforeStart: interactive
        ? async () => {
            attached = await attachStdio(ctx, engine, rec.id, {
              tty: options.tty === true,
              stdin: options.interactive === true,
            });
          }
        : undefined,
    });
  } catch (err) {
    await removeOnFailure();
    return runFailure(ctx, err);
  }
  const stopForwarding = options.tty ? () => {} : forwardSignals(engine, rec.id);
  try {
    if (attached) {
      await attached.done;
      return await engine.containers.wait(rec.id);
    }
    return await streamUntilExit(ctx, engine, rec.id);
  } finally {
    stopForwarding();
  }
}
