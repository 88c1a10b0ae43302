// SPDX-License-Identifier: GPL-2.0
//! kchan channels (`/dev/chan/NAME`) from Rust with std only: the ioctls of
//! uapi/linux/kchan.h through libc's `ioctl` (std links libc already; we just
//! declare it), and `std::fs::File` for the data.
//!
//! One `write` is one message; one `read` returns one whole message (the
//! buffer must hold it, else EMSGSIZE and it stays queued) and `Ok(0)` once
//! the channel is closed and drained.  A write to a closed channel fails with
//! `ErrorKind::BrokenPipe` (Rust programs start with SIGPIPE ignored).

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::raw::{c_int, c_ulong};
use std::os::unix::io::{AsRawFd, FromRawFd};

/// The kchan filesystem (`mount -t kchan kchan /dev/chan`).
pub const DEV_DIR: &str = "/dev/chan";
/// Its control node.
pub const CONTROL_PATH: &str = "/dev/chan/.control";
pub const NAME_MAX: usize = 64;

/// `KCHAN_CREATE_AUTOCLOSE`: close when the last file open for writing is released.
pub const CREATE_AUTOCLOSE: u32 = 0x1;
/// `KCHAN_MAKE_CLOEXEC`: the fd of `make` is close-on-exec.
const MAKE_CLOEXEC: u32 = 0x100;

extern "C" {
    fn ioctl(fd: c_int, request: c_ulong, ...) -> c_int;
}

/// `struct kchan_create` up to `name`: the 96-byte first version (no timers here).
#[repr(C)]
struct CreateReq {
    size: u32,
    flags: u32,
    capacity: u32,
    msg_max: u32,
    mode: u32,
    reserved: [u32; 3],
    name: [u8; NAME_MAX],
}

/// `struct kchan_name`.
#[repr(C)]
struct NameReq {
    size: u32,
    flags: u32,
    reserved: u64,
    name: [u8; NAME_MAX],
}

/// `_IOC` of <asm-generic/ioctl.h>: dir in bits 30-31, size 16-29, type 8-15, nr 0-7.
const fn ioc(dir: c_ulong, nr: c_ulong, size: usize) -> c_ulong {
    dir << 30 | (size as c_ulong) << 16 | 0xC4 << 8 | nr
}
const IOC_NONE: c_ulong = 0;
const IOC_WRITE: c_ulong = 1;
const IOC_CREATE: c_ulong = ioc(IOC_WRITE, 0x01, std::mem::size_of::<CreateReq>());
const IOC_DESTROY: c_ulong = ioc(IOC_WRITE, 0x02, std::mem::size_of::<NameReq>());
const IOC_CLOSE_NAME: c_ulong = ioc(IOC_WRITE, 0x03, std::mem::size_of::<NameReq>());
const IOC_MAKE: c_ulong = ioc(IOC_WRITE, 0x04, std::mem::size_of::<CreateReq>());
const IOC_CLOSE: c_ulong = ioc(IOC_NONE, 0x10, 0);

fn name_field(name: &str) -> io::Result<[u8; NAME_MAX]> {
    let mut field = [0u8; NAME_MAX];
    if name.len() >= NAME_MAX {
        return Err(io::Error::from_raw_os_error(36)); // ENAMETOOLONG
    }
    field[..name.len()].copy_from_slice(name.as_bytes());
    Ok(field)
}

/// The ioctl's return value (an fd for `IOC_MAKE`, else 0).
fn do_ioctl<T>(fd: &impl AsRawFd, request: c_ulong, arg: *const T) -> io::Result<c_int> {
    // SAFETY: arg is null or points to a live repr(C) struct of the size
    // that `request` encodes.
    let ret = unsafe { ioctl(fd.as_raw_fd(), request, arg) };
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(ret)
}

fn control<T>(request: c_ulong, arg: &T) -> io::Result<c_int> {
    let control = OpenOptions::new()
        .read(true)
        .write(true)
        .open(CONTROL_PATH)?;
    do_ioctl(&control, request, arg as *const T)
}

/// Makes `/dev/chan/NAME`, mode 0600.  Capacity 0 is unbuffered: a write
/// returns only once a reader has taken its message (Go's rendezvous).
pub fn create(name: &str, capacity: u32, msg_max: u32, flags: u32) -> io::Result<()> {
    let req = CreateReq {
        size: std::mem::size_of::<CreateReq>() as u32,
        flags,
        capacity,
        msg_max,
        mode: 0o600,
        reserved: [0; 3],
        name: name_field(name)?,
    };
    control(IOC_CREATE, &req).map(drop)
}

/// Go's `make(chan T)`: a new anonymous channel, with no name and no node,
/// and one `File` on it, open for reading and writing and close-on-exec.
/// `try_clone` (dup) shares it, e.g. with another thread; the channel goes
/// when its last fd is closed.
pub fn make(capacity: u32, msg_max: u32, flags: u32) -> io::Result<File> {
    let req = CreateReq {
        size: std::mem::size_of::<CreateReq>() as u32,
        flags: flags | MAKE_CLOEXEC,
        capacity,
        msg_max,
        mode: 0,
        reserved: [0; 3],
        name: [0; NAME_MAX],
    };
    let fd = control(IOC_MAKE, &req)?;
    // SAFETY: the kernel just gave us this fd, and nobody else owns it.
    Ok(unsafe { File::from_raw_fd(fd) })
}

fn name_req(name: &str) -> io::Result<NameReq> {
    Ok(NameReq {
        size: std::mem::size_of::<NameReq>() as u32,
        flags: 0,
        reserved: 0,
        name: name_field(name)?,
    })
}

/// Removes the channel at once; buffered messages are dropped.
pub fn destroy(name: &str) -> io::Result<()> {
    control(IOC_DESTROY, &name_req(name)?).map(drop)
}

/// Go's `close(ch)` by name: readers drain the channel, then read EOF;
/// writers get EPIPE.
pub fn close_name(name: &str) -> io::Result<()> {
    control(IOC_CLOSE_NAME, &name_req(name)?).map(drop)
}

/// Go's `close(ch)` through a file open for writing.
pub fn close(f: &File) -> io::Result<()> {
    do_ioctl(f, IOC_CLOSE, std::ptr::null::<u8>()).map(drop)
}

/// Opens `/dev/chan/NAME` for reading or for writing.
pub fn open(name: &str, write: bool) -> io::Result<File> {
    OpenOptions::new()
        .read(!write)
        .write(write)
        .open(format!("{DEV_DIR}/{name}"))
}

/// Sends `msg` as one message.  Not `write_all`: a kchan write is never
/// partial, and one message must be one `write`.
pub fn send(mut f: &File, msg: &[u8]) -> io::Result<()> {
    let len = f.write(msg)?;
    assert_eq!(len, msg.len(), "a kchan write is all or nothing");
    Ok(())
}

/// Sends `n` as one message, decimal and a newline.
pub fn send_num(f: &File, n: u64) -> io::Result<()> {
    send(f, format!("{n}\n").as_bytes())
}

/// The next number, or `None` once the channel is closed and drained.
pub fn recv_num(mut f: &File) -> io::Result<Option<u64>> {
    let mut buf = [0u8; 32];
    let len = f.read(&mut buf)?; // one read, one whole message
    if len == 0 {
        return Ok(None);
    }
    std::str::from_utf8(&buf[..len])
        .ok()
        .and_then(|s| s.trim_end().parse().ok())
        .map(Some)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "not a number"))
}
