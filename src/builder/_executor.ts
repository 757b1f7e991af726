// The build executor: stages form a graph, each stage runs its instructions in order, and the
// state between steps is an image config plus a layer list. RUN runs in a real container
// (container/) whose upper dir becomes the layer; COPY/ADD write into a mounted rootfs with no
// process in it; metadata instructions only change the config. Every layer step has a cache key
// chained from the parent state, and its result is recorded in the store's build cache.
// The parts live beside it: _stage-graph (which stages run), _cache-keys (keys and hits), _run
// (RUN), _copy and _add (COPY/ADD, URL downloads, archives), _squash (--squash).

import { rmSync } from 'node:fs';
import { posix } from 'node:path';
import { BuildFailedError, describeError, InterruptedError, InvalidArgumentError } from '../errors/index.js';
import { readImageConfig, storeImage } from '../image/index.js';
import { type ContainerConfig, type Digest, hostPlatform, type ImageConfig } from '../oci/index.js';
import type { ImageLayerRef, ImageRecord, Lease } from '../store/index.js';
import { acquireFileLock } from '../util/index.js';
import type { Downloaded } from './_add.js';
import type { ArgInstruction, Dockerfile, FromInstruction, Instruction, Stage } from './_ast.js';
import {
  BUILD_ENTITLEMENTS,
  type BuildDeps,
  type BuildRequest,
  type BuildResult,
  DEFAULT_PATH,
  DEFAULT_SHELL,
  HISTORY_COMMENT,
  outputTails,
  PROXY_ARGS,
  SCRATCH,
  type StageState,
  sha,
} from './_build-types.js';
import { copyKey, layerStep, runKey } from './_cache-keys.js';
import { BUILD_LABEL, buildSecretDir, sweepDeadBuilds } from './_cleanup.js';
import { BuildContext } from './_context.js';
import { execCopy } from './_copy.js';
import type { BuildEvent, LayerFinding } from './_events.js';
import { expandInstruction } from './_expand.js';
import { parseDockerfile } from './_parser.js';
import { execRun } from './_run.js';
import { scanLayerForSecrets } from './_secrets.js';
import { squash } from './_squash.js';
import { findStage, neededStages, targetStage } from './_stage-graph.js';

export type { BuildDeps, BuildRequest, BuildResult, BuildSecret } from './_build-types.js';
export { BUILD_ENTITLEMENTS } from './_build-types.js';

/** Build a Dockerfile into an image in the store. */
export async function buildImage(deps: BuildDeps, req: BuildRequest): Promise<BuildResult> {
  for (const e of req.allow ?? []) {
    if (!BUILD_ENTITLEMENTS.includes(e)) {
      throw new InvalidArgumentError(
        `unknown entitlement "${e}" in --allow: use ${BUILD_ENTITLEMENTS.join(' or ')}`,
      );
    }
  }
  const df = parseDockerfile(req.dockerfile.text, { file: req.dockerfile.name });
  const context = await BuildContext.open(req.contextDir, { ignore: req.ignore ?? [] });
  // what killed builds left (their containers, secret files) goes first
  const swept = await sweepDeadBuilds(deps);
  for (const p of swept.problems) req.onEvent?.({ type: 'warning', message: p });
  // builds share this lock while they run; the intermediate images one build leaves are removed
  // only by a build that finds itself alone (another may be about to make a container of one)
  const lockPath = deps.store.buildLockPath();
  const shared = await acquireFileLock(lockPath, { exclusive: false, what: 'the build lock' });
  const registration = deps.store.registerBuild();
  let alone = false;
  try {
    return await deps.store.withLease((lease) =>
      new Build(deps, req, df, context, lease, registration.id).run(async (removeIntermediates) => {
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
    registration.release();
  }
}

/** One build: its stages, their shared state, and the services the executor parts use. */
export class Build {
  readonly emit: (e: BuildEvent) => void;
  readonly epoch: number;
  readonly created: string;
  readonly escape: '\\' | '`';
  readonly metaArgs = new Map<string, string | undefined>();
  readonly usedArgs = new Set<string>();
  readonly stageResults = new Map<number, Promise<StageState>>();
  readonly stageImages = new Map<number, Promise<ImageRecord>>();
  readonly intermediates = new Set<Digest>();
  readonly findings: LayerFinding[] = [];
  readonly warnings: string[] = [];
  readonly downloads = new Map<string, Promise<Downloaded>>();
  private downloadDirReady: Promise<string> | undefined;
  readonly secretDir: string;
  /** The container label of everything this build makes (a sweep after kill -9 finds it by it). */
  readonly labels: Record<string, string>;
  /** Aborted when the request's signal is, or when any stage fails: every stage stops. */
  private readonly cancel = new AbortController();
  /** The failure that cancelled the other stages: the build's error. */
  private firstFailure: unknown;
  stepCounter = 0;
  /** BuildKit's automatic platform args (TARGETARCH, ...), visible once a stage declares them. */
  autoArgs: Record<string, string> = {};

  constructor(
    readonly deps: BuildDeps,
    readonly req: BuildRequest,
    readonly df: Dockerfile,
    readonly context: BuildContext,
    readonly lease: Lease,
    readonly buildId: string,
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
    this.secretDir = buildSecretDir(deps.runroot, buildId);
    this.labels = { [BUILD_LABEL]: buildId };
    const outer = req.signal;
    if (outer?.aborted) this.cancel.abort(outer.reason);
    outer?.addEventListener('abort', () => this.cancel.abort(outer.reason), { once: true });
    for (const s of req.secrets ?? []) {
      if (!/^[A-Za-z0-9_.-]+$/.test(s.id)) throw new InvalidArgumentError(`invalid secret id "${s.id}"`);
    }
  }

  /** Where ADD puts downloaded URLs: a store staging dir (swept if this process dies). */
  downloadDir(): Promise<string> {
    this.downloadDirReady ??= Promise.resolve().then(() => this.deps.store.makeBuildDownloadDir());
    return this.downloadDirReady;
  }

  warn(message: string): void {
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
    const target = targetStage(this);
    try {
      const needed = neededStages(this, target.index);
      // independent stages start together; each awaits what it needs, and the first to fail
      // stops the others
      for (const i of needed) void this.stageResult(i).catch((err) => this.fail(err));
      const final = await this.stageResult(target.index);
      const squashed = this.req.squash ? await squash(this, final) : final;
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
    } catch (err) {
      this.fail(err);
      throw this.firstFailure ?? err;
    } finally {
      // secrets go only once nothing that may use them (a RUN of any stage) still runs
      await this.settle();
      rmSync(this.secretDir, { recursive: true, force: true });
      const downloads = await this.downloadDirReady?.catch(() => undefined);
      if (downloads) rmSync(downloads, { recursive: true, force: true });
      await finish(() => this.removeIntermediates());
    }
  }

  /** Stops every stage (RUN containers are killed, waits end) when the build cannot succeed. */
  get signal(): AbortSignal {
    return this.cancel.signal;
  }

  /** Throw if the build was cancelled: by the caller, or because another stage failed. */
  throwIfCancelled(): void {
    if (!this.cancel.signal.aborted) return;
    throw this.cancel.signal.reason ?? new InterruptedError('the build was interrupted');
  }

  private fail(err: unknown): void {
    if (this.cancel.signal.aborted) return;
    this.firstFailure = err;
    this.cancel.abort(new InterruptedError('cancelled: another stage of the build failed', { cause: err }));
  }

  /** Wait until every stage started (and every stage image and download) has settled. */
  private async settle(): Promise<void> {
    for (;;) {
      const pending = [
        ...this.stageResults.values(),
        ...this.stageImages.values(),
        ...this.downloads.values(),
      ];
      await Promise.allSettled(pending);
      if (this.stageResults.size + this.stageImages.size + this.downloads.size === pending.length) return;
    }
  }

  buildArg(name: string): string | undefined {
    const v = this.req.buildArgs?.[name];
    if (v !== undefined) this.usedArgs.add(name);
    return v;
  }

  reportUnusedArgs(): void {
    const unused = Object.keys(this.req.buildArgs ?? {}).filter(
      (a) => !this.usedArgs.has(a) && !PROXY_ARGS.includes(a.toUpperCase()),
    );
    if (unused.length > 0)
      this.warn(`one or more build args were not consumed: [${unused.sort().join(' ')}]`);
  }

  removeIntermediates(): void {
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

  stageResult(i: number): Promise<StageState> {
    let p = this.stageResults.get(i);
    if (!p) {
      p = this.runStage(this.df.stages[i]!);
      this.stageResults.set(i, p);
    }
    return p;
  }

  /** The stage's result as an image (COPY --from and bind mounts need a rootfs). */
  stageImage(i: number): Promise<ImageRecord> {
    let p = this.stageImages.get(i);
    if (!p) {
      p = this.stageResult(i).then((s) => this.materialize(s));
      this.stageImages.set(i, p);
    }
    return p;
  }

  /** `ref` is a stage name/number (its result image) or an image reference. */
  async imageFor(ref: string, before: number): Promise<ImageRecord> {
    const stage = findStage(this, ref, before);
    if (stage) return this.stageImage(stage.index);
    return this.deps.resolveImage(ref, { pull: this.req.pull === true });
  }

  // ---------------------------------------------------------------- stages
  stageLabel(stage: Stage): string {
    return stage.from.stageName ?? `stage-${stage.index}`;
  }

  async runStage(stage: Stage): Promise<StageState> {
    const total = stage.instructions.length + 1;
    const label = this.stageLabel(stage);
    const fromId = ++this.stepCounter;
    const from = expandInstruction(stage.from, (n) => this.metaArgs.get(n) ?? this.autoArgs[n], this.escape);
    this.emit({ type: 'step', id: fromId, stage: label, index: 1, total, text: `FROM ${from.image}` });
    const started = Date.now();
    this.throwIfCancelled();
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
      this.throwIfCancelled();
      await this.step(stage, state, ins, { label, index, total: steps });
    }
    return state;
  }

  async baseState(from: FromInstruction, stageIndex: number): Promise<StageState> {
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
    const stage = findStage(this, from.image, stageIndex);
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
  envMap(state: StageState): Map<string, string> {
    const m = new Map<string, string>();
    for (const e of state.config.config?.Env ?? []) {
      const eq = e.indexOf('=');
      if (eq > 0) m.set(e.slice(0, eq), e.slice(eq + 1));
    }
    return m;
  }

  lookupFor(state: StageState): (name: string) => string | undefined {
    const env = this.envMap(state);
    return (name) => env.get(name) ?? state.args.get(name);
  }

  async step(
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
          await layerStep(this, state, id, text, await runKey(this, stage, state, ins), () =>
            execRun(this, stage, state, ins, id),
          );
          break;
        case 'COPY':
        case 'ADD':
          await layerStep(this, state, id, text, await copyKey(this, stage, state, ins), () =>
            execCopy(this, stage, state, ins),
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
      // a stage stopped because another failed: that failure is the one reported
      if (this.signal.aborted && err === this.signal.reason) throw err;
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

  stepText(ins: Instruction): string {
    const t = ins.original.replace(/\s+/g, ' ').trim();
    return t.length > 200 ? `${t.slice(0, 197)}...` : t;
  }

  declareArgs(state: StageState, ins: ArgInstruction): void {
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

  metaStep(state: StageState, text: string): void {
    state.chain = sha(state.chain, 'META', text);
    state.config.history = [
      ...(state.config.history ?? []),
      { created: this.created, created_by: text, comment: HISTORY_COMMENT, empty_layer: true },
    ];
  }

  // ---------------------------------------------------------------- images for containers
  /** Store `state` as an (untagged, intermediate) image, so a container can be made from it. */
  async materialize(state: StageState): Promise<ImageRecord> {
    const config: ImageConfig = { ...state.config, created: this.created };
    const image = await storeImage(this.deps.store, config, state.layers, []);
    if (image.names.length === 0) this.intermediates.add(image.id);
    return image;
  }

  /** A never-started container over `image`, its rootfs mounted; removed afterwards. */
  async withRootfs<T>(
    image: ImageRecord,
    options: { readOnly: boolean },
    fn: (rootfs: string, containerId: string) => Promise<T>,
  ): Promise<T> {
    const containers = this.deps.containers;
    const rec = await containers.create(image, `berth-build-${this.buildId}`, {
      image: image.id,
      command: ['/nonexistent-build-placeholder'],
      entrypoint: '',
      labels: this.labels,
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

  layerOptions(step: string) {
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

  // ---------------------------------------------------------------- COPY / ADD
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
