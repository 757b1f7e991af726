import { serveApi } from '../../../api/index.js';
import { InvalidArgumentError, UsageError } from '../../../errors/index.js';
import { type CommandSpec, type ParsedArgs, str } from '../../args.js';
import type { CommandContext } from '../../context.js';
import { VERSION } from '../../version.js';

export const spec: CommandSpec = {
  usage: 'system service [OPTIONS]',
  description: 'Serve the Docker Engine API on a unix socket',
  args: { min: 0, max: 0 },
  flags: [
    {
      name: 'socket',
      type: 'string',
      value: 'PATH',
      description: 'Unix socket to listen on (default "/run/berth/berth.sock")',
    },
    {
      name: 'timeout',
      type: 'string',
      value: 'SECONDS',
      description: 'Exit after this many idle seconds (0 = never)',
      default: '0',
    },
    { name: 'tcp', type: 'string', value: 'ADDR', description: 'Listen on TCP (needs mutual TLS)' },
    { name: 'tls-cert', type: 'string', value: 'FILE', description: 'TLS certificate (with --tcp)' },
    { name: 'tls-key', type: 'string', value: 'FILE', description: 'TLS private key (with --tcp)' },
    {
      name: 'tls-ca',
      type: 'string',
      value: 'FILE',
      description: 'CA that client certificates must chain to (with --tcp)',
    },
  ],
};

export async function run(ctx: CommandContext, { flags }: ParsedArgs) {
  if (str(flags, 'tcp') !== undefined) {
    const tls = ['tls-cert', 'tls-key', 'tls-ca'].filter((f) => str(flags, f) === undefined);
    throw new UsageError(
      tls.length > 0
        ? `--tcp needs --tls-cert, --tls-key and --tls-ca (missing: ${tls.map((f) => `--${f}`).join(', ')}): the API socket is root-equivalent, so it is never served over plain TCP`
        : '--tcp is not available yet: the API is root-equivalent and berth serves it over TCP only with mutual TLS, which is not built yet; use the unix socket (--socket)',
    );
  }
  for (const f of ['tls-cert', 'tls-key', 'tls-ca']) {
    if (str(flags, f) !== undefined) throw new UsageError(`--${f} only goes with --tcp`);
  }
  const timeoutText = str(flags, 'timeout') ?? '0';
  if (!/^[0-9]+$/.test(timeoutText)) {
    throw new InvalidArgumentError(`invalid --timeout "${timeoutText}": expected whole seconds (0 = never)`);
  }
  const socket = str(flags, 'socket') ?? '/run/berth/berth.sock';
  const engine = await ctx.engine();
  const server = await serveApi(engine, {
    socket,
    idleTimeout: Number(timeoutText),
    serverVersion: VERSION,
  });
  ctx.stderr.write(`berth API listening on unix://${socket}\n`);
  const stop = () => void server.close();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  await server.closed;
  process.off('SIGINT', stop);
  process.off('SIGTERM', stop);
  return 0;
}
