/**
 * erofsctl: talks to an erofs-host over its socket.
 *
 *   erofsctl [--socket PATH] ping
 *   erofsctl [--socket PATH] mount [--mkdir] [--source NAME] [--dentry-cache N]
 *                                  [--device PATH]... [--nosuid] [--nodev] [--noexec] IMAGE TARGET
 *   erofsctl [--socket PATH] mount [options as above] --url URL [--header 'Name: value']... TARGET
 *   erofsctl [--socket PATH] mount -t tmpfs [-o size=16m,nr_inodes=1k,mode=1777,uid=N,gid=N,ro,nosuid,nodev,noexec]
 *                                  [--mkdir] [--source NAME] [SOURCE] TARGET
 *   erofsctl [--socket PATH] unmount [-l|--lazy] TARGET
 *   erofsctl [--socket PATH] list [--json | --mountinfo]
 *   erofsctl [--socket PATH] mkdir [-p] PATH
 *
 * The socket defaults to $EROFS_SOCKET, then erofs-host's default. Exit status: 0 on
 * success, 1 when the operation failed (the errno name is printed), 2 on a usage error.
 */
import { resolve as resolvePath } from 'node:path';
import { parseArgs } from 'node:util';
import type { MountRecord } from '../../namespace.js';
import { RpcClient, RpcError, type RpcTmpfsOptions } from '../rpc/client.js';
import { defaultSocketPath, type Io } from './host.js';

const USAGE = [
  'usage: erofsctl [--socket PATH] ping',
  '       erofsctl [--socket PATH] mount [--mkdir] [--source NAME] [--dentry-cache N] [--device PATH]... [--nosuid] [--nodev] [--noexec] IMAGE TARGET',
  '       erofsctl [--socket PATH] mount [options as above] --url URL [--header \'Name: value\']... TARGET',
  '       erofsctl [--socket PATH] mount -t tmpfs [-o size=16m,nr_inodes=N,mode=1777,uid=N,gid=N,ro,nosuid,nodev,noexec] [--mkdir] [SOURCE] TARGET',
  '       erofsctl [--socket PATH] unmount [-l|--lazy] TARGET',
  '       erofsctl [--socket PATH] list [--json | --mountinfo]',
  '       erofsctl [--socket PATH] mkdir [-p] PATH',
  '       erofsctl [--socket PATH] prefetch [--no-wait] TARGET PATH...',
].join('\n');

const consoleIo: Io = { out: (l) => process.stdout.write(l + '\n'), err: (l) => process.stderr.write(l + '\n') };

/** Flags -o takes for either type, as mount(8) spells them. */
const FLAG_OPTIONS: Record<string, [keyof RpcTmpfsOptions, boolean]> = {
  ro: ['readOnly', true],
  rw: ['readOnly', false],
  nosuid: ['nosuid', true],
  suid: ['nosuid', false],
  nodev: ['nodev', true],
  dev: ['nodev', false],
  noexec: ['noexec', true],
  exec: ['noexec', false],
};

/**
 * The -o list (comma-separated, as mount(8) takes it) of a tmpfs mount. Values go to the
 * host as written (sizes with their suffix, the mode in octal): the host checks them and
 * answers EINVAL naming the field. Unknown names are a usage error.
 */
export function parseTmpfsOptions(lists: readonly string[]): RpcTmpfsOptions {
  const out: Record<string, unknown> = {};
  for (const item of lists.flatMap((l) => l.split(',')).filter(Boolean)) {
    const eq = item.indexOf('=');
    const key = eq < 0 ? item : item.slice(0, eq);
    const value = eq < 0 ? undefined : item.slice(eq + 1);
    if (Object.hasOwn(FLAG_OPTIONS, key) && value === undefined) {
      const [k, v] = FLAG_OPTIONS[key];
      out[k] = v;
    } else if ((key === 'size' || key === 'nr_inodes' || key === 'mode') && value !== undefined) {
      out[key] = value;
    } else if ((key === 'uid' || key === 'gid') && value !== undefined) {
      out[key] = /^[0-9]{1,15}$/.test(value) ? Number(value) : value;
    } else {
      throw new UsageError(`unknown tmpfs option ${JSON.stringify(item)} (size=, nr_inodes=, mode=, uid=, gid=, ro, rw, nosuid, nodev, noexec)`);
    }
  }
  // rw / suid / dev / exec are the defaults: send only what differs.
  for (const k of Object.keys(out)) if (out[k] === false) delete out[k];
  return out as RpcTmpfsOptions;
}

/** The mount table as aligned columns. */
export function formatTable(mounts: MountRecord[]): string {
  const rows = [['ID', 'PARENT', 'DEV', 'TARGET', 'TYPE', 'SOURCE', 'USERS'], ...mounts.map((m) => [String(m.id), String(m.parentId), m.dev, m.target, m.fstype, m.source, String(m.users)])];
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ')).join('\n');
}

export async function ctlMain(argv: string[], io: Io = consoleIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        socket: { type: 'string', short: 's' },
        mkdir: { type: 'boolean' },
        source: { type: 'string' },
        'dentry-cache': { type: 'string' },
        device: { type: 'string', multiple: true },
        url: { type: 'string' },
        header: { type: 'string', multiple: true },
        nosuid: { type: 'boolean' },
        nodev: { type: 'boolean' },
        noexec: { type: 'boolean' },
        type: { type: 'string', short: 't' },
        options: { type: 'string', short: 'o', multiple: true },
        lazy: { type: 'boolean', short: 'l' },
        json: { type: 'boolean' },
        mountinfo: { type: 'boolean' },
        parents: { type: 'boolean', short: 'p' },
        'no-wait': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: true,
    });
  } catch (e) {
    io.err(`erofsctl: ${(e as Error).message}`);
    io.err(USAGE);
    return 2;
  }
  const { values: o, positionals: pos } = parsed;
  if (o.help) {
    io.out(USAGE);
    return 0;
  }
  const [cmd, ...rest] = pos;
  const want = (n: number) => {
    if (rest.length !== n) throw new UsageError(`${cmd} takes ${n} argument${n === 1 ? '' : 's'}`);
  };
  let client: RpcClient | undefined;
  try {
    const socket = resolvePath(o.socket ?? defaultSocketPath());
    const connect = async () => {
      try {
        return (client = await RpcClient.connect(socket));
      } catch (e) {
        throw new Error(`cannot reach erofs-host at ${socket}: ${(e as Error).message}`);
      }
    };
    switch (cmd) {
      case 'ping': {
        want(0);
        const r = await (await connect()).ping();
        io.out(`pong (erofs-host ${r.version})`);
        return 0;
      }
      case 'mount': {
        const type = o.type ?? 'erofs';
        if (type === 'tmpfs') {
          if (o.url !== undefined || o.device || o['dentry-cache'] !== undefined || o.header) throw new UsageError('--url, --header, --device and --dentry-cache are for images, not tmpfs');
          if (rest.length !== 1 && rest.length !== 2) throw new UsageError('mount -t tmpfs takes [SOURCE] TARGET');
          const source = o.source ?? (rest.length === 2 ? rest[0] : undefined);
          const options: RpcTmpfsOptions = {
            ...parseTmpfsOptions(o.options ?? []),
            ...(o.mkdir ? { mkdir: true } : {}),
            ...(source !== undefined ? { source } : {}),
            ...(o.nosuid ? { nosuid: true } : {}),
            ...(o.nodev ? { nodev: true } : {}),
            ...(o.noexec ? { noexec: true } : {}),
          };
          const r = await (await connect()).mountTmpfs(rest[rest.length - 1], Object.keys(options).length ? options : undefined);
          io.out(`mounted ${r.source} at ${r.target} (mount ${r.id}, dev ${r.dev}, ${r.options}; ${r.superOptions})`);
          return 0;
        }
        if (type !== 'erofs') throw new UsageError(`mount -t ${JSON.stringify(type)}: erofsctl mounts erofs images and tmpfs`);
        // -o for an image: its flags (an image is always read-only).
        const flags = parseTmpfsOptions(o.options ?? []);
        if ((o.options ?? []).some((l) => l.split(',').includes('rw'))) throw new UsageError('-o rw: an image is mounted read-only');
        for (const k of Object.keys(flags)) if (k !== 'readOnly' && k !== 'nosuid' && k !== 'nodev' && k !== 'noexec') throw new UsageError(`-o ${k}= is a tmpfs option; an image takes ro, nosuid, nodev, noexec`);
        want(o.url !== undefined ? 1 : 2);
        let dentryCacheSize: number | undefined;
        if (o['dentry-cache'] !== undefined) {
          dentryCacheSize = Number(o['dentry-cache']);
          if (!Number.isInteger(dentryCacheSize) || dentryCacheSize < 0) throw new UsageError('--dentry-cache takes a non-negative integer');
        }
        const options = {
          ...(o.mkdir ? { mkdir: true } : {}),
          ...(o.source !== undefined ? { source: o.source } : {}),
          ...(dentryCacheSize !== undefined ? { dentryCacheSize } : {}),
          ...(o.device ? { devices: o.device.map((d) => resolvePath(d)) } : {}),
          ...(o.nosuid || flags.nosuid ? { nosuid: true } : {}),
          ...(o.nodev || flags.nodev ? { nodev: true } : {}),
          ...(o.noexec || flags.noexec ? { noexec: true } : {}),
        };
        // --url: an image behind http(s):// or s3:// (s3 credentials are the host's own).
        const image = o.url !== undefined ? { url: o.url, headers: o.header } : resolvePath(rest[0]);
        const r = await (await connect()).mount(image, rest[rest.length - 1], Object.keys(options).length ? options : undefined);
        io.out(`mounted ${r.source} at ${r.target} (mount ${r.id}, dev ${r.dev}, ${r.options})`);
        return 0;
      }
      case 'unmount':
      case 'umount': {
        want(1);
        const r = await (await connect()).unmount(rest[0], o.lazy ?? false);
        io.out(r.released ? `unmounted ${r.target} (mount ${r.id})` : `detached ${r.target} (mount ${r.id}); released when its last user closes`);
        return 0;
      }
      case 'list': {
        want(0);
        const r = await (await connect()).list();
        if (o.json) io.out(JSON.stringify(r.mounts, null, 2));
        else if (o.mountinfo) io.out(r.mountinfo.trimEnd());
        else io.out(formatTable(r.mounts));
        return 0;
      }
      case 'mkdir': {
        want(1);
        await (await connect()).mkdir(rest[0], o.parents ?? false);
        io.out(`created ${rest[0]}`);
        return 0;
      }
      case 'prefetch': {
        if (rest.length < 2) throw new UsageError('prefetch takes TARGET PATH...');
        const r = await (await connect()).prefetch(rest[0], rest.slice(1), !o['no-wait']);
        io.out(`${o['no-wait'] ? 'queued' : 'prefetched'} ${r.bytes} bytes of ${r.files} file${r.files === 1 ? '' : 's'} under ${rest[0]}`);
        for (const s of r.skipped) io.err(`skipped ${s.path}: ${s.errno}: ${s.message}`);
        return r.skipped.length ? 1 : 0;
      }
      case undefined:
        throw new UsageError('no command given');
      default:
        throw new UsageError(`unknown command ${JSON.stringify(cmd)}`);
    }
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`erofsctl: ${e.message}`);
      io.err(USAGE);
      return 2;
    }
    if (e instanceof RpcError) {
      io.err(`erofsctl: ${cmd}: ${e.message}${e.errno ? '' : ` (JSON-RPC error ${e.code})`}`);
      return 1;
    }
    io.err(`erofsctl: ${(e as Error).message}`);
    return 1;
  } finally {
    await client?.close();
  }
}

class UsageError extends Error {}
