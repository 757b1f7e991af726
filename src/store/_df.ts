// Disk usage (`system df`): counts and sizes per kind, and what removing unused things frees.
import { lstatSync } from 'node:fs';
import { join } from 'node:path';
import { type ContainerState, isActiveState } from '../oci/index.js';
import type { ContainerStore } from './_container-store.js';
import type { StoreDb } from './_db.js';
import { dirSize, listDir } from './_fs.js';
import type { ImageStore } from './_images.js';

export interface DiskUsage {
  /** size: distinct layers used by images; reclaimable: the part not used by images in use by containers. */
  images: { count: number; size: number; reclaimable: number };
  layers: { count: number; size: number };
  blobs: { count: number; size: number };
  /** size: bytes in the containers' upper dirs; reclaimable: those of containers not running. */
  containers: { count: number; size: number; reclaimable: number; items: ContainerDiskUsage[] };
  /** size: bytes in the volumes; reclaimable: those of volumes no container uses. */
  volumes: { count: number; size: number; reclaimable: number; items: VolumeDiskUsage[] };
}

export interface ContainerDiskUsage {
  id: string;
  /** Bytes the container wrote (its upper dir). */
  sizeRw: number;
  /** sizeRw plus its image's layers: everything the container sees. */
  sizeRootFs: number;
}

export interface VolumeDiskUsage {
  name: string;
  size: number;
  /** Containers that name it. */
  refCount: number;
}

export class DiskUsageReport {
  constructor(
    private readonly db: StoreDb,
    private readonly images: ImageStore,
    private readonly containers: ContainerStore,
  ) {}

  get(): DiskUsage {
    const count = (sql: string) => this.db.q(sql).pluck().get() as number;
    const inUse = this.images.imagesInUse();
    const imageLayerSize = count(
      'SELECT COALESCE(SUM(size), 0) FROM layers WHERE diff_id IN (SELECT diff_id FROM image_layers)',
    );
    let inUseSize = 0;
    if (inUse.length > 0) {
      inUseSize = this.db
        .q(
          `SELECT COALESCE(SUM(size), 0) FROM layers WHERE diff_id IN
           (SELECT diff_id FROM image_layers WHERE image_id IN (SELECT value FROM json_each(?)))`,
        )
        .pluck()
        .get(JSON.stringify(inUse)) as number;
    }
    let blobCount = 0;
    let blobSize = 0;
    for (const alg of listDir(join(this.db.root, 'blobs'))) {
      for (const name of listDir(join(this.db.root, 'blobs', alg))) {
        if (name.startsWith('.')) continue;
        const st = lstatSync(join(this.db.root, 'blobs', alg, name), { throwIfNoEntry: false });
        if (!st?.isFile()) continue;
        blobCount++;
        blobSize += st.size;
      }
    }
    return {
      images: {
        count: count('SELECT COUNT(*) FROM images'),
        size: imageLayerSize,
        reclaimable: imageLayerSize - inUseSize,
      },
      layers: {
        count: count('SELECT COUNT(*) FROM layers'),
        size: count('SELECT COALESCE(SUM(size), 0) FROM layers'),
      },
      blobs: { count: blobCount, size: blobSize },
      containers: this.containerUsage(),
      volumes: this.volumeUsage(),
    };
  }

  private containerUsage(): DiskUsage['containers'] {
    const rows = this.db
      .q(
        `SELECT c.id, c.state, (SELECT COALESCE(SUM(l.size), 0) FROM image_layers il
           JOIN layers l ON l.diff_id = il.diff_id WHERE il.image_id = c.image_id) AS image_size
         FROM containers c`,
      )
      .all() as { id: string; state: ContainerState; image_size: number }[];
    const usage: DiskUsage['containers'] = { count: rows.length, size: 0, reclaimable: 0, items: [] };
    for (const r of rows) {
      const size = dirSize(join(this.containers.containerDir(r.id), 'upper'));
      usage.size += size;
      if (!isActiveState(r.state)) usage.reclaimable += size;
      usage.items.push({ id: r.id, sizeRw: size, sizeRootFs: size + r.image_size });
    }
    return usage;
  }

  private volumeUsage(): DiskUsage['volumes'] {
    const rows = this.db
      .q(
        `SELECT name, (SELECT COUNT(*) FROM container_volumes cv WHERE cv.volume_name = volumes.name) AS refs
         FROM volumes`,
      )
      .all() as { name: string; refs: number }[];
    const usage: DiskUsage['volumes'] = { count: rows.length, size: 0, reclaimable: 0, items: [] };
    for (const r of rows) {
      const size = dirSize(join(this.db.root, 'volumes', r.name, '_data'));
      usage.size += size;
      if (r.refs === 0) usage.reclaimable += size;
      usage.items.push({ name: r.name, size, refCount: r.refs });
    }
    return usage;
  }
}
