/**
 * Open regular files and O_PATH handles of the overlay.
 *
 * A regular file is read and written through a description of its real file: the upper
 * one when the open needed write access (the file was copied up first) or the file was
 * upper already, else the lower one. As in Linux since 4.19, a description opened on the
 * lower file follows a later copy-up: its next call opens the upper file and goes on
 * there, so reads through an old descriptor see what was written through a new one. The
 * overlay description keeps the offset; each call hands it to the real description.
 * fsync of a description still on the lower file succeeds without syncing it.
 */
import { O_ACCMODE, O_RDONLY, SysError, type Credentials, type OpenFile, type Stat, type Statx } from '@erofs-js/vfs';
import { MOUNTER } from './layer.js';
import type { OvlNode } from './node.js';
import type { Overlay } from './overlay.js';

export class OvlFile implements OpenFile {
  readonly kind = 'file' as const;
  offset = 0;
  private closed = false;
  /** The lower description opened first, kept until close once the file moved up. */
  private lower: OpenFile | null;
  private upper: OpenFile | null;

  constructor(
    private readonly ov: Overlay,
    readonly node: OvlNode,
    public flags: number,
    real: OpenFile,
    realIsUpper: boolean,
  ) {
    node.incRef();
    this.lower = realIsUpper ? null : real;
    this.upper = realIsUpper ? real : null;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** The description to use now: the upper one once the file has been copied up. */
  private real(): OpenFile {
    if (this.closed) throw new SysError('EBADF', 'description is closed');
    if (!this.upper && this.node.upper) {
      // Opened with the mounter's credentials, as Linux's ovl_open_realfile.
      this.upper = this.ov.upper.open(this.node.upper, (this.flags & ~O_ACCMODE) | O_RDONLY, MOUNTER);
    }
    const r = this.upper ?? this.lower!;
    r.offset = this.offset;
    r.flags = (r.flags & O_ACCMODE) | (this.flags & ~O_ACCMODE);
    return r;
  }

  private after<T>(r: OpenFile, v: T): T {
    this.offset = r.offset;
    return v;
  }

  read(dest: Uint8Array, destOffset?: number, length?: number): number {
    const r = this.real();
    return this.after(r, r.read(dest, destOffset, length));
  }
  pread(dest: Uint8Array, position: number, destOffset?: number, length?: number): number {
    return this.real().pread(dest, position, destOffset, length);
  }
  readv(buffers: readonly Uint8Array[]): number {
    const r = this.real();
    return this.after(r, r.readv(buffers));
  }
  preadv(buffers: readonly Uint8Array[], position: number): number {
    return this.real().preadv(buffers, position);
  }
  write(src: Uint8Array, srcOffset?: number, length?: number): number {
    const r = this.real();
    return this.after(r, r.write(src, srcOffset, length));
  }
  pwrite(src: Uint8Array, position: number, srcOffset?: number, length?: number): number {
    return this.real().pwrite(src, position, srcOffset, length);
  }
  writev(buffers: readonly Uint8Array[]): number {
    const r = this.real();
    return this.after(r, r.writev(buffers));
  }
  pwritev(buffers: readonly Uint8Array[], position: number): number {
    return this.real().pwritev(buffers, position);
  }
  lseek(offset: number, whence: number): number {
    const r = this.real();
    return this.after(r, r.lseek(offset, whence));
  }
  getdents64(): number {
    this.real();
    throw new SysError('ENOTDIR', 'not a directory');
  }
  stat(): Stat {
    this.real();
    return this.ov.stat(this.node);
  }
  statx(): Statx {
    this.real();
    return this.ov.statx(this.node);
  }
  truncate(length: number): void {
    this.real().truncate(length);
  }
  fallocate(mode: number, offset: number, length: number): void {
    this.real().fallocate(mode, offset, length);
  }
  fsync(): void {
    const r = this.real();
    if (r === this.upper) r.fsync();
  }
  fdatasync(): void {
    const r = this.real();
    if (r === this.upper) r.fdatasync();
  }
  mmap(offset: number, length: number, prot: number, flags: number): Uint8Array[] {
    const r = this.real();
    if (!r.mmap) throw new SysError('ENODEV', 'the layer cannot map this file');
    return r.mmap(offset, length, prot, flags);
  }
  close(): void {
    if (this.closed) throw new SysError('EBADF', 'description already closed');
    this.closed = true;
    this.lower?.close();
    this.upper?.close();
    this.node.decRef();
  }
}

/** An O_PATH handle: fstat and the *at() calls only. */
export class OvlPathFile implements OpenFile {
  readonly kind = 'path' as const;
  offset = 0;
  private closed = false;

  constructor(
    private readonly ov: Overlay,
    readonly node: OvlNode,
    public flags: number,
    readonly creds: Credentials,
  ) {
    node.incRef();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private bad(): never {
    if (this.closed) throw new SysError('EBADF', 'description is closed');
    throw new SysError('EBADF', 'O_PATH description');
  }

  read(): number {
    return this.bad();
  }
  pread(): number {
    return this.bad();
  }
  readv(): number {
    return this.bad();
  }
  preadv(): number {
    return this.bad();
  }
  write(): number {
    return this.bad();
  }
  pwrite(): number {
    return this.bad();
  }
  writev(): number {
    return this.bad();
  }
  pwritev(): number {
    return this.bad();
  }
  lseek(): number {
    return this.bad();
  }
  getdents64(): number {
    return this.bad();
  }
  truncate(): void {
    this.bad();
  }
  fallocate(): void {
    this.bad();
  }
  fsync(): void {
    this.bad();
  }
  fdatasync(): void {
    this.bad();
  }
  stat(): Stat {
    if (this.closed) throw new SysError('EBADF', 'description is closed');
    return this.ov.stat(this.node);
  }
  statx(): Statx {
    if (this.closed) throw new SysError('EBADF', 'description is closed');
    return this.ov.statx(this.node);
  }
  close(): void {
    if (this.closed) throw new SysError('EBADF', 'description already closed');
    this.closed = true;
    this.node.decRef();
  }
}
