// The metadata schema and its migrations. `PRAGMA user_version` holds the number of the last
// migration applied; each migration runs in its own IMMEDIATE transaction and re-reads the version
// inside it, so two processes opening a fresh store at once apply each step exactly once.
import type Database from 'better-sqlite3';
import { UnsupportedError } from '../errors/index.js';

interface Migration {
  version: number;
  description: string;
  up: (db: Database.Database) => void;
}

/*
 * Schema v1 (all digests as 'sha256:<hex>' text, times as ms since the epoch unless noted):
 * - images: one row per image, keyed by its config digest; `manifest_digest` is the manifest most
 *   recently committed for it. `added_at` is an ISO string kept across re-pulls.
 * - manifests: every manifest digest known to resolve to an image (gc keeps these blobs).
 * - names: full normalized tag names ('docker.io/library/bb:latest') → image; a name has one image.
 * - repo_digests: 'repo@sha256:<manifest>' → image.
 * - layers: unpacked layers keyed by diffID (`size` unpacked bytes, `tar_size` bytes of the
 *   uncompressed tar, which docker-archive export needs). `refcount` counts image_layers rows pointing at the
 *   layer (duplicates included); it is maintained in the same transactions that change
 *   image_layers. `touched_at` feeds gc's grace period. `short_id` names the l/ symlink.
 * - image_layers: the ordered layer list of an image (position 0 = base) with the blob it came
 *   from. No cascade from images on purpose: removing an image must go through the code that
 *   decrements refcounts, and the foreign key makes any other path fail loudly.
 * - leases / lease_resources: in-flight pulls or loads protecting blobs and layers from gc. A lease
 *   is live while its owner holds an flock on leases/<id>.lock (see the store), `pid` is for people.
 *
 * Schema v2 adds containers (times are ISO strings here, as docker shows them):
 * - containers: one row per container, `id` 64 hex, `name` without docker's leading '/'. `state`
 *   and `config_json` belong to the container module; the store only compares and stores them.
 *   `image_id` is the image in-use reference: while a row points at an image, the image row (and
 *   so its layer refcounts) stays, dangling if it was force-removed.
 * - container_layers: the layers of the container's last rootfs mount, which gc keeps even if no
 *   image references them any more.
 * - volumes / container_volumes: named volumes and which containers use them. No cascade from
 *   volumes: removing one must check its users first.
 *
 * Schema v3 adds the build cache:
 * - build_cache: a build step's cache key (sha256 over the parent state, the instruction after
 *   substitution and its inputs) → the layer it produced, or no layer for steps that only change
 *   the config. gc keeps those layers and blobs; `builder prune` and `system prune` drop rows.
 *   Times are ms since the epoch.
 */
const MIGRATIONS: Migration[] = [
  {
    version: 1,
    description: 'images, manifests, names, repo digests, layers, leases',
    up(db) {
      db.exec(`
        CREATE TABLE images (
          id TEXT PRIMARY KEY,
          manifest_digest TEXT NOT NULL,
          manifest_media_type TEXT NOT NULL,
          config_media_type TEXT,
          created TEXT,
          os TEXT NOT NULL,
          architecture TEXT NOT NULL,
          variant TEXT,
          added_at TEXT NOT NULL
        );
        CREATE TABLE manifests (
          digest TEXT PRIMARY KEY,
          image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
          media_type TEXT NOT NULL
        );
        CREATE INDEX manifests_image ON manifests(image_id);
        CREATE TABLE names (
          name TEXT PRIMARY KEY,
          image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE
        );
        CREATE INDEX names_image ON names(image_id);
        CREATE TABLE repo_digests (
          ref TEXT PRIMARY KEY,
          image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE
        );
        CREATE INDEX repo_digests_image ON repo_digests(image_id);
        CREATE TABLE layers (
          diff_id TEXT PRIMARY KEY,
          size INTEGER NOT NULL,
          tar_size INTEGER NOT NULL,
          short_id TEXT NOT NULL UNIQUE,
          blob_digest TEXT,
          media_type TEXT,
          compressed_size INTEGER,
          refcount INTEGER NOT NULL DEFAULT 0 CHECK (refcount >= 0),
          touched_at INTEGER NOT NULL
        );
        CREATE TABLE image_layers (
          image_id TEXT NOT NULL REFERENCES images(id),
          position INTEGER NOT NULL,
          diff_id TEXT NOT NULL REFERENCES layers(diff_id),
          blob_digest TEXT NOT NULL,
          media_type TEXT NOT NULL,
          compressed_size INTEGER NOT NULL,
          PRIMARY KEY (image_id, position)
        );
        CREATE INDEX image_layers_diff ON image_layers(diff_id);
        CREATE INDEX image_layers_blob ON image_layers(blob_digest);
        CREATE TABLE leases (
          id TEXT PRIMARY KEY,
          pid INTEGER NOT NULL,
          created_at INTEGER NOT NULL
        );
        CREATE TABLE lease_resources (
          lease_id TEXT NOT NULL REFERENCES leases(id) ON DELETE CASCADE,
          kind TEXT NOT NULL CHECK (kind IN ('blob', 'layer')),
          key TEXT NOT NULL,
          PRIMARY KEY (lease_id, kind, key)
        );
        CREATE INDEX lease_resources_key ON lease_resources(kind, key);
      `);
    },
  },
  {
    version: 2,
    description: 'containers, their volumes and mounted layers; named volumes',
    up(db) {
      db.exec(`
        CREATE TABLE containers (
          id TEXT PRIMARY KEY CHECK (length(id) = 64),
          name TEXT NOT NULL UNIQUE,
          image_id TEXT NOT NULL REFERENCES images(id),
          state TEXT NOT NULL,
          config_json TEXT NOT NULL,
          created_at TEXT NOT NULL,
          started_at TEXT,
          finished_at TEXT,
          exit_code INTEGER,
          pid INTEGER,
          conmon_pid INTEGER,
          restart_count INTEGER NOT NULL DEFAULT 0,
          labels_json TEXT NOT NULL DEFAULT '{}'
        );
        CREATE INDEX containers_image ON containers(image_id);
        CREATE TABLE container_layers (
          container_id TEXT NOT NULL REFERENCES containers(id) ON DELETE CASCADE,
          position INTEGER NOT NULL,
          diff_id TEXT NOT NULL REFERENCES layers(diff_id),
          PRIMARY KEY (container_id, position)
        );
        CREATE INDEX container_layers_diff ON container_layers(diff_id);
        CREATE TABLE volumes (
          name TEXT PRIMARY KEY,
          created_at TEXT NOT NULL,
          labels_json TEXT NOT NULL DEFAULT '{}',
          options_json TEXT NOT NULL DEFAULT '{}'
        );
        CREATE TABLE container_volumes (
          container_id TEXT NOT NULL REFERENCES containers(id) ON DELETE CASCADE,
          volume_name TEXT NOT NULL REFERENCES volumes(name),
          PRIMARY KEY (container_id, volume_name)
        );
        CREATE INDEX container_volumes_volume ON container_volumes(volume_name);
      `);
    },
  },
  {
    version: 3,
    description: 'build cache',
    up(db) {
      db.exec(`
        CREATE TABLE build_cache (
          key TEXT PRIMARY KEY,
          diff_id TEXT,
          blob_digest TEXT,
          media_type TEXT,
          compressed_size INTEGER,
          created_by TEXT NOT NULL,
          created_at INTEGER NOT NULL,
          used_at INTEGER NOT NULL
        );
        CREATE INDEX build_cache_diff ON build_cache(diff_id);
      `);
    },
  },
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

function userVersion(db: Database.Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

function checkNotNewer(version: number, where: string): void {
  if (version > SCHEMA_VERSION) {
    throw new UnsupportedError(
      `the store at "${where}" has schema version ${version}, newer than this berth supports (${SCHEMA_VERSION})`,
      { hint: 'upgrade berth, or use a different --root' },
    );
  }
}

/** Bring the schema up to date; a no-op when it already is. */
export function migrate(db: Database.Database, where: string): void {
  const start = userVersion(db);
  checkNotNewer(start, where);
  if (start === SCHEMA_VERSION) return;
  for (const m of MIGRATIONS) {
    db.transaction(() => {
      const current = userVersion(db);
      checkNotNewer(current, where);
      if (current >= m.version) return;
      m.up(db);
      db.pragma(`user_version = ${m.version}`);
    }).immediate();
  }
}

/** A read-only handle cannot migrate: it needs the schema to be current already. */
export function requireCurrentSchema(db: Database.Database, where: string): void {
  const v = userVersion(db);
  checkNotNewer(v, where);
  if (v < SCHEMA_VERSION) {
    throw new UnsupportedError(
      `the store at "${where}" has schema version ${v} and needs migrating, which a read-only open cannot do`,
    );
  }
}
