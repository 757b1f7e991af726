// Calls CNI plugins per the CNI spec (1.0.0): each plugin is an executable found by its `type`
// in the plugin directories, given the command in CNI_* variables and its configuration on
// stdin, answering with a result (or an error object) on stdout. A conflist runs ADD in order,
// each plugin seeing the previous one's result as `prevResult`; DEL runs in reverse order and
// CHECK in order, both with the result cached at ADD.
import { spawn } from 'node:child_process';
import { accessSync, constants, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { errnoCode, InvalidArgumentError, IOError, NetworkError, NotFoundError } from '../errors/index.js';
import { atomicWriteFile } from '../util/index.js';
import { type CniConflist, type CniPluginConfig, validateConflist } from './_conflist.js';

export const DEFAULT_CNI_PLUGIN_DIRS = ['/usr/lib/cni', '/opt/cni/bin'];
const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_MAX_OUTPUT = 1 << 20;

/** A plugin answered with a CNI error object, failed without one, or timed out. */
export class CniPluginError extends NetworkError {
  readonly plugin: string;
  readonly command: CniCommand;
  /** The CNI error code (1-99 well known, 100+ plugin specific); undefined without an error object. */
  readonly cniCode: number | undefined;
  readonly details: string | undefined;
  constructor(
    plugin: string,
    command: CniCommand,
    message: string,
    options: { cniCode?: number; details?: string; cause?: unknown } = {},
  ) {
    super(`CNI plugin "${plugin}" failed on ${command}: ${message}`, { cause: options.cause });
    this.plugin = plugin;
    this.command = command;
    this.cniCode = options.cniCode;
    this.details = options.details;
  }
}

export type CniCommand = 'ADD' | 'DEL' | 'CHECK' | 'VERSION';

/** A CNI result (spec section 5), kept loose: berth reads interfaces, ips, routes and dns. */
export interface CniResult {
  cniVersion: string;
  interfaces?: { name: string; mac?: string; sandbox?: string; mtu?: number }[];
  ips?: { address: string; gateway?: string; interface?: number }[];
  routes?: { dst: string; gw?: string }[];
  dns?: { nameservers?: string[]; domain?: string; search?: string[]; options?: string[] };
  [key: string]: unknown;
}

/** One container's attachment to one network. */
export interface CniAttachment {
  containerId: string;
  /** Path of the bind-mounted network namespace. DEL accepts a netns that is already gone. */
  netns: string;
  /** Interface name inside the namespace, e.g. eth0. */
  ifname: string;
  /** CNI_ARGS pairs, e.g. { IgnoreUnknown: 'true', IP: '10.1.0.5' }. */
  args?: Record<string, string>;
  /** Values for the plugins' capabilities, e.g. { portMappings: [...] }; become runtimeConfig. */
  capabilityArgs?: Record<string, unknown>;
  /** Where ADD's result is kept for DEL and CHECK. */
  cacheFile: string;
}

export interface CniOptions {
  pluginDirs?: string[];
  /** Per plugin call. */
  timeoutMs?: number;
  /** Per stream (stdout, stderr). */
  maxOutputBytes?: number;
}

const ARG_TEXT = /^[A-Za-z0-9_.:/-]*$/;

function checkAttachment(a: CniAttachment): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/.test(a.containerId))
    throw new InvalidArgumentError(`invalid CNI container id "${a.containerId}"`);
  if (!/^[A-Za-z0-9_.-]{1,15}$/.test(a.ifname) || a.ifname === '.' || a.ifname === '..')
    throw new InvalidArgumentError(`invalid interface name "${a.ifname}"`);
  if (!a.netns.startsWith('/'))
    throw new InvalidArgumentError(`network namespace path must be absolute: ${a.netns}`);
  for (const [k, v] of Object.entries(a.args ?? {}))
    if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(k) || !ARG_TEXT.test(v))
      throw new InvalidArgumentError(`invalid CNI argument ${JSON.stringify(`${k}=${v}`)}`);
}

/** Finds the plugin executable for `type` in the plugin directories. */
export function findPlugin(type: string, dirs: string[] = DEFAULT_CNI_PLUGIN_DIRS): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(type))
    throw new InvalidArgumentError(`invalid CNI plugin type "${type}"`);
  for (const dir of dirs) {
    const p = join(dir, type);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {}
  }
  throw new NotFoundError(`CNI plugin "${type}" not found in ${dirs.join(':')}`, {
    hint: 'install containernetworking-plugins',
  });
}

/** The execution configuration of one plugin (spec section 3): name, cniVersion, runtimeConfig. */
function pluginInput(
  list: CniConflist,
  plugin: CniPluginConfig,
  attachment: CniAttachment,
  prevResult: CniResult | undefined,
): Record<string, unknown> {
  const { capabilities, ...rest } = plugin;
  const conf: Record<string, unknown> = { ...rest, name: list.name, cniVersion: list.cniVersion };
  const runtimeConfig: Record<string, unknown> = {};
  for (const [cap, on] of Object.entries(capabilities ?? {}))
    if (on && attachment.capabilityArgs?.[cap] !== undefined)
      runtimeConfig[cap] = attachment.capabilityArgs[cap];
  if (Object.keys(runtimeConfig).length) conf.runtimeConfig = runtimeConfig;
  if (prevResult !== undefined) conf.prevResult = prevResult;
  return conf;
}

interface PluginRun {
  type: string;
  command: CniCommand;
  input: Record<string, unknown>;
  attachment: CniAttachment;
  options: CniOptions;
}

/** Runs one plugin; resolves to its parsed stdout (undefined when empty), or throws CniPluginError. */
function execPlugin(run: PluginRun): Promise<unknown> {
  const dirs = run.options.pluginDirs ?? DEFAULT_CNI_PLUGIN_DIRS;
  const path = findPlugin(run.type, dirs);
  const limit = run.options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT;
  const timeoutMs = run.options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const a = run.attachment;
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
    CNI_COMMAND: run.command,
    CNI_CONTAINERID: a.containerId,
    CNI_NETNS: a.netns,
    CNI_IFNAME: a.ifname,
    CNI_ARGS: Object.entries(a.args ?? {})
      .map(([k, v]) => `${k}=${v}`)
      .join(';'),
    CNI_PATH: dirs.join(':'),
  };
  return new Promise((resolve, reject) => {
    const child = spawn(path, [], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outLen = 0;
    let errLen = 0;
    let failure: string | undefined;
    const fail = (why: string): void => {
      failure ??= why;
      child.kill('SIGKILL');
    };
    const timer = setTimeout(() => fail(`timed out after ${timeoutMs} ms`), timeoutMs);
    child.stdout.on('data', (d: Buffer) => {
      outLen += d.length;
      if (outLen > limit) fail(`wrote more than ${limit} bytes to stdout`);
      else out.push(d);
    });
    child.stderr.on('data', (d: Buffer) => {
      // Keep only the first `limit` bytes of diagnostics; they are for the message only.
      if (errLen < limit) err.push(d.subarray(0, limit - errLen));
      errLen += d.length;
    });
    child.stdin.on('error', () => {});
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new CniPluginError(run.type, run.command, `cannot run ${path}: ${e.message}`, { cause: e }));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const stdout = Buffer.concat(out).toString('utf8').trim();
      const stderr = Buffer.concat(err).toString('utf8').trim();
      if (failure !== undefined) return reject(new CniPluginError(run.type, run.command, failure));
      let parsed: unknown;
      if (stdout !== '') {
        try {
          parsed = JSON.parse(stdout);
        } catch {
          if (code === 0)
            return reject(
              new CniPluginError(
                run.type,
                run.command,
                `answered with invalid JSON: ${stdout.slice(0, 200)}`,
              ),
            );
        }
      }
      if (code === 0 && signal === null) return resolve(parsed);
      const e = parsed as { code?: unknown; msg?: unknown; details?: unknown } | undefined;
      if (e && typeof e === 'object' && typeof e.msg === 'string') {
        const details = typeof e.details === 'string' && e.details !== '' ? e.details : undefined;
        return reject(
          new CniPluginError(run.type, run.command, details ? `${e.msg}: ${details}` : e.msg, {
            cniCode: typeof e.code === 'number' ? e.code : undefined,
            details,
          }),
        );
      }
      const how = signal !== null ? `killed by ${signal}` : `exited with status ${code}`;
      reject(new CniPluginError(run.type, run.command, `${how}${stderr ? `: ${stderr.slice(0, 500)}` : ''}`));
    });
    child.stdin.end(JSON.stringify(run.input));
  });
}

function asResult(value: unknown, plugin: string): CniResult {
  if (typeof value !== 'object' || value === null || typeof (value as CniResult).cniVersion !== 'string')
    throw new CniPluginError(plugin, 'ADD', 'answered without a CNI result');
  return value as CniResult;
}

/**
 * What the cache file holds. It is written before the first plugin runs (without `result`), so
 * a berth killed in the middle of ADD leaves a record that cleanup can DEL from; ADD then adds
 * the result. DEL removes the file.
 */
export interface CniCacheEntry {
  kind: 'cniCacheV1';
  network: string;
  containerId: string;
  ifname: string;
  netns: string;
  args: Record<string, string>;
  capabilityArgs: Record<string, unknown>;
  /** The conflist ADD ran with, so DEL works even once the network file is gone or changed. */
  config?: CniConflist;
  result?: CniResult;
}

/** Reads a cache file; undefined when there is none or it is torn (DEL must not be blocked). */
export function readCacheEntry(cacheFile: string): CniCacheEntry | undefined {
  let text: string;
  try {
    text = readFileSync(cacheFile, 'utf8');
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw new IOError(`cannot read CNI result cache ${cacheFile}`, { cause: err });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  const e = parsed as Partial<CniCacheEntry> | null;
  if (!e || typeof e !== 'object' || e.kind !== 'cniCacheV1') return undefined;
  if (e.result !== undefined) asResult(e.result, 'cache');
  return e as CniCacheEntry;
}

/** The result cached at ADD; undefined when there is none (ADD never finished). */
export function readCachedResult(cacheFile: string): CniResult | undefined {
  return readCacheEntry(cacheFile)?.result;
}

function cacheEntry(list: CniConflist, a: CniAttachment, result?: CniResult): string {
  const entry: CniCacheEntry = {
    kind: 'cniCacheV1',
    network: list.name,
    containerId: a.containerId,
    ifname: a.ifname,
    netns: a.netns,
    args: a.args ?? {},
    capabilityArgs: a.capabilityArgs ?? {},
    config: list,
    ...(result ? { result } : {}),
  };
  return JSON.stringify(entry);
}

/**
 * ADD: attaches the namespace to the network. When a plugin fails, the plugins already run are
 * undone with DEL (best effort) before the error is thrown, so nothing is left half set up.
 */
export async function cniAdd(
  conflist: CniConflist,
  attachment: CniAttachment,
  options: CniOptions = {},
): Promise<CniResult> {
  const list = validateConflist(conflist);
  checkAttachment(attachment);
  await atomicWriteFile(attachment.cacheFile, cacheEntry(list, attachment), { mode: 0o600 });
  let prev: CniResult | undefined;
  try {
    for (const plugin of list.plugins) {
      const out = await execPlugin({
        type: plugin.type,
        command: 'ADD',
        input: pluginInput(list, plugin, attachment, prev),
        attachment,
        options,
      });
      prev = asResult(out, plugin.type);
    }
    await atomicWriteFile(attachment.cacheFile, cacheEntry(list, attachment, prev), { mode: 0o600 });
  } catch (err) {
    await runDel(list, attachment, options, prev).catch(() => {});
    rmSync(attachment.cacheFile, { force: true });
    throw err;
  }
  return prev!;
}

async function runDel(
  list: CniConflist,
  attachment: CniAttachment,
  options: CniOptions,
  cached: CniResult | undefined,
): Promise<void> {
  let first: unknown;
  // Every plugin gets its DEL even if an earlier one failed: each frees what it owns.
  for (const plugin of [...list.plugins].reverse()) {
    try {
      await execPlugin({
        type: plugin.type,
        command: 'DEL',
        input: pluginInput(list, plugin, attachment, cached),
        attachment,
        options,
      });
    } catch (err) {
      first ??= err;
    }
  }
  if (first !== undefined) throw first;
}

/** DEL: detaches, in reverse order, with the cached result; then drops the cache. Idempotent. */
export async function cniDel(
  conflist: CniConflist,
  attachment: CniAttachment,
  options: CniOptions = {},
): Promise<void> {
  const list = validateConflist(conflist);
  checkAttachment(attachment);
  await runDel(list, attachment, options, readCachedResult(attachment.cacheFile));
  rmSync(attachment.cacheFile, { force: true });
}

/** CHECK: asks each plugin, in order, whether the attachment is still as ADD left it. */
export async function cniCheck(
  conflist: CniConflist,
  attachment: CniAttachment,
  options: CniOptions = {},
): Promise<void> {
  const list = validateConflist(conflist);
  checkAttachment(attachment);
  if (list.disableCheck) return;
  const cached = readCachedResult(attachment.cacheFile);
  if (cached === undefined)
    throw new NotFoundError(
      `no cached CNI result for container ${attachment.containerId} on network "${list.name}"`,
    );
  for (const plugin of list.plugins)
    await execPlugin({
      type: plugin.type,
      command: 'CHECK',
      input: pluginInput(list, plugin, attachment, cached),
      attachment,
      options,
    });
}
