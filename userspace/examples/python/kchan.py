# SPDX-License-Identifier: GPL-2.0
"""kchan from Python, standard library only: the ioctls of uapi/linux/kchan.h
through fcntl.ioctl and struct, and plain os.open/os.read/os.write for data.

One os.write() is one message; one os.read() returns one whole message (the
buffer must hold it, else EMSGSIZE and it stays queued), b"" once the channel
is closed and drained.  A write to a closed channel raises BrokenPipeError
(Python ignores SIGPIPE, so the EPIPE comes through).
"""
import array
import fcntl
import os
import struct

DEV_DIR = "/dev/chan"                 # the kchan filesystem (mount -t kchan kchan /dev/chan)
CONTROL_PATH = DEV_DIR + "/.control"  # its control node

CREATE_AUTOCLOSE = 0x1  # close when the last file open for writing is released
CREATE_AFTER = 0x2      # timer: one message period_ns after creation (time.After)
CREATE_TICK = 0x4       # timer: one message every period_ns (time.Ticker)
MAKE_CLOEXEC = 0x100    # make(): the fd is close-on-exec (O_CLOEXEC)
MAKE_NONBLOCK = 0x200   # make(): the fd is O_NONBLOCK

SELECT_RECV = 1
SELECT_SEND = 2
SELECT_CLOSED = 0x1     # result_flags: the receive found the channel closed

# The structs, little-endian as on x86-64, laid out as in kchan.h.
_CREATE_V0 = struct.Struct("<5I3I64s")   # struct kchan_create up to name: 96 bytes
_CREATE_V1 = struct.Struct("<5I3I64sQ")  # ... + period_ns: 104 bytes
_NAME = struct.Struct("<IIQ64s")         # struct kchan_name: 80
_CASE = struct.Struct("<iIQQQ")          # struct kchan_select_case: 32
_SELECT = struct.Struct("<IIQIIqiIQ16x")  # struct kchan_select: 64

# <asm-generic/ioctl.h>: dir in bits 30-31, size in 16-29, type 8-15, nr 0-7.
_IOC_NONE, _IOC_WRITE, _IOC_READ = 0, 1, 2
KCHAN_IOC_MAGIC = 0xC4


def _IOC(direction, nr, size):
    return direction << 30 | size << 16 | KCHAN_IOC_MAGIC << 8 | nr


def _IO(nr):
    return _IOC(_IOC_NONE, nr, 0)


def _IOW(nr, size):
    return _IOC(_IOC_WRITE, nr, size)


def _IOWR(nr, size):
    return _IOC(_IOC_READ | _IOC_WRITE, nr, size)


# Like the C macros, the numbers carry sizeof() the struct passed.  An
# ordinary channel is created with the first (96-byte) kchan_create, which
# every kchan accepts; a timer needs period_ns, so the 104-byte one.
# (Kernels that know timers ignore these size bits.)
KCHAN_IOC_CREATE_V0 = _IOW(0x01, _CREATE_V0.size)
KCHAN_IOC_CREATE_V1 = _IOW(0x01, _CREATE_V1.size)
KCHAN_IOC_DESTROY = _IOW(0x02, _NAME.size)
KCHAN_IOC_CLOSE_NAME = _IOW(0x03, _NAME.size)
KCHAN_IOC_MAKE_V0 = _IOW(0x04, _CREATE_V0.size)
KCHAN_IOC_MAKE_V1 = _IOW(0x04, _CREATE_V1.size)
KCHAN_IOC_CLOSE = _IO(0x10)
KCHAN_IOC_SELECT = _IOWR(0x20, _SELECT.size)

_control_fd = None


def _control():
    """The control node, opened once (forked children share it)."""
    global _control_fd
    if _control_fd is None:
        _control_fd = os.open(CONTROL_PATH, os.O_RDWR | os.O_CLOEXEC)
    return _control_fd


def create(name, capacity=0, msg_max=0, mode=0o600, flags=0, period_ns=0):
    """Make /dev/chan/NAME.  capacity 0 is unbuffered: a write returns only
    once a reader has taken its message (Go's rendezvous)."""
    if period_ns:
        req = _CREATE_V1.pack(_CREATE_V1.size, flags, capacity, msg_max, mode,
                              0, 0, 0, name.encode(), period_ns)
        fcntl.ioctl(_control(), KCHAN_IOC_CREATE_V1, req)
    else:
        req = _CREATE_V0.pack(_CREATE_V0.size, flags, capacity, msg_max, mode,
                              0, 0, 0, name.encode())
        fcntl.ioctl(_control(), KCHAN_IOC_CREATE_V0, req)


def make(capacity=0, msg_max=0, flags=0, period_ns=0, inheritable=False, nonblock=False):
    """Go's make(chan T): a new anonymous channel, with no name and no node,
    and one fd to it, open for reading and writing (os.read and os.write on
    the same fd).  os.fork() and SCM_RIGHTS share it; the channel goes when
    its last fd is closed.  Like os.pipe(), the fd is not inherited across
    exec unless inheritable=True."""
    fd_flags = (0 if inheritable else MAKE_CLOEXEC) | (MAKE_NONBLOCK if nonblock else 0)
    if period_ns:
        req = bytearray(_CREATE_V1.pack(_CREATE_V1.size, flags | fd_flags, capacity, msg_max,
                                        0, 0, 0, 0, b"", period_ns))
        return fcntl.ioctl(_control(), KCHAN_IOC_MAKE_V1, req, True)
    req = bytearray(_CREATE_V0.pack(_CREATE_V0.size, flags | fd_flags, capacity, msg_max,
                                    0, 0, 0, 0, b""))
    # With a mutable buffer, fcntl.ioctl returns what the ioctl returned: the fd.
    return fcntl.ioctl(_control(), KCHAN_IOC_MAKE_V0, req, True)


def destroy(name):
    """Remove the channel at once; buffered messages are dropped."""
    fcntl.ioctl(_control(), KCHAN_IOC_DESTROY, _NAME.pack(_NAME.size, 0, 0, name.encode()))


def close_name(name):
    """Go's close(ch) by name: readers drain, then read EOF; writers get EPIPE."""
    fcntl.ioctl(_control(), KCHAN_IOC_CLOSE_NAME, _NAME.pack(_NAME.size, 0, 0, name.encode()))


def close(fd):
    """Go's close(ch) through an fd open for writing."""
    fcntl.ioctl(fd, KCHAN_IOC_CLOSE)


def open(name, flags):
    """os.open of /dev/chan/NAME; flags os.O_RDONLY or os.O_WRONLY."""
    return os.open(f"{DEV_DIR}/{name}", flags | os.O_CLOEXEC)


def select(cases, timeout_ns=-1):
    """Go's select: complete exactly one of CASES, a list of
    (fd, SELECT_RECV, buffer size) or (fd, SELECT_SEND, message bytes).

    Returns (index, message): the case done, and for a receive the message,
    or None when that channel was closed and drained (Go's ok == false).
    timeout_ns < 0 waits for ever; 0 never waits (Go's default: OSError
    EAGAIN); else ETIMEDOUT after that long.  A send on a closed channel
    raises BrokenPipeError.
    """
    # The kernel reads the case table and the message buffers through the
    # pointers in it; array's buffer_info() gives their addresses.
    table = array.array("B", bytes(_CASE.size * len(cases)))
    bufs = []
    for i, (fd, op, arg) in enumerate(cases):
        buf = array.array("B", arg if op == SELECT_SEND else bytes(arg))
        bufs.append(buf)
        _CASE.pack_into(table, i * _CASE.size, fd, op, *buf.buffer_info(), 0)
    req = bytearray(_SELECT.pack(_SELECT.size, 0, table.buffer_info()[0], len(cases),
                                 _CASE.size, timeout_ns, 0, 0, 0))
    fcntl.ioctl(cases[0][0], KCHAN_IOC_SELECT, req)  # fills index, result_*
    index, result_flags, result_len = _SELECT.unpack(req)[6:9]
    if cases[index][1] == SELECT_SEND:
        return index, None
    if result_flags & SELECT_CLOSED:
        return index, None
    return index, bufs[index][:result_len].tobytes()
