/**
 * The `erofs` command. Arguments are read by node:util's parseArgs (options anywhere on
 * the line, `--` ends them) and checked against the command's own list: an option the
 * command does not take, a missing or extra argument is a usage error (exit 2). Failures
 * print one line on stderr, "erofs: IMAGE: CODE: what", and exit 1.
 */
import { readFileSync, writeSync } from 'node:fs';
import { parseArgs } from 'node:util';
import {
  ALGORITHM_NAMES, INCOMPAT, LAYOUT_NAMES, S_IFMT, S_IFLNK, S_IFDIR, S_IFCHR, S_IFBLK,
  decodeName, featureNames, formatNid, isErofsError, splitDev, type Image, type Inode,
} from '@erofs-js/erofs';
import { Filesystem, ROOT, SysError, isSysError, resolve, toSysError } from '@erofs-js/vfs';
import { openImage, prepareCodecs } from './open.js';
import { modeString, timeString, uuidString, Progress, mib } from './format.js';
import { manifest, readdirRecords, typeName } from './manifest.js';
import { fsck } from './fsck.js';
import { extract } from './extract.js';
import { BuildError, TarError } from '@erofs-js/mkfs';
import { buildImageFile, buildImageFileFromTar } from '@erofs-js/mkfs/node';

// ---- the command line ------------------------------------------------------------------

/** Every option of every command; each command says which it takes (COMMANDS). */
const OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'V' },
  long: { type: 'boolean', short: 'l' },
  json: { type: 'boolean' },
  readdir: { type: 'boolean' },
  device: { type: 'string', multiple: true },
  'no-checksum': { type: 'boolean' },
  'same-permissions': { type: 'boolean' },
  devices: { type: 'boolean' },
  // -zlz4 and -z lz4, as mkfs.erofs spells it.
  compress: { type: 'string', short: 'z' },
  // --tar alone is --tar=f (parseArgs has no optional values: see preprocess()).
  tar: { type: 'string' },
  aufs: { type: 'boolean' },
  ungzip: { type: 'boolean' },
} as const;

type OptionName = keyof typeof OPTIONS;

const OPTION_HELP: Record<OptionName, [string, string]> = {
  help: ['-h, --help', 'this help'],
  version: ['-V, --version', 'the version of erofs'],
  long: ['-l, --long', 'mode, links, owner, size (major, minor for devices), UTC mtime, name, link target'],
  json: ['--json', 'JSON instead of text'],
  readdir: ['--readdir', 'one record per directory: its names in getdents order'],
  device: ['--device=FILE', 'an extra device of a multi-device image (repeat in table order)'],
  'no-checksum': ['--no-checksum', 'do not verify the superblock checksum'],
  'same-permissions': ['--same-permissions', 'keep setuid/setgid bits (root only; else cleared)'],
  devices: ['--devices', 'make block and character devices (root only)'],
  compress: ['-zlz4', 'LZ4-compress files where that saves space (uncompressed otherwise)'],
  tar: ['--tar[=f|=i]', 'SRC is a tar archive (gzip or not; - for stdin), as mkfs.erofs --tar=f; --tar=i: index only, file data stays in TAR (uncompressed), the image\'s device 1'],
  aufs: ['--aufs', 'OCI whiteouts (.wh.*) become overlayfs whiteouts and opaque directories'],
  ungzip: ['--ungzip', 'accepted for mkfs.erofs compatibility (gzip is recognised by its magic)'],
};

interface CommandSpec {
  /** Usage lines after "erofs ". */
  synopsis: string[];
  /** One line for the command list. */
  summary: string;
  /** What `erofs help CMD` adds. */
  details?: string;
  /** Fewest and most arguments after the command. */
  args: [number, number];
  options: OptionName[];
}

const IMAGE_OPTIONS: OptionName[] = ['device', 'no-checksum'];

const COMMANDS: Record<string, CommandSpec> = {
  info: {
    synopsis: ['info [--json] IMAGE'],
    summary: 'superblock summary',
    details: 'Block size, blocks, inodes, root nid, features, compression, uuid, label, build time, checksum, extra devices.',
    args: [1, 1],
    options: ['json', ...IMAGE_OPTIONS],
  },
  ls: {
    synopsis: ['ls [-l] [--json] IMAGE [PATH]'],
    summary: 'list a directory in on-disk order (default /)',
    details: 'Names in on-disk order, without . and ..; a PATH that is not a directory lists itself. Symlinks in PATH are followed. --json: an array of objects (name, type, mode, nlink, uid, gid, size, mtime, nid; target of a symlink, major and minor of a device; name_b64 and target_b64 for bytes that are not UTF-8).',
    args: [1, 2],
    options: ['long', 'json', ...IMAGE_OPTIONS],
  },
  cat: {
    synopsis: ['cat IMAGE PATH'],
    summary: "write a file's content to stdout (symlinks followed)",
    args: [2, 2],
    options: [...IMAGE_OPTIONS],
  },
  stat: {
    synopsis: ['stat [--json] IMAGE PATH'],
    summary: 'every inode field as JSON',
    details: 'The inode PATH names (a symlink itself, not its target) as one JSON object, with or without --json.',
    args: [2, 2],
    options: ['json', ...IMAGE_OPTIONS],
  },
  xattr: {
    synopsis: ['xattr IMAGE PATH'],
    summary: 'extended attributes, one name=value per line',
    details: 'Values are JSON strings when they are printable UTF-8, else 0s and base64 (as getfattr -e base64).',
    args: [2, 2],
    options: [...IMAGE_OPTIONS],
  },
  extract: {
    synopsis: ['extract [--same-permissions] [--devices] IMAGE DIR'],
    summary: 'write the tree to DIR',
    details: 'Modes, owners (as root), times and xattrs. Nothing outside DIR is created, followed or changed, whatever the image holds; DIR must not exist or be empty. What could not be written as the image has it is said on stderr.',
    args: [2, 2],
    options: ['same-permissions', 'devices', ...IMAGE_OPTIONS],
  },
  fsck: {
    synopsis: ['fsck IMAGE'],
    summary: 'decode and check everything; exit 1 if corrupt',
    details: 'Every inode, directory entry, xattr and data byte is decoded; the errors are listed on stdout, the first on stderr, and the exit status is 1.',
    args: [1, 1],
    options: [...IMAGE_OPTIONS],
  },
  manifest: {
    synopsis: ['manifest [--readdir] IMAGE'],
    summary: 'one JSON object per path (per directory with --readdir)',
    details: 'Sorted bytewise by path, in the format of the fixtures\' manifests (shared/tools/manifest.py), streamed.',
    args: [1, 1],
    options: ['readdir', ...IMAGE_OPTIONS],
  },
  mkfs: {
    synopsis: ['mkfs [-zlz4] SRC IMAGE', 'mkfs --tar[=f|=i] [--aufs] [-zlz4] TAR IMAGE'],
    summary: 'build an image of directory SRC, or of tar archive TAR',
    details: 'The image is written to a temporary file beside IMAGE and renamed when complete; a failure leaves no IMAGE.',
    args: [2, 2],
    options: ['compress', 'tar', 'aufs', 'ungzip'],
  },
};

/** "  left   right", the right column at `col` and wrapped; a long left side gets a line of its own. */
function row(left: string, right: string, col: number): string[] {
  const text = wrap(right, 92 - col);
  const lines = left.length + 2 < col ? [`  ${left.padEnd(col - 2)}${text[0] ?? ''}`] : [`  ${left}`, ' '.repeat(col) + (text[0] ?? '')];
  for (const t of text.slice(1)) lines.push(' '.repeat(col) + t);
  return lines;
}

function usage(): string {
  const lines = ['usage: erofs <command> [options] IMAGE [args]', '       erofs help [COMMAND]', '       erofs --version', '', 'commands:'];
  for (const c of Object.values(COMMANDS)) {
    for (const s of c.synopsis.slice(0, -1)) lines.push('  ' + s);
    lines.push(...row(c.synopsis[c.synopsis.length - 1], c.summary, 29));
  }
  lines.push('', 'options:');
  for (const o of Object.keys(OPTION_HELP) as OptionName[]) if (o !== 'help' && o !== 'version') lines.push(...row(...OPTION_HELP[o], 23));
  lines.push(...row(...OPTION_HELP.help, 23), ...row(...OPTION_HELP.version, 23));
  lines.push('', "'erofs help COMMAND' says which options a command takes.");
  return lines.join('\n') + '\n';
}

/** `text` broken into lines of at most `width` characters at spaces. */
function wrap(text: string, width = 88): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}

function commandHelp(name: string): string {
  const c = COMMANDS[name];
  const lines = c.synopsis.map((s, k) => (k === 0 ? 'usage: erofs ' : '       erofs ') + s);
  lines.push('', c.summary[0].toUpperCase() + c.summary.slice(1) + '.');
  if (c.details) lines.push(...wrap(c.details));
  lines.push('', 'options:');
  for (const o of [...c.options, 'help' as const]) lines.push(...row(...OPTION_HELP[o], 23));
  return lines.join('\n') + '\n';
}

class UsageError extends Error {
  constructor(message: string, readonly command?: string) {
    super(message);
  }
}

interface Parsed {
  command: string;
  args: string[];
  /** The options given, by the names the commands use: long, json, readdir, no-checksum, lz4, tar, tar-index, ... */
  flags: Set<string>;
  devices: string[];
}

/** `--tar` alone means `--tar=f`: parseArgs would take the next argument as its value. */
function preprocess(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--') return out.concat(argv.slice(i));
    out.push(argv[i] === '--tar' ? '--tar=f' : argv[i]);
  }
  return out;
}

/**
 * The command line as a Parsed, or a UsageError. parseArgs runs in its lenient mode so that
 * every mistake gets our own message: an unknown option, an option the command does not
 * take, a value missing or given to a flag, a wrong number of arguments.
 */
function parse(argv: string[]): Parsed {
  const { tokens } = parseArgs({ args: preprocess(argv), options: OPTIONS, strict: false, allowPositionals: true, tokens: true });
  const positionals: string[] = [];
  const given: { name: OptionName; raw: string; value?: string }[] = [];
  let mistake: string | undefined;
  for (const t of tokens) {
    if (t.kind === 'positional') positionals.push(t.value);
    if (t.kind !== 'option' || mistake) continue;
    if (!Object.hasOwn(OPTIONS, t.name)) {
      mistake = `unknown option ${t.rawName}`;
      continue;
    }
    const name = t.name as OptionName;
    const spec = OPTIONS[name];
    if (spec.type === 'boolean' && t.value !== undefined) mistake = `${t.rawName} takes no value`;
    else if (spec.type === 'string' && (t.value === undefined || (!t.inlineValue && t.value.startsWith('-') && t.value !== '-'))) {
      mistake = `${t.rawName} needs a value${name === 'device' ? ' (a FILE)' : ''}`;
    } else given.push({ name, raw: t.rawName, value: t.value });
  }
  const [command = '', ...args] = positionals;
  // The first mistake, with the command's usage when the command is known.
  if (mistake) throw new UsageError(mistake, Object.hasOwn(COMMANDS, command) ? command : undefined);
  const flags = new Set<string>();
  const devices: string[] = [];
  if (given.some((g) => g.name === 'version')) flags.add('version');
  if (given.some((g) => g.name === 'help')) flags.add('help');
  if (!command || command === 'help' || flags.has('version')) return { command, args, flags, devices };
  const spec = COMMANDS[command];
  if (!spec) throw new UsageError(`unknown command ${command}`);
  for (const g of given) {
    if (g.name === 'help') continue;
    if (!spec.options.includes(g.name)) throw new UsageError(`${command} takes no ${g.raw} option`, command);
    if (g.name === 'device') devices.push(g.value!);
    else if (g.name === 'long') flags.add('long');
    else if (g.name === 'compress') {
      if (g.value !== 'lz4') throw new UsageError(`mkfs: unsupported compression ${g.value} (only lz4)`, command);
      flags.add('lz4');
    } else if (g.name === 'tar') {
      if (g.value === 'f') flags.add('tar');
      else if (g.value === 'i') flags.add('tar').add('tar-index');
      else throw new UsageError(`mkfs: --tar=${g.value}: only --tar=f (full data) and --tar=i (index only) are supported`, command);
    } else flags.add(g.name);
  }
  if (flags.has('help')) return { command, args, flags, devices };
  const [min, max] = spec.args;
  if (args.length < min) throw new UsageError(`${command} needs ${spec.synopsis[0].split(' ').filter((w) => /^[A-Z]+$/.test(w)).slice(args.length).join(' ')}`, command);
  if (args.length > max) throw new UsageError(`${command}: unexpected argument ${JSON.stringify(args[max])}`, command);
  return { command, args, flags, devices };
}

// ---- output -----------------------------------------------------------------------------

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

/** A JSON array with one element per line: valid JSON that still reads (and greps) as lines. */
function jsonLines(items: unknown[]): string {
  return items.length ? `[\n${items.map((x) => JSON.stringify(x)).join(',\n')}\n]\n` : '[]\n';
}

const strict = new TextDecoder('utf-8', { fatal: true });

/** `rec[key]` = the UTF-8 text of `raw`, or `rec[key_b64]` = its base64 when it is not UTF-8 (as the manifests do). */
function textOrB64(rec: Record<string, unknown>, key: string, raw: Uint8Array): void {
  try {
    rec[key] = strict.decode(raw);
  } catch {
    rec[key + '_b64'] = Buffer.from(raw).toString('base64');
  }
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

function lsRecord(image: Image, name: Uint8Array, inode: Inode): Record<string, unknown> {
  const rec: Record<string, unknown> = {};
  textOrB64(rec, 'name', name);
  const t = inode.mode & S_IFMT;
  Object.assign(rec, { type: typeName(inode.mode), mode: inode.mode, nlink: inode.nlink, uid: inode.uid, gid: inode.gid, size: inode.size, mtime: inode.mtime, mtimeNsec: inode.mtimeNsec, nid: formatNid(inode.nid) });
  if (t === S_IFCHR || t === S_IFBLK) Object.assign(rec, splitDev(inode.rdev));
  if (t === S_IFLNK) textOrB64(rec, 'target', image.readlink(inode));
  return rec;
}

function printableValue(v: Uint8Array): string {
  const text = Buffer.from(v).toString('utf8');
  if (Buffer.from(text, 'utf8').equals(Buffer.from(v)) && !/[\x00-\x08\x0b-\x1f\x7f]/.test(text)) return JSON.stringify(text);
  return '0s' + Buffer.from(v).toString('base64');
}

/** The algorithms compressed files may use: the superblock's list with COMPR_CFGS, LZ4 with 0PADDING alone, else none. */
function compressionNames(image: Image): string[] {
  const sb = image.sb;
  if (sb.featureIncompat & INCOMPAT.COMPR_CFGS) return ALGORITHM_NAMES.filter((_, k) => image.compression.availableAlgs & (1 << k));
  return sb.featureIncompat & INCOMPAT.ZERO_PADDING ? ['lz4'] : [];
}

function infoRecord(image: Image): Record<string, unknown> {
  const sb = image.sb;
  const rec: Record<string, unknown> = {
    blockSize: sb.blockSize,
    blocks: sb.blocks,
    inodes: sb.inos,
    rootNid: formatNid(sb.rootNid),
    metaBlkaddr: sb.metaBlkaddr,
    xattrBlkaddr: sb.xattrBlkaddr,
    features: featureNames(sb),
    compression: compressionNames(image),
    uuid: uuidString(sb.uuid),
    label: sb.volumeName,
    epoch: sb.epoch,
    buildTime: sb.epoch + sb.buildTime,
    fixedNsec: sb.fixedNsec,
    checksum: sb.checksum,
    extraDevices: sb.devices.map((d) => ({ blocks: d.blocks, uniaddr: d.uniaddr, tag: decodeName(d.tag) })),
  };
  if (sb.packedNid) rec.packedNid = formatNid(sb.packedNid);
  if (sb.metaboxNid) rec.metaboxNid = formatNid(sb.metaboxNid);
  if (sb.xattrPrefixCount) rec.xattrPrefixes = image.longPrefixes().map((x) => decodeName(x.prefix));
  return rec;
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
  const json = p.flags.has('json');
  switch (p.command) {
    case 'info': {
      if (json) {
        out(JSON.stringify(infoRecord(image), null, 2) + '\n');
        return 0;
      }
      const sb = image.sb;
      const compression = compressionNames(image);
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
      if (compression.length) lines.splice(7, 0, `compression:     ${compression.join(' ')}`);
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
      const path = p.args[1] ?? '/';
      const inode = inodeAt(vfs(), path, true);
      const long = p.flags.has('long');
      const lines: string[] = [];
      const records: Record<string, unknown>[] = [];
      if ((inode.mode & S_IFMT) !== S_IFDIR) {
        if (json) records.push(lsRecord(image, Buffer.from(path), inode));
        else lines.push(long ? lsLine(image, path, inode) : path);
      } else {
        for (const d of image.readdir(inode)) {
          if (d.name[0] === 0x2e && (d.name.length === 1 || (d.name.length === 2 && d.name[1] === 0x2e))) continue;
          if (json) {
            records.push(lsRecord(image, d.name, image.inode(d.nid)));
            continue;
          }
          const name = decodeName(d.name);
          lines.push(long ? lsLine(image, name, image.inode(d.nid)) : name);
        }
      }
      if (json) out(jsonLines(records));
      else out(lines.length ? lines.join('\n') + '\n' : '');
      return 0;
    }
    case 'cat': {
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
      const inode = inodeAt(vfs(), p.args[1], false);
      const xs = image.listXattrs(inode);
      out(xs.map((x) => `${x.name}=${printableValue(x.value)}\n`).join(''));
      return 0;
    }
    case 'manifest': {
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
      const total = Number(image.sb.inos) || 1;
      const bar = onTTY ? new Progress(process.stderr, 'fsck') : undefined;
      let r;
      try {
        r = fsck(image, { onProgress: bar ? (n) => bar.update(n, total) : undefined });
      } finally {
        bar?.end();
      }
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
      const total = Number(image.sb.inos) || 1;
      const bar = onTTY ? new Progress(process.stderr, 'extract') : undefined;
      let r;
      try {
        r = extract(image, p.args[1], {
          samePermissions: p.flags.has('same-permissions'),
          devices: p.flags.has('devices'),
          onProgress: bar ? (n) => bar.update(n, total) : undefined,
        });
      } finally {
        bar?.end();
      }
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

/**
 * erofs mkfs SRC IMAGE: the only command that writes an image rather than opening one. The
 * image is streamed to a temporary file beside IMAGE (file contents read as they are
 * written) and renamed to IMAGE when complete; a failure leaves no IMAGE behind. With --tar
 * SRC is a tar archive, read once (packages/mkfs/src/fromtar.ts) before the image is written.
 */
async function mkfs(p: Parsed): Promise<number> {
  const [src, dest] = p.args;
  const compression = p.flags.has('lz4') ? 'lz4' : undefined;
  const bar = process.stderr.isTTY ? new Progress(process.stderr, 'mkfs', mib) : undefined;
  const onProgress = bar ? (done: number, total: number) => bar.update(done, total) : undefined;
  try {
    if (p.flags.has('tar')) {
      // An archive without a root entry gets mkfs.erofs's root: our uid/gid, the build time
      // (SOURCE_DATE_EPOCH when set).
      const epoch = Number(process.env.SOURCE_DATE_EPOCH);
      const root = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0, mtime: Number.isSafeInteger(epoch) ? epoch : undefined };
      const onWarning = (m: string) => process.stderr.write(`erofs: mkfs: ${m}\n`);
      await buildImageFileFromTar(src, dest, { compression, aufs: p.flags.has('aufs'), index: p.flags.has('tar-index'), root, onWarning, onProgress });
    } else buildImageFile(src, dest, { compression, onProgress });
  } catch (e) {
    if (!(e instanceof BuildError || e instanceof TarError) && typeof (e as NodeJS.ErrnoException).code !== 'string') throw e;
    bar?.end();
    process.stderr.write(`erofs: ${dest}: ${(e as Error).message}\n`);
    return 1;
  }
  bar?.end();
  return 0;
}

/** The version in the package's own package.json (src/ and dist/ sit beside it alike). */
function version(): string {
  return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

export async function main(argv: string[]): Promise<number> {
  let p: Parsed;
  try {
    p = parse(argv);
    if (p.flags.has('version')) {
      out(`erofs ${version()}\n`);
      return 0;
    }
    if (p.command === 'help') {
      const [topic, extra] = p.args;
      if (extra !== undefined) throw new UsageError(`help: unexpected argument ${JSON.stringify(extra)}`);
      if (topic !== undefined && !Object.hasOwn(COMMANDS, topic)) throw new UsageError(`help: unknown command ${topic}`);
      out(topic === undefined ? usage() : commandHelp(topic));
      return 0;
    }
    if (p.flags.has('help')) {
      out(p.command ? commandHelp(p.command) : usage());
      return 0;
    }
    if (!p.command) {
      process.stderr.write(usage());
      return 2;
    }
    if (p.command === 'mkfs') return await mkfs(p);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`erofs: ${e.message}\n${e.command ? commandHelp(e.command).split('\n\n')[0] + `\n(erofs help ${e.command} for more)\n` : usage()}`);
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
    // Every failure names the image: the decoder's errors and the VFS's print alike
    // ("CODE: what"; a SysError's message starts with its code already), and so do the host's
    // (extract's mkdir, open, ...: Node's messages also start with the code).
    if (isErofsError(e) || isSysError(e)) {
      process.stderr.write(`erofs: ${imagePath}: ${isSysError(e) ? e.message : `${e.code}: ${e.message}`}\n`);
      return 1;
    }
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EPIPE') return 0;
    if (typeof code === 'string') {
      process.stderr.write(`erofs: ${imagePath}: ${(e as Error).message}\n`);
      return 1;
    }
    process.stderr.write(`erofs: ${imagePath}: internal error: ${(e as Error).stack ?? e}\n`);
    return 70;
  } finally {
    close();
  }
}
