#!/usr/bin/env python3
"""Record the Linux kernel's answers to the write-oracle battery.

usage (as root, from the repository root, on Linux with tmpfs and EROFS):
    npx tsx tools/oracle/battery.ts          # writes tools/oracle/battery.json
    python3 tools/oracle/record.py [--only tmpfs|erofs] [--image fixtures/basic-18.erofs]
                                   [--out fixtures/oracle]

Runs every scenario of tools/oracle/battery.json (its format is documented in
battery.ts) on
  (a) a fresh kernel tmpfs per scenario:  mount -t tmpfs -o size=16m none DIR
  (b) the kernel's read-only loop mount of the fixture image (tree steps skipped),
and writes one JSON object per line to OUT/tmpfs.jsonl and OUT/erofs-<image>.jsonl:
  - a header: kernel release, date, mount, image and battery sha256;
  - per step: the step as given (scenario number, step number, call, args, who, fd,
    setup) and its result: {"ret": n} or {"err": "ENOENT"}, "fd" as ret of a successful
    openat, plus what a read returned (size, sha256, base64 when at most 64 bytes), a
    stat's fields (inode numbers as order of first appearance in the scenario, times as
    [sec, nsec] when more than a day away from the clock, else "now", and "changed":
    which of atime/mtime/ctime differ from the previous stat of the same inode);
  - at the end of each tmpfs scenario, after every descriptor is closed: the tree's
    manifest (shared/tools/manifest.py records; ino as order numbers, "now" mtimes
    masked) and each directory's names in getdents order.

How each scenario runs: a child process chroots into the mount (so "/" is the mount's
root and the cwd is that root), sets umask 022 and runs the steps in order. Credentials
change per step with setgroups/setresgid/setresuid keeping saved uid 0: an unprivileged
profile has uid/gid/groups as given and an empty effective capability set (the kernel
clears it when the effective uid leaves 0) and goes back to root by setresuid(0, 0, 0).
Descriptors live in the child for the whole scenario. Each step but setup steps waits
5 ms first (the "sleep" step 20 ms) so that any time a step changes differs at the
kernel's coarse clock granularity.
"""
import argparse
import base64
import ctypes
import ctypes.util
import datetime
import errno
import hashlib
import importlib.util
import json
import os
import signal
import stat
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
MANIFEST_PY = os.environ.get("MANIFEST_PY", "/work/shared/tools/manifest.py")

libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)


def _fn(name, restype, *argtypes):
    f = getattr(libc, name)
    f.restype = restype
    f.argtypes = list(argtypes)
    return f


c_int, c_uint, c_char_p, c_void_p, c_size_t, c_ssize_t, c_i64, c_long = (
    ctypes.c_int, ctypes.c_uint, ctypes.c_char_p, ctypes.c_void_p, ctypes.c_size_t,
    ctypes.c_ssize_t, ctypes.c_int64, ctypes.c_long)


class Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


Times = Timespec * 2

L = {
    "openat": _fn("openat", c_int, c_int, c_char_p, c_int, c_uint),
    "mkdirat": _fn("mkdirat", c_int, c_int, c_char_p, c_uint),
    "mknodat": _fn("mknodat", c_int, c_int, c_char_p, c_uint, ctypes.c_uint64),
    "symlinkat": _fn("symlinkat", c_int, c_char_p, c_int, c_char_p),
    "linkat": _fn("linkat", c_int, c_int, c_char_p, c_int, c_char_p, c_int),
    "unlinkat": _fn("unlinkat", c_int, c_int, c_char_p, c_int),
    "renameat2": _fn("renameat2", c_int, c_int, c_char_p, c_int, c_char_p, c_uint),
    "fchownat": _fn("fchownat", c_int, c_int, c_char_p, c_uint, c_uint, c_int),
    "fchown": _fn("fchown", c_int, c_int, c_uint, c_uint),
    "lchown": _fn("lchown", c_int, c_char_p, c_uint, c_uint),
    "fchmod": _fn("fchmod", c_int, c_int, c_uint),
    "utimensat": _fn("utimensat", c_int, c_int, c_char_p, c_void_p, c_int),
    "futimens": _fn("futimens", c_int, c_int, c_void_p),
    "truncate": _fn("truncate", c_int, c_char_p, c_i64),
    "ftruncate": _fn("ftruncate", c_int, c_int, c_i64),
    "fallocate": _fn("fallocate", c_int, c_int, c_int, c_i64, c_i64),
    "syncfs": _fn("syncfs", c_int, c_int),
    "setxattr": _fn("setxattr", c_int, c_char_p, c_char_p, c_void_p, c_size_t, c_int),
    "lsetxattr": _fn("lsetxattr", c_int, c_char_p, c_char_p, c_void_p, c_size_t, c_int),
    "fsetxattr": _fn("fsetxattr", c_int, c_int, c_char_p, c_void_p, c_size_t, c_int),
    "removexattr": _fn("removexattr", c_int, c_char_p, c_char_p),
    "lremovexattr": _fn("lremovexattr", c_int, c_char_p, c_char_p),
    "fremovexattr": _fn("fremovexattr", c_int, c_int, c_char_p),
    "getxattr": _fn("getxattr", c_ssize_t, c_char_p, c_char_p, c_void_p, c_size_t),
    "lgetxattr": _fn("lgetxattr", c_ssize_t, c_char_p, c_char_p, c_void_p, c_size_t),
    "fgetxattr": _fn("fgetxattr", c_ssize_t, c_int, c_char_p, c_void_p, c_size_t),
    "readlinkat": _fn("readlinkat", c_ssize_t, c_int, c_char_p, c_void_p, c_size_t),
    "lseek": _fn("lseek", c_i64, c_int, c_i64, c_int),
    "syscall": _fn("syscall", c_long, c_long, c_long, c_char_p, c_uint, c_uint),
    "write": _fn("write", c_ssize_t, c_int, c_void_p, c_size_t),
    "pwrite64": _fn("pwrite64", c_ssize_t, c_int, c_void_p, c_size_t, c_i64),
    "writev": _fn("writev", c_ssize_t, c_int, c_void_p, c_int),
    "pwritev": _fn("pwritev", c_ssize_t, c_int, c_void_p, c_int, c_i64),
    "read": _fn("read", c_ssize_t, c_int, c_void_p, c_size_t),
    "pread64": _fn("pread64", c_ssize_t, c_int, c_void_p, c_size_t, c_i64),
    "fsync": _fn("fsync", c_int, c_int),
    "fdatasync": _fn("fdatasync", c_int, c_int),
    "close": _fn("close", c_int, c_int),
}


class Iovec(ctypes.Structure):
    _fields_ = [("iov_base", c_void_p), ("iov_len", c_size_t)]


def iovecs(parts):
    """An iovec array over the byte strings (kept alive by the returned tuple)."""
    bufs = [ctypes.create_string_buffer(p, len(p) or 1) for p in parts]
    arr = (Iovec * max(len(parts), 1))(*[Iovec(ctypes.cast(b, c_void_p), len(p)) for b, p in zip(bufs, parts)])
    return arr, bufs
SYS_fchmodat = 268     # x86-64; fchmodat2 is 452 on every architecture
SYS_fchmodat2 = 452

# Python's errno table names 95 ENOTSUP and 35 EDEADLOCK; Linux's own names are these.
ERRNO_NAMES = dict(errno.errorcode)
ERRNO_NAMES.update({errno.EOPNOTSUPP: "EOPNOTSUPP", errno.EDEADLK: "EDEADLK", errno.EAGAIN: "EAGAIN"})


class Fail(Exception):
    def __init__(self, code):
        super().__init__(code)
        self.code = code


def check(ret):
    if ret < 0:
        raise Fail(ctypes.get_errno())
    return ret


def num(x):
    """An offset or length: the battery writes those past 2^53 as decimal strings."""
    return int(x) if isinstance(x, str) else x


def makedev(major, minor):
    return os.makedev(major, minor)


# ---------------------------------------------------------------------------- values

class Battery:
    def __init__(self, path):
        with open(path, "rb") as f:
            raw = f.read()
        self.sha256 = hashlib.sha256(raw).hexdigest()
        d = json.loads(raw)
        self.profiles = d["profiles"]
        self.flags = d["flags"]
        self.trees = d["trees"]
        self.scenarios = d["scenarios"]
        self.check_flags()

    def check_flags(self):
        """The battery's numbers must be this kernel's (os module where it has them)."""
        for name, v in self.flags.items():
            mine = getattr(os, name, None)
            if mine is None:
                mine = getattr(stat, name, None)
            if name == "O_TMPFILE" and mine is not None:
                mine |= 0  # os.O_TMPFILE includes O_DIRECTORY, as the battery does
            if mine is not None and mine != v and name not in ("O_RDONLY",):
                raise SystemExit("flag %s: battery %#o, this system %#o" % (name, v, mine))

    def value(self, f):
        if isinstance(f, int):
            return f
        parts = f if isinstance(f, list) else f.split("|")
        v = 0
        for p in parts:
            if p[:1] == "0" and all(c in "01234567" for c in p):
                v |= int(p, 8)
            else:
                v |= self.flags[p]
        return v


def data_bytes(d):
    if isinstance(d, str):
        return d.encode()
    if "fill" in d:
        return (d["fill"] * d["len"]).encode()
    if "hex" in d:
        return bytes.fromhex(d["hex"])
    return encode_acl(d["acl"])


def encode_acl(text):
    """Short-text ACL -> system.posix_acl_* value; same rules as battery.ts encodeAcl."""
    tags = {"u": 1, "g": 4, "m": 0x10, "o": 0x20}
    named = {"u": 2, "g": 8}
    version = 2
    out = b""
    n = 0
    for part in [p for p in text.split(",") if p]:
        if part.startswith("version="):
            version = int(part[8:])
            continue
        tag, ident, perm = part.split(":")
        bits = (4 if perm[0] == "r" else 0) | (2 if perm[1] == "w" else 0) | (1 if perm[2] == "x" else 0)
        if tag.startswith("tag="):
            t, i = int(tag[4:]), (0xFFFFFFFF if ident == "" else int(ident))
        elif ident == "":
            t, i = tags[tag], 0xFFFFFFFF
        else:
            t, i = named[tag], int(ident)
        out += t.to_bytes(2, "little") + bits.to_bytes(2, "little") + i.to_bytes(4, "little")
        n += 1
    return version.to_bytes(4, "little") + out


def blob(b):
    r = {"size": len(b), "sha256": hashlib.sha256(b).hexdigest()}
    if len(b) <= 64:
        r["b64"] = base64.b64encode(b).decode()
    return r


def tclass(ns, now):
    sec, nsec = divmod(ns, 1000000000)
    return "now" if abs(sec - now) < 86400 else [sec, nsec]


# ---------------------------------------------------------------------------- running

class Runner:
    """Runs one scenario's steps; lives in the chrooted child."""

    def __init__(self, battery, out):
        self.b = battery
        self.out = out
        self.fds = {}
        self.inos = {}
        self.last_times = {}
        self.who = "root"

    def emit(self, obj):
        self.out.write(json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n")

    # credentials
    def become(self, who):
        if who == self.who:
            return
        p = self.b.profiles[who]
        os.setresuid(0, 0, 0)
        os.setgroups(p["groups"])
        os.setresgid(p["gid"], p["gid"], p["gid"])
        if p["uid"] != 0:
            os.setresuid(p["uid"], p["uid"], 0)
        self.who = who

    def ino(self, n):
        if n not in self.inos:
            self.inos[n] = len(self.inos)
        return self.inos[n]

    def fd(self, a):
        if a == "AT_FDCWD":
            return -100
        if isinstance(a, int):
            return a
        return self.fds.get(a, -1)

    def stat_record(self, st):
        now = time.time()
        m = st.st_mode
        r = {"mode": m, "uid": st.st_uid, "gid": st.st_gid, "size": st.st_size,
             "nlink": st.st_nlink, "blocks": st.st_blocks, "ino": self.ino(st.st_ino)}
        if stat.S_ISCHR(m) or stat.S_ISBLK(m):
            r["rdev"] = [os.major(st.st_rdev), os.minor(st.st_rdev)]
        for k in ("atime", "mtime", "ctime"):
            r[k] = tclass(getattr(st, "st_%s_ns" % k), now)
        cur = (st.st_atime_ns, st.st_mtime_ns, st.st_ctime_ns)
        prev = self.last_times.get(st.st_ino)
        if prev is not None:
            r["changed"] = [k for k, a, b in zip(("atime", "mtime", "ctime"), prev, cur) if a != b]
        self.last_times[st.st_ino] = cur
        return r

    def run(self, idx, j, step, setup):
        who = step.get("who", "root")
        if not setup:
            time.sleep(0.005)
        self.become(who)
        try:
            res = self.call(step)
        except Fail as e:
            res = {"err": ERRNO_NAMES.get(e.code, str(e.code))}
        except OSError as e:
            res = {"err": ERRNO_NAMES.get(e.errno, str(e.errno))}
        finally:
            self.become("root")
        if setup and "err" in res:
            raise SystemExit("setup step %d.%d %r failed: %s" % (idx, j, step, res["err"]))
        return res

    def call(self, s):
        c, a, v = s["call"], s["args"], self.b.value
        P = lambda x: os.fsencode(x)
        if c == "openat":
            fd = check(L["openat"](self.fd(a[0]), P(a[1]), v(a[2]), v(a[3])))
            if s.get("fd"):
                old = self.fds.get(s["fd"])
                if old is not None:
                    os.close(old)
                self.fds[s["fd"]] = fd
            else:
                os.close(fd)
            return {"ret": "fd"}
        if c == "close":
            fd = self.fd(a[0])
            check(L["close"](fd))
            for k in [k for k, x in self.fds.items() if x == fd]:
                del self.fds[k]
            return {"ret": 0}
        if c in ("write", "pwrite64"):
            d = data_bytes(a[1])
            buf = ctypes.create_string_buffer(d, len(d) or 1)
            if c == "write":
                return {"ret": check(L["write"](self.fd(a[0]), buf, len(d)))}
            return {"ret": check(L["pwrite64"](self.fd(a[0]), buf, len(d), num(a[2])))}
        if c in ("writev", "pwritev"):
            arr, keep = iovecs([data_bytes(x) for x in a[1]])
            if c == "writev":
                return {"ret": check(L["writev"](self.fd(a[0]), arr, len(a[1])))}
            return {"ret": check(L["pwritev"](self.fd(a[0]), arr, len(a[1]), num(a[2])))}
        if c in ("read", "pread64"):
            buf = ctypes.create_string_buffer(max(a[1], 1))
            if c == "read":
                n = check(L["read"](self.fd(a[0]), buf, a[1]))
            else:
                n = check(L["pread64"](self.fd(a[0]), buf, a[1], num(a[2])))
            return dict(ret=n, **blob(buf.raw[:n]))
        if c == "lseek":
            return {"ret": check(L["lseek"](self.fd(a[0]), num(a[1]), v(a[2])))}
        if c == "ftruncate":
            return {"ret": check(L["ftruncate"](self.fd(a[0]), num(a[1])))}
        if c == "truncate":
            return {"ret": check(L["truncate"](P(a[0]), num(a[1])))}
        if c == "fallocate":
            return {"ret": check(L["fallocate"](self.fd(a[0]), v(a[1]), num(a[2]), num(a[3])))}
        if c in ("fsync", "fdatasync"):
            return {"ret": check(L[c](self.fd(a[0])))}
        if c == "syncfs":
            return {"ret": check(L["syncfs"](self.fd(a[0])))}
        if c == "mkdirat":
            return {"ret": check(L["mkdirat"](self.fd(a[0]), P(a[1]), v(a[2])))}
        if c == "mknodat":
            return {"ret": check(L["mknodat"](self.fd(a[0]), P(a[1]), v(a[2]), makedev(*a[3])))}
        if c == "symlinkat":
            return {"ret": check(L["symlinkat"](P(a[0]), self.fd(a[1]), P(a[2])))}
        if c == "linkat":
            return {"ret": check(L["linkat"](self.fd(a[0]), P(a[1]), self.fd(a[2]), P(a[3]), v(a[4])))}
        if c == "unlinkat":
            return {"ret": check(L["unlinkat"](self.fd(a[0]), P(a[1]), v(a[2])))}
        if c == "renameat2":
            return {"ret": check(L["renameat2"](self.fd(a[0]), P(a[1]), self.fd(a[2]), P(a[3]), v(a[4])))}
        if c == "fchmodat":
            # The raw syscall (no flags argument): glibc would emulate flags with O_PATH.
            return {"ret": check(L["syscall"](SYS_fchmodat, self.fd(a[0]), P(a[1]), v(a[2]), 0))}
        if c == "fchmodat2":
            return {"ret": check(L["syscall"](SYS_fchmodat2, self.fd(a[0]), P(a[1]), v(a[2]), v(a[3])))}
        if c == "fchmod":
            return {"ret": check(L["fchmod"](self.fd(a[0]), v(a[1])))}
        if c == "fchownat":
            return {"ret": check(L["fchownat"](self.fd(a[0]), P(a[1]), a[2] & 0xFFFFFFFF, a[3] & 0xFFFFFFFF, v(a[4])))}
        if c == "fchown":
            return {"ret": check(L["fchown"](self.fd(a[0]), a[1] & 0xFFFFFFFF, a[2] & 0xFFFFFFFF))}
        if c == "lchown":
            return {"ret": check(L["lchown"](P(a[0]), a[1] & 0xFFFFFFFF, a[2] & 0xFFFFFFFF))}
        if c in ("utimensat", "futimens"):
            t = a[2] if c == "utimensat" else a[1]
            ts = None
            if t is not None:
                ts = Times(*[Timespec(x[0], v([x[1]]) if isinstance(x[1], str) else x[1]) for x in t])
            if c == "utimensat":
                return {"ret": check(L["utimensat"](self.fd(a[0]), P(a[1]), ts, v(a[3])))}
            return {"ret": check(L["futimens"](self.fd(a[0]), ts))}
        if c in ("setxattr", "lsetxattr", "fsetxattr"):
            val = data_bytes(a[2])
            buf = ctypes.create_string_buffer(val, len(val) or 1)
            first = self.fd(a[0]) if c == "fsetxattr" else P(a[0])
            return {"ret": check(L[c](first, P(a[1]), buf, len(val), v(a[3])))}
        if c in ("removexattr", "lremovexattr", "fremovexattr"):
            first = self.fd(a[0]) if c == "fremovexattr" else P(a[0])
            return {"ret": check(L[c](first, P(a[1])))}
        if c in ("getxattr", "lgetxattr", "fgetxattr"):
            first = self.fd(a[0]) if c == "fgetxattr" else P(a[0])
            size = a[2]
            buf = ctypes.create_string_buffer(max(size, 1))
            n = check(L[c](first, P(a[1]), buf if size else None, size))
            return dict(ret=n, **blob(buf.raw[:n])) if size else {"ret": n}
        if c == "readlinkat":
            buf = ctypes.create_string_buffer(a[2])
            n = check(L["readlinkat"](self.fd(a[0]), P(a[1]), buf, a[2]))
            return dict(ret=n, **blob(buf.raw[:n]))
        if c == "umask":
            return {"ret": os.umask(v(a[0]))}
        if c == "newfstatat":
            fl = v(a[2])
            if fl & ~0x100:
                raise SystemExit("newfstatat: only AT_SYMLINK_NOFOLLOW is supported here")
            dfd = self.fd(a[0])
            if dfd < 0 and dfd != -100 and not a[1].startswith("/"):
                raise Fail(errno.EBADF)  # Python refuses a negative dir_fd itself
            st = os.stat(P(a[1]), dir_fd=None if dfd == -100 or a[1].startswith("/") else dfd,
                         follow_symlinks=not fl & 0x100)
            return {"ret": 0, "stat": self.stat_record(st)}
        if c == "fstat":
            if self.fd(a[0]) < 0:
                raise Fail(errno.EBADF)  # Python refuses a negative descriptor itself
            return {"ret": 0, "stat": self.stat_record(os.fstat(self.fd(a[0])))}
        if c == "listdir":
            names = os.listdir(P(a[0]))
            try:
                return {"ret": 0, "names": [n.decode("utf-8") for n in names]}
            except UnicodeDecodeError:
                return {"ret": 0, "names_b64": [base64.b64encode(n).decode() for n in names]}
        if c == "sleep":
            time.sleep(0.02)
            return {"ret": 0}
        raise SystemExit("unknown call %r" % c)

    def close_all(self):
        for fd in sorted(set(self.fds.values())):
            try:
                os.close(fd)
            except OSError:
                pass
        self.fds.clear()


def load_manifest_module():
    spec = importlib.util.spec_from_file_location("oracle_manifest", MANIFEST_PY)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def manifest(runner, mf, idx):
    """shared/tools/manifest.py records of the chroot's tree, volatile fields masked."""
    now = time.time()
    root = b"/."
    recs = []
    dirs = []

    def walk(rel):
        names = os.listdir(root + (rel if rel != b"/" else b""))
        dirs.append((rel, names))
        for n in names:
            child = (rel if rel != b"/" else b"") + b"/" + n
            r = mf.record(root, child)
            recs.append((child, r))
            if r["type"] == "dir":
                walk(child)

    recs.append((b"/", mf.record(root, b"/")))
    walk(b"/")
    recs.sort(key=lambda x: x[0])
    for _, r in recs:
        r["ino"] = runner.ino(r["ino"])
        if tclass(r["mtime"] * 1000000000 + r["mtime_nsec"], now) == "now":
            r["mtime"] = "now"
            del r["mtime_nsec"]
        runner.emit({"scenario": idx, "manifest": r})
    for rel, names in sorted(dirs):
        rd = {}
        mf.text_or_b64(rd, "path", rel)
        try:
            rd["entries"] = [n.decode("utf-8") for n in names]
        except UnicodeDecodeError:
            rd["entries_b64"] = [base64.b64encode(n).decode() for n in names]
        runner.emit({"scenario": idx, "readdir": rd})


def run_scenario(battery, idx, target, mnt, mf, wfd):
    """In a forked child: chroot into the mount and run one scenario; JSON lines to wfd."""
    sc = battery.scenarios[idx]
    out = os.fdopen(wfd, "w")
    runner = Runner(battery, out)
    os.chroot(mnt)
    os.chdir("/")
    os.umask(0o022)
    steps = []
    if target == "tmpfs":
        steps += [dict(s, tree=sc["tree"]) for s in battery.trees[sc["tree"]]]
    steps += [dict(s) for s in sc["steps"] if target == "tmpfs" or not s.get("setup")]
    for j, s in enumerate(steps):
        setup = bool(s.get("setup"))
        signal.alarm(10)
        res = runner.run(idx, j, s, setup)
        signal.alarm(0)
        line = {"scenario": idx, "step": j}
        line.update({k: s[k] for k in ("tree", "setup", "who", "call", "args", "fd") if k in s})
        line["result"] = res
        runner.emit(line)
    runner.close_all()
    if target == "tmpfs":
        manifest(runner, mf, idx)
    out.flush()


def mount_options(mnt):
    with open("/proc/self/mounts") as f:
        for line in f:
            parts = line.split()
            if parts[1] == mnt:
                return parts[3]
    return None


def sh(*cmd):
    subprocess.run(cmd, check=True)


def record_target(battery, target, image, out_path, mf):
    lines = []
    base = tempfile.mkdtemp(prefix="oracle-")
    mnt = os.path.join(base, "mnt")
    os.mkdir(mnt)
    header = {
        "oracle": "linux",
        "kernel": os.uname().release,
        "machine": os.uname().machine,
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d"),
        "target": target,
        "battery_sha256": battery.sha256,
        "scenarios": [s["name"] for s in battery.scenarios],
        # Answers that depend on these (linkat of another's file, O_CREAT in sticky dirs).
        "sysctl": {k: int(open("/proc/sys/fs/" + k).read()) for k in
                   ("protected_hardlinks", "protected_symlinks", "protected_fifos", "protected_regular")},
    }
    if target == "tmpfs":
        header["mount"] = "mount -t tmpfs -o size=16m none DIR (fresh per scenario)"
    else:
        header["mount"] = "mount -t erofs -o loop,ro IMAGE DIR"
        header["image"] = os.path.basename(image)
        with open(image, "rb") as f:
            header["image_sha256"] = hashlib.sha256(f.read()).hexdigest()
        sh("mount", "-t", "erofs", "-o", "loop,ro", image, mnt)
        header["mount_options"] = mount_options(mnt)
    lines.append(header)
    try:
        for idx, sc in enumerate(battery.scenarios):
            if target not in sc["on"]:
                continue
            if target == "tmpfs":
                sh("mount", "-t", "tmpfs", "-o", "size=16m", "none", mnt)
                header["mount_options"] = mount_options(mnt)
            try:
                r, w = os.pipe()
                pid = os.fork()
                if pid == 0:
                    os.close(r)
                    code = 0
                    try:
                        run_scenario(battery, idx, target, mnt, mf, w)
                    except BaseException:
                        traceback.print_exc()
                        code = 1
                    os._exit(code)
                os.close(w)
                with os.fdopen(r) as f:
                    got = [json.loads(x) for x in f]
                _, status = os.waitpid(pid, 0)
                if status != 0:
                    raise SystemExit("scenario %d (%s) on %s failed" % (idx, sc["name"], target))
                lines += got
                steps = sum(1 for x in got if "step" in x)
                print("%s: %2d %-80s %4d steps" % (target, idx, sc["name"][:80], steps))
            finally:
                if target == "tmpfs":
                    sh("umount", mnt)
    finally:
        if target == "erofs":
            sh("umount", mnt)
        os.rmdir(mnt)
        os.rmdir(base)
    tmp = out_path + ".tmp"
    with open(tmp, "w") as f:
        for x in lines:
            f.write(json.dumps(x, ensure_ascii=False, separators=(",", ":")) + "\n")
    os.replace(tmp, out_path)
    print("wrote %s (%d lines)" % (out_path, len(lines)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--battery", default=os.path.join(HERE, "battery.json"))
    ap.add_argument("--image", default=os.path.join(REPO, "fixtures", "basic-18.erofs"))
    ap.add_argument("--out", default=os.path.join(REPO, "fixtures", "oracle"))
    ap.add_argument("--only", choices=["tmpfs", "erofs"])
    args = ap.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("record.py must run as root (mount, chroot, setresuid)")
    battery = Battery(args.battery)
    mf = load_manifest_module()
    os.makedirs(args.out, exist_ok=True)
    if args.only in (None, "tmpfs"):
        record_target(battery, "tmpfs", None, os.path.join(args.out, "tmpfs.jsonl"), mf)
    if args.only in (None, "erofs"):
        name = os.path.basename(args.image).rsplit(".erofs", 1)[0]
        record_target(battery, "erofs", args.image, os.path.join(args.out, "erofs-%s.jsonl" % name), mf)


if __name__ == "__main__":
    main()
