# libvirt-python side of tests/tests/storage_streams.rs: volume uploads and downloads
# through virStorageVolUpload / virStorageVolDownload on a transient directory pool.
# usage: storage_streams.py URI DIR big|diff ; prints one result per line.
import hashlib, os, re, sys, threading, time
import libvirt

uri, base, mode = sys.argv[1:4]
libvirt.virEventRegisterDefaultImpl()
threading.Thread(target=lambda: [libvirt.virEventRunDefaultImpl() for _ in iter(int, 1)],
                 daemon=True).start()
c = libvirt.open(uri)
refreshes = []
c.storagePoolEventRegisterAny(None, libvirt.VIR_STORAGE_POOL_EVENT_ID_REFRESH,
                              lambda conn, pool, opaque: refreshes.append(pool.name()), None)
POOL = "rvirtstreams"
M = 1 << 20
pd = os.path.join(base, "pool")
try:
    c.storagePoolLookupByName(POOL).destroy()
except libvirt.libvirtError:
    pass
os.makedirs(pd, exist_ok=True)
for f in os.listdir(pd):
    os.unlink(os.path.join(pd, f))
p = c.storagePoolCreateXML(
    "<pool type='dir'><name>%s</name><target><path>%s</path></target></pool>" % (POOL, pd), 0)


def mk(name, cap, alloc=None, fmt="raw"):
    a = "" if alloc is None else "<allocation>%d</allocation>" % alloc
    return p.createXML("<volume><name>%s</name><capacity>%d</capacity>%s<target>"
                       "<format type='%s'/></target></volume>" % (name, cap, a, fmt), 0)


def st(name):
    s = os.stat(os.path.join(pd, name))
    return (s.st_size, s.st_blocks * 512)


def err(f):
    try:
        return ("ok", f())
    except libvirt.libvirtError as e:
        return ("err", e.get_error_code(), e.get_error_domain(), str(e))


def up(v, chunks, off=0, ln=0, flags=0, finish=True):
    """Uploads chunks (bytes: data, int: a hole) with 256 KiB messages."""
    s = c.newStream(0)
    v.upload(s, off, ln, flags)
    try:
        for k in chunks:
            if isinstance(k, int):
                s.sendHole(k, 0)
                continue
            for at in range(0, len(k), 256 * 1024):
                s.send(k[at:at + 256 * 1024])
        if finish:
            s.finish()
        else:
            s.abort()
        return "done"
    except libvirt.libvirtError as e:
        try:
            s.abort()
        except libvirt.libvirtError:
            pass
        return ("err", e.get_error_code(), e.get_error_domain(), str(e))


def down(v, off=0, ln=0, flags=0, into=None, rle=True):
    """Downloads: holes and (with `rle`) runs of equal bytes; writes the data to `into`."""
    s = c.newStream(0)
    v.download(s, off, ln, flags)
    ev, run = [], bytearray()
    out = open(into, "wb") if into else None

    def flush():
        # Runs of equal bytes, whatever the message boundaries were.
        for m in re.finditer(rb"(.)\1*", bytes(run), re.S):
            ev.append(("d", len(m.group(0)), m.group(1)))
        run.clear()

    def data(stream, buf, o):
        if out:
            out.write(buf)
        if rle:
            run.extend(buf)
        return len(buf)

    def hole(stream, length, o):
        if out:
            out.seek(length, os.SEEK_CUR)
            out.truncate()
        flush()
        ev.append(("h", length))
        return 0

    if flags:
        s.sparseRecvAll(data, hole, None)
    else:
        s.recvAll(data, None)
    s.finish()
    flush()
    if out:
        out.close()
    return ev


def sha(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for b in iter(lambda: f.read(M), b""):
            h.update(b)
    return h.hexdigest()


def blocks(path):
    return os.stat(path).st_blocks * 512


def big():
    size = 64 * M
    dense = bytes((i * 7 + 1) % 251 for i in range(M)) * 64
    src = os.path.join(base, "dense.src")
    open(src, "wb").write(dense)
    d = mk("dense.img", size, 0)
    print("dense upload", up(d, [dense]))
    print("dense bytes", sha(os.path.join(pd, "dense.img")) == sha(src))
    got = os.path.join(base, "dense.out")
    down(d, into=got, rle=False)
    print("dense download", sha(got) == sha(src), os.path.getsize(got))
    # Sparse: 1 MiB of data every 8 MiB.
    chunks, sparse_src = [], os.path.join(base, "sparse.src")
    with open(sparse_src, "wb") as f:
        f.truncate(size)
        for i in range(8):
            f.seek(i * 8 * M)
            f.write(dense[:M])
            chunks += [dense[:M], 7 * M]
    s = mk("sparse.img", size, 0)
    print("sparse upload", up(s, chunks, flags=libvirt.VIR_STORAGE_VOL_UPLOAD_SPARSE_STREAM))
    vf = os.path.join(pd, "sparse.img")
    print("sparse bytes", sha(vf) == sha(sparse_src), os.path.getsize(vf))
    print("sparse volume blocks", blocks(vf))
    got = os.path.join(base, "sparse.out")
    ev = down(s, flags=libvirt.VIR_STORAGE_VOL_DOWNLOAD_SPARSE_STREAM, into=got, rle=False)
    print("sparse download", sha(got) == sha(sparse_src), os.path.getsize(got))
    print("sparse download blocks", blocks(got))
    print("sparse download holes", [e[1] for e in ev if e[0] == "h"])
    got = os.path.join(base, "sparse-dense.out")
    ev = down(s, into=got, rle=False)
    print("sparse volume dense download", sha(got) == sha(sparse_src),
          [e for e in ev if e[0] == "h"], blocks(got) == size)


def diff():
    sparse = libvirt.VIR_STORAGE_VOL_UPLOAD_SPARSE_STREAM
    v = mk("v", 8 * M, 8 * M)
    print("dense fill", up(v, [b"\xff" * (8 * M)]), st("v"))
    print("sparse over data", up(v, [b"\xaa" * M, 2 * M, b"\xbb" * M], flags=sparse), st("v"))
    d = open(os.path.join(pd, "v"), "rb").read()
    print("bytes", [d[i * M:i * M + 1] for i in range(8)], len(d))
    print("sparse ending in a hole", up(v, [b"\xaa" * M, 2 * M], flags=sparse), st("v"))
    w = mk("w", 1 * M, 0)
    print("beyond the capacity", up(w, [b"\x01" * (2 * M)]), st("w"))
    print("beyond the length", up(w, [b"\x02" * (2 * M)], off=M // 2, ln=M // 2), st("w"))
    # (What libvirtd writes of the data before the excess varies from run to run.)
    print("exact length", up(w, [b"\x03" * (M // 2)], off=M, ln=M // 2), st("w"))
    print("hole beyond the length", up(w, [4 * M], off=0, ln=M, flags=sparse), st("w"))
    print("offset beyond the end", up(w, [b"\x02" * 10], off=10 * M), st("w"))
    print("upload flags", err(lambda: up(w, [b"x"], flags=2)))
    print("download flags", err(lambda: down(w, flags=2)))
    q = mk("q.qcow2", 64 * M, None, "qcow2")
    qf = os.path.join(base, "q.out")
    print("qcow2 download", down(q, into=qf), st("q.qcow2"))
    print("qcow2 bytes are the file's", sha(qf) == sha(os.path.join(pd, "q.qcow2")))
    print("qcow2 sparse download", down(q, flags=sparse))
    s = mk("s", 8 * M, 0)
    print("sparse at an offset", up(s, [b"\x05" * M, 3 * M, b"\x06" * M], off=M, flags=sparse),
          st("s"))
    print("sparse download", down(s, flags=sparse))
    print("sparse download of a range", down(s, off=M // 2, ln=3 * M, flags=sparse))
    print("dense download of a range", down(s, off=M // 2, ln=3 * M))
    print("download from beyond the end", err(lambda: down(s, off=20 * M)))
    # What an abort leaves of the data sent before it varies with libvirtd's timing;
    # the volume stays as large as it was and usable.
    print("abort", up(s, [b"\x07" * M], finish=False), st("s")[0])
    print("info after the abort", s.info()[:2])
    print("download after the abort", down(s, off=M, ln=M))
    print("no such volume", err(lambda: p.storageVolLookupByName("nosuch")))
    # Every upload stream that ends refreshes the pool, with an event.
    # libvirtd refreshes on threads of its own, late on a loaded machine: wait for the
    # events rather than for a quiet spell.
    deadline = time.time() + 20
    while time.time() < deadline and len(refreshes) < 8:
        time.sleep(0.1)
    time.sleep(0.5)
    # (libvirtd refreshes on a thread of its own and now and then sends one fewer.)
    print("refresh events after uploads", len(refreshes) >= 8, set(refreshes))
    p.destroy()
    print("pool gone: upload", err(lambda: up(s, [b"x"])))
    print("pool gone: download", err(lambda: down(s)))


try:
    big() if mode == "big" else diff()
finally:
    try:
        p.destroy()
    except libvirt.libvirtError:
        pass
