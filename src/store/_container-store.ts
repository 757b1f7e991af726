// Container store: container rows (name, state, config, volumes used, layers mounted), their
// dirs under containers/<id>, and the overlay rootfs mount. Every state change is checked
// against the one transition table (oci/container-state.ts) inside its transaction.
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  AlreadyExistsError,
  ConflictError,
  InvalidArgumentError,
  IOError,
  isBerthError,
  NotFoundError,
} from '../errors/index.js';
import {
  assertTransition,
  type ContainerState,
  type Digest,
  isContainerState,
  parseDigest,
} from '../oci/index.js';
import {
  type ContainerPatch,
  type ContainerRecord,
  type ContainerRow,
  checkContainerId,
  checkStringMap,
  checkVolumeName,
  configJson,
  containerRecord,
  isContainerId,
  type NewContainer,
  normalizeContainerName,
  patchRow,
} from './_containers.js';
import type { StoreDb } from './_db.js';
import { isDir } from './_fs.js';
import type { LayerStore } from './_layers.js';
import { mountAt, mountOverlayAt, overlayMountData, unmountBelow } from './_rootfs.js';
import type { VolumeStore } from './_volumes.js';

function nameInUse(name: string, holder: string): ConflictError {
  return new ConflictError(`the container name "/${name}" is already in use by container "${holder}"`, {
    hint: 'remove or rename that container to reuse the name',
  });
}

export class ContainerStore {
  constructor(
    private readonly db: StoreDb,
    private readonly layers: LayerStore,
    private readonly volumes: VolumeStore,
  ) {}

  /**
   * Record a new container and make its directories, in one transaction: the row (which is also
   * the image's in-use reference), its volumes (created if missing, as `docker run -v name:/x`
   * does) and root/containers/<id>/{upper,work,merged,userdata}. A name held by another container
   * is a ConflictError; the transaction makes the check race-free across processes.
   */
  createContainer(rec: NewContainer): ContainerRecord {
    this.db.assertWritable('create a container');
    const id = checkContainerId(rec.id);
    const name = normalizeContainerName(rec.name);
    const imageId = parseDigest(rec.imageId);
    const labels = checkStringMap(rec.labels, `labels for container "${name}"`);
    const volumes = [...new Set((rec.volumes ?? []).map(checkVolumeName))].sort();
    const config = configJson(rec.config, id);
    const state: ContainerState = rec.state ?? 'created';
    if (!isContainerState(state)) {
      throw new InvalidArgumentError(`invalid state "${String(state)}" for container "${name}"`);
    }
    const dir = this.containerDir(id);
    return this.db.tx(() => {
      const holder = this.db.q('SELECT id FROM containers WHERE name = ?').pluck().get(name) as
        | string
        | undefined;
      if (holder !== undefined) throw nameInUse(name, holder);
      if (this.db.q('SELECT 1 FROM containers WHERE id = ?').get(id)) {
        throw new AlreadyExistsError(`cannot create container "${name}": container ${id} already exists`);
      }
      if (!this.db.q('SELECT 1 FROM images WHERE id = ?').get(imageId)) {
        throw new NotFoundError(`cannot create container "${name}": image ${imageId} not found`);
      }
      // dirs made here are removed inside the transaction if it fails, before another process
      // can take the same volume name
      const made: string[] = [];
      try {
        this.db
          .q(
            `INSERT INTO containers (id, name, image_id, state, config_json, created_at, restart_count, labels_json)
           VALUES (?, ?, ?, ?, ?, ?, 0, ?)`,
          )
          .run(id, name, imageId, state, config, new Date().toISOString(), JSON.stringify(labels));
        const use = this.db.q('INSERT INTO container_volumes (container_id, volume_name) VALUES (?, ?)');
        for (const v of volumes) {
          const madeDir = this.volumes.ensureVolume(v, {}, {});
          if (madeDir) made.push(madeDir);
          use.run(id, v);
        }
        // a row-less dir under this id is debris of a crash mid-create
        if (existsSync(dir)) this.discardDir(dir);
        mkdirSync(dir, { mode: 0o700 });
        made.push(dir);
        this.makeContainerSubdirs(id);
        return this.containerRecord(id)!;
      } catch (err) {
        for (const d of made) rmSync(d, { recursive: true, force: true });
        throw err;
      }
    });
  }

  /** By full id, name (a leading '/' allowed) or unique id prefix of ≥ 3 hex; ambiguous → ConflictError. */
  getContainer(idOrName: string): ContainerRecord | undefined {
    return this.db.snapshot(() => {
      const id = this.findContainerId(idOrName);
      return id === undefined ? undefined : this.containerRecord(id);
    });
  }

  /** Newest first. */
  listContainers(): ContainerRecord[] {
    return this.db.snapshot(() => {
      const ids = this.db
        .q('SELECT id FROM containers ORDER BY created_at DESC, rowid DESC')
        .pluck()
        .all() as string[];
      return ids.map((id) => this.containerRecord(id)!);
    });
  }

  /**
   * Change a container's record in one transaction. A new `state` must be a legal move from the
   * current one (oci's transition table, the state machine runtime/state.ts exposes), checked
   * inside the transaction, else IllegalTransitionError and nothing changes: that makes every
   * state change a compare-and-set, so of two processes making the same move only one wins.
   * `expectState` narrows it further (the current state must be one of those, else
   * ConflictError); concurrent berth processes use it to decide which one starts or removes a
   * container.
   */
  updateContainer(
    idOrName: string,
    patch: ContainerPatch,
    options: { expectState?: readonly ContainerState[] } = {},
  ): ContainerRecord {
    this.db.assertWritable('update a container');
    return this.db.tx(() => {
      const id = this.requireContainerId(idOrName, 'update');
      const row = this.containerRow(id)!;
      if (options.expectState !== undefined && !options.expectState.includes(row.state)) {
        throw new ConflictError(
          `cannot update container ${id.slice(0, 12)}: it is ${row.state}, not ${options.expectState.join(' or ')}`,
        );
      }
      const next = patchRow(row, patch);
      if (patch.state !== undefined) assertTransition(id, row.state, next.state);
      this.db
        .q(
          `UPDATE containers SET state = ?, config_json = ?, started_at = ?, finished_at = ?, exit_code = ?,
           pid = ?, conmon_pid = ?, restart_count = ? WHERE id = ?`,
        )
        .run(
          next.state,
          next.config_json,
          next.started_at,
          next.finished_at,
          next.exit_code,
          next.pid,
          next.conmon_pid,
          next.restart_count,
          id,
        );
      return this.containerRecord(id)!;
    });
  }

  renameContainer(idOrName: string, newName: string): void {
    this.db.assertWritable('rename a container');
    const name = normalizeContainerName(newName);
    this.db.tx(() => {
      const id = this.requireContainerId(idOrName, 'rename');
      if (this.containerRow(id)!.name === name) {
        throw new InvalidArgumentError(
          `cannot rename container "${idOrName}": it is already named "${name}"`,
        );
      }
      const holder = this.db.q('SELECT id FROM containers WHERE name = ?').pluck().get(name) as
        | string
        | undefined;
      if (holder !== undefined) throw nameInUse(name, holder);
      this.db.q('UPDATE containers SET name = ? WHERE id = ?').run(name, id);
    });
  }

  /**
   * Delete a container: unmount whatever is mounted under its dir, delete its row (dropping its
   * image and volume references) and its dirs. The row goes and the dir moves to tmp/ in one
   * transaction; a crash after it leaves only tmp/ debris that the next open sweeps.
   */
  removeContainer(idOrName: string): void {
    this.db.assertWritable('remove a container');
    const trash = this.db.trashPath();
    let moved = false;
    this.db.tx(() => {
      const id = this.requireContainerId(idOrName, 'remove');
      const dir = this.containerDir(id);
      unmountBelow(dir, `container ${id.slice(0, 12)}`);
      this.db.q('DELETE FROM containers WHERE id = ?').run(id);
      if (existsSync(dir)) {
        renameSync(dir, trash);
        moved = true;
      }
    });
    if (moved) rmSync(trash, { recursive: true, force: true, maxRetries: 3 });
  }

  /** root/containers/<id>: upper, work, merged and userdata live here. */
  containerDir(id: string): string {
    return join(this.db.root, 'containers', checkContainerId(id));
  }

  /**
   * Mount the container's rootfs (overlay of `layers`, diffIDs base first, under its upper dir)
   * at root/containers/<id>/merged and return that path. Already mounted → the path (a mount
   * with the other read-only-ness is a ConflictError). The layers are recorded with the
   * container, so gc keeps them while it exists. Mounting happens inside a transaction, which
   * serializes it with removeContainer and gc in every process.
   */
  mountContainerRootfs(idOrName: string, layers: Digest[], options: { readOnly?: boolean } = {}): string {
    this.db.assertWritable('mount a container rootfs');
    const diffIds = layers.map((l) => parseDigest(l));
    const readOnly = options.readOnly ?? false;
    return this.db.tx(() => {
      const id = this.requireContainerId(idOrName, 'mount the rootfs of');
      const what = `container ${id.slice(0, 12)}`;
      const dir = this.containerDir(id);
      const merged = join(dir, 'merged');
      const lowers: string[] = [];
      for (const d of diffIds) {
        const row = this.layers.layerRow(d);
        if (!row || !isDir(this.layers.layerDiffPath(d))) {
          throw new NotFoundError(`cannot mount the rootfs of ${what}: layer ${d} is not in the store`);
        }
        this.layers.linkShort(row.short_id, d);
        lowers.push(`l/${row.short_id}`);
      }
      const recorded = this.db
        .q('SELECT COUNT(*) FROM container_layers WHERE container_id = ?')
        .pluck()
        .get(id);
      const current = mountAt(merged);
      // a process killed between mount(2) and its commit leaves a mount with no layers recorded
      if (!current || recorded === 0) {
        this.db.q('DELETE FROM container_layers WHERE container_id = ?').run(id);
        const record = this.db.q(
          'INSERT INTO container_layers (container_id, position, diff_id) VALUES (?, ?, ?)',
        );
        for (const [i, d] of diffIds.entries()) record.run(id, i, d);
      }
      if (current) {
        if (current.options.includes('ro') === readOnly) return merged;
        throw new ConflictError(
          `the rootfs of ${what} is already mounted ${readOnly ? 'read-write' : 'read-only'}`,
          { hint: 'unmount it first' },
        );
      }
      this.makeContainerSubdirs(id);
      if (lowers.length === 0) {
        // an image without layers: overlay still wants a lower dir
        mkdirSync(join(dir, 'empty'), { recursive: true, mode: 0o755 });
        lowers.push(`containers/${id}/empty`);
      }
      const data = overlayMountData({
        lowers: lowers.reverse(),
        upper: `containers/${id}/upper`,
        work: `containers/${id}/work`,
      });
      try {
        mountOverlayAt(merged, { cwd: this.db.root, data, readOnly });
      } catch (err) {
        if (isBerthError(err)) throw err;
        throw new IOError(`cannot mount the rootfs of ${what} (${diffIds.length} layers)`, { cause: err });
      }
      return merged;
    });
  }

  /**
   * Unmount the container's rootfs (detaching it if busy); nothing mounted is fine. A full id
   * needs no record, so cleanup after a half-finished removal can still unmount.
   */
  unmountContainerRootfs(idOrName: string): void {
    this.db.assertWritable('unmount a container rootfs');
    this.db.tx(() => {
      const id = isContainerId(idOrName)
        ? idOrName
        : this.requireContainerId(idOrName, 'unmount the rootfs of');
      unmountBelow(join(this.containerDir(id), 'merged'), `container ${id.slice(0, 12)}`);
    });
  }

  isMounted(idOrName: string): boolean {
    const id = isContainerId(idOrName) ? idOrName : this.findContainerId(idOrName);
    return id !== undefined && mountAt(join(this.containerDir(id), 'merged')) !== undefined;
  }

  private containerRow(id: string): ContainerRow | undefined {
    return this.db.q('SELECT * FROM containers WHERE id = ?').get(id) as ContainerRow | undefined;
  }

  private containerRecord(id: string): ContainerRecord | undefined {
    const row = this.containerRow(id);
    if (!row) return undefined;
    const volumes = this.db
      .q('SELECT volume_name FROM container_volumes WHERE container_id = ? ORDER BY volume_name')
      .pluck()
      .all(id) as string[];
    const layers = this.db
      .q('SELECT diff_id FROM container_layers WHERE container_id = ? ORDER BY position')
      .pluck()
      .all(id) as Digest[];
    return containerRecord(row, volumes, layers);
  }

  /** Full id first, then name, then a unique id prefix of at least 3 hex (docker's order). */
  findContainerId(ref: string): string | undefined {
    if (typeof ref !== 'string') return undefined;
    if (isContainerId(ref) && this.db.q('SELECT 1 FROM containers WHERE id = ?').get(ref)) return ref;
    const name = ref.startsWith('/') ? ref.slice(1) : ref;
    const byName = this.db.q('SELECT id FROM containers WHERE name = ?').pluck().get(name) as
      | string
      | undefined;
    if (byName !== undefined) return byName;
    if (!/^[a-f0-9]{3,63}$/.test(ref)) return undefined;
    const ids = this.db
      .q('SELECT id FROM containers WHERE id GLOB ? LIMIT 2')
      .pluck()
      .all(`${ref}*`) as string[];
    if (ids.length > 1) {
      throw new ConflictError(`container id prefix "${ref}" is ambiguous: it matches several containers`);
    }
    return ids[0];
  }

  private requireContainerId(ref: string, verb: string): string {
    const id = this.findContainerId(ref);
    if (id === undefined) throw new NotFoundError(`cannot ${verb} container "${ref}": no such container`);
    return id;
  }

  /** upper (0755: overlay shows its mode as the container's /), work, merged, userdata. */
  private makeContainerSubdirs(id: string): void {
    const dir = this.containerDir(id);
    mkdirSync(join(dir, 'upper'), { recursive: true, mode: 0o755 });
    for (const sub of ['work', 'merged', 'userdata']) {
      mkdirSync(join(dir, sub), { recursive: true, mode: 0o700 });
    }
  }

  /** Unmount and delete a dir no record owns (debris of a crash). */
  private discardDir(dir: string): void {
    unmountBelow(dir, `"${dir}"`);
    const trash = this.db.trashPath();
    renameSync(dir, trash);
    rmSync(trash, { recursive: true, force: true, maxRetries: 3 });
  }
}
