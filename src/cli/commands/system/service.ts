import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type ServeOptions, serveApi } from '../../../api/index.js';
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
      description: 'Unix socket to listen on (default "<runroot>/berth.sock": /run/berth/berth.sock)',
    },
    {
      name: 'timeout',
      type: 'string',
      value: 'SECONDS',
      description: 'Exit after this many idle seconds (0 = never)',
      default: '0',
    },
    { name: 'group', type: 'string', value: 'GROUP', description: "The socket's group (name or gid)" },
    {
      name: 'tcp',
      type: 'string',
      value: 'ADDR',
      description: 'Listen on TCP HOST:PORT instead (needs mutual TLS)',
    },
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

/** `127.0.0.1:2376`, `[::1]:2376`, `:2376` (every address). */
function parseTcpAddress(text: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):([0-9]{1,5})$/.exec(text.replace(/^tcp:\/\//, ''));
  const port = Number(m?.[3]);
  if (!m || port < 0 || port > 65535) {
    throw new InvalidArgumentError(`invalid --tcp "${text}": expected HOST:PORT (e.g. 127.0.0.1:2376)`);
  }
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}

/**
 * systemd socket activation: the listening socket is fd 3 when LISTEN_PID is this process and
 * LISTEN_FDS is 1 (the variables are then cleared, so nothing started later sees them).
 */
function socketActivation(): number | undefined {
  const { LISTEN_PID, LISTEN_FDS } = process.env;
  if (LISTEN_PID === undefined || Number(LISTEN_PID) !== process.pid) return undefined;
  delete process.env.LISTEN_PID;
  delete process.env.LISTEN_FDS;
  delete process.env.LISTEN_FDNAMES;
  if (LISTEN_FDS !== '1') {
    throw new UsageError(
      `socket activation passed LISTEN_FDS=${LISTEN_FDS}; berth serves exactly one socket`,
    );
  }
  return 3;
}

/** `--group NAME|GID`: the gid, looked up in /etc/group for a name. */
function parseGroup(text: string): number {
  if (/^[0-9]+$/.test(text)) return Number(text);
  for (const line of readFileSync('/etc/group', 'utf8').split('\n')) {
    const [name, , gid] = line.split(':');
    if (name === text && gid !== undefined && /^[0-9]+$/.test(gid)) return Number(gid);
  }
  throw new InvalidArgumentError(`invalid --group "${text}": no such group in /etc/group`);
}

function readPem(path: string, flag: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new InvalidArgumentError(`cannot read --${flag} "${path}"`, { cause: err });
  }
}

export async function run(ctx: CommandContext, { flags }: ParsedArgs) {
  const tcpText = str(flags, 'tcp');
  const tlsFlags = ['tls-cert', 'tls-key', 'tls-ca'];
  if (tcpText !== undefined) {
    const lacking = tlsFlags.filter((f) => str(flags, f) === undefined);
    if (lacking.length > 0) {
      throw new UsageError(
        `--tcp needs --tls-cert, --tls-key and --tls-ca (missing: ${lacking.map((f) => `--${f}`).join(', ')}): the API is root-equivalent, so berth serves it over TCP only with mutual TLS`,
      );
    }
    if (str(flags, 'socket') !== undefined || str(flags, 'group') !== undefined) {
      throw new UsageError('--tcp serves TCP only; run a second service for --socket/--group');
    }
  } else {
    for (const f of tlsFlags) {
      if (str(flags, f) !== undefined) throw new UsageError(`--${f} only goes with --tcp`);
    }
  }
  const timeoutText = str(flags, 'timeout') ?? '0';
  if (!/^[0-9]+$/.test(timeoutText)) {
    throw new InvalidArgumentError(`invalid --timeout "${timeoutText}": expected whole seconds (0 = never)`);
  }
  const groupText = str(flags, 'group');
  const activated = socketActivation();
  if (activated !== undefined && (tcpText !== undefined || str(flags, 'socket') !== undefined)) {
    throw new UsageError('started by socket activation (LISTEN_FDS): --socket and --tcp do not apply');
  }
  const listen: ServeOptions =
    activated !== undefined
      ? { serverVersion: VERSION, listenFd: activated }
      : tcpText !== undefined
        ? {
            serverVersion: VERSION,
            tcp: {
              ...parseTcpAddress(tcpText),
              cert: readPem(str(flags, 'tls-cert')!, 'tls-cert'),
              key: readPem(str(flags, 'tls-key')!, 'tls-key'),
              ca: readPem(str(flags, 'tls-ca')!, 'tls-ca'),
            },
          }
        : {
            serverVersion: VERSION,
            // /run/berth/berth.sock unless --runroot moved the runtime state
            socket: str(flags, 'socket') ?? join(ctx.globals.runroot, 'berth.sock'),
            ...(groupText !== undefined ? { group: parseGroup(groupText) } : {}),
          };
  const engine = await ctx.engine();
  const server = await serveApi(engine, { ...listen, idleTimeout: Number(timeoutText) });
  ctx.stderr.write(`berth API listening on ${server.address}\n`);
  const stop = () => void server.close();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  await server.closed;
  process.off('SIGINT', stop);
  process.off('SIGTERM', stop);
  return 0;
}
