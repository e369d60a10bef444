/**
 * Real guests writing: one script of toybox commands built for WASI (fixtures/guests/:
 * mkdir, cp, mv, rm, ln, touch, chmod, sort, sed, tar, and ls/cat for looking) runs in a
 * tmpfs /tmp over the rootfs-18 image, through both adapters:
 *
 *  - @erofs-js/node-fs under @tybys/wasm-util's WASI (the Node-fs-shaped consumer);
 *  - @erofs-js/browser-wasi-shim under @bjorn3/browser_wasi_shim's WASI (with
 *    installSymlink and installPosixReadlink, so path_symlink and readlink reach us);
 *
 * and, as the independent truth, under Node's own node:wasi (uvwasi: the host kernel's
 * calls) with a real host directory holding the same image unpacked by the CLI's extract.
 * Each runtime preopens its root as "/", so the guest's paths are the same everywhere.
 *
 * Compared: every step's exit status, stdout and stderr (stdout redirections are the
 * harness's: it writes the captured bytes to the named file through the same runtime's file
 * system: node-fs, the shim's preopen, or the host), then the whole /tmp/w tree: names,
 * types, permission bits, sizes, SHA-256 of contents, symlink targets, link counts, and
 * mtimes where the script fixed them (others are "now" everywhere and compared as such).
 *
 * What WASI itself leaves out, the same under every runtime: chmod has no call (ENOSYS from
 * the compat layer, so the step fails identically), creation modes are 0666 / 0777 less the
 * umask (cp cannot copy /etc/shadow's 0640), tar archives permission bits as 0 (filestat has
 * no mode), and touch without -d fails in wasi-libc (EINVAL) before reaching any runtime.
 * The host directory holds a writable copy of the image, so the image's EROFS is checked
 * apart, on the adapters alone. @tybys/wasm-util skips one step (see notTybys).
 */
import * as nodefs from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { wasi as W } from '@bjorn3/browser_wasi_shim';
import { NodeFs } from '@erofs-js/node-fs';
import { HostController, type Task } from '@erofs-js/mount/node';
import { ErofsPreopenDirectory, installPosixReadlink, installSymlink } from '@erofs-js/browser-wasi-shim';
import { extract } from '../packages/cli/src/extract.js';
import { FIXTURES, openFixture } from './fixtures.js';
import { runNodeWasi, runShim, runTybys, type GuestRun } from './adapter-c-guests.runtimes.js';

const IMAGE = 'rootfs-18.erofs';
/** Times the script sets are before this; anything later is "now". */
const FIXED_BEFORE = Date.UTC(2020, 0, 1) / 1000;

/** One step: a tool and its arguments, optionally a file its stdout is redirected to. */
interface Step {
  tool: string;
  args: string[];
  out?: string;
  /** Why @tybys/wasm-util cannot run this step (a limit of that runtime, not of the adapter). */
  notTybys?: string;
}

const sh = (tool: string, ...args: string[]): Step => ({ tool, args });
const to = (out: string, tool: string, ...args: string[]): Step => ({ tool, args, out });

const SCRIPT: Step[] = [
  sh('mkdir', '-p', '/tmp/w/a/b/c', '/tmp/w/d', '/tmp/w/x'),
  sh('mkdir', '-p', '/tmp/w/a/b'), // exists: fine
  sh('mkdir', '/tmp/w/a'), // exists: EEXIST
  to('/tmp/w/a/passwd.sorted', 'sort', '/etc/passwd'),
  to('/tmp/w/a/b/passwd.sed', 'sed', '-e', 's/root/ROOT/g', '-e', '/nologin/d', '/etc/passwd'),
  to('/tmp/w/a/b/c/groups', 'sed', '-n', 's/:.*//p', '/etc/group'),
  sh('sort', '-r', '-o', '/tmp/w/a/group.rsorted', '/etc/group'),
  sh('sort', '/tmp/w/nope'),
  sh('cp', '/etc/hostname', '/etc/fstab', '/tmp/w/d/'),
  sh('cp', '-r', '/tmp/w/a', '/tmp/w/a-copy'),
  sh('cp', '/etc/shadow', '/tmp/w/d/shadow'),
  sh('touch', '-d', '2001-02-03T04:05:06', '/tmp/w/a/passwd.sorted', '/tmp/w/a/b/passwd.sed'),
  sh('touch', '-d', '1999-12-31T23:59:59', '/tmp/w/d/hostname'),
  sh('touch', '/tmp/w/new-empty'), // creates it (utimensat ENOENT, then open O_CREAT)
  // "now" for an existing file: wasi-libc refuses toybox's UTIME_NOW request with EINVAL
  // before any WASI call is made, so every runtime prints the same error.
  sh('touch', '/tmp/w/d/fstab'),
  sh('ln', '-s', '../a/passwd.sorted', '/tmp/w/d/link'),
  sh('ln', '-s', 'no/such/target', '/tmp/w/d/dangling'),
  sh('ln', '/tmp/w/a/b/passwd.sed', '/tmp/w/d/hard'),
  sh('ln', '/tmp/w/a/b/passwd.sed', '/tmp/w/d/hard'), // exists: EEXIST
  sh('ln', '-sf', '../a/b/passwd.sed', '/tmp/w/d/link'), // replaces it (through a mkstemp name)
  sh('mv', '/tmp/w/a/b/c', '/tmp/w/d/c-moved'),
  sh('mv', '/tmp/w/d/hard', '/tmp/w/d/hard2'),
  sh('mv', '/tmp/w/a-copy/group.rsorted', '/tmp/w/a-copy/b/'),
  sh('mv', '/tmp/w/nope', '/tmp/w/d/'),
  sh('chmod', '600', '/tmp/w/d/hard2'), // no chmod under WASI: the same failure everywhere
  {
    ...sh('cat', '/tmp/w/d/link', '/tmp/w/d/hard2'),
    notTybys: "its path_open follows a final symlink by opening the raw target through fs, so '../a/b/passwd.sed' resolves against the cwd",
  },
  sh('tar', '--mtime', '@1000000000', '-cf', '/tmp/w/archive.tar', '-C', '/tmp/w', 'a/passwd.sorted', 'a/b/passwd.sed', 'd/c-moved/groups', 'd/hostname'),
  sh('tar', '-tvf', '/tmp/w/archive.tar'),
  sh('tar', '-xof', '/tmp/w/archive.tar', '-C', '/tmp/w/x'),
  sh('rm', '-r', '/tmp/w/a-copy/b'),
  sh('rm', '/tmp/w/d/fstab', '/tmp/w/nope'),
  sh('rm', '/tmp/w/d'), // a directory without -r
  sh('rm', '-rf', '/tmp/w/a-copy/nothing-here'),
  sh('ls', '-1', '/tmp/w', '/tmp/w/a', '/tmp/w/x/a/b'),
];

/** What a file system looks like to the comparison: lstat, read, readlink, readdir. */
interface View {
  lstat(p: string): { mode: number; size: number; nlink: number; mtime: number; isDir: boolean; isFile: boolean; isLink: boolean };
  read(p: string): Buffer;
  readlink(p: string): string;
  readdir(p: string): string[];
}

function nodeView(f: typeof nodefs | NodeFs, root: string): View {
  const fs = f as typeof nodefs;
  return {
    lstat: (p) => {
      const s = fs.lstatSync(root + p);
      return { mode: s.mode, size: s.size, nlink: s.nlink, mtime: Math.floor(s.mtimeMs / 1000), isDir: s.isDirectory(), isFile: s.isFile(), isLink: s.isSymbolicLink() };
    },
    read: (p) => Buffer.from(fs.readFileSync(root + p)),
    readlink: (p) => fs.readlinkSync(root + p),
    readdir: (p) => fs.readdirSync(root + p),
  };
}

/** The tree under `top` as sorted lines. */
function snapshot(v: View, top: string): string[] {
  const out: string[] = [];
  const walk = (p: string) => {
    const s = v.lstat(p);
    const rec: Record<string, unknown> = { path: p, mode: s.mode.toString(8), nlink: s.nlink, mtime: s.mtime < FIXED_BEFORE ? s.mtime : 'now' };
    if (!s.isDir) rec.size = s.size;
    if (s.isFile) rec.sha256 = createHash('sha256').update(v.read(p)).digest('hex');
    if (s.isLink) rec.target = v.readlink(p);
    out.push(JSON.stringify(rec));
    if (s.isDir) for (const n of v.readdir(p).sort()) walk(`${p}/${n}`);
  };
  walk(top);
  return out;
}

/** A run as compared: status and the two streams as text. */
const shown = (r: GuestRun) => ({ code: r.code, stdout: r.stdout.toString('latin1'), stderr: r.stderr.toString('latin1') });

describe('toybox writers in a tmpfs /tmp over an image, through both adapters, equal node:wasi in a host directory', () => {
  const work = nodefs.mkdtempSync(join(tmpdir(), 'write-guests-'));
  const hostRoot = join(work, 'root');
  const mask = process.umask();
  let c: HostController;
  let tybysTask: Task;
  let efs: NodeFs;
  let shim: ErofsPreopenDirectory;

  beforeAll(async () => {
    extract(openFixture(IMAGE), hostRoot, { samePermissions: true, devices: false });
    c = await HostController.create({ rootfs: FIXTURES + IMAGE });
    await c.mount({ type: 'tmpfs', target: '/tmp', options: { size: '16m' } });
    tybysTask = c.task({ reservedFds: [0, 1, 2] });
    tybysTask.umask(mask);
    efs = new NodeFs(tybysTask);
  });

  afterAll(() => {
    shim?.dispose();
    tybysTask?.exit();
    c?.close();
    nodefs.rmSync(work, { recursive: true, force: true });
  });

  it('every step prints the same and exits the same; the /tmp trees end equal', () => {
    // The shim's preopen runs a Task of its own; its creation mask is the host's too.
    const fresh = () => {
      shim?.dispose();
      shim = ErofsPreopenDirectory.open(c.ns, '/', { path: '/' });
      shim.task.umask(mask);
    };
    const setup = (w: Parameters<NonNullable<Parameters<typeof runShim>[3]>>[0]) => {
      installSymlink(w);
      installPosixReadlink(w);
    };
    /** The harness's "> file": the captured stdout written by each side's own file system. */
    const redirect = {
      host: (p: string, data: Buffer) => nodefs.writeFileSync(hostRoot + p, data),
      tybys: (p: string, data: Buffer) => efs.writeFileSync(p, data),
      shim: (p: string, data: Buffer) => {
        const r = shim.path_open(1, p.slice(1), W.OFLAGS_CREAT | W.OFLAGS_TRUNC, BigInt(W.RIGHTS_FD_WRITE), 0n, 0);
        expect(r.ret).toBe(0);
        expect(r.fd_obj!.fd_write(data)).toEqual({ ret: 0, nwritten: data.length });
        expect(r.fd_obj!.fd_close()).toBe(0);
      },
    };

    // The two adapters share one namespace: run the script through @tybys/wasm-util + node-fs,
    // compare, remove /tmp/w, then run it again through browser_wasi_shim.
    const host: ReturnType<typeof shown>[] = [];
    for (const step of SCRIPT) {
      const r = runNodeWasi(step.tool, step.args, hostRoot, '/');
      if (step.out) redirect.host(step.out, r.stdout);
      host.push(shown(step.out ? { ...r, stdout: Buffer.alloc(0) } : r));
    }
    const hostTree = snapshot(nodeView(nodefs, hostRoot), '/tmp/w');
    expect(hostTree.length).toBeGreaterThan(25);
    // The reference did what the script says (a few spot checks of the truth itself).
    const of = (tool: string, arg: string) => host[SCRIPT.findIndex((s) => s.tool === tool && s.args.includes(arg))]!;
    expect(of('mkdir', '/tmp/w/a').stderr).toBe("mkdir: '/tmp/w/a': File exists\n");
    expect(of('chmod', '600').stderr).toMatch(/^chmod: .*Function not implemented\n$/);
    expect(of('tar', '-tvf').stdout.split('\n').filter(Boolean)).toHaveLength(4);
    expect(of('cat', '/tmp/w/d/link').stdout.split('\n').filter(Boolean)).toHaveLength(6);
    expect(host.filter((r) => r.code !== 0).length).toBeGreaterThan(6);

    for (const runtime of ['tybys', 'shim'] as const) {
      if (runtime === 'shim') fresh();
      for (const [i, step] of SCRIPT.entries()) {
        if (runtime === 'tybys' && step.notTybys) continue;
        const run = runtime === 'tybys' ? runTybys(step.tool, step.args, efs, '/', '/') : runShim(step.tool, step.args, shim, setup);
        if (step.out) redirect[runtime](step.out, run.stdout);
        const got = shown(step.out ? { ...run, stdout: Buffer.alloc(0) } : run);
        expect(got, `${runtime}: ${step.tool} ${step.args.join(' ')}`).toEqual(host[i]);
      }
      const ours = snapshot(nodeView(new NodeFs(c.task()), ''), '/tmp/w');
      expect(ours.join('\n'), runtime).toBe(hostTree.join('\n'));
      efs.rmSync('/tmp/w', { recursive: true });
    }
  }, 120_000);

  it('where a host directory cannot be the truth: the image is read-only', () => {
    const shimFresh = ErofsPreopenDirectory.open(c.ns, '/', { path: '/' });
    try {
      const setup = (w: Parameters<NonNullable<Parameters<typeof runShim>[3]>>[0]) => installSymlink(w);
      // The image under /tmp is read-only: Linux's EROFS reaches the guest as WASI's ROFS.
      expect(shown(runShim('mkdir', ['-p', '/etc/newdir'], shimFresh, setup))).toEqual({ code: 1, stdout: '', stderr: "mkdir: '/etc/newdir': Read-only file system\n" });
      expect(shown(runShim('rm', ['/etc/passwd'], shimFresh, setup))).toEqual({ code: 1, stdout: '', stderr: 'rm: /etc/passwd: Read-only file system\n' });
      // @tybys/wasm-util maps only a dozen codes to WASI errnos and rethrows the rest (EROFS
      // among them) into the host as the node-fs error itself.
      expect(() => runTybys('mkdir', ['-p', '/etc/newdir'], efs, '/', '/')).toThrow(expect.objectContaining({ code: 'EROFS', syscall: 'mkdir' }));

    } finally {
      shimFresh.dispose();
    }
  });
});
