// The container lifecycle without a daemon. Each command is one berth process: it reads the
// record, drives runc/crun through conmon, and writes the new state in one store transaction.
// conmon outlives the command and calls `berth container cleanup ID` when the container exits;
// cleanup records the exit, tears down the rootfs, and applies the restart policy or --rm.
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { hostname as osHostname } from 'node:os';
import { join } from 'node:path';
import { ConflictError, hasCode, InvalidArgumentError, NotFoundError } from '../errors/index.js';
import { readImageConfig } from '../image/index.js';
import {
  holdSetupGuard,
  type NetworkRequest,
  type NetworkSetup,
  type NetworkStatus,
  PORTS_LOCK,
  releaseSetupGuard,
  sweepContainerNetworks,
  validateHostname,
} from '../network/index.js';
import {
  assertOperation,
  isActiveState,
  RuntimeDriver,
  type SelectedRuntime,
  selectRuntime,
} from '../runtime/index.js';
import type { ContainerRecord, ImageRecord, Store } from '../store/index.js';
import { acquireFileLock, type FileLock } from '../util/index.js';
import type { ContainerCreateOptions, StoredContainerConfig } from './_config.js';
import { mergeEnv } from './_env.js';
import { containerLog } from './_logs.js';
import { isValidContainerName, newContainerId, randomContainerName } from './_names.js';
import {
  connectNetwork,
  disconnectNetwork,
  hasNamespaceGuests,
  type ManagerNetworking,
  type NetworkHost,
  networkTornDown,
  normalizeNetworkOptions,
  portsToPublish,
  publishesPorts,
  rewriteHostsWithAddress,
  startContainerNetwork,
  stopContainerNetwork,
  usesCniNetworks,
} from './_network.js';
import { checkLimits, parseSignal } from './_options.js';
import { type PortReservation, reserveHostPorts } from './_ports.js';
import { readSeccompProfile } from './_seccomp-file.js';
import { buildContainerSpec, TINI_PATHS } from './_spec.js';
import { applyUpdate, type ContainerUpdate, type ContainerUpdateReport } from './_update.js';

export interface ManagerOptions {
  store: Store;
  /** Runtime state root, e.g. /run/berth (tmpfs: gone after a reboot). */
  runroot: string;
  /** argv prefix that runs this berth with the same roots, for conmon's exit command. */
  berthCommand: string[];
  /** Default runtime when a container names none ('auto'). */
  defaultRuntime?: string;
  /**
   * Told of each lifecycle change once it is committed (the engine journals them). The manager
   * tells, not its callers, because some changes happen inside it: the exit seen by conmon's
   * cleanup, a restart by policy, the removal of a --rm container.
   */
  onEvent?: (event: ManagerEvent) => void;
  /** Bridge/macvlan networks (CNI). Without it only none, host and container: work. */
  networking?: ManagerNetworking;
}

/** A lifecycle change, named as Docker's events name it. */
export type ManagerEvent =
  | {
      type: 'container';
      action:
        | 'create'
        | 'start'
        | 'die'
        | 'kill'
        | 'stop'
        | 'pause'
        | 'unpause'
        | 'rename'
        | 'update'
        | 'destroy';
      container: ContainerRecord;
      attributes?: Record<string, string>;
    }
  | { type: 'volume'; action: 'mount' | 'unmount'; volume: string; attributes: Record<string, string> };

/**
 * What a `kill` leaves in the record (moby's daemon/kill.go killWithSignal): SIGKILL, or the
 * container's stop signal (any signal when neither --stop-signal nor the image's STOPSIGNAL
 * set one), cancels the restart policy like a stop; any other signal only keeps
 * `unless-stopped` from restarting it.
 */
export function killMark(config: StoredContainerConfig, signo: number): StoredContainerConfig {
  const ownStopSignal = config.options.stopSignal !== undefined || config.stopSignal !== 'SIGTERM';
  const cancels = signo === 9 || !ownStopSignal || parseSignal(config.stopSignal) === signo;
  return cancels ? { ...config, stoppedByUser: true } : { ...config, manuallyStopped: true };
}

const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export class ContainerManager {
  private readonly drivers = new Map<string, RuntimeDriver>();
  /** Exit teardowns under way in this process, by container: a start waits for its own. */
  private readonly exiting = new Map<string, Promise<unknown>>();
  constructor(private readonly opts: ManagerOptions) {}

  get store(): Store {
    return this.opts.store;
  }

  private notify(
    action: Extract<ManagerEvent, { type: 'container' }>['action'],
    container: ContainerRecord,
    attributes?: Record<string, string>,
  ): void {
    this.opts.onEvent?.({ type: 'container', action, container, ...(attributes ? { attributes } : {}) });
  }

  /** Docker's volume mount/unmount events for the named volumes a container uses. */
  private notifyVolumes(action: 'mount' | 'unmount', rec: ContainerRecord): void {
    if (!this.opts.onEvent) return;
    for (const m of this.config(rec).options.mounts ?? []) {
      if (m.type !== 'volume') continue;
      const attributes: Record<string, string> = { container: rec.id, driver: 'local' };
      if (action === 'mount') {
        attributes.destination = m.target;
        attributes['read/write'] = String(m.readOnly !== true);
        attributes.propagation = '';
      }
      this.opts.onEvent({ type: 'volume', action, volume: m.source, attributes });
    }
  }

  // ---------------------------------------------------------------- paths
  stateDir(id: string): string {
    return join(this.opts.runroot, 'containers', id);
  }
  userdataDir(id: string): string {
    return join(this.store.containerDir(id), 'userdata');
  }
  logPath(id: string): string {
    return join(this.userdataDir(id), 'ctr.log');
  }

  driverFor(config: StoredContainerConfig): RuntimeDriver {
    const runtime: SelectedRuntime = selectRuntime(
      config.options.runtime ?? this.opts.defaultRuntime ?? 'auto',
    );
    const key = runtime.path;
    let d = this.drivers.get(key);
    if (!d) {
      d = new RuntimeDriver({ runtime, runtimeRoot: join(this.opts.runroot, runtime.name) });
      this.drivers.set(key, d);
    }
    return d;
  }

  // ---------------------------------------------------------------- lookup
  get(idOrName: string): ContainerRecord {
    const rec = this.store.getContainer(idOrName);
    if (!rec) throw new NotFoundError(`no such container: ${idOrName}`);
    return rec;
  }

  config(rec: ContainerRecord): StoredContainerConfig {
    return rec.config as StoredContainerConfig;
  }

  // ---------------------------------------------------------------- create
  async create(
    image: ImageRecord,
    imageName: string,
    options: ContainerCreateOptions,
  ): Promise<ContainerRecord> {
    const imageConfig = (await readImageConfig(this.store, image)).config ?? {};
    const entrypoint =
      options.entrypoint === undefined
        ? (imageConfig.Entrypoint ?? [])
        : options.entrypoint === ''
          ? []
          : [options.entrypoint];
    const cmd =
      options.command && options.command.length > 0
        ? options.command
        : options.entrypoint !== undefined
          ? []
          : (imageConfig.Cmd ?? []);
    const args = [...entrypoint, ...cmd];
    if (args.length === 0) {
      throw new InvalidArgumentError(
        `no command specified: image "${imageName}" has no Cmd or Entrypoint, give one after the image`,
      );
    }
    if (options.name !== undefined && !isValidContainerName(options.name)) {
      throw new InvalidArgumentError(
        `invalid container name "${options.name}": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`,
      );
    }
    options = normalizeNetworkOptions(options, this.opts.networking?.lookup);
    if (options.hostname !== undefined) validateHostname(options.hostname);
    if (options.domainname !== undefined) validateHostname(options.domainname);
    if (options.network?.startsWith('container:')) this.get(options.network.slice('container:'.length));
    checkLimits(options);
    if (options.init && !TINI_PATHS.some((p) => existsSync(p))) {
      throw new InvalidArgumentError('--init needs tini (Debian package tini) on the host');
    }
    const seccomp = readSeccompProfile(options.seccomp);
    const id = newContainerId();
    const hostname = options.hostname ?? (options.network === 'host' ? osHostname() : id.slice(0, 12));
    const env = mergeEnv(
      [
        DEFAULT_PATH,
        ...(imageConfig.Env ?? []),
        `HOSTNAME=${hostname}`,
        ...(options.tty ? ['TERM=xterm'] : []),
      ],
      options.env ?? [],
    );
    const stored: StoredContainerConfig = {
      options,
      imageId: image.id,
      imageName,
      args,
      env,
      workdir: options.workdir ?? (imageConfig.WorkingDir || '/'),
      hostname,
      stopSignal: options.stopSignal ?? imageConfig.StopSignal ?? 'SIGTERM',
      stopTimeout: options.stopTimeout ?? 10,
    };
    const exposed = [...Object.keys(imageConfig.ExposedPorts ?? {}), ...(options.expose ?? [])].map((p) =>
      p.includes('/') ? p : `${p}/tcp`,
    );
    if (exposed.length > 0) stored.exposedPorts = [...new Set(exposed)];
    parseSignal(stored.stopSignal);
    const mounts = (options.mounts ?? []).map((m) =>
      m.type === 'volume' && m.source === '' ? { ...m, source: newContainerId(), anonymous: true } : m,
    );
    // the image's USER applies unless -u overrides it, as in docker
    stored.options = {
      ...options,
      ...(seccomp ? { seccomp } : {}),
      mounts,
      ...(options.user === undefined && imageConfig.User ? { user: imageConfig.User } : {}),
    };
    const volumes: string[] = [];
    for (const m of mounts) {
      if (m.type === 'volume') {
        this.store.createVolume(m.source, 'anonymous' in m ? { labels: { 'berth.anonymous': 'true' } } : {});
        volumes.push(m.source);
      } else if (m.type === 'bind' && !existsSync(m.source)) {
        mkdirSync(m.source, { recursive: true });
      }
    }
    for (let attempt = 0; ; attempt++) {
      const name = options.name ?? randomContainerName();
      try {
        const rec = this.store.createContainer({
          id,
          name,
          imageId: image.id,
          config: stored,
          labels: options.labels ?? {},
          volumes,
        });
        this.notify('create', rec);
        return rec;
      } catch (err) {
        if (options.name === undefined && hasCode(err, 'CONFLICT') && attempt < 20) continue;
        throw err;
      }
    }
  }

  // ---------------------------------------------------------------- start
  /** Create the runtime container under conmon and start it. `beforeStart` runs in between (attach). */
  async start(
    idOrName: string,
    hooks: {
      beforeStart?: (rec: ContainerRecord) => Promise<void>;
      restarting?: boolean;
      /** The caller stays attached and cleans up itself (run --rm without a restart policy):
       * conmon then needs no exit command, which saves a second berth process per run. If the
       * caller dies, the next `ps`/`wait`/`rm` finishes the job (reconcile). */
      callerCleansUp?: boolean;
    } = {},
  ): Promise<ContainerRecord> {
    let rec = this.get(idOrName);
    const tearingDown = hooks.restarting ? undefined : this.exiting.get(rec.id);
    if (tearingDown) {
      // the last run's teardown (rootfs, network, runtime state) must not overlap this start
      await tearingDown.catch(() => {});
      rec = this.get(rec.id);
    }
    if (isActiveState(rec.state)) return rec;
    assertOperation(rec.id, rec.state, 'start');
    let config = this.config(rec);
    if ((config.stoppedByUser && !hooks.restarting) || config.manuallyStopped) {
      // a user's start re-arms the restart policy that their stop (or kill) suspended
      config = { ...config, stoppedByUser: hooks.restarting === true && config.stoppedByUser === true };
      delete config.manuallyStopped;
      rec = this.store.updateContainer(rec.id, { config });
    }
    const driver = this.driverFor(config);
    // leftovers of an earlier run (a crash, a reboot) would make create fail
    if (rec.startedAt || rec.conmonPid) await driver.delete(rec.id, { force: true }).catch(() => {});
    const image = this.store.resolveImage(rec.imageId);
    const net = this.opts.networking;
    const cni = net !== undefined && usesCniNetworks(config.options);
    if (cni) {
      holdSetupGuard(net.paths, rec.id);
      // what a killed berth left behind (this container's included) goes before we set up
      await this.sweepNetworks();
    }
    let rootfs: string | undefined;
    let setupPending: Promise<NetworkSetup> | undefined;
    let attaching: Promise<NetworkStatus> | undefined;
    // held from picking host ports until they are forwarded and recorded
    let portLock: FileLock | undefined;
    let reservation: PortReservation | undefined;
    try {
      if (cni) {
        if (publishesPorts(config)) portLock = await acquireFileLock(PORTS_LOCK, { what: 'host ports' });
        const ports = await portsToPublish(config, () => this.store.listContainers(), rec.id);
        if (ports.length > 0) reservation = await reserveHostPorts(ports);
        // the namespace is made while the rootfs is mounted; its interfaces come up while the
        // runtime creates the container in it (the process only runs at start, after
        // `attaching` settled)
        setupPending = startContainerNetwork(net, rec, config, ports);
        setupPending.catch(() => {});
        rootfs = this.store.mountContainerRootfs(rec.id, image.layers);
        const setup = await setupPending;
        setupPending = undefined;
        attaching = setup.attached;
        config = { ...config, netStatus: { netns: setup.netns, endpoints: [], ports } };
      } else {
        rootfs = this.store.mountContainerRootfs(rec.id, image.layers);
      }
      const bundle = this.userdataDir(rec.id);
      const stateDir = this.stateDir(rec.id);
      rmSync(stateDir, { recursive: true, force: true });
      mkdirSync(stateDir, { recursive: true, mode: 0o700 });
      const { spec, etc } = await buildContainerSpec(this.networkHost(), rec, config, rootfs, {
        bundle,
        runtime: driver.runtime.name,
      });
      await writeFile(join(bundle, 'config.json'), JSON.stringify(spec), { mode: 0o600 });
      const o = config.options;
      const created = await driver.create(rec.id, {
        bundle,
        stateDir,
        ...(o.log?.driver === 'none' ? {} : { logPath: this.logPath(rec.id) }),
        ...(o.log?.maxSize !== undefined ? { logSizeMax: o.log.maxSize } : {}),
        terminal: o.tty === true,
        stdin: o.interactive === true,
        ...(hooks.callerCleansUp
          ? {}
          : { exitCommand: [...this.opts.berthCommand, 'container', 'cleanup', rec.id] }),
        ...(reservation?.fds.length ? { holdFds: reservation.fds } : {}),
      });
      // conmon holds the ports now, for as long as the container lives
      await reservation?.release();
      if (attaching) {
        const status = await attaching;
        attaching = undefined;
        config = { ...config, netStatus: status };
        // /etc/hosts is bind-mounted already: rewrite it in place with the address ADD gave
        if (etc.options) await rewriteHostsWithAddress(etc.paths.hosts, etc.options, status);
      }
      rec = this.store.updateContainer(rec.id, {
        conmonPid: created.conmonPid,
        pid: created.pid,
        ...(cni ? { config } : {}),
      });
      portLock?.release();
      if (hooks.restarting && (this.config(rec) as StoredContainerConfig).stoppedByUser) {
        // `stop` arrived while this restart was being prepared: it wins
        throw new ConflictError(`container ${rec.name} was stopped while restarting`);
      }
      if (hooks.beforeStart) await hooks.beforeStart(rec);
      await driver.start(rec.id);
      const started = this.store.updateContainer(rec.id, {
        state: 'running',
        startedAt: new Date().toISOString(),
        finishedAt: null,
        exitCode: null,
      });
      if (cni) releaseSetupGuard(net.paths, rec.id);
      this.notifyVolumes('mount', started);
      this.notify('start', started);
      // A process that exited at once may have run conmon's exit command before the record
      // said running: that cleanup found nothing to do, so the exit is recorded here
      if (!hooks.callerCleansUp && driver.exitCode(stateDir, rec.id) !== undefined) {
        // a failed cleanup is not a failed start: the next reconcile records the exit
        return (await this.cleanup(rec.id, { exited: true }).catch(() => started)) ?? started;
      }
      return started;
    } catch (err) {
      await driver.delete(rec.id, { force: true }).catch(() => {});
      if (rootfs !== undefined) this.safeUnmount(rec.id);
      // an ADD still running must finish (or fail and undo itself) before the teardown; when it
      // failed, its error is the one to report (the runtime's is then only "no such netns")
      let networkError: unknown;
      if (setupPending) await setupPending.then((s) => s.attached).catch(() => {});
      if (attaching)
        networkError = await attaching.then(
          () => undefined,
          (e: unknown) => e,
        );
      if (cni) await this.teardownNetwork(rec.id);
      await reservation?.release();
      portLock?.release();
      throw networkError ?? err;
    }
  }

  /** Undo the networks of containers a killed berth left half set up or never tore down. */
  async sweepNetworks(): Promise<string[]> {
    const net = this.opts.networking;
    if (!net) return [];
    return sweepContainerNetworks(
      net.paths,
      (id) => {
        const c = this.store.getContainer(id);
        return c !== undefined && isActiveState(c.state);
      },
      net.cni,
    );
  }

  /** Takes a container off its networks; failures are left to the sweep. */
  private async teardownNetwork(id: string, options: { exited?: boolean } = {}): Promise<void> {
    const net = this.opts.networking;
    if (!net) return;
    const rec = options.exited ? this.store.getContainer(id) : undefined;
    const namespaceFirst = rec !== undefined && !hasNamespaceGuests(rec, this.store.listContainers());
    // the record's netStatus stays: it is read only while the container runs (liveNetStatus),
    // and writing the config here could undo a concurrent `stop`'s mark
    await stopContainerNetwork(net, id, { namespaceFirst }).catch(() => {});
  }

  // ---------------------------------------------------------------- exit handling
  /**
   * Record the exit of a container whose process is gone, tear down its runtime state and
   * rootfs, then restart it or remove it as its policy says. Safe to call more than once and
   * from several processes: only the caller that moves the state out of running does the work.
   */
  async cleanup(idOrName: string, options: { exited?: boolean } = {}): Promise<ContainerRecord | undefined> {
    const rec = this.store.getContainer(idOrName);
    if (!rec) return undefined;
    const config = this.config(rec);
    const driver = this.driverFor(config);
    if (!isActiveState(rec.state)) return rec;
    // `exited`: the caller saw conmon's exit file, so asking the runtime again is a wasted spawn
    if (!options.exited) {
      const state = await driver.state(rec.id).catch(() => undefined);
      if (state && (state.status === 'running' || state.status === 'paused')) return rec;
    }
    const code = await driver.recordedExitCode(this.stateDir(rec.id), rec.id);
    let updated: ContainerRecord;
    try {
      updated = this.store.updateContainer(
        rec.id,
        { state: 'exited', exitCode: code, finishedAt: new Date().toISOString(), pid: null },
        { expectState: ['running', 'paused'] },
      );
    } catch (err) {
      // another berth (conmon's exit command, a concurrent wait or rm) got there first; it
      // owns the teardown (and may be restarting the container in a new namespace already)
      if (hasCode(err, 'CONFLICT', 'NOT_FOUND')) return this.store.getContainer(rec.id);
      throw err;
    }
    // this process owns the teardown now: a start of the container here waits until it is done
    // (a stop whose own cleanup lost this race returns at once; its restart must not overlap)
    const finishing = this.finishExit(rec, config, driver, updated, code);
    this.exiting.set(rec.id, finishing);
    try {
      return await finishing;
    } finally {
      if (this.exiting.get(rec.id) === finishing) this.exiting.delete(rec.id);
    }
  }

  /** What follows a won exit transition: teardown, the die event, then restart or --rm. */
  private async finishExit(
    rec: ContainerRecord,
    config: StoredContainerConfig,
    driver: RuntimeDriver,
    updated: ContainerRecord,
    code: number,
  ): Promise<ContainerRecord | undefined> {
    // the process is gone: its network comes down while the runtime state, rootfs and record go
    const networkDown = this.teardownNetwork(rec.id, { exited: true });
    const ran = rec.startedAt ? (Date.now() - Date.parse(rec.startedAt)) / 1000 : 0;
    this.notify('die', updated, {
      exitCode: String(code),
      execDuration: String(Math.max(0, Math.floor(ran))),
    });
    this.notifyVolumes('unmount', updated);
    await driver.delete(rec.id, { force: true }).catch(() => {});
    this.safeUnmount(rec.id);
    const o = config.options;
    const policy = o.restart ?? { name: 'no' };
    // read again: a `stop` in another process may have marked it after we loaded the record
    const fresh = this.store.getContainer(rec.id)?.config as StoredContainerConfig | undefined;
    const restart =
      !fresh?.stoppedByUser &&
      (policy.name === 'always' ||
        (policy.name === 'unless-stopped' && !fresh?.manuallyStopped) ||
        (policy.name === 'on-failure' &&
          code !== 0 &&
          (policy.maxRetries === 0 || updated.restartCount < policy.maxRetries)));
    if (restart) {
      await networkDown;
      this.store.updateContainer(rec.id, { restartCount: updated.restartCount + 1 });
      try {
        return await this.start(rec.id, { restarting: true });
      } catch (err) {
        // stopped or removed while we restarted it: that decision stands
        if (hasCode(err, 'CONFLICT', 'NOT_FOUND')) return this.store.getContainer(rec.id);
        throw err;
      }
    }
    if (o.autoRemove) {
      // several cleaners can race here (conmon's exit command, wait, ps); one removal is enough
      // the record may go before DEL is done: a berth killed meanwhile leaves cache records of
      // a container that no longer exists, which the next sweep undoes
      await Promise.all([
        networkDown,
        this.remove(rec.id, { force: true, volumes: true, runtimeDeleted: true }).catch((err) => {
          if (!hasCode(err, 'NOT_FOUND')) throw err;
        }),
      ]);
      return undefined;
    }
    await networkDown;
    return updated;
  }

  /** Bring records in line with reality (a killed conmon, a host reboot): running but gone → cleanup. */
  async reconcile(rec: ContainerRecord): Promise<ContainerRecord | undefined> {
    if (rec.state === 'exited' && this.config(rec).options.autoRemove) {
      // --rm whose cleanup did not finish (its process died): finish it now
      await this.remove(rec.id, { force: true, volumes: true }).catch((err) => {
        if (!hasCode(err, 'NOT_FOUND')) throw err;
      });
      return undefined;
    }
    if (!isActiveState(rec.state)) return rec;
    const driver = this.driverFor(this.config(rec));
    // conmon's files answer without spawning the runtime (every list and inspect asks): an exit
    // file means it exited; a live conmon without one means its process still runs
    const stateDir = this.stateDir(rec.id);
    if (driver.exitCode(stateDir, rec.id) !== undefined) return this.cleanup(rec.id, { exited: true });
    if (driver.conmonPid(stateDir) !== undefined) return rec;
    const state = await driver.state(rec.id).catch(() => undefined);
    if (state && state.status !== 'stopped') return rec;
    return this.cleanup(rec.id);
  }

  private safeUnmount(id: string): void {
    try {
      this.store.unmountContainerRootfs(id);
    } catch {
      // already gone
    }
  }

  // ---------------------------------------------------------------- stop / kill / wait
  async kill(idOrName: string, signal = 'SIGKILL'): Promise<ContainerRecord> {
    let rec = this.get(idOrName);
    if (!isActiveState(rec.state)) {
      throw new ConflictError(`cannot kill container ${rec.name}: it is not running`);
    }
    const signo = parseSignal(signal);
    // marked before the signal goes, so the cleanup of the exit it causes sees the mark
    rec = this.store.updateContainer(rec.id, { config: killMark(this.config(rec), signo) });
    await this.driverFor(this.config(rec)).kill(rec.id, signo);
    this.notify('kill', rec, { signal: String(signo) });
    return rec;
  }

  /** The stop signal (`signal`, else the container's), then SIGKILL after the timeout. */
  async stop(idOrName: string, timeoutSeconds?: number, signal?: string): Promise<ContainerRecord> {
    let rec = this.get(idOrName);
    const config = this.config(rec);
    const stopSigno = parseSignal(signal ?? config.stopSignal);
    // mark first, even when it is down right now: a restart policy may be about to bring it back
    rec = this.store.updateContainer(rec.id, { config: { ...config, stoppedByUser: true } });
    // without a restart policy nothing brings it back, so there is no restart to wait out
    const mayRestart = (config.options.restart?.name ?? 'no') !== 'no';
    if (!isActiveState(rec.state) && !mayRestart) return rec;
    if (!isActiveState(rec.state)) {
      await new Promise((r) => setTimeout(r, 300));
      rec = this.get(rec.id);
      if (!isActiveState(rec.state)) return rec;
    }
    const driver = this.driverFor(config);
    const timeout = (timeoutSeconds ?? config.stopTimeout) * 1000;
    if (rec.state === 'paused') await driver.resume(rec.id).catch(() => {});
    // a restart already under way in another process (its cleanup read the record before our
    // mark) can bring it back once; stop again until it stays down
    for (let attempt = 0; attempt < 3; attempt++) {
      const signo = stopSigno;
      await driver.kill(rec.id, signo).catch(() => {});
      this.notify('kill', rec, { signal: String(signo) });
      if (!(await this.waitGone(rec, timeout))) {
        await driver.kill(rec.id, 9, { all: true }).catch(() => {});
        this.notify('kill', rec, { signal: '9' });
        await this.waitGone(rec, 10_000);
      }
      let after = await this.cleanup(rec.id);
      if (mayRestart && after && after.state === 'exited') {
        // a restart in flight flips it back to running within a moment: look once more
        await new Promise((r) => setTimeout(r, 300));
        after = this.store.getContainer(rec.id);
      }
      if (!after || !isActiveState(after.state)) {
        this.notify('stop', after ?? rec);
        return after ?? rec;
      }
    }
    return this.get(rec.id);
  }

  private async waitGone(rec: ContainerRecord, ms: number): Promise<boolean> {
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(), ms);
    try {
      await this.driverFor(this.config(rec)).waitExit(this.stateDir(rec.id), rec.id, ac.signal);
      return true;
    } catch {
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Wait for the container to exit; returns its exit code (after cleanup ran). */
  async wait(idOrName: string, signal?: AbortSignal): Promise<number> {
    const rec = this.get(idOrName);
    if (isActiveState(rec.state)) {
      // the code comes from conmon's exit file before cleanup, which may remove the container (--rm)
      const code = await this.driverFor(this.config(rec)).waitExit(this.stateDir(rec.id), rec.id, signal);
      const after = await this.cleanup(rec.id, { exited: true });
      if (after) await this.reconcile(after);
      await networkTornDown(this.opts.networking, this.store, rec.id);
      return code;
    }
    await networkTornDown(this.opts.networking, this.store, rec.id);
    return rec.exitCode ?? 0;
  }

  /** Connect to a created or running container's stdio through conmon. */
  async attach(idOrName: string) {
    const rec = this.get(idOrName);
    return this.driverFor(this.config(rec)).attach(this.stateDir(rec.id), rec.id);
  }

  resize(idOrName: string, size: { rows: number; cols: number }): void {
    const rec = this.get(idOrName);
    this.driverFor(this.config(rec)).resize(this.stateDir(rec.id), rec.id, size);
  }

  async pause(idOrName: string): Promise<void> {
    const rec = this.get(idOrName);
    assertOperation(rec.id, rec.state, 'pause');
    await this.driverFor(this.config(rec)).pause(rec.id);
    this.notify(
      'pause',
      this.store.updateContainer(rec.id, { state: 'paused' }, { expectState: ['running'] }),
    );
  }

  async unpause(idOrName: string): Promise<void> {
    const rec = this.get(idOrName);
    assertOperation(rec.id, rec.state, 'unpause');
    await this.driverFor(this.config(rec)).resume(rec.id);
    this.notify(
      'unpause',
      this.store.updateContainer(rec.id, { state: 'running' }, { expectState: ['paused'] }),
    );
  }

  // ---------------------------------------------------------------- remove
  async remove(
    idOrName: string,
    options: {
      force?: boolean;
      volumes?: boolean /** cleanup just deleted it */;
      runtimeDeleted?: boolean;
    } = {},
  ): Promise<string> {
    let rec = this.get(idOrName);
    if (isActiveState(rec.state)) {
      if (!options.force) {
        throw new ConflictError(
          `cannot remove container "${rec.name}": container is running: stop the container before removing or force remove`,
        );
      }
      const driver = this.driverFor(this.config(rec));
      rec = this.store.updateContainer(rec.id, { config: { ...this.config(rec), stoppedByUser: true } });
      await driver.kill(rec.id, 9, { all: true }).catch(() => {});
      this.notify('kill', rec, { signal: '9' });
      await this.waitGone(rec, 10_000);
      await this.cleanup(rec.id);
      if (!this.store.getContainer(rec.id)) return rec.id;
    }
    if (!options.runtimeDeleted) {
      await this.driverFor(this.config(rec))
        .delete(rec.id, { force: true })
        .catch(() => {});
      this.safeUnmount(rec.id);
      await this.teardownNetwork(rec.id);
    }
    const anonymous = (this.config(rec).options.mounts ?? []).filter(
      (m) => m.type === 'volume' && 'anonymous' in m,
    );
    this.store.removeContainer(rec.id);
    this.notify('destroy', rec);
    rmSync(this.stateDir(rec.id), { recursive: true, force: true });
    if (options.volumes) {
      for (const m of anonymous) {
        try {
          this.store.removeVolume(m.source);
        } catch (err) {
          if (!hasCode(err, 'NOT_FOUND', 'CONFLICT')) throw err;
        }
      }
    }
    return rec.id;
  }

  // ---------------------------------------------------------------- logs
  logs(
    idOrName: string,
    options: { follow?: boolean; since?: Date; tail?: number; signal?: AbortSignal } = {},
  ) {
    const rec = this.get(idOrName);
    if (this.config(rec).options.log?.driver === 'none') {
      throw new InvalidArgumentError('configured logging driver does not support reading');
    }
    const follow = options.follow === true && isActiveState(rec.state);
    return containerLog(this.logPath(rec.id), { ...options, follow }, (signal) => this.wait(rec.id, signal));
  }

  // ---------------------------------------------------------------- network connect/disconnect
  /** `network connect`: join one more network; at once when running, else at the next start. */
  async connectNetwork(idOrName: string, request: NetworkRequest): Promise<ContainerRecord> {
    return connectNetwork(this.networkHost(), this.get(idOrName), request);
  }

  /** `network disconnect`: leave a network (at once when running). */
  async disconnectNetwork(idOrName: string, network: string): Promise<ContainerRecord> {
    return disconnectNetwork(this.networkHost(), this.get(idOrName), network);
  }

  private networkHost(): NetworkHost {
    return {
      store: this.store,
      ...(this.opts.networking ? { networking: this.opts.networking } : {}),
      get: (idOrName) => this.get(idOrName),
      userdataDir: (id) => this.userdataDir(id),
    };
  }

  /** `update`: new limits (live when it runs) and restart policy, kept for its next starts. */
  async update(idOrName: string, changes: ContainerUpdate): Promise<ContainerUpdateReport> {
    const rec = this.get(idOrName);
    const config = this.config(rec);
    const { options, warnings } = await applyUpdate(
      {
        id: rec.id,
        name: rec.name,
        state: rec.state,
        options: config.options,
        driver: this.driverFor(config),
        stateDir: this.stateDir(rec.id),
      },
      changes,
    );
    // read again: only the options change, not marks another process made meanwhile
    const fresh = this.config(this.get(rec.id));
    this.notify('update', this.store.updateContainer(rec.id, { config: { ...fresh, options } }));
    return { warnings };
  }

  async rename(idOrName: string, newName: string): Promise<void> {
    if (!isValidContainerName(newName)) throw new InvalidArgumentError(`invalid container name "${newName}"`);
    const before = this.get(idOrName);
    this.store.renameContainer(before.id, newName);
    this.notify('rename', this.get(before.id), { oldName: before.name });
  }
}
