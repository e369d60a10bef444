import { writeSync } from 'node:fs';
import {
  LAYOUT_NAMES, S_IFMT, S_IFLNK, S_IFDIR, S_IFCHR, S_IFBLK,
  decodeName, featureNames, formatNid, isErofsError, splitDev, type Image, type Inode,
} from '@erofs-js/erofs';
import { Filesystem, ROOT, SysError, isSysError, resolve, toSysError } from '@erofs-js/vfs';
import { openImage, prepareCodecs } from './open.js';
import { modeString, timeString, uuidString, Progress } from './format.js';
import { manifest, readdirRecords, typeName } from './manifest.js';
import { fsck } from './fsck.js';
import { extract } from './extract.js';
import { BuildError, TarError } from '@erofs-js/mkfs';
import { buildImageFile, buildImageFileFromTar } from '@erofs-js/mkfs/node';

const USAGE = `usage: erofs <command> [options] IMAGE [args]

commands:
  info IMAGE                 superblock summary
  ls [-l] IMAGE [PATH]       list a directory in on-disk order (default /)
  cat IMAGE PATH             write a file's content to stdout (symlinks followed)
  stat IMAGE PATH            every inode field as JSON
  xattr IMAGE PATH           extended attributes, one name=value per line
  extract IMAGE DIR          write the tree to DIR; nothing outside DIR is created,
                             followed or changed, whatever the image holds
  fsck IMAGE                 decode and check everything; exit 1 if corrupt
  manifest [--readdir] IMAGE one JSON object per path (or per directory with --readdir)
  mkfs [-zlz4] SRC IMAGE     build an image of directory SRC (-zlz4: LZ4-compress files
                             where that saves space; uncompressed otherwise)
  mkfs --tar[=f|=i] [--aufs] [-zlz4] TAR IMAGE
                             build an image of tar archive TAR (gzip or not; - for stdin),
                             as mkfs.erofs --tar=f; --aufs: OCI whiteouts (.wh.*) become
                             overlayfs whiteouts and opaque directories; --tar=i: index only,
                             file data stays in TAR (uncompressed), the image's device 1

options:
  --device=FILE              an extra device of a multi-device image (repeat in table order)
  --no-checksum              do not verify the superblock checksum
  --same-permissions         extract: keep setuid/setgid bits (root only; else cleared)
  --devices                  extract: make block and character devices (root only)
  -h, --help                 this help
`;

class UsageError extends Error {}

/** Writes synchronously so output is complete and ordered even when main() is followed by exit. */
function out(data: string | Uint8Array): void {
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  let off = 0;
  while (off < bytes.length) {
    try {
      off += writeSync(1, bytes, off, bytes.length - off);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN') continue;
      throw e;
    }
  }
}

interface Parsed {
  command: string;
  args: string[];
  flags: Set<string>;
  devices: string[];
}

function parse(argv: string[]): Parsed {
  const args: string[] = [];
  const flags = new Set<string>();
  const devices: string[] = [];
  let command = '';
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      args.push(...argv.slice(i + 1));
      break;
    }
    if (a.startsWith('--device=')) devices.push(a.slice('--device='.length));
    else if (a === '--device') {
      if (i + 1 >= argv.length) throw new UsageError('--device needs a FILE');
      devices.push(argv[++i]);
    } else if (a === '-h' || a === '--help') flags.add('help');
    else if (a === '-l') flags.add('long');
    else if (a === '--readdir') flags.add('readdir');
    else if (a === '--no-checksum') flags.add('no-checksum');
    else if (a === '--same-permissions' || a === '--devices') flags.add(a.slice(2));
    else if (a === '-zlz4' || (a === '-z' && argv[i + 1] === 'lz4' && ++i)) flags.add('lz4');
    else if (a === '--tar' || a === '--tar=f') flags.add('tar');
    else if (a === '--tar=i') flags.add('tar').add('tar-index');
    else if (a.startsWith('--tar=')) throw new UsageError(`mkfs: --tar=${a.slice(6)}: only --tar=f (full data) and --tar=i (index only) are supported`);
    else if (a === '--aufs' || a === '--ungzip') flags.add(a.slice(2)); // gzip input is recognised by its magic either way
    else if (a.startsWith('-z')) throw new UsageError(`mkfs: unsupported compression ${a === '-z' ? (argv[i + 1] ?? '') : a.slice(2)} (only lz4)`);
    else if (a.startsWith('-') && a.length > 1) throw new UsageError(`unknown option ${a}`);
    else if (!command) command = a;
    else args.push(a);
  }
  return { command, args, flags, devices };
}

function need(p: Parsed, min: number, max: number): void {
  if (p.args.length < min || p.args.length > max) throw new UsageError(`wrong number of arguments for ${p.command}`);
}

function lsLine(image: Image, name: string, inode: Inode): string {
  const t = inode.mode & S_IFMT;
  let size = String(inode.size);
  if (t === S_IFCHR || t === S_IFBLK) {
    const { major, minor } = splitDev(inode.rdev);
    size = `${major}, ${minor}`;
  }
  let line = `${modeString(inode.mode)} ${String(inode.nlink).padStart(3)} ${String(inode.uid).padStart(5)} ${String(inode.gid).padStart(5)} ${size.padStart(9)} ${timeString(inode.mtime)} ${name}`;
  if (t === S_IFLNK) line += ' -> ' + decodeName(image.readlink(inode));
  return line;
}

function printableValue(v: Uint8Array): string {
  const text = Buffer.from(v).toString('utf8');
  if (Buffer.from(text, 'utf8').equals(Buffer.from(v)) && !/[\x00-\x08\x0b-\x1f\x7f]/.test(text)) return JSON.stringify(text);
  return '0s' + Buffer.from(v).toString('base64');
}

/**
 * The inode PATH names inside the image, found by the one Linux path walker (the VFS's,
 * as root): symlinks in the middle of the path are followed, absolute targets from the
 * image root, at most 40 of them; the last component only with `follow`. A failure is a
 * SysError whose text names the path.
 */
function inodeAt(fs: Filesystem, path: string, follow: boolean): Inode {
  try {
    const d = resolve(fs, path, ROOT, { follow });
    const inode = d.inode.raw;
    d.decRef();
    return inode;
  } catch (e) {
    const s = toSysError(e);
    const detail = s.message.startsWith(`${s.code}: `) ? s.message.slice(s.code.length + 2) : s.message;
    throw new SysError(s.code, `${path}: ${detail}`, { cause: s });
  }
}

function run(p: Parsed, image: Image, onTTY: boolean): number {
  // Only the commands that take a PATH need the VFS's view of the image.
  const vfs = () => new Filesystem(image);
  switch (p.command) {
    case 'info': {
      const sb = image.sb;
      const lines = [
        `block size:      ${sb.blockSize}`,
        `blocks:          ${sb.blocks}`,
        `inodes:          ${sb.inos}`,
        `root nid:        ${formatNid(sb.rootNid)}`,
        `meta blkaddr:    ${sb.metaBlkaddr}`,
        `xattr blkaddr:   ${sb.xattrBlkaddr}`,
        `features:        ${featureNames(sb).join(' ') || '(none)'}`,
        `uuid:            ${uuidString(sb.uuid)}`,
        `label:           ${sb.volumeName}`,
        `build time:      ${timeString(sb.epoch + sb.buildTime)} (epoch ${sb.epoch}, ${sb.fixedNsec} ns)`,
        `checksum:        0x${sb.checksum.toString(16).padStart(8, '0')}`,
      ];
      if (sb.extraDevices) {
        lines.push(`extra devices:   ${sb.extraDevices}`);
        sb.devices.forEach((d, i) => lines.push(`  device ${i + 1}: ${d.blocks} blocks at ${d.uniaddr}, tag ${JSON.stringify(decodeName(d.tag))}`));
      }
      if (sb.packedNid) lines.push(`packed nid:      ${formatNid(sb.packedNid)}`);
      if (sb.metaboxNid) lines.push(`metabox nid:     ${formatNid(sb.metaboxNid)}`);
      if (sb.xattrPrefixCount) lines.push(`xattr prefixes:  ${image.longPrefixes().map((x) => decodeName(x.prefix)).join(' ')}`);
      out(lines.join('\n') + '\n');
      return 0;
    }
    case 'ls': {
      need(p, 1, 2);
      const inode = inodeAt(vfs(), p.args[1] ?? '/', true);
      const lines: string[] = [];
      if ((inode.mode & S_IFMT) !== S_IFDIR) {
        const name = p.args[1] ?? '/';
        lines.push(p.flags.has('long') ? lsLine(image, name, inode) : name);
      } else {
        for (const d of image.readdir(inode)) {
          if (d.name[0] === 0x2e && (d.name.length === 1 || (d.name.length === 2 && d.name[1] === 0x2e))) continue;
          const name = decodeName(d.name);
          lines.push(p.flags.has('long') ? lsLine(image, name, image.inode(d.nid)) : name);
        }
      }
      out(lines.length ? lines.join('\n') + '\n' : '');
      return 0;
    }
    case 'cat': {
      need(p, 2, 2);
      const inode = inodeAt(vfs(), p.args[1], true);
      if ((inode.mode & S_IFMT) === S_IFDIR) throw new SysError('EISDIR', `${p.args[1]}: is a directory`);
      const buf = new Uint8Array(1 << 20);
      for (let off = 0; off < inode.size; ) {
        const n = image.read(inode, off, buf);
        if (n === 0) break;
        out(buf.subarray(0, n));
        off += n;
      }
      return 0;
    }
    case 'stat': {
      need(p, 2, 2);
      const inode = inodeAt(vfs(), p.args[1], false);
      const obj: Record<string, unknown> = { path: p.args[1], type: typeName(inode.mode), ...inode, nid: formatNid(inode.nid), layoutName: LAYOUT_NAMES[inode.layout], modeString: modeString(inode.mode) };
      const t = inode.mode & S_IFMT;
      if (t === S_IFCHR || t === S_IFBLK) Object.assign(obj, splitDev(inode.rdev));
      if (t === S_IFLNK) obj.target = decodeName(image.readlink(inode));
      obj.xattrs = image.listXattrs(inode).length;
      out(JSON.stringify(obj, null, 2) + '\n');
      return 0;
    }
    case 'xattr': {
      need(p, 2, 2);
      const inode = inodeAt(vfs(), p.args[1], false);
      const xs = image.listXattrs(inode);
      out(xs.map((x) => `${x.name}=${printableValue(x.value)}\n`).join(''));
      return 0;
    }
    case 'manifest': {
      need(p, 1, 1);
      const recs: Iterable<object> = p.flags.has('readdir') ? readdirRecords(image) : manifest(image);
      // Written as the records come, about 64 KiB at a time: memory follows the largest
      // directory, not the image. A corrupt image fails part way, after the lines before.
      let batch = '';
      for (const r of recs) {
        batch += JSON.stringify(r) + '\n';
        if (batch.length >= 1 << 16) {
          out(batch);
          batch = '';
        }
      }
      out(batch);
      return 0;
    }
    case 'fsck': {
      need(p, 1, 1);
      const total = Number(image.sb.inos) || 1;
      const bar = onTTY ? new Progress(process.stderr, 'fsck') : undefined;
      const r = fsck(image, { onProgress: bar ? (n) => bar.update(n, total) : undefined });
      bar?.end();
      out(`${r.inodes} inodes (${r.directories} directories, ${r.files} files, ${r.symlinks} symlinks, ${r.special} special), ${r.dataBytes} data bytes, ${r.xattrs} xattrs\n`);
      if (r.errors.length) {
        out(`${r.errors.length}${r.truncated ? '+' : ''} errors:\n` + r.errors.map((e) => `  ${e}\n`).join(''));
        process.stderr.write(`erofs: ${p.args[0]}: ${r.errors[0]}\n`);
        return 1;
      }
      out('clean\n');
      return 0;
    }
    case 'extract': {
      need(p, 2, 2);
      const total = Number(image.sb.inos) || 1;
      const bar = onTTY ? new Progress(process.stderr, 'extract') : undefined;
      const r = extract(image, p.args[1], {
        samePermissions: p.flags.has('same-permissions'),
        devices: p.flags.has('devices'),
        onProgress: bar ? (n) => bar.update(n, total) : undefined,
      });
      bar?.end();
      // What was not written as the image has it, like tar's warnings (the first 20).
      for (const n of r.notes.slice(0, 20)) process.stderr.write(`erofs: extract: ${n}\n`);
      if (r.notes.length > 20) process.stderr.write(`erofs: extract: ... and ${r.notes.length - 20} more\n`);
      if (onTTY) {
        process.stderr.write(`${r.dirs} dirs, ${r.files} files, ${r.hardlinks} hard links, ${r.symlinks} symlinks, ${r.special} special; ${r.xattrsSet} xattrs set` +
          (r.xattrsSkipped ? `, ${r.xattrsSkipped} xattrs skipped` : '') + (r.skipped.length ? `, ${r.skipped.length} nodes skipped` : '') +
          (r.setidCleared ? `, setuid/setgid cleared on ${r.setidCleared}` : '') + '\n');
      }
      return 0;
    }
    default:
      throw new UsageError(`unknown command ${p.command}`);
  }
}

const COMMANDS = new Set(['info', 'ls', 'cat', 'stat', 'xattr', 'extract', 'fsck', 'manifest', 'mkfs']);

/**
 * erofs mkfs SRC IMAGE: the only command that writes an image rather than opening one. The
 * image is streamed to a temporary file beside IMAGE (file contents read as they are
 * written) and renamed to IMAGE when complete; a failure leaves no IMAGE behind. With --tar
 * SRC is a tar archive, read once (packages/mkfs/src/fromtar.ts) before the image is written.
 */
async function mkfs(p: Parsed): Promise<number> {
  need(p, 2, 2);
  const [src, dest] = p.args;
  const compression = p.flags.has('lz4') ? 'lz4' : undefined;
  try {
    if (p.flags.has('tar')) {
      // An archive without a root entry gets mkfs.erofs's root: our uid/gid, the build time
      // (SOURCE_DATE_EPOCH when set).
      const epoch = Number(process.env.SOURCE_DATE_EPOCH);
      const root = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0, mtime: Number.isSafeInteger(epoch) ? epoch : undefined };
      const onWarning = (m: string) => process.stderr.write(`erofs: mkfs: ${m}\n`);
      await buildImageFileFromTar(src, dest, { compression, aufs: p.flags.has('aufs'), index: p.flags.has('tar-index'), root, onWarning });
    } else buildImageFile(src, dest, { compression });
  } catch (e) {
    if (!(e instanceof BuildError || e instanceof TarError) && typeof (e as NodeJS.ErrnoException).code !== 'string') throw e;
    process.stderr.write(`erofs: mkfs: ${(e as Error).message}\n`);
    return 1;
  }
  return 0;
}

export async function main(argv: string[]): Promise<number> {
  let p: Parsed;
  try {
    p = parse(argv);
    if (p.flags.has('help') || !p.command) {
      out(USAGE);
      return p.command || p.flags.has('help') ? 0 : 2;
    }
    if (!COMMANDS.has(p.command)) throw new UsageError(`unknown command ${p.command}`);
    if (p.args.length < 1) throw new UsageError(`${p.command} needs an IMAGE`);
    if (p.command === 'mkfs') return await mkfs(p);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`erofs: ${e.message}\n${USAGE}`);
      return 2;
    }
    throw e;
  }
  const imagePath = p.args[0];
  let close = () => {};
  try {
    await prepareCodecs();
    const opened = openImage(imagePath, { devices: p.devices, verifyChecksum: !p.flags.has('no-checksum') });
    close = opened.close;
    return run(p, opened.image, process.stderr.isTTY === true);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`erofs: ${e.message}\n${USAGE}`);
      return 2;
    }
    // The decoder's errors and the VFS's print alike: "CODE: what" (a SysError's message
    // starts with its code already).
    if (isErofsError(e) || isSysError(e)) {
      process.stderr.write(`erofs: ${imagePath}: ${isSysError(e) ? e.message : `${e.code}: ${e.message}`}\n`);
      return 1;
    }
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EPIPE') return 0;
    if (typeof code === 'string') {
      // Host filesystem errors (extract target exists, permission denied, ...).
      process.stderr.write(`erofs: ${(e as Error).message}\n`);
      return 1;
    }
    process.stderr.write(`erofs: ${imagePath}: internal error: ${(e as Error).stack ?? e}\n`);
    return 70;
  } finally {
    close();
  }
}
