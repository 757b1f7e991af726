// A push-driven tar parser: feed it Buffers of any size (one byte or a megabyte) and it calls
// back synchronously with each entry's header, slices of its data, and its end. Being
// synchronous keeps the unpack hot path free of per-chunk promises; `readTar` wraps it in an
// async iterator for callers that prefer pulling.
//
// Formats: ustar, GNU (`L`/`K` long names, base-256 numbers, `D` dump dirs read as dirs),
// PAX (`x` per entry, `g` global). Volume labels (`V`) are skipped, as GNU tar does; sparse
// files (`S`, GNU.sparse.*), multi-volume continuations (`M`) and unknown types are refused
// with UnsupportedError instead of being guessed at. Global PAX `path`/`linkpath` records are
// ignored: applied to every following entry they would make all names collide. Names are
// decoded as UTF-8 (PAX requires it; invalid bytes in ustar fields become U+FFFD).
import { InvalidArgumentError, SizeLimitError, UnsupportedError } from '../errors/index.js';
import {
  BLOCK,
  checksumOk,
  decodeLibarchiveXattr,
  F_DEVMAJOR,
  F_DEVMINOR,
  F_GID,
  F_GNAME,
  F_LINKNAME,
  F_MAGIC,
  F_MODE,
  F_MTIME,
  F_NAME,
  F_PREFIX,
  F_SIZE,
  F_TYPE,
  F_UID,
  F_UNAME,
  F_VERSION,
  isZeroBlock,
  MAX_GNU_LONG_BYTES,
  MAX_PATH_BYTES,
  MAX_PAX_BYTES,
  parsePaxRecords,
  readNumber,
  readString,
  type TarEntryType,
  type TarHeader,
} from './_format.js';

export interface TarHandlers {
  /** A new entry; data (if any) follows through `data`, then `entryEnd`. */
  entry(header: TarHeader): void;
  /** A slice of the current entry's data. It aliases the pushed chunk: copy it to keep it past the call. */
  data(chunk: Buffer): void;
  entryEnd(): void;
}

const S_HEADER = 0;
const S_DATA = 1;
const S_PAD = 2;
const S_EXT = 3;
const S_END = 4;

const TYPES: Record<number, TarEntryType> = {
  0: 'file',
  48: 'file', // '0'
  55: 'file', // '7' contiguous file
  49: 'hardlink',
  50: 'symlink',
  51: 'char',
  52: 'block',
  53: 'dir',
  54: 'fifo',
  68: 'dir', // 'D' GNU dump dir: a directory whose data lists its contents; the data is skipped
};

/** Attributes collected from extension headers, applied to the next real entry. */
interface Overrides {
  path?: string;
  linkpath?: string;
  size?: number;
  uid?: number;
  gid?: number;
  mtime?: number;
  uname?: string;
  gname?: string;
  xattrs?: Record<string, Buffer>;
}

const DECIMAL_RE = /^[0-9]{1,16}$/;
const TIME_RE = /^-?[0-9]{1,16}(\.[0-9]{1,9})?[0-9]*$/;

export class TarParser {
  private state = S_HEADER;
  private readonly hold = Buffer.alloc(BLOCK);
  private holdLen = 0;
  private remaining = 0;
  private pad = 0;
  /** The padding owed after the last entry's data (to tell "none of it read" from "some"). */
  private padOwed = 0;
  /** Data of the current entry is delivered (false: skipped, e.g. a volume label). */
  private deliver = false;
  private ext: Buffer = Buffer.alloc(0);
  private extLen = 0;
  private extType = 0;
  private local: Overrides = {};
  private localPending = false;
  private global: Overrides = {};
  private longName: string | undefined;
  private longLink: string | undefined;
  private zeroBlocks = 0;
  /** Bytes consumed so far, for error messages. */
  private offset = 0;

  constructor(private readonly handlers: TarHandlers) {}

  /** True once the end-of-archive marker has been read. */
  get ended(): boolean {
    return this.state === S_END;
  }

  push(chunk: Buffer): void {
    const len = chunk.length;
    let off = 0;
    while (off < len) {
      switch (this.state) {
        case S_HEADER: {
          if (this.holdLen === 0 && len - off >= BLOCK) {
            const at = off;
            off += BLOCK;
            this.offset += BLOCK;
            this.header(chunk, at);
          } else {
            const n = Math.min(BLOCK - this.holdLen, len - off);
            chunk.copy(this.hold, this.holdLen, off, off + n);
            this.holdLen += n;
            off += n;
            this.offset += n;
            if (this.holdLen < BLOCK) return;
            this.holdLen = 0;
            this.header(this.hold, 0);
          }
          break;
        }
        case S_DATA: {
          const n = Math.min(this.remaining, len - off);
          if (this.deliver) this.handlers.data(n === len ? chunk : chunk.subarray(off, off + n));
          off += n;
          this.offset += n;
          this.remaining -= n;
          if (this.remaining === 0) this.endData();
          break;
        }
        case S_PAD: {
          const n = Math.min(this.pad, len - off);
          off += n;
          this.offset += n;
          this.pad -= n;
          if (this.pad === 0) this.state = S_HEADER;
          break;
        }
        case S_EXT: {
          const n = Math.min(this.ext.length - this.extLen, len - off);
          chunk.copy(this.ext, this.extLen, off, off + n);
          this.extLen += n;
          off += n;
          this.offset += n;
          if (this.extLen === this.ext.length) {
            this.extension();
            this.state = this.pad > 0 ? S_PAD : S_HEADER;
          }
          break;
        }
        default:
          // After the end-of-archive marker: trailing padding, ignored (the caller still hashes it).
          this.offset += len - off;
          return;
      }
    }
  }

  /**
   * The input is over: fail unless it stopped between entries. Right after an entry's data,
   * before any of its padding, counts as between entries, as Go's archive/tar (so dockerd) reads
   * it: the docker CLI sends build contexts cut there (`build -f` outside the context).
   */
  end(): void {
    if (this.state === S_END) return;
    if (this.state === S_HEADER && this.holdLen === 0 && !this.localPending) return;
    if (this.state === S_PAD && this.pad === this.padOwed && !this.localPending) return;
    throw new SizeLimitError(`truncated tar: input ended inside an entry at byte ${this.offset}`);
  }

  private endData(): void {
    if (this.deliver) {
      this.deliver = false;
      this.handlers.entryEnd();
    }
    this.padOwed = this.pad;
    this.state = this.pad > 0 ? S_PAD : S_HEADER;
  }

  private header(buf: Buffer, o: number): void {
    const at = this.offset - BLOCK;
    if (isZeroBlock(buf, o)) {
      if (this.localPending)
        throw new InvalidArgumentError(`invalid tar: extension header at byte ${at} has no entry`);
      this.zeroBlocks++;
      if (this.zeroBlocks === 2) this.state = S_END;
      return;
    }
    if (this.zeroBlocks > 0) throw new InvalidArgumentError(`invalid tar: lone zero block before byte ${at}`);
    if (!checksumOk(buf, o))
      throw new InvalidArgumentError(`invalid tar header at byte ${at}: checksum mismatch`);

    const flag = buf[o + F_TYPE]!;
    let size = readNumber(buf, o + F_SIZE, 12, 'size');
    // Extension headers: their data is collected, then applies to the next entry.
    if (flag === 0x78 || flag === 0x67 || flag === 0x4c || flag === 0x4b) {
      const limit = flag === 0x78 || flag === 0x67 ? MAX_PAX_BYTES : MAX_GNU_LONG_BYTES;
      if (size > limit) {
        throw new SizeLimitError(
          `tar ${flag === 0x78 || flag === 0x67 ? 'PAX' : 'GNU long name'} header at byte ${at} is ${size} bytes, over the ${limit}-byte limit`,
        );
      }
      this.extType = flag;
      this.ext = Buffer.allocUnsafe(size);
      this.extLen = 0;
      this.pad = padOf(size);
      if (flag !== 0x67) this.localPending = true;
      if (size === 0) {
        this.extension();
        this.state = this.pad > 0 ? S_PAD : S_HEADER;
      } else {
        this.state = S_EXT;
      }
      return;
    }

    let type = TYPES[flag];
    if (type === undefined) {
      if (flag === 0x56) {
        // 'V' volume label: metadata about the archive, not a file. Skip it and its data.
        this.resetLocal();
        this.skip(size);
        return;
      }
      const what = flag === 0x53 ? 'sparse file' : flag === 0x4d ? 'multi-volume continuation' : 'entry';
      throw new UnsupportedError(
        `unsupported tar ${what} type ${JSON.stringify(String.fromCharCode(flag))} at byte ${at}`,
      );
    }

    const magicUstar =
      buf[o + F_MAGIC] === 0x75 && buf.toString('latin1', o + F_MAGIC, o + F_MAGIC + 6) === 'ustar\0';
    const loc = this.local;
    const glo = this.global;

    let name: string;
    if (loc.path !== undefined) name = loc.path;
    else if (this.longName !== undefined) name = this.longName;
    else {
      name = readString(buf, o + F_NAME, 100);
      // POSIX ustar keeps a prefix; GNU's "ustar  " magic uses those bytes for other fields.
      if (magicUstar && buf[o + F_VERSION] === 0x30 && buf[o + F_PREFIX] !== 0) {
        name = `${readString(buf, o + F_PREFIX, 155)}/${name}`;
      }
    }
    let linkname: string | undefined;
    if (type === 'symlink' || type === 'hardlink') {
      linkname = loc.linkpath ?? this.longLink ?? readString(buf, o + F_LINKNAME, 100);
      checkPath(linkname, 'link target', at);
    }
    checkPath(name, 'name', at);
    if (flag === 0 && name.endsWith('/')) type = 'dir'; // pre-POSIX tars mark dirs by a trailing slash

    if (loc.size !== undefined) size = loc.size;
    else if (glo.size !== undefined) size = glo.size;

    const header: TarHeader = {
      name,
      type,
      mode: readNumber(buf, o + F_MODE, 8, 'mode') & 0o7777,
      uid: loc.uid ?? glo.uid ?? readNumber(buf, o + F_UID, 8, 'uid'),
      gid: loc.gid ?? glo.gid ?? readNumber(buf, o + F_GID, 8, 'gid'),
      size: type === 'file' ? size : 0,
      mtime: loc.mtime ?? glo.mtime ?? readNumber(buf, o + F_MTIME, 12, 'mtime'),
    };
    if (linkname !== undefined) header.linkname = linkname;
    if (type === 'char' || type === 'block') {
      header.devmajor = readNumber(buf, o + F_DEVMAJOR, 8, 'devmajor');
      header.devminor = readNumber(buf, o + F_DEVMINOR, 8, 'devminor');
    }
    const uname =
      loc.uname ?? glo.uname ?? (buf[o + F_UNAME] !== 0 ? readString(buf, o + F_UNAME, 32) : undefined);
    const gname =
      loc.gname ?? glo.gname ?? (buf[o + F_GNAME] !== 0 ? readString(buf, o + F_GNAME, 32) : undefined);
    if (uname) header.uname = uname;
    if (gname) header.gname = gname;
    if (glo.xattrs || loc.xattrs) header.xattrs = { ...glo.xattrs, ...loc.xattrs };
    this.resetLocal();

    this.handlers.entry(header);
    // Header-only types carry no data whatever their size field says (as Go's archive/tar
    // reads them), except GNU dump dirs whose listing we skip.
    const dataSize = type === 'file' ? size : flag === 0x44 ? size : 0;
    this.pad = padOf(dataSize);
    if (type === 'file' && dataSize > 0) {
      this.deliver = true;
      this.remaining = dataSize;
      this.state = S_DATA;
    } else {
      this.handlers.entryEnd();
      if (dataSize > 0) this.skip(dataSize);
    }
  }

  private skip(size: number): void {
    this.deliver = false;
    this.pad = padOf(size);
    if (size > 0) {
      this.remaining = size;
      this.state = S_DATA;
    } else {
      this.state = S_HEADER;
    }
  }

  private resetLocal(): void {
    this.local = {};
    this.localPending = false;
    this.longName = undefined;
    this.longLink = undefined;
  }

  private extension(): void {
    const data = this.ext;
    this.ext = Buffer.alloc(0);
    switch (this.extType) {
      case 0x4c: // 'L'
        this.longName = readString(data, 0, data.length);
        break;
      case 0x4b: // 'K'
        this.longLink = readString(data, 0, data.length);
        break;
      case 0x78: // 'x'
        applyPax(this.local, data, false);
        break;
      default: // 'g'
        applyPax(this.global, data, true);
    }
  }
}

function padOf(size: number): number {
  const r = size % BLOCK;
  return r === 0 ? 0 : BLOCK - r;
}

function checkPath(p: string, what: string, at: number): void {
  if (p.length === 0 && what === 'name')
    throw new InvalidArgumentError(`invalid tar header at byte ${at}: empty name`);
  if (p.includes('\0')) throw new InvalidArgumentError(`invalid tar header at byte ${at}: NUL in ${what}`);
  if (p.length > MAX_PATH_BYTES / 4 && Buffer.byteLength(p) > MAX_PATH_BYTES) {
    throw new SizeLimitError(`tar entry ${what} at byte ${at} is longer than ${MAX_PATH_BYTES} bytes`);
  }
}

function applyPax(into: Overrides, data: Buffer, global: boolean): void {
  for (const { key, value } of parsePaxRecords(data)) {
    const text = (): string => value.toString('utf8');
    // An empty value removes the keyword (POSIX): fall back to the header field.
    const empty = value.length === 0;
    switch (key) {
      case 'path':
      case 'linkpath':
        if (!global) into[key] = empty ? undefined : text();
        break;
      case 'size':
      case 'uid':
      case 'gid': {
        if (empty) {
          into[key] = undefined;
          break;
        }
        const s = text();
        const v = Number(s);
        if (!DECIMAL_RE.test(s) || !Number.isSafeInteger(v)) {
          throw new InvalidArgumentError(`invalid tar PAX header: bad ${key} "${s.slice(0, 40)}"`);
        }
        into[key] = v;
        break;
      }
      case 'mtime': {
        if (empty) {
          into.mtime = undefined;
          break;
        }
        const s = text();
        if (!TIME_RE.test(s))
          throw new InvalidArgumentError(`invalid tar PAX header: bad mtime "${s.slice(0, 40)}"`);
        into.mtime = Number(s);
        break;
      }
      case 'uname':
      case 'gname':
        into[key] = empty ? undefined : text();
        break;
      default:
        if (key.startsWith('SCHILY.xattr.')) {
          into.xattrs ??= {};
          into.xattrs[key.slice(13)] = Buffer.from(value);
        } else if (key.startsWith('LIBARCHIVE.xattr.')) {
          const [name, v] = decodeLibarchiveXattr(key.slice(17), value);
          into.xattrs ??= {};
          into.xattrs[name] = v;
        } else if (key.startsWith('GNU.sparse.')) {
          throw new UnsupportedError('unsupported tar entry: PAX sparse file (GNU.sparse)');
        }
      // atime, ctime, comment, charset, hdrcharset and vendor keys carry nothing we apply.
    }
  }
}

/** One entry of `readTar`; `body` must be read before asking for the next entry, or it is skipped. */
export interface TarEntry {
  header: TarHeader;
  body: AsyncIterable<Buffer>;
}

type ReaderEvent = { kind: 'entry'; header: TarHeader } | { kind: 'data'; chunk: Buffer } | { kind: 'end' };

/** Pull-style reading of an (uncompressed) tar stream. */
export async function* readTar(source: AsyncIterable<Buffer>): AsyncGenerator<TarEntry, void, undefined> {
  const queue: ReaderEvent[] = [];
  let head = 0;
  const parser = new TarParser({
    entry: (header) => queue.push({ kind: 'entry', header }),
    data: (chunk) => queue.push({ kind: 'data', chunk }),
    entryEnd: () => queue.push({ kind: 'end' }),
  });
  const it = source[Symbol.asyncIterator]();
  let sourceDone = false;

  const next = async (): Promise<ReaderEvent | undefined> => {
    while (head === queue.length) {
      queue.length = 0;
      head = 0;
      if (sourceDone) return undefined;
      const r = await it.next();
      if (r.done) {
        sourceDone = true;
        parser.end();
      } else {
        parser.push(r.value);
      }
    }
    const ev = queue[head]!;
    queue[head++] = undefined as unknown as ReaderEvent;
    return ev;
  };

  try {
    for (;;) {
      const ev = await next();
      if (ev === undefined) return;
      if (ev.kind !== 'entry') continue; // leftovers of a body the consumer did not read
      let started = false;
      const body: AsyncIterable<Buffer> = {
        [Symbol.asyncIterator]: async function* () {
          if (started) throw new InvalidArgumentError(`tar entry "${ev.header.name}": body read twice`);
          started = true;
          for (;;) {
            const d = await next();
            if (d === undefined || d.kind === 'end') return;
            if (d.kind === 'data') yield d.chunk;
          }
        },
      };
      yield { header: ev.header, body };
    }
  } finally {
    if (!sourceDone) await it.return?.();
  }
}
