// The one description of every path berth keeps on disk. Code that names a path under the
// root or the runroot follows this list; a new path is added here first.
/*
 * Under the root (`--root`, default /var/lib/berth; all made 0700 by Store.open unless noted):
 *   berth.db                 SQLite metadata (schema in _schema.ts)
 *   berth.db-wal             its write-ahead log (WAL mode)
 *   berth.db-shm             the WAL's shared-memory index
 *   blobs/<alg>/<hex>        content-addressed blobs, written tmp + fsync + rename (_content.ts)
 *   blobs/<alg>/.tmp-<pid>-* a blob being written (util's tempSibling)
 *   ingest/<hex>.partial     a download in progress or interrupted, resumable (_ingest.ts)
 *   ingest/<hex>.lock        flock held by the one process writing that partial
 *   layers/<hex>/diff        an unpacked layer (overlay lowerdir), <hex> = its diffID (_layers.ts)
 *   l/<SHORTID>              symlink → ../layers/<hex>/diff, 26 chars, keeps mount options short
 *   l/.tmp-<pid>-*           a link being (re)pointed, renamed over l/<SHORTID>
 *   leases/<id>.lock         flock held by the owner of a live lease (_gc.ts)
 *   containers/<id>/upper    a container's overlay upperdir (0755: it is the root dir it sees)
 *   containers/<id>/work     its overlay workdir
 *   containers/<id>/merged   where its rootfs is mounted
 *   containers/<id>/userdata files the engine keeps per container: the bundle's config.json,
 *                            hosts, hostname, resolv.conf, ctr.log, conmon's attach and ctl
 *   containers/<id>/empty    the lower dir of an image without layers (overlay needs one)
 *   volumes/<name>/_data     a named volume's content (_data 0755)
 *   build.lock               flock: running builds hold it shared; a build that finds itself
 *                            alone takes it exclusive to remove its intermediate images
 *   builds/<id>.lock         flock a running build holds; lockable means that build is gone
 *                            and what it left (containers, cache-mount locks) can be swept
 *   build-cache-mounts/<hex>       a RUN --mount=type=cache dir, <hex> = sha256 of its id
 *   build-cache-mounts/<hex>.lock  flock a RUN holds while it uses that mount
 *   tmp/stage-<pid>-*        staging dirs for layers being unpacked
 *   tmp/trash-<pid>-*        what gc or a removal is deleting (renamed here first, then removed)
 *   tmp/download-<pid>-*     a build's ADD <url> download streamed to disk before it is copied
 *   tmp/cachemount-<pid>-*   a cache-mount dir being set up, renamed into place when ready
 *   events/events.log        the events journal, one JSON event a line, appended by every
 *                            process and followed by `berth events` (_events.ts)
 *   events/events.log.1      the previous journal, kept after a rotation (the size cap)
 *   events/rotate.lock       flock: appenders and readers opening the files hold it shared,
 *                            a rotation exclusive
 *   gc.lock                  flock serializing gc runs
 * Every temporary name carries its creator's pid, so open() and gc() can remove what dead
 * processes left behind.
 *
 * Under the runroot (`--runroot`, default /run/berth; tmpfs, gone after a reboot):
 *   containers/<id>/                conmon's state for a container: pidfile, conmon.pid, oom,
 *                                   exits/<id>, and the attach and ctl links to userdata/
 *   containers/<id>/exec/<rand>/    the same for one exec session
 *   <runtime>/                      the OCI runtime's --root (runc/, crun/)
 *   build/<buildId>/                a running build's secrets (removed when the build ends)
 *   cleanup.log                     errors of `container cleanup` run by conmon's exit command
 */

/** Directories Store.open makes under the root. */
export const ROOT_SUBDIRS = [
  'blobs/sha256',
  'ingest',
  'layers',
  'l',
  'leases',
  'tmp',
  'containers',
  'volumes',
  'events',
] as const;

/** tmp/<kind>-<pid>-… names (stage, trash, download). */
export const TMP_PATTERN = /^[a-z]+-(\d+)-/;
/** util's tempSibling() names: `.tmp-<pid>-<rand>` */
export const SIBLING_TMP_PATTERN = /^\.tmp-(\d+)-/;
