"""A Linux guest keeps running across save and restore, and across daemons: the guest
(XML file argv[3]) starts transient on URI argv[1]; its init numbers every line it reads
on ttyS0 and answers it. After each answer the guest is saved into the directory argv[4]
and restored, alternately on URI argv[2] and argv[1]; the next answer must carry the next
number (its memory survived; it did not boot again). Every answer is printed."""
import sys
import threading

import libvirt

URI_A, URI_B, XML_PATH, DIR = sys.argv[1:5]


def console(dom):
    conn = dom.connect()
    st = conn.newStream(0)
    dom.openConsole(None, st, 0)
    return st


def wait_for(st, needle, seconds=180):
    """The first whole line from `needle` on that the console gives."""
    seen = b""
    while needle not in seen or b"\n" not in seen[seen.index(needle):]:
        data = []
        t = threading.Thread(target=lambda: data.append(st.recv(4096)), daemon=True)
        t.start()
        t.join(seconds)
        if not data or data[0] == b"":
            return f"no {needle.decode()} in {seen!r}"
        seen += data[0]
    line = seen[seen.index(needle):].split(b"\n")[0].strip()
    return line.decode()


def ask(dom, word, ready=False):
    st = console(dom)
    if ready:
        print("boot:", wait_for(st, b"RVIRT-SAVE-READY"))
    st.send(word.encode() + b"\n")
    print("answer:", wait_for(st, b"GOT:"))
    st.abort()


def main():
    a, b = libvirt.open(URI_A), libvirt.open(URI_B)
    img = f"{DIR}/guest.save"
    dom = a.createXML(open(XML_PATH).read(), 0)
    name = dom.name()
    ask(dom, "one", ready=True)
    here = a
    for word, there in (("two", b), ("three", a)):
        here.lookupByName(name).save(img)
        there.restore(img)
        dom = there.lookupByName(name)
        print("restored:", "state %d %d" % tuple(dom.state()))
        ask(dom, word)
        here = there
    here.lookupByName(name).destroy()


main()
