import type { ContainerRecord, StoredContainerConfig } from '../../../engine/index.js';
import { InvalidArgumentError } from '../../../errors/index.js';
import { bool, type CommandSpec, list, type ParsedArgs, str } from '../../args.js';
import type { CommandContext } from '../../context.js';
import { formatList, humanAge } from '../../render.js';
import { FORMAT_FLAG } from '../_common.js';

export const spec: CommandSpec = {
  usage: 'ps [OPTIONS]',
  description: 'List containers',
  args: { min: 0, max: 0 },
  flags: [
    {
      name: 'all',
      short: 'a',
      type: 'bool',
      description: 'Show all containers (default shows just running)',
    },
    {
      name: 'filter',
      short: 'f',
      type: 'list',
      value: 'filter',
      description: 'Filter output (status=, name=, label=, ancestor=, id=)',
    },
    FORMAT_FLAG,
    { name: 'no-trunc', type: 'bool', description: "Don't truncate output" },
    { name: 'quiet', short: 'q', type: 'bool', description: 'Only display container IDs' },
  ],
};

/** docker's STATUS column. */
export function statusText(rec: ContainerRecord, now = Date.now()): string {
  const since = (iso: string | null) => humanAge(iso ?? undefined, now).replace(/ ago$/, '');
  switch (rec.state) {
    case 'running':
      return `Up ${since(rec.startedAt)}`;
    case 'paused':
      return `Up ${since(rec.startedAt)} (Paused)`;
    case 'exited':
      return `Exited (${rec.exitCode ?? 0}) ${humanAge(rec.finishedAt ?? undefined, now)}`;
    case 'created':
      return 'Created';
    default:
      return rec.state.charAt(0).toUpperCase() + rec.state.slice(1);
  }
}

const STATUS = ['created', 'restarting', 'running', 'removing', 'paused', 'exited', 'dead'];

function matches(rec: ContainerRecord, filters: string[]): boolean {
  const byKey = new Map<string, string[]>();
  for (const f of filters) {
    const eq = f.indexOf('=');
    if (eq <= 0) throw new InvalidArgumentError(`invalid filter "${f}": expected KEY=VALUE`);
    const k = f.slice(0, eq);
    const v = f.slice(eq + 1);
    if (!['status', 'name', 'label', 'ancestor', 'id'].includes(k)) {
      throw new InvalidArgumentError(
        `invalid filter "${k}": supported are status, name, label, ancestor, id`,
      );
    }
    if (k === 'status' && !STATUS.includes(v))
      throw new InvalidArgumentError(`invalid filter "status=${v}": one of ${STATUS.join(', ')}`);
    byKey.set(k, [...(byKey.get(k) ?? []), v]);
  }
  const cfg = rec.config as StoredContainerConfig;
  // values of one key are OR-ed, keys are AND-ed, as docker does
  for (const [k, values] of byKey) {
    const ok = values.some((v) => {
      switch (k) {
        case 'status':
          return rec.state === v;
        case 'name':
          return new RegExp(v).test(rec.name);
        case 'id':
          return rec.id.startsWith(v);
        case 'ancestor':
          return (
            cfg.imageName === v ||
            rec.imageId === v ||
            rec.imageId.slice(7).startsWith(v) ||
            cfg.imageName === `${v}:latest`
          );
        case 'label': {
          const eq = v.indexOf('=');
          return eq < 0 ? v in rec.labels : rec.labels[v.slice(0, eq)] === v.slice(eq + 1);
        }
        default:
          return false;
      }
    });
    if (!ok) return false;
  }
  return true;
}

export async function run(ctx: CommandContext, { flags }: ParsedArgs) {
  const engine = await ctx.engine();
  const filters = list(flags, 'filter');
  const all = bool(flags, 'all') || filters.some((f) => f.startsWith('status='));
  const recs = (await engine.listContainers({ all })).filter((r) => matches(r, filters));
  const noTrunc = bool(flags, 'no-trunc');
  const id = (s: string) => (noTrunc ? s : s.slice(0, 12));
  if (bool(flags, 'quiet')) {
    for (const r of recs) ctx.stdout.write(`${id(r.id)}\n`);
    return 0;
  }
  const rows = recs.map((r) => {
    const cfg = r.config as StoredContainerConfig;
    const command = cfg.args.join(' ');
    return {
      ID: id(r.id),
      Image: cfg.imageName,
      Command: noTrunc ? command : command.length > 20 ? `${command.slice(0, 19)}…` : command,
      CreatedAt: r.createdAt,
      RunningFor: humanAge(r.createdAt),
      Status: statusText(r),
      State: r.state,
      Ports: '',
      Names: r.name,
      Labels: r.labels,
      ExitCode: r.exitCode,
    };
  });
  ctx.stdout.write(
    formatList(rows, str(flags, 'format'), {
      header: ['CONTAINER ID', 'IMAGE', 'COMMAND', 'CREATED', 'STATUS', 'PORTS', 'NAMES'],
      row: (r) => [r.ID, r.Image, `"${r.Command}"`, r.RunningFor, r.Status, r.Ports, r.Names],
    }),
  );
  return 0;
}
