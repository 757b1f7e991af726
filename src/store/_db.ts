// The one database handle and transaction helper every concern store shares, as containerd's
// metadata stores share one bolt DB: each store is a view of this handle, never a second one.
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { IOError, isBerthError, LockedError, UnsupportedError } from '../errors/index.js';
import { ROOT_SUBDIRS } from './_layout.js';
import { migrate, requireCurrentSchema } from './_schema.js';

export class StoreDb {
  private readonly stmts = new Map<string, Database.Statement>();
  /** root/tmp: staging and trash live here, on the same filesystem as what they become. */
  readonly tmpDir: string;

  private constructor(
    readonly root: string,
    private readonly handle: Database.Database,
    readonly readOnly: boolean,
  ) {
    this.tmpDir = join(root, 'tmp');
  }

  /**
   * Open (creating if needed) the database at `root`. Safe to call from several processes at
   * once: directory creation is idempotent and migrations serialize on the database's write lock.
   */
  static open(root: string, options: { readOnly?: boolean } = {}): StoreDb {
    const abs = resolve(root);
    const readOnly = options.readOnly ?? false;
    let db: Database.Database;
    try {
      if (!readOnly) {
        mkdirSync(abs, { recursive: true, mode: 0o700 });
        for (const sub of ROOT_SUBDIRS) mkdirSync(join(abs, sub), { recursive: true, mode: 0o700 });
      }
      db = new Database(join(abs, 'berth.db'), { readonly: readOnly, fileMustExist: readOnly });
    } catch (err) {
      throw new IOError(`cannot open the store at "${abs}"`, { cause: err });
    }
    try {
      db.pragma('busy_timeout = 10000');
      retryBusy(() => {
        if (!readOnly) db.pragma('journal_mode = WAL');
        db.pragma('foreign_keys = ON');
        db.pragma('synchronous = NORMAL');
        if (readOnly) requireCurrentSchema(db, abs);
        else migrate(db, abs);
      });
    } catch (err) {
      db.close();
      if (isBerthError(err)) throw err;
      throw new IOError(`cannot open the store database "${join(abs, 'berth.db')}"`, { cause: err });
    }
    return new StoreDb(abs, db, readOnly);
  }

  get isOpen(): boolean {
    return this.handle.open;
  }

  close(): void {
    if (this.handle.open) this.handle.close();
  }

  /** A prepared statement, cached for the life of the handle. */
  q(sql: string): Database.Statement {
    let s = this.stmts.get(sql);
    if (!s) {
      s = this.handle.prepare(sql);
      this.stmts.set(sql, s);
    }
    return s;
  }

  /** One IMMEDIATE transaction: takes the write lock up front, so read-then-write cannot race. */
  tx<T>(fn: () => T): T {
    try {
      return this.handle.transaction(fn).immediate();
    } catch (err) {
      if (
        err instanceof Database.SqliteError &&
        (err.code === 'SQLITE_BUSY' || err.code === 'SQLITE_LOCKED')
      ) {
        throw new LockedError(`the store database at "${this.root}" is busy`, { cause: err });
      }
      throw err;
    }
  }

  /**
   * A read transaction: its queries all see one committed state, so a record read in several
   * queries is never half of one removed meanwhile by another process.
   */
  snapshot<T>(fn: () => T): T {
    return this.handle.transaction(fn).deferred();
  }

  assertWritable(what: string): void {
    if (this.readOnly) {
      throw new UnsupportedError(`cannot ${what}: the store at "${this.root}" is open read-only`);
    }
  }

  /** A fresh name under tmp/ that the temp sweep removes if this process dies before it does. */
  trashPath(): string {
    return join(this.tmpDir, `trash-${process.pid}-${randomBytes(6).toString('hex')}`);
  }
}

/**
 * Opening steps retried on SQLITE_BUSY: switching a new database to WAL takes an exclusive lock,
 * and SQLite answers SQLITE_BUSY at once, without the busy handler, when another process opening
 * the same new store holds a lock at that moment (three parallel first pulls hit it once in
 * CI). Every step is idempotent. Bounded: 100 tries 20 ms apart.
 */
function retryBusy(fn: () => void): void {
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (let attempt = 0; ; attempt++) {
    try {
      fn();
      return;
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (attempt >= 100 || (code !== 'SQLITE_BUSY' && code !== 'SQLITE_LOCKED')) throw err;
      Atomics.wait(pause, 0, 0, 20);
    }
  }
}
