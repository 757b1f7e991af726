// berth CLI entry: parses global flags, finds the command in a static table and loads that
// command's module only then, so `berth --version` never loads the engine, SQLite or FFI.
import { describeError, exitCodeFor, isBerthError, UsageError } from '../errors/index.js';
import { formatHelp, parseArgs } from './args.js';
import type { CommandContext, CommandModule, GlobalOptions } from './context.js';
import { VERSION } from './version.js';

interface CommandEntry {
  summary: string;
  load: () => Promise<CommandModule>;
  group: 'Common' | 'Container' | 'Image' | 'Volume' | 'Network' | 'System';
  /** Other names for the same command, e.g. `images` for `image ls`. */
  hidden?: boolean;
}

// The one table of commands. Each `load` is a dynamic import, which esbuild splits into its own chunk.
const COMMANDS: Record<string, CommandEntry> = {
  pull: {
    summary: 'Download an image from a registry',
    group: 'Common',
    load: () => import('./commands/image/pull.js'),
  },
  push: {
    summary: 'Upload an image to a registry',
    group: 'Common',
    load: () => import('./commands/image/push.js'),
  },
  images: { summary: 'List images', group: 'Common', load: () => import('./commands/image/ls.js') },
  rmi: {
    summary: 'Remove one or more images',
    group: 'Common',
    load: () => import('./commands/image/rm.js'),
  },
  tag: {
    summary: 'Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE',
    group: 'Common',
    load: () => import('./commands/image/tag.js'),
  },
  save: {
    summary: 'Save one or more images to a tar archive',
    group: 'Common',
    load: () => import('./commands/image/save.js'),
  },
  load: {
    summary: 'Load an image from a tar archive or STDIN',
    group: 'Common',
    load: () => import('./commands/image/load.js'),
  },
  import: {
    summary: 'Import the contents from a tarball to create a filesystem image',
    group: 'Common',
    load: () => import('./commands/image/import.js'),
  },
  history: {
    summary: 'Show the history of an image',
    group: 'Common',
    load: () => import('./commands/image/history.js'),
  },
  inspect: {
    summary: 'Return low-level information on objects',
    group: 'Common',
    load: () => import('./commands/inspect.js'),
  },
  login: { summary: 'Log in to a registry', group: 'Common', load: () => import('./commands/login.js') },
  logout: { summary: 'Log out from a registry', group: 'Common', load: () => import('./commands/logout.js') },
  version: {
    summary: 'Show the berth version information',
    group: 'Common',
    load: () => import('./commands/version.js'),
  },
  info: {
    summary: 'Display system-wide information',
    group: 'Common',
    load: () => import('./commands/info.js'),
  },
  events: {
    summary: 'Get real time events from berth',
    group: 'Common',
    load: () => import('./commands/events.js'),
  },
  'image pull': {
    summary: 'Download an image from a registry',
    group: 'Image',
    load: () => import('./commands/image/pull.js'),
  },
  'image push': {
    summary: 'Upload an image to a registry',
    group: 'Image',
    load: () => import('./commands/image/push.js'),
  },
  'image ls': { summary: 'List images', group: 'Image', load: () => import('./commands/image/ls.js') },
  'image list': {
    summary: 'List images',
    group: 'Image',
    hidden: true,
    load: () => import('./commands/image/ls.js'),
  },
  'image rm': {
    summary: 'Remove one or more images',
    group: 'Image',
    load: () => import('./commands/image/rm.js'),
  },
  'image remove': {
    summary: 'Remove one or more images',
    group: 'Image',
    hidden: true,
    load: () => import('./commands/image/rm.js'),
  },
  'image tag': {
    summary: 'Create a tag that refers to an image',
    group: 'Image',
    load: () => import('./commands/image/tag.js'),
  },
  'image inspect': {
    summary: 'Display detailed information on one or more images',
    group: 'Image',
    load: () => import('./commands/image/inspect.js'),
  },
  'image history': {
    summary: 'Show the history of an image',
    group: 'Image',
    load: () => import('./commands/image/history.js'),
  },
  'image save': {
    summary: 'Save one or more images to a tar archive',
    group: 'Image',
    load: () => import('./commands/image/save.js'),
  },
  'image load': {
    summary: 'Load an image from a tar archive or STDIN',
    group: 'Image',
    load: () => import('./commands/image/load.js'),
  },
  'image import': {
    summary: 'Import a rootfs tarball as an image',
    group: 'Image',
    load: () => import('./commands/image/import.js'),
  },
  build: {
    summary: 'Build an image from a Dockerfile',
    group: 'Common',
    load: () => import('./commands/image/build.js'),
  },
  'image build': {
    summary: 'Build an image from a Dockerfile',
    group: 'Image',
    load: () => import('./commands/image/build.js'),
  },
  'builder prune': {
    summary: 'Remove the build cache',
    group: 'Image',
    load: () => import('./commands/builder/prune.js'),
  },
  'image diff': {
    summary: 'Show which build steps and paths differ between two images',
    group: 'Image',
    load: () => import('./commands/image/diff.js'),
  },
  'image prune': {
    summary: 'Remove unused images',
    group: 'Image',
    load: () => import('./commands/image/prune.js'),
  },
  run: {
    summary: 'Create and run a new container from an image',
    group: 'Common',
    load: () => import('./commands/container/run.js'),
  },
  create: {
    summary: 'Create a new container',
    group: 'Common',
    load: () => import('./commands/container/create.js'),
  },
  start: {
    summary: 'Start one or more stopped containers',
    group: 'Common',
    load: () => import('./commands/container/start.js'),
  },
  stop: {
    summary: 'Stop one or more running containers',
    group: 'Common',
    load: () => import('./commands/container/stop.js'),
  },
  restart: {
    summary: 'Restart one or more containers',
    group: 'Common',
    load: () => import('./commands/container/restart.js'),
  },
  kill: {
    summary: 'Kill one or more running containers',
    group: 'Common',
    load: () => import('./commands/container/kill.js'),
  },
  rm: {
    summary: 'Remove one or more containers',
    group: 'Common',
    load: () => import('./commands/container/rm.js'),
  },
  ps: { summary: 'List containers', group: 'Common', load: () => import('./commands/container/ps.js') },
  logs: {
    summary: 'Fetch the logs of a container',
    group: 'Common',
    load: () => import('./commands/container/logs.js'),
  },
  wait: {
    summary: 'Block until containers stop, then print their exit codes',
    group: 'Common',
    load: () => import('./commands/container/wait.js'),
  },
  pause: {
    summary: 'Pause all processes within one or more containers',
    group: 'Common',
    load: () => import('./commands/container/pause.js'),
  },
  cp: {
    summary: 'Copy files/folders between a container and the local filesystem',
    group: 'Common',
    load: () => import('./commands/container/cp.js'),
  },
  diff: {
    summary: "Inspect changes to files or directories on a container's filesystem",
    group: 'Common',
    load: () => import('./commands/container/diff.js'),
  },
  commit: {
    summary: "Create a new image from a container's changes",
    group: 'Common',
    load: () => import('./commands/container/commit.js'),
  },
  export: {
    summary: "Export a container's filesystem as a tar archive",
    group: 'Common',
    load: () => import('./commands/container/export.js'),
  },
  unpause: {
    summary: 'Unpause all processes within one or more containers',
    group: 'Common',
    load: () => import('./commands/container/unpause.js'),
  },
  rename: {
    summary: 'Rename a container',
    group: 'Common',
    load: () => import('./commands/container/rename.js'),
  },
  update: {
    summary: 'Update configuration of one or more containers',
    group: 'Common',
    load: () => import('./commands/container/update.js'),
  },
  exec: {
    summary: 'Execute a command in a running container',
    group: 'Common',
    load: () => import('./commands/container/exec.js'),
  },
  attach: {
    summary: 'Attach local standard input, output, and error streams to a running container',
    group: 'Common',
    load: () => import('./commands/container/attach.js'),
  },
  top: {
    summary: 'Display the running processes of a container',
    group: 'Common',
    load: () => import('./commands/container/top.js'),
  },
  stats: {
    summary: 'Display a live stream of container(s) resource usage statistics',
    group: 'Common',
    load: () => import('./commands/container/stats.js'),
  },
  port: {
    summary: 'List port mappings or a specific mapping for the container',
    group: 'Common',
    load: () => import('./commands/container/port.js'),
  },
  'container run': {
    summary: 'Create and run a new container',
    group: 'Container',
    load: () => import('./commands/container/run.js'),
  },
  'container create': {
    summary: 'Create a new container',
    group: 'Container',
    load: () => import('./commands/container/create.js'),
  },
  'container start': {
    summary: 'Start containers',
    group: 'Container',
    load: () => import('./commands/container/start.js'),
  },
  'container stop': {
    summary: 'Stop containers',
    group: 'Container',
    load: () => import('./commands/container/stop.js'),
  },
  'container restart': {
    summary: 'Restart containers',
    group: 'Container',
    load: () => import('./commands/container/restart.js'),
  },
  'container kill': {
    summary: 'Kill containers',
    group: 'Container',
    load: () => import('./commands/container/kill.js'),
  },
  'container rm': {
    summary: 'Remove containers',
    group: 'Container',
    load: () => import('./commands/container/rm.js'),
  },
  'container ls': {
    summary: 'List containers',
    group: 'Container',
    load: () => import('./commands/container/ps.js'),
  },
  'container ps': {
    summary: 'List containers',
    group: 'Container',
    hidden: true,
    load: () => import('./commands/container/ps.js'),
  },
  'container logs': {
    summary: 'Fetch the logs of a container',
    group: 'Container',
    load: () => import('./commands/container/logs.js'),
  },
  'container wait': {
    summary: 'Wait for containers to stop',
    group: 'Container',
    load: () => import('./commands/container/wait.js'),
  },
  'container pause': {
    summary: 'Pause containers',
    group: 'Container',
    load: () => import('./commands/container/pause.js'),
  },
  'container unpause': {
    summary: 'Unpause containers',
    group: 'Container',
    load: () => import('./commands/container/unpause.js'),
  },
  'container rename': {
    summary: 'Rename a container',
    group: 'Container',
    load: () => import('./commands/container/rename.js'),
  },
  'container update': {
    summary: 'Update configuration of one or more containers',
    group: 'Container',
    load: () => import('./commands/container/update.js'),
  },
  'container exec': {
    summary: 'Run a command in a running container',
    group: 'Container',
    load: () => import('./commands/container/exec.js'),
  },
  'container attach': {
    summary: 'Attach to a running container',
    group: 'Container',
    load: () => import('./commands/container/attach.js'),
  },
  'container top': {
    summary: 'Display the running processes of a container',
    group: 'Container',
    load: () => import('./commands/container/top.js'),
  },
  'container stats': {
    summary: 'Display resource usage statistics',
    group: 'Container',
    load: () => import('./commands/container/stats.js'),
  },
  'container port': {
    summary: 'List port mappings of a container',
    group: 'Container',
    load: () => import('./commands/container/port.js'),
  },
  'container inspect': {
    summary: 'Display detailed information on containers',
    group: 'Container',
    load: () => import('./commands/container/inspect.js'),
  },
  'container prune': {
    summary: 'Remove all stopped containers',
    group: 'Container',
    load: () => import('./commands/container/prune.js'),
  },
  'container cp': {
    summary: 'Copy files/folders between a container and the local filesystem',
    group: 'Container',
    load: () => import('./commands/container/cp.js'),
  },
  'container diff': {
    summary: "Inspect changes to files or directories on a container's filesystem",
    group: 'Container',
    load: () => import('./commands/container/diff.js'),
  },
  'container commit': {
    summary: "Create a new image from a container's changes",
    group: 'Container',
    load: () => import('./commands/container/commit.js'),
  },
  'container export': {
    summary: "Export a container's filesystem as a tar archive",
    group: 'Container',
    load: () => import('./commands/container/export.js'),
  },
  'container cleanup': {
    summary: 'Record a container exit (run by conmon)',
    group: 'Container',
    hidden: true,
    load: () => import('./commands/container/cleanup.js'),
  },
  'volume create': {
    summary: 'Create a volume',
    group: 'Volume',
    load: () => import('./commands/volume/create.js'),
  },
  'volume ls': { summary: 'List volumes', group: 'Volume', load: () => import('./commands/volume/ls.js') },
  'volume inspect': {
    summary: 'Display detailed information on volumes',
    group: 'Volume',
    load: () => import('./commands/volume/inspect.js'),
  },
  'volume rm': { summary: 'Remove volumes', group: 'Volume', load: () => import('./commands/volume/rm.js') },
  'volume prune': {
    summary: 'Remove unused volumes',
    group: 'Volume',
    load: () => import('./commands/volume/prune.js'),
  },
  'network create': {
    summary: 'Create a network',
    group: 'Network',
    load: () => import('./commands/network/create.js'),
  },
  'network ls': {
    summary: 'List networks',
    group: 'Network',
    load: () => import('./commands/network/ls.js'),
  },
  'network list': {
    summary: 'List networks',
    group: 'Network',
    hidden: true,
    load: () => import('./commands/network/ls.js'),
  },
  'network inspect': {
    summary: 'Display detailed information on networks',
    group: 'Network',
    load: () => import('./commands/network/inspect.js'),
  },
  'network rm': {
    summary: 'Remove networks',
    group: 'Network',
    load: () => import('./commands/network/rm.js'),
  },
  'network remove': {
    summary: 'Remove networks',
    group: 'Network',
    hidden: true,
    load: () => import('./commands/network/rm.js'),
  },
  'network prune': {
    summary: 'Remove all unused networks',
    group: 'Network',
    load: () => import('./commands/network/prune.js'),
  },
  'network connect': {
    summary: 'Connect a container to a network',
    group: 'Network',
    load: () => import('./commands/network/connect.js'),
  },
  'network disconnect': {
    summary: 'Disconnect a container from a network',
    group: 'Network',
    load: () => import('./commands/network/disconnect.js'),
  },
  'network reload': {
    summary: "Put the networks' firewall rules back and check running containers' attachments",
    group: 'Network',
    load: () => import('./commands/network/reload.js'),
  },
  'system prune': {
    summary: 'Remove unused data',
    group: 'System',
    load: () => import('./commands/system/prune.js'),
  },
  'system df': {
    summary: 'Show berth disk usage',
    group: 'System',
    load: () => import('./commands/system/df.js'),
  },
  'system events': {
    summary: 'Get real time events from berth',
    group: 'System',
    load: () => import('./commands/events.js'),
  },
  'system service': {
    summary: 'Serve the Docker Engine API on a unix socket',
    group: 'System',
    load: () => import('./commands/system/service.js'),
  },
  'system info': {
    summary: 'Display system-wide information',
    group: 'System',
    load: () => import('./commands/info.js'),
  },
};

const GROUP_NOUNS = new Set(['image', 'container', 'volume', 'network', 'system', 'builder']);

function topLevelHelp(): string {
  const lines = [
    'Usage:  berth [OPTIONS] COMMAND',
    '',
    'A daemonless, OCI-native container engine',
    '',
    'Global options:',
    '      --root string       Storage root (default "/var/lib/berth", env BERTH_ROOT)',
    '      --runroot string    Runtime state directory (default "/run/berth", env BERTH_RUNROOT)',
    '  -v, --version           Print version information and quit',
    '  -h, --help              Print usage',
    '',
  ];
  for (const group of ['Common', 'Container', 'Image', 'Volume', 'Network', 'System'] as const) {
    lines.push(group === 'Common' ? 'Commands:' : `${group} commands:`);
    for (const [name, e] of Object.entries(COMMANDS)) {
      if (e.group === group && !e.hidden) lines.push(`  ${name.padEnd(16)}${e.summary}`);
    }
    lines.push('');
  }
  lines.push("Run 'berth COMMAND --help' for more information on a command.");
  return `${lines.join('\n')}\n`;
}

function parseGlobals(argv: string[]): { globals: GlobalOptions; rest: string[] } {
  const globals: GlobalOptions = {
    root: process.env.BERTH_ROOT || '/var/lib/berth',
    runroot: process.env.BERTH_RUNROOT || '/run/berth',
  };
  let i = 0;
  const need = (name: string) => {
    if (i + 1 >= argv.length) throw new UsageError(`flag needs an argument: --${name}`);
    i++;
    return argv[i]!;
  };
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('-')) break;
    const [name, inline] = a.includes('=')
      ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)]
      : [a, undefined];
    if (name === '--root') globals.root = inline ?? need('root');
    else if (name === '--runroot') globals.runroot = inline ?? need('runroot');
    else if (name === '-v' || name === '--version') globals.version = true;
    else if (name === '-h' || name === '--help') globals.help = true;
    else if (name === '--debug' || name === '-D') globals.debug = true;
    else throw new UsageError(`unknown flag: ${name}\nSee 'berth --help'.`);
  }
  return { globals, rest: argv.slice(i) };
}

export async function main(argv: string[]): Promise<number> {
  let globals: GlobalOptions | undefined;
  try {
    const parsed = parseGlobals(argv);
    globals = parsed.globals;
    const rest = parsed.rest;
    if (globals.version && rest.length === 0) {
      process.stdout.write(`berth version ${VERSION}\n`);
      return 0;
    }
    if (rest.length === 0) {
      process.stdout.write(topLevelHelp());
      return globals.help ? 0 : 125;
    }
    let path = rest[0]!;
    let consumed = 1;
    if (GROUP_NOUNS.has(path)) {
      if (rest.length < 2 || rest[1]!.startsWith('-')) {
        process.stdout.write(topLevelHelp());
        return rest[1] === '--help' || rest[1] === '-h' ? 0 : 125;
      }
      path = `${rest[0]} ${rest[1]}`;
      consumed = 2;
    }
    const entry = COMMANDS[path];
    if (!entry) throw new UsageError(`unknown command: "${path}"\nSee 'berth --help'.`);
    const mod = await entry.load();
    const cmdArgs = rest.slice(consumed);
    const parsedArgs = parseArgs(cmdArgs, mod.spec, path);
    if (parsedArgs.flags.help === true || globals.help) {
      process.stdout.write(formatHelp(path, mod.spec));
      return 0;
    }
    const { createContext } = await import('./context.js');
    const ctx: CommandContext = createContext(globals);
    try {
      const code = await mod.run(ctx, parsedArgs);
      return code ?? 0;
    } finally {
      await ctx.close();
    }
  } catch (err) {
    return reportError(err, globals?.debug === true);
  }
}

function reportError(err: unknown, debug: boolean): number {
  let text = isBerthError(err) && err.code === 'USAGE' ? err.message : `Error: ${describeError(err)}`;
  // one line per error, so scripts and people can grep it; the hint rides along in brackets
  if (isBerthError(err) && err.hint) text += ` [hint: ${err.hint}]`;
  process.stderr.write(`${text}\n`);
  if (debug && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
  return exitCodeFor(err);
}

const code = await main(process.argv.slice(2));
// stdout/stderr are synchronous for files and pipes on Linux, so nothing is lost by exiting now
// rather than waiting for idle keep-alive sockets or stdin to let the event loop drain.
process.exit(code);
