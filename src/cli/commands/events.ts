import type { EventRecord } from '../../engine/index.js';
import { type CommandSpec, list, type ParsedArgs, str } from '../args.js';
import type { CommandContext } from '../context.js';
import { renderTemplate } from '../render.js';
import { interruptSignal } from './_common.js';

export const spec: CommandSpec = {
  usage: 'events [OPTIONS]',
  description: 'Get real time events from berth (recorded ones with --since)',
  args: { min: 0, max: 0 },
  flags: [
    {
      name: 'filter',
      short: 'f',
      type: 'list',
      value: 'filter',
      description: 'Filter output (type=, event=, container=, image=, label=, volume=, network=)',
    },
    {
      name: 'format',
      type: 'string',
      value: 'string',
      description:
        "Format output: 'json' or a Go template ({{.Type}} {{.Action}} {{.Actor.ID}} {{.Time}} ...)",
    },
    {
      name: 'since',
      type: 'string',
      value: 'string',
      description: 'Show events since this time (RFC 3339, unix seconds, or relative like 10m)',
    },
    {
      name: 'until',
      type: 'string',
      value: 'string',
      description: 'Stream events until this time (same forms as --since)',
    },
  ],
};

/** The event as Go templates see Docker's events.Message (field names, not JSON tags). */
function templateView(e: EventRecord) {
  return {
    Status: e.status,
    ID: e.id,
    From: e.from,
    Type: e.Type,
    Action: e.Action,
    Actor: e.Actor,
    Scope: e.scope,
    Time: e.time,
    TimeNano: e.timeNano,
    // `{{json .}}` prints what the API sends
    toJSON: () => e,
  };
}

/** Docker's RFC3339NanoFixed in local time: `2024-05-01T10:30:00.123456000+02:00`. */
export function localTimeNano(timeNano: number): string {
  const micros = Math.round(timeNano / 1000);
  const d = new Date(Math.floor(micros / 1000));
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  const offset = -d.getTimezoneOffset();
  const zone =
    offset === 0
      ? 'Z'
      : `${offset > 0 ? '+' : '-'}${pad(Math.floor(Math.abs(offset) / 60))}:${pad(Math.abs(offset) % 60)}`;
  const nanos = pad((((micros % 1e6) + 1e6) % 1e6) * 1000, 9);
  return (
    `${pad(d.getFullYear(), 4)}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}` +
    `T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${nanos}${zone}`
  );
}

/** docker events' default line: time, type, action, actor, then the attributes sorted by key. */
export function eventLine(e: EventRecord): string {
  const attrs = Object.keys(e.Actor.Attributes)
    .sort()
    .map((k) => `${k}=${e.Actor.Attributes[k]}`);
  const tail = attrs.length > 0 ? ` (${attrs.join(', ')})` : '';
  return `${localTimeNano(e.timeNano)} ${e.Type} ${e.Action} ${e.Actor.ID}${tail}\n`;
}

export async function run(ctx: CommandContext, { flags }: ParsedArgs) {
  const format = str(flags, 'format');
  const render =
    format === undefined || format === ''
      ? eventLine
      : format === 'json'
        ? (e: EventRecord) => `${JSON.stringify(e)}\n`
        : (e: EventRecord) => `${renderTemplate(format, templateView(e))}\n`;
  const signal = interruptSignal();
  const engine = await ctx.engine();
  const since = str(flags, 'since');
  const until = str(flags, 'until');
  // the query and the template are checked before anything is read
  const events = engine.events(
    {
      ...(since !== undefined ? { since } : {}),
      ...(until !== undefined ? { until } : {}),
      filters: list(flags, 'filter'),
    },
    { signal },
  );
  render({
    Type: 'container',
    Action: 'create',
    Actor: { ID: '', Attributes: {} },
    scope: 'local',
    time: 0,
    timeNano: 0,
  });
  // a reader that went away (`| head -1`) ends the stream instead of crashing on EPIPE
  let closed = false;
  ctx.stdout.on('error', () => {
    closed = true;
  });
  for await (const e of events) {
    if (closed) break;
    ctx.stdout.write(render(e));
  }
  return 0;
}
