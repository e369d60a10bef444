#!/usr/bin/env python3
"""Record the Linux kernel's answers to the overlay oracle battery.

usage (as root, from the repository root, on Linux with overlayfs, EROFS and tmpfs):
    npx tsx tools/oracle/overlay-battery.ts      # writes tools/oracle/overlay-battery.json
    python3 tools/oracle/record-overlay.py [--out fixtures/oracle] [--mkfs PATH]

What it does (the battery's format is documented in overlay-battery.ts):
  1. builds each layer of the battery as a tar archive (Python's tarfile, PAX format,
     xattrs as SCHILY.xattr.* records, fixed owners and times) and turns it into an EROFS
     image with `mkfs.erofs --tar=f --aufs` (OCI whiteouts become overlayfs whiteouts), a
     fixed UUID per layer and a fixed build time: OUT/overlay-L1.erofs, -L2, -L3 (the
     replay test mounts these same images);
  2. mounts each image read-only (mount -t erofs -o loop,ro);
  3. per scenario: a fresh tmpfs (size=16m,nr_inodes=16384) with upper/ and work/, then
     mount -t overlay overlay -o lowerdir=L3:L2:L1,upperdir=U/upper,workdir=U/work M
     (every other option at the kernel's default); a child process chroots into M and
     runs the steps as record.py does (credentials per step, 5 ms between steps); after
     every descriptor is closed, the manifest of the merged tree and of the upper
     directory (reached through a descriptor opened before the chroot);
  4. writes OUT/overlay.jsonl: a header (kernel, layers and their sha256, the mount's
     super-block options with the directories named L1.. U/upper U/work, the overlay
     module's parameters), then the step lines, then per scenario {"manifest": ...},
     {"readdir": ...}, {"upper_manifest": ...}, {"upper_readdir": ...} lines.

Differences from record.py's records: a stat's "ino" is the order of first appearance of
its (st_dev, st_ino) pair and "dev" the order of first appearance of st_dev (an overlay
reports several devices); the upper manifest numbers its inodes on its own. The value of
trusted.overlay.uuid (random per upper) is recorded as "<uuid>".
"""
import argparse
import base64
import ctypes
import ctypes.util
import datetime
import hashlib
import importlib.util
import io
import json
import os
import shutil
import signal
import stat
import struct
import subprocess
import tarfile
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))


def load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


rec = load("oracle_record", os.path.join(HERE, "record.py"))
# A libc handle of our own: record.py fixed the argument types of its function objects.
libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
L = rec.L
Fail = rec.Fail
check = rec.check

SYS_getdents64 = 217  # x86-64
UPPER_SIZE = "size=16m,nr_inodes=16384"
BUILD_TIME = 1700000000
LAYER_UUIDS = ["00000000-0000-4000-8000-00000000000%d" % (i + 1) for i in range(9)]


class StatFs(ctypes.Structure):
    _fields_ = [("f_type", ctypes.c_long), ("f_bsize", ctypes.c_long), ("f_blocks", ctypes.c_ulong),
                ("f_bfree", ctypes.c_ulong), ("f_bavail", ctypes.c_ulong), ("f_files", ctypes.c_ulong),
                ("f_ffree", ctypes.c_ulong), ("f_fsid", ctypes.c_int * 2), ("f_namelen", ctypes.c_long),
                ("f_frsize", ctypes.c_long), ("f_flags", ctypes.c_long), ("f_spare", ctypes.c_long * 4)]


libc.statfs.argtypes = [ctypes.c_char_p, ctypes.POINTER(StatFs)]
libc.statfs.restype = ctypes.c_int
libc.faccessat.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_int]
libc.faccessat.restype = ctypes.c_int
libc.syscall.restype = ctypes.c_long


class Battery:
    def __init__(self, path):
        with open(path, "rb") as f:
            raw = f.read()
        self.sha256 = hashlib.sha256(raw).hexdigest()
        d = json.loads(raw)
        self.profiles = d["profiles"]
        self.flags = d["flags"]
        self.layers = d["layers"]
        self.scenarios = d["scenarios"]

    def value(self, f):
        return rec.Battery.value(self, f)


# ---------------------------------------------------------------------------- layers

def pax_value(v):
    """An xattr value for a PAX record: bytes kept exact through surrogate escapes."""
    return rec.data_bytes(v).decode("utf-8", "surrogateescape")


def build_tar(members, path):
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as t:
        for m in members:
            ti = tarfile.TarInfo(m["path"])
            ti.mode = int(m["mode"], 8)
            ti.uid, ti.gid, ti.mtime = m["uid"], m["gid"], m["mtime"]
            ti.uname = ti.gname = ""
            data = None
            kind = m["type"]
            if kind == "file":
                data = rec.data_bytes(m.get("data", ""))
                ti.type, ti.size = tarfile.REGTYPE, len(data)
            elif kind == "dir":
                ti.type = tarfile.DIRTYPE
            elif kind == "symlink":
                ti.type, ti.linkname = tarfile.SYMTYPE, m["target"]
            elif kind == "hardlink":
                ti.type, ti.linkname = tarfile.LNKTYPE, m["target"]
            elif kind in ("chardev", "blockdev"):
                ti.type = tarfile.CHRTYPE if kind == "chardev" else tarfile.BLKTYPE
                ti.devmajor, ti.devminor = m["dev"]
            elif kind == "fifo":
                ti.type = tarfile.FIFOTYPE
            else:
                raise SystemExit("unknown member type %r" % kind)
            if m.get("xattrs"):
                ti.pax_headers = {"SCHILY.xattr." + k: pax_value(v) for k, v in m["xattrs"].items()}
            t.addfile(ti, io.BytesIO(data) if data is not None else None)


def build_layers(battery, mkfs, out_dir, work):
    files = []
    for i, members in enumerate(battery.layers):
        tar = os.path.join(work, "L%d.tar" % (i + 1))
        img = os.path.join(out_dir, "overlay-L%d.erofs" % (i + 1))
        build_tar(members, tar)
        subprocess.run([mkfs, "--tar=f", "--aufs", "-T%d" % BUILD_TIME, "--mkfs-time", "-U" + LAYER_UUIDS[i], img + ".tmp", tar],
                       check=True, stdout=subprocess.DEVNULL)
        os.replace(img + ".tmp", img)
        with open(img, "rb") as f:
            files.append({"file": os.path.basename(img), "sha256": hashlib.sha256(f.read()).hexdigest(), "uuid": LAYER_UUIDS[i]})
    return files


# ---------------------------------------------------------------------------- running

class OverlayRunner(rec.Runner):
    """record.py's runner with (st_dev, st_ino) identities and the overlay battery's extra calls."""

    def __init__(self, battery, out):
        super().__init__(battery, out)
        self.devs = {}

    def dev(self, d):
        if d not in self.devs:
            self.devs[d] = len(self.devs)
        return self.devs[d]

    def stat_record(self, st):
        now = time.time()
        m = st.st_mode
        key = (st.st_dev, st.st_ino)
        r = {"mode": m, "uid": st.st_uid, "gid": st.st_gid, "size": st.st_size, "nlink": st.st_nlink,
             "blocks": st.st_blocks, "ino": self.ino(key), "dev": self.dev(st.st_dev)}
        if stat.S_ISCHR(m) or stat.S_ISBLK(m):
            r["rdev"] = [os.major(st.st_rdev), os.minor(st.st_rdev)]
        for k in ("atime", "mtime", "ctime"):
            r[k] = rec.tclass(getattr(st, "st_%s_ns" % k), now)
        cur = (st.st_atime_ns, st.st_mtime_ns, st.st_ctime_ns)
        prev = self.last_times.get(key)
        if prev is not None:
            r["changed"] = [k for k, a, b in zip(("atime", "mtime", "ctime"), prev, cur) if a != b]
        self.last_times[key] = cur
        return r

    def call(self, s):
        c, a, v = s["call"], s["args"], self.b.value
        P = os.fsencode
        if c == "getdents64":
            size = a[1]
            buf = ctypes.create_string_buffer(max(size, 1))
            n = check(libc.syscall(SYS_getdents64, ctypes.c_long(self.fd(a[0])), buf, ctypes.c_long(size)))
            raw, o, ents = buf.raw[:n], 0, []
            while o < n:
                _, off, reclen, typ = struct.unpack_from("<QqHB", raw, o)
                name = raw[o + 19:o + reclen].split(b"\0")[0]
                try:
                    ents.append([name.decode("utf-8"), off, typ])
                except UnicodeDecodeError:
                    ents.append([{"b64": base64.b64encode(name).decode()}, off, typ])
                o += reclen
            return {"ret": n, "entries": ents}
        if c == "listxattr":
            return {"ret": 0, "names": sorted(os.listxattr(P(a[0]), follow_symlinks=False), key=lambda x: x.encode())}
        if c == "statfs":
            st = StatFs()
            if libc.statfs(P(a[0]), ctypes.byref(st)) < 0:
                raise Fail(ctypes.get_errno())
            return {"ret": 0, "statfs": {"type": st.f_type, "bsize": st.f_bsize, "blocks": st.f_blocks, "bfree": st.f_bfree,
                                         "bavail": st.f_bavail, "files": st.f_files, "ffree": st.f_ffree,
                                         "namelen": st.f_namelen, "frsize": st.f_frsize, "flags": st.f_flags}}
        if c == "access":
            return {"ret": check(libc.faccessat(-100, P(a[0]), v(a[1]), 0))}
        return super().call(s)


def manifest_records(mf, runner, root, idx, kind, ino_of, mask_uuid):
    """manifest.py's records of the tree at `root` (bytes), volatile fields masked."""
    now = time.time()
    recs, dirs = [], []

    def walk(rel):
        names = os.listdir(root + (rel if rel != b"/" else b""))
        dirs.append((rel, names))
        for n in names:
            child = (rel if rel != b"/" else b"") + b"/" + n
            r = mf.record(root, child)
            st = os.lstat(root + child)
            recs.append((child, r, (st.st_dev, st.st_ino)))
            if r["type"] == "dir":
                walk(child)

    st = os.lstat(root + b"/.")
    recs.append((b"/", mf.record(root, b"/"), (st.st_dev, st.st_ino)))
    walk(b"/")
    recs.sort(key=lambda x: x[0])
    for _, r, key in recs:
        r["ino"] = ino_of(key)
        if rec.tclass(r["mtime"] * 1000000000 + r["mtime_nsec"], now) == "now":
            r["mtime"] = "now"
            del r["mtime_nsec"]
        if mask_uuid and "trusted.overlay.uuid" in r.get("xattrs", {}):
            r["xattrs"]["trusted.overlay.uuid"] = "<uuid>"
        runner.emit({"scenario": idx, kind + "manifest": r})
    for rel, names in sorted(dirs):
        rd = {}
        mf.text_or_b64(rd, "path", rel)
        try:
            rd["entries"] = [n.decode("utf-8") for n in names]
        except UnicodeDecodeError:
            rd["entries_b64"] = [base64.b64encode(n).decode() for n in names]
        runner.emit({"scenario": idx, kind + "readdir": rd})


def run_scenario(battery, idx, mnt, upper, mf, wfd):
    sc = battery.scenarios[idx]
    out = os.fdopen(wfd, "w")
    runner = OverlayRunner(battery, out)
    upper_fd = os.open(upper, os.O_RDONLY | os.O_DIRECTORY)
    os.chroot(mnt)
    os.chdir("/")
    os.umask(0o022)
    for j, s in enumerate(sc["steps"]):
        signal.alarm(10)
        res = runner.run(idx, j, s, False)
        signal.alarm(0)
        line = {"scenario": idx, "step": j}
        line.update({k: s[k] for k in ("who", "call", "args", "fd") if k in s})
        line["result"] = res
        runner.emit(line)
    runner.close_all()
    os.umask(0o022)
    manifest_records(mf, runner, b"/.", idx, "", runner.ino, False)
    os.fchdir(upper_fd)
    upper_inos = {}
    manifest_records(mf, runner, b".", idx, "upper_", lambda k: upper_inos.setdefault(k, len(upper_inos)), True)
    os.chdir("/")
    out.flush()


def mountinfo_options(mnt):
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, right = line.rstrip("\n").split(" - ", 1)
            if left.split(" ")[4] == mnt:
                return left.split(" ")[5], right.split(" ")[2]
    return None, None


def sh(*cmd):
    subprocess.run(cmd, check=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--battery", default=os.path.join(HERE, "overlay-battery.json"))
    ap.add_argument("--out", default=os.path.join(REPO, "fixtures", "oracle"))
    ap.add_argument("--mkfs", default=shutil.which("mkfs.erofs19") or "/opt/erofs-utils/bin/mkfs.erofs19")
    args = ap.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("record-overlay.py must run as root (mount, chroot, setresuid)")
    battery = Battery(args.battery)
    mf = rec.load_manifest_module()
    base = tempfile.mkdtemp(prefix="oracle-overlay-")
    layers = build_layers(battery, args.mkfs, args.out, base)
    lowers = [os.path.join(base, "L%d" % (i + 1)) for i in range(len(layers))]
    u, mnt = os.path.join(base, "U"), os.path.join(base, "M")
    for d in lowers + [u, mnt]:
        os.mkdir(d)
    params = {}
    for p in sorted(os.listdir("/sys/module/overlay/parameters")):
        with open("/sys/module/overlay/parameters/" + p) as f:
            params[p] = f.read().strip()
    mkfs_version = subprocess.run([args.mkfs, "-V"], capture_output=True, text=True).stdout.strip().splitlines()[0]
    header = {
        "oracle": "linux",
        "kernel": os.uname().release,
        "machine": os.uname().machine,
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d"),
        "target": "overlay",
        "battery_sha256": battery.sha256,
        "scenarios": [s["name"] for s in battery.scenarios],
        "layers": layers,
        "mkfs": mkfs_version + " --tar=f --aufs -T%d --mkfs-time -U<uuid>" % BUILD_TIME,
        "upper": "mount -t tmpfs -o %s tmpfs U; mkdir U/upper U/work (fresh per scenario)" % UPPER_SIZE,
        "mount": "mount -t overlay overlay -o lowerdir=L3:L2:L1,upperdir=U/upper,workdir=U/work M",
        "overlay_parameters": params,
        "sysctl": {k: int(open("/proc/sys/fs/" + k).read()) for k in
                   ("protected_hardlinks", "protected_symlinks", "protected_fifos", "protected_regular")},
    }
    lines = [header]
    try:
        for i, layer in enumerate(layers):
            sh("mount", "-t", "erofs", "-o", "loop,ro", os.path.join(args.out, layer["file"]), lowers[i])
        for idx, sc in enumerate(battery.scenarios):
            sh("mount", "-t", "tmpfs", "-o", UPPER_SIZE, "tmpfs", u)
            try:
                os.mkdir(os.path.join(u, "upper"), 0o755)
                os.mkdir(os.path.join(u, "work"), 0o755)
                opts = "lowerdir=%s,upperdir=%s/upper,workdir=%s/work" % (":".join(reversed(lowers)), u, u)
                sh("mount", "-t", "overlay", "overlay", "-o", opts, mnt)
                try:
                    per_mount, super_opts = mountinfo_options(mnt)
                    named = super_opts.replace(u + "/", "U/")
                    for k, d in enumerate(lowers):
                        named = named.replace(d, "L%d" % (k + 1))
                    header["mountinfo"] = {"options": per_mount, "super_options": named}
                    r, w = os.pipe()
                    pid = os.fork()
                    if pid == 0:
                        os.close(r)
                        code = 0
                        try:
                            run_scenario(battery, idx, mnt, os.path.join(u, "upper"), mf, w)
                        except BaseException:
                            traceback.print_exc()
                            code = 1
                        os._exit(code)
                    os.close(w)
                    with os.fdopen(r) as f:
                        got = [json.loads(x) for x in f]
                    _, status = os.waitpid(pid, 0)
                    if status != 0:
                        raise SystemExit("scenario %d (%s) failed" % (idx, sc["name"]))
                    lines += got
                    print("overlay: %2d %-80s %4d steps" % (idx, sc["name"][:80], sum(1 for x in got if "step" in x)))
                finally:
                    sh("umount", mnt)
            finally:
                sh("umount", u)
    finally:
        for d in lowers:
            subprocess.run(["umount", d], stderr=subprocess.DEVNULL)
        shutil.rmtree(base, ignore_errors=True)
    out_path = os.path.join(args.out, "overlay.jsonl")
    with open(out_path + ".tmp", "w") as f:
        for x in lines:
            f.write(json.dumps(x, ensure_ascii=False, separators=(",", ":")) + "\n")
    os.replace(out_path + ".tmp", out_path)
    print("wrote %s (%d lines)" % (out_path, len(lines)))


if __name__ == "__main__":
    main()
