/**
 * erofs-host: starts a host controller for one mount namespace and serves its JSON-RPC
 * socket until SIGINT / SIGTERM.
 *
 *   erofs-host [--socket PATH] [--rootfs IMAGE | --config config.json | --layer IMAGE... [--upper-size SIZE]]
 *              [--mkdir /dev,/proc,/tmp] [--tmpfs PATH[:SIZE]]... [--allow-guest-umount]
 *              [--rpc-mount-types erofs,tmpfs,overlay]
 *
 * The root is the image given with --rootfs, or the one an OCI-style config.json names in
 * its annotations ("org.erofs-js.rootfs.source", "org.erofs-js.rootfs.type": "erofs";
 * a relative source is relative to the config's directory); without either, an empty
 * synthetic root in which --mkdir creates mount points. The config's "mounts" entries of
 * type "erofs" are mounted at start (their mount points created on a synthetic root), and
 * so are those of type "tmpfs" (with their size=, nr_inodes=, mode=, uid=, gid=, ro,
 * nosuid, nodev, noexec, noatime / strictatime options; one whose mount point an image
 * root lacks is skipped with a warning); other types are not ours to serve and only get
 * their mount point created.
 *
 * --layer (repeated, lowest first: the base image, then each layer on top) makes the root
 * an overlay of those images under a memory upper of --upper-size (default 64m), with
 * Linux overlayfs semantics (@erofs-js/overlay).
 *
 * --tmpfs mounts a tmpfs at PATH at start (its mount point made on a synthetic root),
 * SIZE as mount(8) writes it ("64m"; default the tmpfs default, 64 MiB). --rpc-mount-types
 * lists what the RPC mount call may mount (default both erofs images and tmpfs).
 */
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve as resolvePath } from 'node:path';
import { parseArgs } from 'node:util';
import type { HostMountOptions, TmpfsAtStart } from '../../controller.js';
import { HostController } from '../controller.js';
import { RPC_MOUNT_TYPES, RpcServer, type RpcMountType } from '../rpc/server.js';
import { SIZE_PATTERN } from '../../rpc/schema.js';

export interface Io {
  out: (line: string) => void;
  err: (line: string) => void;
  /** Stops the server (tests); the binary uses SIGINT / SIGTERM. */
  signal?: AbortSignal;
  /** Called once the socket is ready. */
  onReady?: (server: RpcServer, controller: HostController) => void;
}

const consoleIo: Io = { out: (l) => process.stdout.write(l + '\n'), err: (l) => process.stderr.write(l + '\n') };

export const ROOTFS_SOURCE_ANNOTATION = 'org.erofs-js.rootfs.source';
export const ROOTFS_TYPE_ANNOTATION = 'org.erofs-js.rootfs.type';

/** The default socket: $XDG_RUNTIME_DIR/erofs-js/ctl.sock, or a per-user directory under the temp dir. */
export function defaultSocketPath(): string {
  if (process.env.EROFS_SOCKET) return process.env.EROFS_SOCKET;
  const base = process.env.XDG_RUNTIME_DIR || join(tmpdir(), `erofs-js-${process.getuid?.() ?? 'user'}`);
  return process.env.XDG_RUNTIME_DIR ? join(base, 'erofs-js', 'ctl.sock') : join(base, 'ctl.sock');
}

const USAGE = `usage: erofs-host [--socket PATH] [--rootfs IMAGE | --config config.json | --layer IMAGE... [--upper-size SIZE]] [--mkdir DIR[,DIR...]] [--tmpfs PATH[:SIZE]]... [--allow-guest-umount] [--rpc-mount-types erofs,tmpfs,overlay]`;

/** One --tmpfs argument: an absolute PATH, optionally ":SIZE" ("/tmp:64m"). */
export function parseTmpfsArg(arg: string): TmpfsAtStart {
  const colon = arg.lastIndexOf(':');
  const size = colon > 0 ? arg.slice(colon + 1) : undefined;
  const target = colon > 0 ? arg.slice(0, colon) : arg;
  if (!target.startsWith('/')) throw new Error(`--tmpfs ${arg}: the path must be absolute`);
  if (size !== undefined && !SIZE_PATTERN.test(size)) throw new Error(`--tmpfs ${arg}: the size is digits with an optional k, m, g or t suffix`);
  return { target, options: size !== undefined ? { size } : {} };
}

interface OciMount {
  destination: string;
  type?: string;
  source?: string;
  options?: string[];
}

export interface HostConfig {
  rootfs?: string;
  mounts: { target: string; image: string; options: HostMountOptions }[];
  /** The config's tmpfs mounts, in its order. */
  tmpfs: TmpfsAtStart[];
  mountPoints: string[];
}

/** The options of an OCI tmpfs mount ("size=65536k", "mode=755", "nosuid", ...); others are ignored, as runc leaves them to the kernel. */
export function ociTmpfsOptions(list: readonly unknown[], source: unknown): NonNullable<TmpfsAtStart['options']> {
  const o: NonNullable<TmpfsAtStart['options']> = {};
  if (typeof source === 'string' && source !== '') o.source = source;
  for (const item of list) {
    if (typeof item !== 'string') continue;
    const eq = item.indexOf('=');
    const [k, v] = eq < 0 ? [item, ''] : [item.slice(0, eq), item.slice(eq + 1)];
    if (k === 'size' || k === 'nr_inodes') o[k] = v;
    else if (k === 'mode') o.mode = v;
    else if ((k === 'uid' || k === 'gid') && /^[0-9]{1,10}$/.test(v)) o[k] = Number(v);
    else if (k === 'ro') o.readOnly = true;
    else if (k === 'nosuid' || k === 'nodev' || k === 'noexec' || k === 'noatime') o[k] = true;
    else if (k === 'strictatime' || k === 'relatime') o.atime = k;
  }
  return o;
}

/** Reads what erofs-host needs from an OCI-style config.json. */
export function parseOciConfig(text: string, configDir: string): HostConfig {
  let cfg: unknown;
  try {
    cfg = JSON.parse(text);
  } catch (e) {
    throw new Error(`config is not JSON: ${(e as Error).message}`);
  }
  if (typeof cfg !== 'object' || cfg === null || Array.isArray(cfg)) throw new Error('config must be a JSON object');
  const c = cfg as { annotations?: Record<string, unknown>; mounts?: unknown };
  const out: HostConfig = { mounts: [], tmpfs: [], mountPoints: [] };
  const ann = c.annotations ?? {};
  if (typeof ann !== 'object' || ann === null) throw new Error('config annotations must be an object');
  const src = ann[ROOTFS_SOURCE_ANNOTATION];
  const type = ann[ROOTFS_TYPE_ANNOTATION];
  if (type !== undefined && type !== 'erofs') throw new Error(`rootfs type ${JSON.stringify(type)} is not supported (only "erofs")`);
  if (src !== undefined) {
    if (typeof src !== 'string' || src === '') throw new Error(`${ROOTFS_SOURCE_ANNOTATION} must be a path`);
    out.rootfs = resolvePath(configDir, src);
  }
  if (c.mounts !== undefined) {
    if (!Array.isArray(c.mounts)) throw new Error('config mounts must be an array');
    for (const m of c.mounts as OciMount[]) {
      if (typeof m?.destination !== 'string' || !m.destination.startsWith('/')) throw new Error('each mount needs an absolute destination');
      if (m.type === 'erofs') {
        if (typeof m.source !== 'string') throw new Error(`erofs mount at ${m.destination} needs a source`);
        const opts = Array.isArray(m.options) ? m.options : [];
        out.mounts.push({
          target: m.destination,
          image: resolvePath(configDir, m.source),
          options: { mkdir: true, nosuid: opts.includes('nosuid'), nodev: opts.includes('nodev'), noexec: opts.includes('noexec') },
        });
      } else if (m.type === 'tmpfs') {
        out.tmpfs.push({ target: m.destination, options: ociTmpfsOptions(Array.isArray(m.options) ? m.options : [], m.source) });
      } else {
        out.mountPoints.push(m.destination);
      }
    }
  }
  return out;
}

export async function hostMain(argv: string[], io: Io = consoleIo): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: argv,
      options: {
        socket: { type: 'string', short: 's' },
        rootfs: { type: 'string' },
        config: { type: 'string' },
        mkdir: { type: 'string', multiple: true },
        tmpfs: { type: 'string', multiple: true },
        layer: { type: 'string', multiple: true },
        'upper-size': { type: 'string' },
        'allow-guest-umount': { type: 'boolean' },
        'rpc-mount-types': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: false,
    }).values;
  } catch (e) {
    io.err(`erofs-host: ${(e as Error).message}`);
    io.err(USAGE);
    return 2;
  }
  if (args.help) {
    io.out(USAGE);
    return 0;
  }
  if ([args.rootfs, args.config, args.layer].filter((x) => x !== undefined).length > 1) {
    io.err('erofs-host: give one of --rootfs, --config and --layer');
    return 2;
  }
  if (args['upper-size'] !== undefined && (!args.layer || !SIZE_PATTERN.test(args['upper-size']))) {
    io.err(args.layer ? `erofs-host: --upper-size ${args['upper-size']}: digits with an optional k, m, g or t suffix` : 'erofs-host: --upper-size goes with --layer');
    return 2;
  }
  let tmpfs: TmpfsAtStart[];
  let mountTypes: RpcMountType[] | undefined;
  try {
    tmpfs = (args.tmpfs ?? []).map(parseTmpfsArg);
    if (args['rpc-mount-types'] !== undefined) {
      mountTypes = args['rpc-mount-types'].split(',').filter(Boolean) as RpcMountType[];
      const wrong = mountTypes.find((t) => !RPC_MOUNT_TYPES.includes(t));
      if (wrong !== undefined) throw new Error(`--rpc-mount-types: ${JSON.stringify(wrong)} is not one of ${RPC_MOUNT_TYPES.join(', ')}`);
    }
  } catch (e) {
    io.err(`erofs-host: ${(e as Error).message}`);
    io.err(USAGE);
    return 2;
  }
  let config: HostConfig = { mounts: [], tmpfs: [], mountPoints: [] };
  try {
    if (args.config) config = parseOciConfig(await readFile(args.config, 'utf8'), dirname(resolvePath(args.config)));
  } catch (e) {
    io.err(`erofs-host: ${args.config}: ${(e as Error).message}`);
    return 1;
  }
  const rootfs = args.layer
    ? { layers: args.layer.map((l) => resolvePath(l)), upper: args['upper-size'] !== undefined ? { type: 'tmpfs' as const, size: args['upper-size'] } : undefined }
    : args.rootfs
      ? resolvePath(args.rootfs)
      : config.rootfs;
  const mkdirs = (args.mkdir ?? []).flatMap((m) => m.split(',')).filter(Boolean);
  let controller: HostController;
  try {
    controller = await HostController.create({
      rootfs,
      mkdirs: rootfs && !args.layer ? [] : [...mkdirs, ...config.mountPoints],
      policy: { guestUnmount: args['allow-guest-umount'] ?? false },
      tmpfs,
    });
    // The config's tmpfs mounts, then the mount points inside them (a /dev tmpfs hides the /dev/pts made before it).
    const served: string[] = [];
    for (const t of config.tmpfs) {
      try {
        await controller.mount({ type: 'tmpfs', target: t.target, options: { mkdir: true, ...t.options } });
        served.push(t.target);
      } catch (e) {
        if (!rootfs) throw e;
        io.err(`erofs-host: config tmpfs at ${t.target} skipped: ${(e as Error).message}`);
      }
    }
    for (const p of config.mountPoints) if (served.some((t) => p.startsWith(t === '/' ? t : `${t}/`))) controller.mkdir(p, { parents: true, existOk: true });
    for (const m of config.mounts) await controller.mount(m);
  } catch (e) {
    io.err(`erofs-host: ${(e as Error).message}`);
    return 1;
  }
  const socketPath = resolvePath(args.socket ?? defaultSocketPath());
  let server: RpcServer;
  try {
    server = await RpcServer.listen(controller, { socketPath, log: (l) => io.err(`erofs-host: ${l}`), mountTypes });
  } catch (e) {
    controller.close();
    io.err(`erofs-host: ${socketPath}: ${(e as Error).message}`);
    return 1;
  }
  io.out(`erofs-host: listening on ${socketPath} (mode 0600)`);
  io.out(controller.mountinfo().trimEnd());
  io.onReady?.(server, controller);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    if (io.signal) {
      if (io.signal.aborted) return resolve();
      io.signal.addEventListener('abort', stop, { once: true });
    } else {
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    }
  });
  await server.close();
  controller.close();
  io.out('erofs-host: stopped');
  return 0;
}
