// Exec create/inspect/resize and container resize. The hijacked parts (attach, exec start) are
// in _hijack.ts; the exec registry is the server's in-memory one (the engine execs one-shot).
import type { Engine } from '../engine/index.js';
import { consoleSize, type HijackRegistry, parseDetachKeys } from './_hijack.js';
import { HttpError, onlyParams, queryInt, type Router, readObject } from './_http.js';

function strings(body: Record<string, unknown>, key: string): string[] | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.some((s) => typeof s !== 'string')) {
    throw new HttpError(400, `${key} must be an array of strings`);
  }
  return v as string[];
}

function str(body: Record<string, unknown>, key: string): string | undefined {
  const v = body[key];
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') throw new HttpError(400, `${key} must be a string`);
  return v;
}

function size(q: URLSearchParams): { rows: number; cols: number } {
  const rows = queryInt(q, 'h');
  const cols = queryInt(q, 'w');
  if (!rows || !cols || rows < 0 || cols < 0) throw new HttpError(400, 'resize needs positive h and w');
  return { rows, cols };
}

export function addExecRoutes(r: Router, engine: Engine, hijack: HijackRegistry): void {
  r.add('POST', '/containers/{id}/resize', async (req) => {
    const s = size(req.query);
    const c = await engine.inspectContainer(req.params[0]!);
    if (!c.State.Running) throw new HttpError(409, `container ${req.params[0]} is not running`);
    engine.resizeContainerTty(c.Id, s);
    return { status: 200 };
  });

  r.add('POST', '/containers/{id}/exec', async (req) => {
    const body = await readObject(req);
    const args = strings(body, 'Cmd');
    if (!args?.length) throw new HttpError(400, 'No exec command specified');
    const env = strings(body, 'Env');
    const user = str(body, 'User');
    const workdir = str(body, 'WorkingDir');
    if (body.Privileged === true) {
      throw new HttpError(
        400,
        'exec --privileged is not supported by berth: the exec gets the container’s own privileges',
      );
    }
    const detachKeys = typeof body.DetachKeys === 'string' ? body.DetachKeys : undefined;
    if (detachKeys) parseDetachKeys(detachKeys);
    const size = consoleSize(body.ConsoleSize);
    const c = await engine.inspectContainer(req.params[0]!);
    if (!c.State.Running) throw new HttpError(409, `Container ${c.Id} is not running`);
    if (c.State.Paused) {
      throw new HttpError(409, `Container ${c.Id} is paused, unpause the container before exec`);
    }
    const e = hijack.addExec({
      container: c.Id,
      args,
      ...(env ? { env } : {}),
      ...(user ? { user } : {}),
      ...(workdir ? { workdir } : {}),
      tty: body.Tty === true,
      stdin: body.AttachStdin === true,
      // dockerd attaches both outputs unless the create says false for one
      stdout: body.AttachStdout !== false,
      stderr: body.AttachStderr !== false,
      ...(detachKeys !== undefined ? { detachKeys } : {}),
      ...(size ? { size } : {}),
    });
    return { status: 201, body: { Id: e.id } };
  });

  r.add('GET', '/exec/{id}/json', async (req) => {
    const e = hijack.exec(req.params[0]!);
    return {
      status: 200,
      body: {
        ID: e.id,
        ContainerID: e.container,
        Running: e.state === 'running',
        ExitCode: e.exitCode,
        Pid: e.pid,
        OpenStdin: e.stdin,
        OpenStdout: e.stdout,
        OpenStderr: e.stderr,
        CanRemove: false,
        DetachKeys: e.detachKeys ?? '',
        ProcessConfig: {
          tty: e.tty,
          entrypoint: e.args[0],
          arguments: e.args.slice(1),
          privileged: false,
          user: e.user ?? '',
        },
      },
    };
  });

  // Without `Connection: Upgrade` (upgrades go to _hijack.ts from the server's 'upgrade' event)
  r.add('POST', '/exec/{id}/start', async (req) => {
    const body = await readObject(req);
    await hijack.execStartPlain(engine, req.params[0]!, body, req.res);
    return undefined;
  });
  r.add('POST', '/containers/{id}/attach', async (req) => {
    onlyParams(req.query, ['detachKeys', 'logs', 'stream', 'stdin', 'stdout', 'stderr']);
    await hijack.attachPlain(engine, req.params[0]!, req.query, req.res);
    return undefined;
  });

  r.add('POST', '/exec/{id}/resize', async (req) => {
    const s = size(req.query);
    const e = hijack.exec(req.params[0]!);
    e.resize?.(s);
    return { status: 201 };
  });
}
