/**
 * `erofs mkfs --tar --aufs` against `mkfs.erofs --tar=f --aufs` on a real layer pair, in the
 * kernel's view:
 *
 *   base.tar   the Debian minbase root (tools/bench/corpus.ts) as GNU tar writes it by
 *              default (`tar --numeric-owner -cf`, GNU format: long names in 'L' entries,
 *              hard links, devices)
 *   app.tar    a second layer made with GNU tar (PAX format, --xattrs) from a staging
 *              directory holding real `.wh.` files: it deletes files and a directory,
 *              replaces files (a symlink by a file, a directory by a symlink, a file by a
 *              directory), makes /etc/apt opaque, and adds files of every type with long and
 *              non-UTF-8 names, xattrs (user., trusted., a binary security.capability),
 *              nanosecond mtimes, large ids, hard links, setuid bits
 *   app.tar.gz the same, gzip-compressed (ours detects it; mkfs.erofs gets --ungzip)
 *   quirks.tar an archive written entry by entry (packages/mkfs/src/testutil.ts) with what
 *              GNU tar never writes but concatenated or hand-made layers hold: entries
 *              without their parents, a directory entry after its implicit creation,
 *              the same name twice, a directory replaced by a file and back, a hard link
 *              whose target is replaced later, whiteouts of names made in the same
 *              archive, a global PAX header, LIBARCHIVE.xattr records, GNU long names and
 *              links, the ustar prefix field, base-256 ids, ".." in paths
 *   --tar=i    base, app and quirks again as index-only images (the tar as extra device 1,
 *              mounted through two loop devices, -o device=), compared the same way
 *   noroot.tar an archive without a "./" entry (the root made as mkfs.erofs makes it;
 *              both tools run with SOURCE_DATE_EPOCH for its mtime)
 *
 * Each is built by both tools; fsck.erofs (1.9) must accept ours; as root both images are
 * mounted (mount -t erofs -o loop,ro) and shared/tools/manifest.py's records (ino left
 * out) and directory listings must be equal.
 *
 * --record writes fixtures/tar/: a small base (a subset of the same tree, a few hundred KB)
 * and the same app layer, with the kernel's manifests of mkfs.erofs's images of them, so
 * that `npm test` (tests/mkfs-tar.test.ts) can check ours against them without root or
 * erofs-utils.
 *
 * usage: npx tsx tools/mkfs-tar-check.ts [--tree DIR] [--record] [--keep]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, lchownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, linkSync, writeFileSync, readdirSync, lstatSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { main } from '../packages/cli/src/main.js';
import { tar, globalPax, type TarSpec } from '../packages/mkfs/src/testutil.js';

const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const TREE = opt('--tree', join(homedir(), '.cache/erofs-js-bench/trees/debian-bookworm-minbase'));
const RECORD = args.includes('--record');
const KEEP = args.includes('--keep');
const MKFS = '/opt/erofs-utils/bin/mkfs.erofs19';
const FSCK = '/opt/erofs-utils/bin/fsck.erofs19';
const MANIFEST = '/work/shared/tools/manifest.py';
const FIXTURES = fileURLToPath(new URL('../fixtures/tar/', import.meta.url));
const isRoot = process.getuid?.() === 0;

const sh = (cmd: string, argv: string[], cwd?: string) => execFileSync(cmd, argv, { cwd, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 26 }).toString();

if (!existsSync(TREE)) {
  console.error(`no tree at ${TREE}: run npm run bench once (tools/bench/corpus.ts makes it), or pass --tree DIR`);
  process.exit(2);
}

/** GNU tar's fixed options: numeric owners, sorted names, no atime/ctime noise. */
const TAR = ['--numeric-owner', '--sort=name'];

/** The app layer's staging directory: real `.wh.` files and the new content. */
function makeStage(stage: string): void {
  const p = (rel: string) => join(stage, rel);
  const file = (rel: string, data: string | Uint8Array, mode = 0o644) => {
    mkdirSync(dirname(p(rel)), { recursive: true });
    writeFileSync(p(rel), data);
    chmodSync(p(rel), mode);
  };
  const T = 1_700_000_000;
  // Deletions: a file, one name of a hard-linked pair, a directory, a name that is not there.
  file('etc/.wh.motd', '');
  file('usr/bin/.wh.uncompress', '');
  file('etc/.wh.cron.daily', '');
  file('.wh.not-in-base', '');
  // Replacements: a symlink by a file, a file by a new file, a directory by a symlink, a file by a directory.
  file('etc/os-release', 'PRETTY_NAME="erofs-js layer"\n');
  file('etc/hostname', 'layered\n', 0o600);
  mkdirSync(p('.'), { recursive: true });
  symlinkSync('/var/tmp', p('srv'));
  file('usr/bin/gunzip/README', 'gunzip is a directory in this layer\n');
  // An opaque directory with new content.
  file('etc/apt/.wh..wh..opq', '');
  file('etc/apt/sources.list', 'deb http://example.invalid/debian bookworm main\n');
  // Additions.
  let x = 12345;
  const noise = new Uint8Array(100_000).map(() => (x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 24);
  file('app/bin/tool', noise, 0o4755);
  file('app/empty', '');
  file('app/block', new Uint8Array(8192).fill(7));
  file('app/' + 'n'.repeat(255), 'a name of 255 bytes\n');
  file('app/' + 'deep/'.repeat(30) + 'leaf', 'a path longer than 100 bytes\n');
  writeFileSync(Buffer.concat([Buffer.from(join(stage, 'app', 'latin1-')), Buffer.from([0xe9])]), 'a name that is not UTF-8\n');
  symlinkSync('../' + 'x'.repeat(300), p('app/longlink'));
  symlinkSync('tool', p('app/bin/tool-link'));
  linkSync(p('app/bin/tool'), p('app/bin/tool-hard'));
  linkSync(p('app/empty'), p('app/empty-hard'));
  sh('mkfifo', [p('app/fifo')]);
  sh('mknod', [p('app/null'), 'c', '1', '3']);
  sh('mknod', [p('app/disk'), 'b', '259', '70000']);
  file('app/xattrs', 'has xattrs\n');
  sh('setfattr', ['-n', 'user.comment', '-v', 'a user xattr', p('app/xattrs')]);
  sh('setfattr', ['-n', 'trusted.erofs-js', '-v', '0x00ff00', p('app/xattrs')]);
  sh('setfattr', ['-n', 'security.capability', '-v', '0s AQAAAgAgAAAAAAAAAAAAAAAAAAA='.replace(' ', ''), p('app/bin/tool')]);
  sh('setfattr', ['-n', 'user.dir', '-v', 'on a directory', p('app')]);
  file('app/owned', 'large ids\n');
  lchownSync(p('app/owned'), 100_000, 70_000);
  // mtimes: a fixed second for most, nanoseconds and an old time on a few (PAX keeps them).
  sh('find', [stage, '-exec', 'touch', '-h', '-d', `@${T}`, '{}', '+']);
  sh('touch', ['-h', '-d', `@${T + 1}.123456789`, p('app/xattrs')]);
  sh('touch', ['-h', '-d', '@86400.5', p('app/owned')]);
  sh('touch', ['-h', '-d', `@${T + 2}.000000001`, p('app/bin')]);
  chmodSync(p('.'), 0o755);
}

/** A few hundred KB of the Debian tree: /etc, /dev, a few binaries (a hard-linked pair), the top-level links. */
function smallBaseList(): string[] {
  const out = ['.'];
  const add = (rel: string) => {
    out.push(rel);
    const st = lstatSync(join(TREE, rel));
    if (st.isDirectory()) for (const n of readdirSync(join(TREE, rel)).sort()) add(join(rel, n));
  };
  for (const top of ['bin', 'lib', 'sbin', 'etc', 'dev', 'srv', 'opt', 'tmp', 'root']) if (existsSync(join(TREE, top))) add(top);
  for (const d of ['usr', 'usr/bin', 'usr/lib', 'usr/share']) out.push(d);
  for (const f of ['usr/bin/gunzip', 'usr/bin/uncompress', 'usr/bin/zcat', 'usr/bin/which', 'usr/lib/os-release']) if (existsSync(join(TREE, f))) out.push(f);
  return out.map((r) => (r === '.' ? '.' : './' + r));
}

/** The kernel's manifest of `img` (with `device`, an index-only image's tar, as its device 1). */
function manifestOf(img: string, out: string, device?: string): void {
  const mnt = mkdtempSync(join(tmpdir(), 'mnt-'));
  const loops: string[] = [];
  try {
    if (device) {
      for (const f of [device, img]) loops.push(sh('losetup', ['-f', '--show', '-r', f]).trim());
      sh('mount', ['-t', 'erofs', '-o', `ro,device=${loops[0]}`, loops[1], mnt]);
    } else sh('mount', ['-t', 'erofs', '-o', 'loop,ro', img, mnt]);
    try {
      sh('python3', [MANIFEST, mnt, out]);
    } finally {
      sh('umount', [mnt]);
    }
  } finally {
    for (const l of loops) spawnSync('losetup', ['-d', l]);
    rmSync(mnt, { recursive: true });
  }
}

const lines = (f: string) => readFileSync(f, 'utf8').split('\n').filter(Boolean);
const noIno = (l: string) => {
  const r = JSON.parse(l);
  delete r.ino;
  return JSON.stringify(r);
};

/** Differing lines of two manifests (ino left out; `dirSizes: false` leaves out directory sizes, which depend on the block size). */
function compare(a: string, b: string, dirSizes = true): string[] {
  const diffs: string[] = [];
  const norm = (l: string) => {
    const r = JSON.parse(noIno(l));
    if (!dirSizes && r.type === 'dir') delete r.size;
    return JSON.stringify(r);
  };
  for (const kind of ['manifest', 'readdir']) {
    const x = lines(`${a}.${kind}.jsonl`).map(norm);
    const y = lines(`${b}.${kind}.jsonl`).map(norm);
    const ys = new Set(y);
    const xs = new Set(x);
    for (const l of x) if (!ys.has(l)) diffs.push(`${kind} ours only:   ${l.slice(0, 300)}`);
    for (const l of y) if (!xs.has(l)) diffs.push(`${kind} mkfs only:   ${l.slice(0, 300)}`);
  }
  return diffs;
}

async function check(work: string, name: string, tar: string, index = false): Promise<{ ok: boolean; report: string }> {
  const mode = index ? 'i' : 'f';
  name = index ? `${name}-index` : name;
  const ours = join(work, `${name}.ours.erofs`);
  const theirs = join(work, `${name}.mkfs.erofs`);
  // The root's mtime when the archive has none: the same for both tools.
  const epoch = name === 'noroot' ? '2000000000' : undefined;
  if (epoch) process.env.SOURCE_DATE_EPOCH = epoch;
  const t0 = performance.now();
  const rc = await main(['mkfs', `--tar=${mode}`, '--aufs', tar, ours]);
  const ms = performance.now() - t0;
  delete process.env.SOURCE_DATE_EPOCH;
  if (rc !== 0) return { ok: false, report: `${name}: erofs mkfs exited ${rc}` };
  execFileSync(MKFS, [`--tar=${mode}`, '--aufs', '--quiet', '-Uclear', ...(tar.endsWith('.gz') ? ['--ungzip'] : []), theirs, tar], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: epoch ? { ...process.env, SOURCE_DATE_EPOCH: epoch } : process.env,
  });
  const fsck = spawnSync(FSCK, [...(index ? [`--device=${tar}`] : []), ours], { encoding: 'utf8' });
  const lines: string[] = [];
  let ok = fsck.status === 0;
  lines.push(`${name}: ours ${(readFileSync(ours).length / 2 ** 20).toFixed(1)} MiB in ${(ms / 1000).toFixed(2)} s, mkfs.erofs ${(readFileSync(theirs).length / 2 ** 20).toFixed(1)} MiB; fsck.erofs19 on ours: exit ${fsck.status}${fsck.status ? ' ' + (fsck.stderr + fsck.stdout).trim().split('\n').slice(-2).join(' | ') : ''}`);
  if (!isRoot) {
    lines.push(`${name}: not root, kernel comparison skipped`);
    return { ok, report: lines.join('\n') };
  }
  manifestOf(ours, join(work, `${name}.ours`), index ? tar : undefined);
  manifestOf(theirs, join(work, `${name}.mkfs`), index ? tar : undefined);
  const diffs = compare(join(work, `${name}.ours`), join(work, `${name}.mkfs`));
  const n = readFileSync(join(work, `${name}.mkfs.manifest.jsonl`), 'utf8').split('\n').filter(Boolean).length;
  if (diffs.length) ok = false;
  lines.push(`${name}: kernel manifests of ${n} paths ${diffs.length ? `DIFFER (${diffs.length} lines)` : 'equal (records without ino, and getdents order)'}`);
  lines.push(...diffs.slice(0, 40).map((d) => '  ' + d));
  return { ok, report: lines.join('\n') };
}

/** See the header: the replacement rules of mkfs.erofs, entry by entry. */
function quirks(): Uint8Array {
  const d = (path: string, more: Partial<TarSpec> = {}): TarSpec => ({ path, type: '5', mode: 0o755, ...more });
  const f = (path: string, data: string, more: Partial<TarSpec> = {}): TarSpec => ({ path, data, ...more });
  return tar(
    d('./', { mode: 0o750, uid: 5, gid: 6, mtime: 1_500_000_000, pax: [['SCHILY.xattr.user.root', 'on the root']] }),
    f('a/b/c/file', 'made without its parents\n', { mode: 0o600 }),
    d('a/', { mode: 0o700, uid: 7, gid: 8, mtime: 1_400_000_000 }),
    f('dup', 'first\n'),
    f('dup', 'second, replacing the first\n', { mode: 0o640 }),
    d('d/'),
    f('d/inner', 'under d\n'),
    f('d', 'd is now a file\n'),
    f('e/x', 'e was a directory with x\n'),
    f('e', 'e is a file\n'),
    d('e/', { mode: 0o711 }),
    f('h1', 'the first h1\n'),
    { path: 'h2', type: '1', link: 'h1' },
    { path: 'h3', type: '1', link: './h1' },
    f('h1', 'h1 replaced: h2 and h3 keep the first\n'),
    f('w/made', 'made, then whited out\n'),
    f('w/.wh.made', ''),
    f('.wh.e', ''),
    f('o/.wh..wh..opq', ''),
    f('o/kept', 'in an opaque directory made implicitly\n'),
    d('m/', { pax: [['SCHILY.xattr.user.a', 'first']] }),
    d('m/', { mode: 0o775, pax: [['SCHILY.xattr.user.b', 'second'], ['SCHILY.xattr.user.a', 'replaced']] }),
    f('x/../y', 'x made, y at the root\n'),
    f('contig', 'typeflag 7\n', { type: '7' }),
    f('prefixed/' + 'p'.repeat(120) + '/name', 'path split into prefix and name\n', { usePrefix: true }),
    f('long/' + 'l'.repeat(200), 'GNU long name\n', { longName: true, format: 'gnu' }),
    { path: 'longlink', type: '2', link: 'target/' + 't'.repeat(150), longLink: true, format: 'gnu' },
    { path: 'paxlink', type: '2', link: 'ignored', pax: [['linkpath', 'pax/' + 'q'.repeat(150)]] },
    f('ids', 'base-256 ids\n', { uid: 3_000_000, gid: 2_200_000, format: 'gnu' }),
    f('libarchive', 'xattrs the libarchive way\n', { pax: [['LIBARCHIVE.xattr.user.%3Dodd%20name', 'AAEC/w=='], ['LIBARCHIVE.xattr.trusted.t', 'eQ==']] }),
    f('paxtime', 'mtime and ids from PAX\n', { pax: [['mtime', '1234567890.987654321'], ['uid', '4000000'], ['gid', '12'], ['path', 'pax-named']] }),
    { path: 'dev/c', type: '3', devmajor: 4095, devminor: 1048575, mode: 0o620 },
    { path: 'dev/b', type: '4', devmajor: 8, devminor: 1, mode: 0o660 },
    { path: 'dev/p', type: '6', mode: 0o7777 },
    d('zero', { mode: 0 }),
    globalPax([['SCHILY.xattr.user.global', 'every entry after me']]),
    f('after-global', 'has the global xattr\n'),
    f('after-global-own', 'sets its own\n', { pax: [['SCHILY.xattr.user.global', 'mine']] }),
  );
}

/** No root entry: the root is made by the tool (mode 0777, its uid/gid, the build time). */
function noRoot(): Uint8Array {
  return tar({ path: 'etc/hostname', data: 'noroot\n', mtime: 1_000_000_000 }, { path: 'bin', type: '2', link: 'usr/bin', mtime: 1_000_000_000 });
}

const work = mkdtempSync(join(tmpdir(), 'mkfs-tar-'));
let failed = false;
try {
  const stage = join(work, 'app-stage');
  mkdirSync(stage);
  makeStage(stage);
  const appTar = join(work, 'app.tar');
  sh('tar', [...TAR, '--format=pax', '--pax-option=delete=atime,delete=ctime', '--xattrs', '--xattrs-include=*', '-C', stage, '-cf', appTar, '.']);
  writeFileSync(appTar + '.gz', execFileSync('gzip', ['-9nc', appTar], { maxBuffer: 1 << 30 }));
  const baseTar = join(work, 'base.tar');
  sh('tar', [...TAR, '-C', TREE, '-cf', baseTar, '.']);
  writeFileSync(join(work, 'quirks.tar'), quirks());
  writeFileSync(join(work, 'noroot.tar'), noRoot());
  const cases: [string, string][] = [['base', baseTar], ['app', appTar], ['app-gz', appTar + '.gz'], ['quirks', join(work, 'quirks.tar')], ['noroot', join(work, 'noroot.tar')]];
  if (RECORD) {
    const list = join(work, 'small.list');
    writeFileSync(list, smallBaseList().join('\n') + '\n');
    rmSync(FIXTURES, { recursive: true, force: true });
    mkdirSync(FIXTURES, { recursive: true });
    sh('tar', [...TAR, '--no-recursion', '-C', TREE, '-T', list, '-cf', join(FIXTURES, 'base.tar')]);
    copyFileSync(appTar, join(FIXTURES, 'app.tar'));
    copyFileSync(join(work, 'quirks.tar'), join(FIXTURES, 'quirks.tar'));
    cases.push(['fixture-base', join(FIXTURES, 'base.tar')], ['fixture-app', join(FIXTURES, 'app.tar')], ['fixture-quirks', join(FIXTURES, 'quirks.tar')]);
  }
  for (const [name, tar] of cases) {
    const r = await check(work, name, tar);
    console.log(r.report);
    failed ||= !r.ok;
  }
  // Index-only images (--tar=i): the tar is the data device of both tools' images.
  for (const [name, tar] of cases.filter(([n]) => /^(fixture-)?(base|app|quirks)$/.test(n))) {
    const r = await check(work, name, tar, true);
    console.log(r.report);
    failed ||= !r.ok;
    if (isRoot) {
      const same = compare(join(work, `${name}-index.ours`), join(work, `${name}.ours`), false);
      console.log(`${name}-index: kernel manifest of our index-only image ${same.length ? `DIFFERS from the full one (${same.length} lines)` : 'equals our full-data one (directory sizes aside: 512-byte blocks)'}`);
      failed ||= same.length > 0;
    }
  }
  if (RECORD) {
    if (!isRoot) throw new Error('--record needs root (the kernel mounts mkfs.erofs images)');
    const version = sh(MKFS, ['-V']).split('\n')[0].trim();
    for (const name of ['base', 'app', 'quirks']) {
      for (const kind of ['manifest', 'readdir']) {
        copyFileSync(join(work, `fixture-${name}.mkfs.${kind}.jsonl`), join(FIXTURES, `${name}.${kind}.jsonl`));
        copyFileSync(join(work, `fixture-${name}-index.mkfs.${kind}.jsonl`), join(FIXTURES, `${name}.index.${kind}.jsonl`));
      }
    }
    writeFileSync(
      join(FIXTURES, 'README.md'),
      `# Tar layers and the kernel's view of mkfs.erofs's images of them

Made by \`tools/mkfs-tar-check.ts --record\` (as root) from the Debian bookworm minbase tree.

- \`base.tar\`: a subset of the tree (/etc, /dev, the top-level links, a hard-linked pair in
  /usr/bin), GNU tar's default format (\`tar --numeric-owner --sort=name --no-recursion -T LIST\`).
- \`app.tar\`: a second layer, PAX format with xattrs, made from a staging directory with real
  \`.wh.\` files: deletions, replacements, an opaque /etc/apt, additions of every file type.
- \`quirks.tar\`: entries written one by one (packages/mkfs/src/testutil.ts) in the orders
  GNU tar never writes: missing parents, names given twice, a directory replaced by a file and
  back, hard links whose target is replaced, whiteouts of names from the same archive, a
  global PAX header, LIBARCHIVE.xattr records, GNU long names, base-256 ids.
- \`NAME.manifest.jsonl\`, \`NAME.readdir.jsonl\`: shared/tools/manifest.py run on the kernel's
  mount (\`mount -t erofs -o loop,ro\`) of \`${version} --tar=f --aufs\`'s image of NAME.tar.
  The \`ino\` values are mkfs.erofs's and are not compared.
- \`NAME.index.manifest.jsonl\`, \`NAME.index.readdir.jsonl\`: the same for \`--tar=i --aufs\`
  (index only: NAME.tar is the image's device 1; mounted as \`-o device=\` through loop devices).

tests/mkfs-tar.test.ts builds our images of the tars and compares their manifests with these.
`,
    );
    console.log(`recorded ${FIXTURES}: ${readdirSync(FIXTURES).join(' ')}`);
  }
} finally {
  if (KEEP) console.log(`kept ${work}`);
  else rmSync(work, { recursive: true, force: true });
}
process.exitCode = failed ? 1 : 0;
