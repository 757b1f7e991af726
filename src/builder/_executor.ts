// The build executor: stages form a graph, each stage runs its instructions in order, and the
// state between steps is an image config plus a layer list. RUN runs in a real container
// (container/) whose upper dir becomes the layer; COPY/ADD write into a mounted rootfs with no
// process in it; metadata instructions only change the config. Every layer step has a cache key
// chained from the parent state, and its result is recorded in the store's build cache.

import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  closeSync,
  createReadStream,
  existsSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join, posix } from 'node:path';
import { gunzipSync, constants as zlibConstants } from 'node:zlib';
import { unpackLayer } from '../archive/index.js';
import { type ContainerManager, type MountSpec, resolveUser } from '../container/index.js';
import {
  BuildFailedError,
  describeError,
  InvalidArgumentError,
  NotFoundError,
  UnsupportedError,
} from '../errors/index.js';
import { readImageConfig, storeImage } from '../image/index.js';
import {
  type ContainerConfig,
  type Digest,
  type HistoryEntry,
  hostPlatform,
  type ImageConfig,
  sniffCompression,
} from '../oci/index.js';
import type { ImageLayerRef, ImageRecord, Lease, Store } from '../store/index.js';
import { acquireFileLock, type FileLock, resolveInRoot } from '../util/index.js';
import type {
  ArgInstruction,
  CommandForm,
  CopyInstruction,
  Dockerfile,
  FromInstruction,
  Instruction,
  RunInstruction,
  Stage,
} from './_ast.js';
import { BuildContext, type ContextEntry } from './_context.js';
import type { BuildEvent, LayerFinding } from './_events.js';
import { expandInstruction, parseRunMount, type RunMount } from './_expand.js';
import { applyLayerDir, type CopyItem, RootfsWriter, removeMountStubs, walkHost } from './_fsops.js';
import { compileGlob, hasGlobMeta, IgnoreMatcher } from './_ignore.js';
import { commitDirAsLayer } from './_layer.js';
import { parseDockerfile } from './_parser.js';
import { scanLayerForSecrets } from './_secrets.js';
import { parseHeredocWord } from './_shell-lex.js';

export interface BuildSecret {
  id: string;
  value: Buffer;
}

export interface BuildRequest {
  /** The build context directory. */
  contextDir: string;
  /** The Dockerfile's text and the name errors show. */
  dockerfile: { text: string; name: string };
  /** Full normalized names for the result. */
  tags?: string[];
  buildArgs?: Record<string, string>;
  target?: string;
  noCache?: boolean;
  /** Pull base images even when present. */
  pull?: boolean;
  secrets?: BuildSecret[];
  labels?: Record<string, string>;
  /** Network of RUN steps (default host: berth has no bridge network yet). */
  network?: 'none' | 'host';
  /** Seconds since the epoch for every timestamp (default 0). */
  sourceDateEpoch?: number;
  /** Make the layers this build adds into one. */
  squash?: boolean;
  /** Fail instead of warning when a layer holds a secret or key. */
  strictSecrets?: boolean;
  runtime?: string;
  /** .dockerignore patterns. */
  ignore?: string[];
  signal?: AbortSignal;
  onEvent?: (e: BuildEvent) => void;
}

export interface BuildDeps {
  store: Store;
  containers: ContainerManager;
  /** Find a base image, pulling it when missing (or always with `pull`). */
  resolveImage(reference: string, options: { pull: boolean; platform?: string }): Promise<ImageRecord>;
  /** A directory on tmpfs for secret files (never on disk). */
  runroot: string;
}

export interface BuildResult {
  image: ImageRecord;
  findings: LayerFinding[];
  warnings: string[];
}

/** The state between steps. */
interface StageState {
  config: ImageConfig;
  layers: ImageLayerRef[];
  /** Rolling cache key: covers the base image and every step so far. */
  chain: string;
  shell: string[];
  /** ARGs declared in this stage → value (undefined: declared without a value). */
  args: Map<string, string | undefined>;
  cmdSet: boolean;
  /** How many of `layers` came from the base image (the rest this build made; --squash). */
  baseLayers: number;
}

const DEFAULT_SHELL = ['/bin/sh', '-c'];
/** The last output lines of a failed RUN, for the progress display (not the one-line error). */
const outputTails = new WeakMap<object, string[]>();
const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const SCRATCH = 'scratch';
const HISTORY_COMMENT = 'berth.build.v0';
/** Runtime mount points a RUN container may leave as empty stubs in its upper dir. */
const RUNTIME_MOUNT_POINTS = [
  '/proc',
  '/sys',
  '/dev',
  '/etc/hosts',
  '/etc/hostname',
  '/etc/resolv.conf',
  '/run/.containerenv',
];
const PROXY_ARGS = ['HTTP_PROXY', 'HTTPS_PROXY', 'FTP_PROXY', 'NO_PROXY', 'ALL_PROXY'];

function sha(...parts: string[]): string {
  const h = createHash('sha256');
  for (const p of parts) {
    h.update(p);
    h.update('\0');
  }
  return `sha256:${h.digest('hex')}`;
}

function commandText(c: CommandForm): string {
  return c.form === 'exec' ? JSON.stringify(c.args) : c.text;
}

/** Build a Dockerfile into an image in the store. */
export async function buildImage(deps: BuildDeps, req: BuildRequest): Promise<BuildResult> {
  const df = parseDockerfile(req.dockerfile.text, { file: req.dockerfile.name });
  const context = await BuildContext.open(req.contextDir, { ignore: req.ignore ?? [] });
  // builds share this lock while they run; the intermediate images one build leaves are removed
  // only by a build that finds itself alone (another may be about to make a container of one)
  const lockPath = join(deps.store.root, 'build.lock');
  const shared = await acquireFileLock(lockPath, { exclusive: false, what: 'the build lock' });
  let alone = false;
  try {
    return await deps.store.withLease((lease) =>
      new Build(deps, req, df, context, lease).run(async (removeIntermediates) => {
        shared.release();
        try {
          const exclusive = await acquireFileLock(lockPath, { timeoutMs: 0, what: 'the build lock' });
          alone = true;
          try {
            removeIntermediates();
          } finally {
            exclusive.release();
          }
        } catch (err) {
          if (alone) throw err;
          // another build is running: the images stay dangling for `image prune`
        }
      }),
    );
  } finally {
    shared.release();
  }
}

class Build {
  private readonly emit: (e: BuildEvent) => void;
  private readonly epoch: number;
  private readonly created: string;
  private readonly escape: '\\' | '`';
  private readonly metaArgs = new Map<string, string | undefined>();
  private readonly usedArgs = new Set<string>();
  private readonly stageResults = new Map<number, Promise<StageState>>();
  private readonly stageImages = new Map<number, Promise<ImageRecord>>();
  private readonly intermediates = new Set<Digest>();
  private readonly findings: LayerFinding[] = [];
  private readonly warnings: string[] = [];
  private readonly buildId = randomBytes(8).toString('hex');
  private readonly secretDir: string;
  private stepCounter = 0;
  /** BuildKit's automatic platform args (TARGETARCH, ...), visible once a stage declares them. */
  private autoArgs: Record<string, string> = {};

  constructor(
    private readonly deps: BuildDeps,
    private readonly req: BuildRequest,
    private readonly df: Dockerfile,
    private readonly context: BuildContext,
    private readonly lease: Lease,
  ) {
    this.emit = req.onEvent ?? (() => {});
    this.epoch = req.sourceDateEpoch ?? 0;
    if (!Number.isSafeInteger(this.epoch) || this.epoch < 0) {
      throw new InvalidArgumentError(
        `invalid SOURCE_DATE_EPOCH ${req.sourceDateEpoch}: expected seconds >= 0`,
      );
    }
    this.created = new Date(this.epoch * 1000).toISOString().replace('.000Z', 'Z');
    this.escape = df.directives.escape;
    this.secretDir = join(deps.runroot, 'build', this.buildId);
    for (const s of req.secrets ?? []) {
      if (!/^[A-Za-z0-9_.-]+$/.test(s.id)) throw new InvalidArgumentError(`invalid secret id "${s.id}"`);
    }
  }

  private warn(message: string): void {
    this.warnings.push(message);
    this.emit({ type: 'warning', message });
  }

  async run(finish: (removeIntermediates: () => void) => Promise<void>): Promise<BuildResult> {
    for (const w of this.df.warnings) this.warn(`${this.req.dockerfile.name}:${w.loc.line}: ${w.message}`);
    const platform = hostPlatform();
    const auto: Record<string, string> = {
      TARGETPLATFORM: `${platform.os}/${platform.architecture}${platform.variant ? `/${platform.variant}` : ''}`,
      TARGETOS: platform.os,
      TARGETARCH: platform.architecture,
      TARGETVARIANT: platform.variant ?? '',
      BUILDPLATFORM: `${platform.os}/${platform.architecture}${platform.variant ? `/${platform.variant}` : ''}`,
      BUILDOS: platform.os,
      BUILDARCH: platform.architecture,
      BUILDVARIANT: platform.variant ?? '',
    };
    this.autoArgs = auto;
    for (const a of this.df.metaArgs) {
      const expanded = expandInstruction(a, (n) => this.metaArgs.get(n) ?? auto[n], this.escape);
      for (const { name, defaultValue } of expanded.args) {
        this.metaArgs.set(name, this.buildArg(name) ?? defaultValue ?? auto[name]);
      }
    }
    const target = this.targetStage();
    try {
      const needed = this.neededStages(target.index);
      // independent stages start together; each awaits what it needs
      for (const i of needed) void this.stageResult(i).catch(() => {});
      const final = await this.stageResult(target.index);
      const squashed = this.req.squash ? await this.squash(final) : final;
      const config = structuredClone(squashed.config);
      config.created = this.created;
      if (this.req.labels && Object.keys(this.req.labels).length > 0) {
        config.config = {
          ...config.config,
          Labels: { ...(config.config?.Labels ?? {}), ...this.req.labels },
        };
      }
      const image = await storeImage(this.deps.store, config, squashed.layers, this.req.tags ?? []);
      this.reportUnusedArgs();
      return { image, findings: this.findings, warnings: this.warnings };
    } finally {
      rmSync(this.secretDir, { recursive: true, force: true });
      await finish(() => this.removeIntermediates());
    }
  }

  /**
   * --squash: the layers this build made become one. They are applied in order onto a
   * rootfs of the base layers (whiteouts as deletions, opaque dirs emptied first), and the
   * overlay upper dir of that is the single new layer; the history keeps every step, with
   * all but the last marked as empty.
   */
  private async squash(state: StageState): Promise<StageState> {
    const fresh = state.layers.slice(state.baseLayers);
    if (fresh.length <= 1) return state;
    const base = state.layers.slice(0, state.baseLayers);
    const baseImage = await storeImage(
      this.deps.store,
      { ...state.config, rootfs: { type: 'layers', diff_ids: base.map((l) => l.diffId) }, history: [] },
      base,
      [],
    );
    this.intermediates.add(baseImage.id);
    const store = this.deps.store;
    const layer = await this.withRootfs(baseImage, { readOnly: false }, async (rootfs, cid) => {
      for (const l of fresh) applyLayerDir(store.layerDiffPath(l.diffId), rootfs);
      store.unmountContainerRootfs(cid);
      const upper = join(store.containerDir(cid), 'upper');
      if (!existsSync(upper)) return undefined;
      return commitDirAsLayer(store, this.lease, upper, this.layerOptions('squashed layers'));
    });
    const layers = layer ? [...base, layer] : base;
    const history = [...(state.config.history ?? [])];
    let lastLayerEntry = -1;
    history.forEach((h, i) => {
      if (!h.empty_layer) lastLayerEntry = i;
    });
    let seen = 0;
    const baseEntries = history.filter((h) => !h.empty_layer).length - fresh.length;
    const squashedHistory = history.map((h, i) => {
      if (h.empty_layer) return h;
      seen++;
      if (seen <= baseEntries) return h;
      return i === lastLayerEntry && layer ? h : { ...h, empty_layer: true };
    });
    return {
      ...state,
      layers,
      config: {
        ...state.config,
        rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
        history: squashedHistory,
      },
    };
  }

  private buildArg(name: string): string | undefined {
    const v = this.req.buildArgs?.[name];
    if (v !== undefined) this.usedArgs.add(name);
    return v;
  }

  private reportUnusedArgs(): void {
    const unused = Object.keys(this.req.buildArgs ?? {}).filter(
      (a) => !this.usedArgs.has(a) && !PROXY_ARGS.includes(a.toUpperCase()),
    );
    if (unused.length > 0)
      this.warn(`one or more build args were not consumed: [${unused.sort().join(' ')}]`);
  }

  private removeIntermediates(): void {
    for (const id of this.intermediates) {
      try {
        const rec = this.deps.store.findImage(id);
        if (rec && rec.names.length === 0) this.deps.store.removeImage(id);
      } catch {
        // another build or a container uses it now; gc takes it later
      }
    }
  }

  // ---------------------------------------------------------------- stage graph
  private targetStage(): Stage {
    const stages = this.df.stages;
    if (this.req.target === undefined) return stages[stages.length - 1]!;
    const t = this.req.target.toLowerCase();
    const s = stages.find((st) => st.from.stageName === t);
    if (!s) {
      throw new NotFoundError(
        `target stage "${this.req.target}" could not be found${stages.some((x) => x.from.stageName) ? ` (stages: ${stages.map((x) => x.from.stageName ?? x.index).join(', ')})` : ''}`,
      );
    }
    return s;
  }

  /** A stage named (or numbered) `ref` that comes before stage `before`, if any. */
  private findStage(ref: string, before: number): Stage | undefined {
    const lower = ref.toLowerCase();
    const byName = this.df.stages.find((s) => s.index < before && s.from.stageName === lower);
    if (byName) return byName;
    if (/^\d+$/.test(ref)) {
      const s = this.df.stages[Number(ref)];
      if (s && s.index < before) return s;
      if (s) throw new InvalidArgumentError(`stage ${ref} cannot be used before it is defined`);
    }
    return undefined;
  }

  /** Stages the target needs, found from FROM, COPY --from and RUN --mount from= (meta-args expanded). */
  private neededStages(target: number): number[] {
    const seen = new Set<number>();
    const lookup = (n: string) => this.metaArgs.get(n) ?? this.autoArgs[n];
    const visit = (i: number): void => {
      if (seen.has(i)) return;
      seen.add(i);
      const stage = this.df.stages[i]!;
      const refs: string[] = [];
      try {
        refs.push(expandInstruction(stage.from, lookup, this.escape).image);
      } catch {
        // resolved when the stage runs
      }
      for (const ins of stage.instructions) {
        if ((ins.kind === 'COPY' || ins.kind === 'ADD') && ins.from) refs.push(ins.from);
        if (ins.kind === 'RUN') {
          for (const m of ins.mounts) {
            const from = /(?:^|,)from=([^,]+)/.exec(m)?.[1];
            if (from) refs.push(from);
          }
        }
      }
      for (const r of refs) {
        if (r.includes('$')) continue;
        const s = this.findStage(r, i);
        if (s) visit(s.index);
      }
    };
    visit(target);
    return [...seen].sort((a, b) => a - b);
  }

  private stageResult(i: number): Promise<StageState> {
    let p = this.stageResults.get(i);
    if (!p) {
      p = this.runStage(this.df.stages[i]!);
      this.stageResults.set(i, p);
    }
    return p;
  }

  /** The stage's result as an image (COPY --from and bind mounts need a rootfs). */
  private stageImage(i: number): Promise<ImageRecord> {
    let p = this.stageImages.get(i);
    if (!p) {
      p = this.stageResult(i).then((s) => this.materialize(s));
      this.stageImages.set(i, p);
    }
    return p;
  }

  /** `ref` is a stage name/number (its result image) or an image reference. */
  private async imageFor(ref: string, before: number): Promise<ImageRecord> {
    const stage = this.findStage(ref, before);
    if (stage) return this.stageImage(stage.index);
    return this.deps.resolveImage(ref, { pull: this.req.pull === true });
  }

  // ---------------------------------------------------------------- stages
  private stageLabel(stage: Stage): string {
    return stage.from.stageName ?? `stage-${stage.index}`;
  }

  private async runStage(stage: Stage): Promise<StageState> {
    const total = stage.instructions.length + 1;
    const label = this.stageLabel(stage);
    const fromId = ++this.stepCounter;
    const from = expandInstruction(stage.from, (n) => this.metaArgs.get(n) ?? this.autoArgs[n], this.escape);
    this.emit({ type: 'step', id: fromId, stage: label, index: 1, total, text: `FROM ${from.image}` });
    const started = Date.now();
    const state = await this.baseState(from, stage.index);
    this.emit({ type: 'done', id: fromId, ms: Date.now() - started });
    // ONBUILD triggers of the base run first, then are dropped from the new image
    const triggers = state.config.config?.OnBuild ?? [];
    if (state.config.config) state.config.config.OnBuild = null;
    const instructions: Instruction[] = [];
    for (const t of triggers) {
      const parsed = parseDockerfile(`FROM scratch\n${t}\n`, { file: `ONBUILD of ${from.image}` });
      instructions.push(...(parsed.stages[0]?.instructions ?? []));
    }
    instructions.push(...stage.instructions);
    // the base's triggers count as steps of this stage
    const steps = instructions.length + 1;
    let index = 1;
    for (const ins of instructions) {
      index++;
      if (this.req.signal?.aborted) throw this.req.signal.reason ?? new Error('build interrupted');
      await this.step(stage, state, ins, { label, index, total: steps });
    }
    return state;
  }

  private async baseState(from: FromInstruction, stageIndex: number): Promise<StageState> {
    const fresh = (config: ImageConfig, layers: ImageLayerRef[], chain: string): StageState => ({
      config,
      layers,
      chain,
      shell: config.config?.Shell?.length ? [...config.config.Shell] : [...DEFAULT_SHELL],
      args: new Map(),
      cmdSet: false,
      baseLayers: layers.length,
    });
    if (from.image.toLowerCase() === SCRATCH) {
      const p = hostPlatform();
      return fresh(
        {
          architecture: p.architecture,
          os: p.os,
          ...(p.variant ? { variant: p.variant } : {}),
          config: { Env: [DEFAULT_PATH] },
          rootfs: { type: 'layers', diff_ids: [] },
          history: [],
        },
        [],
        sha('scratch'),
      );
    }
    const stage = this.findStage(from.image, stageIndex);
    if (stage) {
      const base = await this.stageResult(stage.index);
      return {
        ...fresh(structuredClone(base.config), [...base.layers], base.chain),
        shell: [...base.shell],
        baseLayers: base.baseLayers,
      };
    }
    const image = await this.deps.resolveImage(from.image, {
      pull: this.req.pull === true,
      ...(from.platform ? { platform: from.platform } : {}),
    });
    const config = structuredClone(await readImageConfig(this.deps.store, image));
    config.config ??= {};
    if (!(config.config.Env ?? []).some((e) => e.startsWith('PATH='))) {
      config.config.Env = [DEFAULT_PATH, ...(config.config.Env ?? [])];
    }
    for (const key of ['container', 'container_config', 'docker_version'] as const) {
      delete (config as unknown as Record<string, unknown>)[key];
    }
    return fresh(config, [...image.layerBlobs], sha('image', image.id));
  }

  // ---------------------------------------------------------------- steps
  private envMap(state: StageState): Map<string, string> {
    const m = new Map<string, string>();
    for (const e of state.config.config?.Env ?? []) {
      const eq = e.indexOf('=');
      if (eq > 0) m.set(e.slice(0, eq), e.slice(eq + 1));
    }
    return m;
  }

  private lookupFor(state: StageState): (name: string) => string | undefined {
    const env = this.envMap(state);
    return (name) => env.get(name) ?? state.args.get(name);
  }

  private async step(
    stage: Stage,
    state: StageState,
    raw: Instruction,
    pos: { label: string; index: number; total: number },
  ): Promise<void> {
    const id = ++this.stepCounter;
    const ins = raw.kind === 'ONBUILD' ? raw : expandInstruction(raw, this.lookupFor(state), this.escape);
    const text = this.stepText(ins);
    this.emit({ type: 'step', id, stage: pos.label, index: pos.index, total: pos.total, text });
    const started = Date.now();
    try {
      const cc = (state.config.config ??= {});
      switch (ins.kind) {
        case 'RUN':
          await this.layerStep(state, id, text, this.runKey(state, ins), () =>
            this.execRun(stage, state, ins, id),
          );
          break;
        case 'COPY':
        case 'ADD':
          await this.layerStep(state, id, text, await this.copyKey(stage, state, ins), () =>
            this.execCopy(stage, state, ins),
          );
          break;
        case 'ARG':
          this.declareArgs(state, ins);
          break;
        case 'ENV': {
          const env = this.envMap(state);
          for (const { key, value } of ins.pairs) env.set(key, value);
          cc.Env = [...env].map(([k, v]) => `${k}=${v}`);
          this.metaStep(state, text);
          break;
        }
        case 'LABEL':
          cc.Labels = { ...(cc.Labels ?? {}) };
          for (const { key, value } of ins.pairs) cc.Labels[key] = value;
          this.metaStep(state, text);
          break;
        case 'CMD':
          cc.Cmd = ins.command.form === 'exec' ? ins.command.args : [...state.shell, ins.command.text];
          state.cmdSet = true;
          this.metaStep(state, text);
          break;
        case 'ENTRYPOINT':
          cc.Entrypoint = ins.command.form === 'exec' ? ins.command.args : [...state.shell, ins.command.text];
          // docker: an ENTRYPOINT drops a CMD inherited from the base image
          if (!state.cmdSet) cc.Cmd = null;
          this.metaStep(state, text);
          break;
        case 'SHELL':
          state.shell = [...ins.args];
          cc.Shell = [...ins.args];
          this.metaStep(state, text);
          break;
        case 'EXPOSE': {
          cc.ExposedPorts = { ...(cc.ExposedPorts ?? {}) };
          for (const p of ins.ports) for (const key of exposedPorts(p)) cc.ExposedPorts[key] = {};
          this.metaStep(state, text);
          break;
        }
        case 'VOLUME':
          cc.Volumes = { ...(cc.Volumes ?? {}) };
          for (const p of ins.paths) {
            if (p.trim() === '')
              throw new InvalidArgumentError('VOLUME specified can not be an empty string');
            cc.Volumes[p] = {};
          }
          this.metaStep(state, text);
          break;
        case 'USER':
          cc.User = ins.user;
          this.metaStep(state, text);
          break;
        case 'WORKDIR':
          cc.WorkingDir = posix.resolve(cc.WorkingDir || '/', ins.path);
          this.metaStep(state, text);
          break;
        case 'STOPSIGNAL':
          cc.StopSignal = ins.signal;
          this.metaStep(state, text);
          break;
        case 'MAINTAINER':
          state.config.author = ins.name;
          this.metaStep(state, text);
          break;
        case 'HEALTHCHECK':
          cc.Healthcheck = {
            Test: ins.test,
            ...(ins.interval !== undefined ? { Interval: ins.interval } : {}),
            ...(ins.timeout !== undefined ? { Timeout: ins.timeout } : {}),
            ...(ins.startPeriod !== undefined ? { StartPeriod: ins.startPeriod } : {}),
            ...(ins.startInterval !== undefined ? { StartInterval: ins.startInterval } : {}),
            ...(ins.retries !== undefined ? { Retries: ins.retries } : {}),
          } as ContainerConfig['Healthcheck'];
          this.metaStep(state, text);
          break;
        case 'ONBUILD':
          cc.OnBuild = [...(cc.OnBuild ?? []), ins.trigger];
          this.metaStep(state, text);
          break;
        case 'FROM':
          throw new InvalidArgumentError('FROM inside a stage');
      }
      this.emit({ type: 'done', id, ms: Date.now() - started });
    } catch (err) {
      const where = `${this.req.dockerfile.name}:${raw.loc.line}`;
      // a failure in a stage this step waited for is reported once, where it happened
      if (err instanceof BuildFailedError && err.message.startsWith(`${this.req.dockerfile.name}:`))
        throw err;
      const message = `[${pos.label} ${pos.index}/${pos.total}] ${text}: ${describeError(err)}`;
      this.emit({ type: 'failed', id, message, output: outputTails.get(err as object) ?? [] });
      throw new BuildFailedError(`${where}: ${message}`, {
        cause: err,
        ...(err instanceof BuildFailedError && err.exitCode !== undefined ? { exitCode: err.exitCode } : {}),
      });
    }
  }

  private stepText(ins: Instruction): string {
    const t = ins.original.replace(/\s+/g, ' ').trim();
    return t.length > 200 ? `${t.slice(0, 197)}...` : t;
  }

  private declareArgs(state: StageState, ins: ArgInstruction): void {
    for (const { name, defaultValue } of ins.args) {
      const value =
        this.buildArg(name) ??
        defaultValue ??
        (this.metaArgs.has(name) ? this.metaArgs.get(name) : undefined) ??
        this.autoArgs[name];
      state.args.set(name, value);
      state.chain = sha(state.chain, 'ARG', name, value === undefined ? '\u0001' : value);
    }
  }

  private metaStep(state: StageState, text: string): void {
    state.chain = sha(state.chain, 'META', text);
    state.config.history = [
      ...(state.config.history ?? []),
      { created: this.created, created_by: text, comment: HISTORY_COMMENT, empty_layer: true },
    ];
  }

  /** Run a layer-producing step through the cache. */
  private async layerStep(
    state: StageState,
    id: number,
    text: string,
    key: string,
    exec: () => Promise<ImageLayerRef | undefined>,
  ): Promise<void> {
    const cached = this.req.noCache ? undefined : await this.cacheHit(key);
    let layer: ImageLayerRef | undefined;
    if (cached) {
      layer = cached.layer;
      this.emit({ type: 'cached', id });
    } else {
      const previous = this.req.noCache ? this.deps.store.getBuildCache(key) : undefined;
      layer = await exec();
      if (previous && previous.layer?.diffId !== layer?.diffId) {
        // same inputs, different output: the step itself is not deterministic
        this.warn(
          `step "${text}" is not reproducible: with the same inputs it made layer ${layer?.diffId.slice(7, 19) ?? '(none)'}, before ${previous.layer?.diffId.slice(7, 19) ?? '(none)'}; compare the images with \`berth image diff\``,
        );
      }
      this.deps.store.putBuildCache({ key, createdBy: text, ...(layer ? { layer } : {}) });
    }
    state.chain = key;
    const history: HistoryEntry = { created: this.created, created_by: text, comment: HISTORY_COMMENT };
    if (layer) {
      state.layers.push(layer);
      state.config.rootfs = { type: 'layers', diff_ids: [...state.config.rootfs.diff_ids, layer.diffId] };
    } else {
      history.empty_layer = true;
    }
    state.config.history = [...(state.config.history ?? []), history];
  }

  /**
   * A cache entry is used only if its layer is whole: the layer dir is in the store and the
   * blob hashes to its digest. Anything else is a poisoned entry: dropped and rebuilt.
   */
  private async cacheHit(key: string): Promise<{ layer?: ImageLayerRef } | undefined> {
    const store = this.deps.store;
    const entry = store.getBuildCache(key);
    if (!entry) return undefined;
    if (!entry.layer) return {};
    const l = entry.layer;
    this.lease.addLayer(l.diffId);
    this.lease.addBlob(l.blobDigest);
    const rec = store.getLayer(l.diffId);
    let ok = rec !== undefined && existsSync(rec.path) && store.hasBlob(l.blobDigest);
    if (ok) {
      const h = createHash('sha256');
      let size = 0;
      try {
        for await (const c of createReadStream(store.blobPath(l.blobDigest))) {
          h.update(c as Buffer);
          size += (c as Buffer).length;
        }
        ok = `sha256:${h.digest('hex')}` === l.blobDigest && size === l.compressedSize;
      } catch {
        ok = false;
      }
    }
    if (!ok) {
      store.dropBuildCache(key);
      this.warn(
        `cache entry for a step was damaged (layer ${l.diffId.slice(7, 19)} missing or corrupt): rebuilding it`,
      );
      return undefined;
    }
    return { layer: l };
  }

  // ---------------------------------------------------------------- images for containers
  /** Store `state` as an (untagged, intermediate) image, so a container can be made from it. */
  private async materialize(state: StageState): Promise<ImageRecord> {
    const config: ImageConfig = { ...state.config, created: this.created };
    const image = await storeImage(this.deps.store, config, state.layers, []);
    if (image.names.length === 0) this.intermediates.add(image.id);
    return image;
  }

  /** A never-started container over `image`, its rootfs mounted; removed afterwards. */
  private async withRootfs<T>(
    image: ImageRecord,
    options: { readOnly: boolean },
    fn: (rootfs: string, containerId: string) => Promise<T>,
  ): Promise<T> {
    const containers = this.deps.containers;
    const rec = await containers.create(image, `berth-build-${this.buildId}`, {
      image: image.id,
      command: ['/nonexistent-build-placeholder'],
      entrypoint: '',
      labels: { 'berth.build': this.buildId },
    });
    try {
      const rootfs = this.deps.store.mountContainerRootfs(rec.id, image.layers, {
        readOnly: options.readOnly,
      });
      try {
        return await fn(rootfs, rec.id);
      } finally {
        this.deps.store.unmountContainerRootfs(rec.id);
      }
    } finally {
      await containers.remove(rec.id, { force: true }).catch(() => {});
    }
  }

  private layerOptions(step: string) {
    const secrets = (this.req.secrets ?? []).map((s) => ({ id: s.id, value: s.value }));
    return {
      sourceDateEpoch: this.epoch,
      scan: async (tar: AsyncIterable<Buffer>) => {
        const found = await scanLayerForSecrets(tar, { secrets });
        for (const f of found) {
          const finding = { step, path: f.path, kind: f.kind, detail: f.detail };
          this.findings.push(finding);
          this.warn(`possible secret in layer of "${step}": /${f.path} (${f.kind}: ${f.detail})`);
        }
        if (found.length > 0 && this.req.strictSecrets) {
          throw new BuildFailedError(
            `--strict-secrets: the layer of "${step}" contains ${found.length === 1 ? 'a secret' : `${found.length} secrets`} (first: /${found[0]!.path}, ${found[0]!.kind})`,
          );
        }
      },
    };
  }

  // ---------------------------------------------------------------- RUN
  private runMounts(state: StageState, ins: RunInstruction): RunMount[] {
    const workdir = state.config.config?.WorkingDir || '/';
    return ins.mounts.map((spec) => parseRunMount(spec, { workdir }));
  }

  private runKey(state: StageState, ins: RunInstruction): string {
    // mounts are part of the text; secret *values* never are, nor cache mount contents
    const argsEnv = [...state.args].filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${v}`);
    return sha(
      state.chain,
      'RUN',
      commandText(ins.command),
      JSON.stringify(ins.heredocs),
      JSON.stringify(ins.mounts),
      ins.network ?? this.req.network ?? 'host',
      JSON.stringify(argsEnv),
    );
  }

  private runArgs(
    state: StageState,
    ins: RunInstruction,
    heredocHost: string,
  ): { args: string[]; mounts: MountSpec[] } {
    const c = ins.command;
    if (c.form === 'exec') return { args: c.args, mounts: [] };
    if (ins.heredocs.length === 0) return { args: [...state.shell, c.text], mounts: [] };
    const only = ins.heredocs.length === 1 && /^<<-?(["']?)[^\s"']+\1$/.test(c.text.trim());
    if (only) {
      const doc = ins.heredocs[0]!;
      if (doc.content.startsWith('#!')) {
        // a script with its own interpreter: run the file itself, as BuildKit does
        writeFileSync(heredocHost, doc.content, { mode: 0o755 });
        const target = `/dev/pipes-berth/${doc.name}`;
        return {
          args: [target],
          mounts: [{ type: 'bind', source: heredocHost, target, readOnly: true, options: [] }],
        };
      }
      return { args: [...state.shell, doc.content], mounts: [] };
    }
    // heredocs used as shell input: hand the shell the command and the bodies together
    let script = c.text;
    for (const d of ins.heredocs) script += `\n${d.content}${d.name}`;
    return { args: [...state.shell, script], mounts: [] };
  }

  private async execRun(
    stage: Stage,
    state: StageState,
    ins: RunInstruction,
    id: number,
  ): Promise<ImageLayerRef | undefined> {
    const store = this.deps.store;
    const containers = this.deps.containers;
    const image = await this.materialize(state);
    const mounts: MountSpec[] = [];
    const locks: FileLock[] = [];
    const stubTargets = [...RUNTIME_MOUNT_POINTS];
    const release: (() => Promise<void>)[] = [];
    const stepDir = join(this.secretDir, `step-${id}`);
    mkdirSync(stepDir, { recursive: true, mode: 0o700 });
    const { args, mounts: extra } = this.runArgs(state, ins, join(stepDir, 'heredoc'));
    mounts.push(...extra);
    stubTargets.push(...extra.map((m) => m.target));
    const env = this.envMap(state);
    const runEnv = [...state.args]
      .filter(([k, v]) => v !== undefined && !env.has(k))
      .map(([k, v]) => `${k}=${v}`);
    try {
      for (const m of this.runMounts(state, ins)) {
        mounts.push(await this.runMount(stage, m, { stepDir, locks, release, stubTargets }));
      }
      const network = ins.network ?? this.req.network ?? 'host';
      if (network !== 'none' && network !== 'host' && network !== 'default') {
        throw new UnsupportedError(`RUN --network=${network} is not supported: use none or host`);
      }
      const rec = await containers.create(image, `berth-build-${this.buildId}`, {
        image: image.id,
        command: args,
        entrypoint: '',
        env: runEnv,
        mounts,
        network: network === 'none' ? 'none' : 'host',
        hostname: 'buildkitsandbox',
        labels: { 'berth.build': this.buildId },
        ...(state.config.config?.User ? { user: state.config.config.User } : {}),
        ...(this.req.runtime ? { runtime: this.req.runtime } : {}),
      });
      const lowers = [...image.layers].reverse().map((d) => store.layerDiffPath(d));
      try {
        const tail: string[] = [];
        const code = await this.runAttached(rec.id, id, tail);
        if (code !== 0) {
          const cmd = args.join(' ');
          const err = new BuildFailedError(
            `process "${cmd.length > 120 ? `${cmd.slice(0, 117)}...` : cmd}" did not complete successfully: exit code: ${code}`,
            { exitCode: code },
          );
          outputTails.set(err, [...tail]);
          throw err;
        }
        const upper = join(store.containerDir(rec.id), 'upper');
        if (!existsSync(upper)) return undefined;
        removeMountStubs(upper, lowers, stubTargets);
        return await commitDirAsLayer(store, this.lease, upper, this.layerOptions(this.stepText(ins)));
      } finally {
        await containers.remove(rec.id, { force: true }).catch(() => {});
      }
    } finally {
      for (const l of locks) l.release();
      for (const r of release) await r().catch(() => {});
      rmSync(stepDir, { recursive: true, force: true });
    }
  }

  /** Start the container, stream its output as events until it exits; its exit code. */
  private async runAttached(containerId: string, stepId: number, tail: string[]): Promise<number> {
    const containers = this.deps.containers;
    const onAbort = () => {
      containers.kill(containerId, 'SIGKILL').catch(() => {});
    };
    this.req.signal?.addEventListener('abort', onAbort);
    try {
      await containers.start(containerId, { callerCleansUp: true });
      const ac = new AbortController();
      const waiting = containers.wait(containerId).finally(() => ac.abort());
      waiting.catch(() => {});
      const partial: Record<string, string> = { stdout: '', stderr: '' };
      for await (const e of containers.logs(containerId, { follow: true, signal: ac.signal })) {
        const text = e.line.toString('utf8');
        if (e.partial) {
          partial[e.stream] += text;
          continue;
        }
        const line = partial[e.stream] + text;
        partial[e.stream] = '';
        tail.push(line);
        if (tail.length > 10) tail.shift();
        this.emit({ type: 'output', id: stepId, stream: e.stream === 'stderr' ? 'stderr' : 'stdout', line });
      }
      for (const s of ['stdout', 'stderr'] as const) {
        if (partial[s]) {
          tail.push(partial[s]);
          this.emit({ type: 'output', id: stepId, stream: s, line: partial[s] });
        }
      }
      return await waiting;
    } finally {
      this.req.signal?.removeEventListener('abort', onAbort);
    }
  }

  private async runMount(
    stage: Stage,
    m: RunMount,
    ctx: { stepDir: string; locks: FileLock[]; release: (() => Promise<void>)[]; stubTargets: string[] },
  ): Promise<MountSpec> {
    switch (m.type) {
      case 'secret': {
        if (m.env) {
          throw new UnsupportedError(
            `RUN --mount=type=secret,env=${m.env}: secrets as environment variables are not supported (they would be stored with the container); mount the file instead`,
          );
        }
        const id = m.id ?? posix.basename(m.target ?? '');
        const secret = (this.req.secrets ?? []).find((s) => s.id === id);
        const target = m.target ?? `/run/secrets/${id}`;
        if (!secret) {
          if (m.required)
            throw new NotFoundError(`secret "${id}" not found: pass it with --secret id=${id},src=FILE`);
          // an optional secret that was not given: BuildKit mounts nothing
          return {
            type: 'tmpfs',
            source: '',
            target: `/run/berth-absent-secret-${randomBytes(4).toString('hex')}`,
            readOnly: true,
            options: [],
          };
        }
        const file = join(
          ctx.stepDir,
          `secret-${createHash('sha256').update(id).digest('hex').slice(0, 16)}`,
        );
        writeFileSync(file, secret.value, { mode: 0o600 });
        chownSync(file, m.uid, m.gid);
        chmodSync(file, m.mode);
        ctx.stubTargets.push(target);
        return { type: 'bind', source: file, target, readOnly: true, options: [] };
      }
      case 'tmpfs':
        ctx.stubTargets.push(m.target);
        return {
          type: 'tmpfs',
          source: '',
          target: m.target,
          readOnly: false,
          options: m.size !== undefined ? [`size=${m.size}`] : [],
        };
      case 'cache': {
        if (m.from || m.source) {
          throw new UnsupportedError('RUN --mount=type=cache with from= or source= is not supported yet');
        }
        const id = m.id ?? m.target;
        const dir = join(
          this.deps.store.root,
          'build-cache-mounts',
          createHash('sha256').update(id).digest('hex'),
        );
        if (!existsSync(dir)) {
          mkdirSync(dir, { recursive: true, mode: m.mode ?? 0o755 });
          chownSync(dir, m.uid ?? 0, m.gid ?? 0);
        }
        if (m.sharing !== 'shared') {
          // locked (and private, which berth serializes the same way): one RUN at a time
          ctx.locks.push(
            await acquireFileLock(`${dir}.lock`, { what: `cache mount "${id}"`, timeoutMs: 3600_000 }),
          );
        }
        ctx.stubTargets.push(m.target);
        return { type: 'bind', source: dir, target: m.target, readOnly: m.readonly, options: [] };
      }
      case 'bind': {
        if (m.readwrite) {
          throw new UnsupportedError(
            'RUN --mount=type=bind,rw is not supported: bind mounts are read-only in berth',
          );
        }
        ctx.stubTargets.push(m.target);
        if (m.from) {
          const image = await this.imageFor(m.from, stage.index);
          // keep the image's rootfs mounted for the RUN; released afterwards
          let resolveDone!: () => void;
          const done = new Promise<void>((r) => {
            resolveDone = r;
          });
          const mounted = new Promise<string>((resolveMount, reject) => {
            this.withRootfs(image, { readOnly: true }, async (rootfs) => {
              resolveMount(rootfs);
              await done;
            }).catch(reject);
          });
          const rootfs = await mounted;
          ctx.release.push(async () => resolveDone());
          return {
            type: 'bind',
            source: resolveInRoot(rootfs, m.source ?? '/'),
            target: m.target,
            readOnly: true,
            options: [],
          };
        }
        // context sources: resolved inside the context (CVE-2024-23651/23652 class)
        const source = resolveInRoot(this.context.root, m.source ?? '/');
        if (!existsSync(source))
          throw new NotFoundError(`RUN --mount source "${m.source}" not found in the build context`);
        return { type: 'bind', source, target: m.target, readOnly: true, options: [] };
      }
      case 'ssh':
        throw new UnsupportedError(
          'RUN --mount=type=ssh is not supported: berth has no SSH agent forwarding',
        );
      default:
        throw new InvalidArgumentError(`unknown RUN --mount type in "${JSON.stringify(m)}"`);
    }
  }

  // ---------------------------------------------------------------- COPY / ADD
  private chmodOf(ins: CopyInstruction): number | undefined {
    if (ins.chmod === undefined) return undefined;
    if (!/^[0-7]{3,4}$/.test(ins.chmod)) {
      throw new InvalidArgumentError(`invalid --chmod "${ins.chmod}": expected an octal mode such as 0755`);
    }
    return Number.parseInt(ins.chmod, 8);
  }

  private isUrl(s: string): boolean {
    return /^https?:\/\//i.test(s);
  }

  private async copyKey(stage: Stage, state: StageState, ins: CopyInstruction): Promise<string> {
    const parts = [state.chain, ins.kind, JSON.stringify({ ...ins, loc: undefined, original: undefined })];
    this.chmodOf(ins);
    const local = ins.sources.filter((s) => !s.startsWith('<<') && !this.isUrl(s));
    if (ins.from) {
      const image = await this.imageFor(ins.from, stage.index);
      parts.push('from', image.id);
    } else if (local.length > 0) {
      const entries = await this.resolveContextSources(local, ins);
      parts.push('context', await this.context.sourcesDigest(entries, { includeOwners: false }));
    }
    if (ins.kind === 'ADD') {
      for (const u of ins.sources.filter((s) => this.isUrl(s))) {
        if (!ins.checksum) {
          // without a checksum the content is only known by downloading it
          const body = await this.download(u);
          parts.push('url', u, createHash('sha256').update(body).digest('hex'));
        } else parts.push('url', u, ins.checksum);
      }
    }
    return sha(...parts);
  }

  private async resolveContextSources(patterns: string[], ins: CopyInstruction): Promise<ContextEntry[]> {
    const entries = await this.context.resolveSources(patterns);
    if (ins.excludes.length === 0) return entries;
    const ex = new IgnoreMatcher(ins.excludes);
    return entries.filter((e) => !ex.matches(e.path));
  }

  private readonly downloads = new Map<string, Promise<Buffer>>();
  private download(url: string): Promise<Buffer> {
    let p = this.downloads.get(url);
    if (!p) {
      p = (async () => {
        const res = await fetch(url, { redirect: 'follow', signal: this.req.signal ?? null });
        if (!res.ok) throw new NotFoundError(`ADD ${url}: HTTP ${res.status}`);
        const limit = 1024 * 1024 * 1024;
        const len = Number(res.headers.get('content-length') ?? 0);
        if (len > limit) throw new InvalidArgumentError(`ADD ${url}: ${len} bytes is over the 1 GiB limit`);
        return Buffer.from(await res.arrayBuffer());
      })();
      this.downloads.set(url, p);
    }
    return p;
  }

  private async execCopy(
    stage: Stage,
    state: StageState,
    ins: CopyInstruction,
  ): Promise<ImageLayerRef | undefined> {
    const store = this.deps.store;
    const image = await this.materialize(state);
    const workdir = state.config.config?.WorkingDir || '/';
    const destRaw = ins.dest;
    const dest = posix.resolve(workdir, destRaw);
    const destIsDirSyntax = destRaw.endsWith('/') || destRaw === '.' || destRaw.endsWith('/.');
    const chmod = this.chmodOf(ins);
    const sourceCount = ins.sources.length;
    const hasWildcard = ins.sources.some((src) => !src.startsWith('<<') && hasGlobMeta(src));

    const fromImage = ins.from ? await this.imageFor(ins.from, stage.index) : undefined;

    const produce = async (rootfs: string, fromRoot: string | undefined): Promise<void> => {
      const writer = new RootfsWriter(rootfs);
      const owner = ins.chown ? resolveUser(rootfs, ins.chown) : { uid: 0, gid: 0 };
      const opts = {
        owner: { uid: owner.uid, gid: owner.gid },
        mtime: this.epoch,
        ...(chmod !== undefined ? { chmod } : {}),
      };
      // gather the top-level sources: [name, items]
      // inline content (heredocs, downloads) has no host file: `content` carries it
      const tops: { name: string; items: CopyItem[]; content?: Buffer }[] = [];
      for (const src of ins.sources) {
        const heredoc = src.startsWith('<<') ? parseHeredocWord(src) : undefined;
        if (heredoc) {
          const name = heredoc.name;
          const doc = ins.heredocs.find((d) => d.name === name);
          if (!doc) throw new InvalidArgumentError(`${ins.kind}: heredoc "${name}" has no body`);
          tops.push({
            name,
            items: [{ hostPath: '', rel: '', type: 'file', mode: 0o644 }],
            content: Buffer.from(doc.content),
          });
          continue;
        }
        if (this.isUrl(src)) {
          if (ins.kind !== 'ADD')
            throw new InvalidArgumentError(`COPY cannot take a URL ("${src}"): use ADD`);
          const body = await this.download(src);
          if (ins.checksum) {
            const got = `sha256:${createHash('sha256').update(body).digest('hex')}`;
            if (got !== ins.checksum)
              throw new InvalidArgumentError(`ADD ${src}: checksum ${got} does not match ${ins.checksum}`);
          }
          const base = posix.basename(new URL(src).pathname) || 'index.html';
          tops.push({
            name: base,
            items: [{ hostPath: '', rel: '', type: 'file', mode: 0o600 }],
            content: body,
          });
          continue;
        }
        if (fromRoot !== undefined) {
          const matched = globInRoot(fromRoot, src);
          if (matched.length === 0)
            throw new NotFoundError(`${ins.kind} --from=${ins.from}: "${src}" not found`);
          for (const host of matched) tops.push({ name: posix.basename(host), items: walkHost(host) });
          continue;
        }
        const entries = await this.resolveContextSources([src], ins);
        const excluded = ins.excludes.length > 0 ? new IgnoreMatcher(ins.excludes) : undefined;
        for (const e of entries) {
          const items: CopyItem[] = [];
          const prefix = e.path;
          for (const sub of await this.context.walk(e)) {
            if (excluded?.matches(sub.path)) continue;
            const rel =
              sub.path === prefix
                ? ''
                : prefix === '' || prefix === '.'
                  ? sub.path
                  : sub.path.slice(prefix.length + 1);
            items.push({
              hostPath: this.context.hostPath(sub),
              rel,
              type: sub.type,
              mode: sub.mode,
              ...(sub.linkTarget !== undefined ? { linkTarget: sub.linkTarget } : {}),
            });
          }
          tops.push({ name: ins.parents ? e.path : posix.basename(e.path) || '.', items });
        }
      }
      const many = sourceCount > 1 || hasWildcard || tops.length > 1;
      if (many && !destIsDirSyntax && !writer.isDir(dest)) {
        throw new InvalidArgumentError(
          `when using ${ins.kind} with more than one source file, the destination must be a directory and end with a /`,
        );
      }
      for (const top of tops) {
        const first = top.items[0]!;
        if (top.content !== undefined) {
          const target = destIsDirSyntax || many || writer.isDir(dest) ? posix.join(dest, top.name) : dest;
          writer.writeFile(target, top.content, first.mode, opts);
          continue;
        }
        if (first.type === 'dir') {
          const base = ins.parents ? posix.join(dest, top.name) : dest;
          writer.ensureDir(base, { owner: opts.owner, mtime: this.epoch });
          for (const item of top.items) {
            if (item.rel === '') continue;
            writer.copyItem(item, posix.join(base, item.rel), opts);
          }
          continue;
        }
        const target = destIsDirSyntax || many || writer.isDir(dest) ? posix.join(dest, top.name) : dest;
        if (
          ins.kind === 'ADD' &&
          first.type === 'file' &&
          fromRoot === undefined &&
          (await isArchive(first.hostPath))
        ) {
          const dir = writer.ensureDir(dest, { owner: opts.owner, mtime: this.epoch });
          await extractArchive(first.hostPath, dir);
          continue;
        }
        writer.copyItem(first, target, opts);
      }
    };

    return this.withRootfs(image, { readOnly: false }, async (rootfs, cid) => {
      if (fromImage) {
        await this.withRootfs(fromImage, { readOnly: true }, (fromRoot) => produce(rootfs, fromRoot));
      } else {
        await produce(rootfs, undefined);
      }
      store.unmountContainerRootfs(cid);
      const upper = join(store.containerDir(cid), 'upper');
      if (!existsSync(upper)) return undefined;
      return commitDirAsLayer(store, this.lease, upper, this.layerOptions(this.stepText(ins)));
    });
  }
}

/** `EXPOSE 80 443/udp 8000-8002` → docker's "80/tcp" keys. */
function exposedPorts(spec: string): string[] {
  const m = /^(\d+)(?:-(\d+))?(?:\/(tcp|udp|sctp))?$/i.exec(spec.trim());
  if (!m) throw new InvalidArgumentError(`invalid EXPOSE port "${spec}"`);
  const lo = Number(m[1]);
  const hi = m[2] ? Number(m[2]) : lo;
  const proto = (m[3] ?? 'tcp').toLowerCase();
  if (lo < 1 || hi > 65535 || hi < lo) throw new InvalidArgumentError(`invalid EXPOSE port range "${spec}"`);
  if (hi - lo > 10000) throw new InvalidArgumentError(`EXPOSE range "${spec}" is too large`);
  const out: string[] = [];
  for (let p = lo; p <= hi; p++) out.push(`${p}/${proto}`);
  return out;
}

/** Paths in another image's rootfs matching `pattern` (wildcards per component). */
function globInRoot(root: string, pattern: string): string[] {
  const parts = pattern.split('/').filter((p) => p !== '' && p !== '.');
  if (!parts.some(hasGlobMeta)) {
    const host = resolveInRoot(root, pattern);
    return exists(host) ? [host] : [];
  }
  let current = [''];
  for (const part of parts) {
    const next: string[] = [];
    for (const base of current) {
      if (!hasGlobMeta(part)) {
        next.push(`${base}/${part}`);
        continue;
      }
      const glob = compileGlob(part, { what: 'COPY --from source' });
      const dir = resolveInRoot(root, base || '/');
      let names: string[] = [];
      try {
        names = readdirSync(dir);
      } catch {
        // not a directory in that image: nothing matches below it
      }
      for (const n of names.sort()) if (glob.test(n)) next.push(`${base}/${n}`);
    }
    current = next;
  }
  return current.map((p) => resolveInRoot(root, p)).filter(exists);
}

/** Present, dangling symlinks included (a COPY copies the link itself). */
function exists(host: string): boolean {
  return lstatSync(host, { throwIfNoEntry: false }) !== undefined;
}

/** Decompressors ADD runs for the formats Node has no codec for, by their magic bytes. */
const EXTERNAL_CODECS: { magic: Buffer; program: string }[] = [
  { magic: Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]), program: 'xz' },
  { magic: Buffer.from('BZh', 'latin1'), program: 'bzip2' },
];

function externalCodec(head: Buffer): string | undefined {
  return EXTERNAL_CODECS.find((c) => head.subarray(0, c.magic.length).equals(c.magic))?.program;
}

/** A tar, plain or compressed (gzip, zstd, xz, bzip2); docker copies any other file as it is. */
async function isArchive(path: string): Promise<boolean> {
  const fd = await import('node:fs/promises').then((m) => m.open(path, 'r'));
  const isTar = (b: Buffer) => b.length >= 262 && b.subarray(257, 262).toString('latin1') === 'ustar';
  try {
    const buf = Buffer.alloc(64 * 1024);
    const { bytesRead } = await fd.read(buf, 0, buf.length, 0);
    const head = buf.subarray(0, bytesRead);
    const program = externalCodec(head);
    if (program) {
      // the head alone: the decompressor complains about the cut but prints what it decoded
      const out = spawnSync(program, ['-dc'], { input: head, maxBuffer: 1024 * 1024 });
      return isTar(out.stdout ?? Buffer.alloc(0));
    }
    switch (sniffCompression(head)) {
      case 'gzip':
        try {
          return isTar(gunzipSync(head, { finishFlush: zlibConstants.Z_SYNC_FLUSH }));
        } catch {
          return false;
        }
      case 'zstd':
        return true;
      default:
        return isTar(head);
    }
  } finally {
    await fd.close();
  }
}

/** ADD's auto-extraction: the same checked unpacker as layers (no escapes, no link traversal). */
async function extractArchive(path: string, dir: string): Promise<void> {
  const head = Buffer.alloc(8);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, head, 0, head.length, 0);
  } finally {
    closeSync(fd);
  }
  const program = externalCodec(head);
  if (!program) {
    await unpackLayer(createReadStream(path), dir, { compression: 'auto' });
    return;
  }
  const child = spawn(program, ['-dc', path], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<number>((resolveExit) => child.on('close', (code) => resolveExit(code ?? 1)));
  try {
    await unpackLayer(child.stdout, dir, { compression: 'none' });
  } finally {
    child.kill();
  }
  const code = await exited;
  if (code !== 0 && code !== null && stderr.trim()) {
    throw new InvalidArgumentError(
      `ADD: ${program} could not decompress "${posix.basename(path)}": ${stderr.trim()}`,
    );
  }
}
