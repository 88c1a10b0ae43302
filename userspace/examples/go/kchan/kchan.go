// SPDX-License-Identifier: GPL-2.0

// Package kchan uses kchan channels (/dev/chan/NAME) from Go with the
// standard library only: the ioctls of uapi/linux/kchan.h through
// syscall.Syscall, and *os.File for the data.
//
// One Write is one message; one Read returns one whole message (the buffer
// must hold it, else EMSGSIZE and it stays queued) and io.EOF once the
// channel is closed and drained.  A Write to a closed channel fails with
// EPIPE (the Go runtime ignores SIGPIPE for files other than stdout/stderr).
package kchan

import (
	"os"
	"syscall"
	"unsafe"
)

const (
	DevDir      = "/dev/chan"          // the kchan filesystem (mount -t kchan kchan /dev/chan)
	ControlPath = DevDir + "/.control" // its control node

	CreateAutoclose = 0x1 // close when the last file open for writing is released

	makeCloexec  = 0x100 // KCHAN_MAKE_CLOEXEC
	makeNonblock = 0x200 // KCHAN_MAKE_NONBLOCK
)

// struct kchan_create up to name (the 96-byte first version: no timers here).
type createReq struct {
	Size, Flags, Capacity, MsgMax, Mode uint32
	Reserved                            [3]uint32
	Name                                [64]byte
}

// struct kchan_name.
type nameReq struct {
	Size, Flags uint32
	Reserved    uint64
	Name        [64]byte
}

// _IOC of <asm-generic/ioctl.h>: dir in bits 30-31, size 16-29, type 8-15, nr 0-7.
func ioc(dir, nr, size uintptr) uintptr { return dir<<30 | size<<16 | 0xC4<<8 | nr }

const iocNone, iocWrite = 0, 1

var (
	iocCreate    = ioc(iocWrite, 0x01, unsafe.Sizeof(createReq{})) // _IOW(0xC4, 0x01, struct kchan_create)
	iocDestroy   = ioc(iocWrite, 0x02, unsafe.Sizeof(nameReq{}))   // _IOW(0xC4, 0x02, struct kchan_name)
	iocCloseName = ioc(iocWrite, 0x03, unsafe.Sizeof(nameReq{}))   // _IOW(0xC4, 0x03, struct kchan_name)
	iocMake      = ioc(iocWrite, 0x04, unsafe.Sizeof(createReq{})) // _IOW(0xC4, 0x04, struct kchan_create)
	iocClose     = ioc(iocNone, 0x10, 0)                           // _IO(0xC4, 0x10)
)

func ioctl(fd, req uintptr, arg unsafe.Pointer) error {
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, fd, req, uintptr(arg)); e != 0 {
		return e
	}
	return nil
}

func control(req uintptr, arg unsafe.Pointer) error {
	_, err := controlRet(req, arg)
	return err
}

// controlRet is control, returning what the ioctl returned (KCHAN_IOC_MAKE: an fd).
func controlRet(req uintptr, arg unsafe.Pointer) (uintptr, error) {
	fd, err := syscall.Open(ControlPath, syscall.O_RDWR|syscall.O_CLOEXEC, 0)
	if err != nil {
		return 0, err
	}
	defer syscall.Close(fd)
	r, _, e := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), req, uintptr(arg))
	if e != 0 {
		return 0, e
	}
	return r, nil
}

// Create makes /dev/chan/name, mode 0600.  Capacity 0 is unbuffered: a
// Write returns only once a reader has taken its message (Go's rendezvous).
func Create(name string, capacity, msgMax, flags uint32) error {
	r := createReq{Size: uint32(unsafe.Sizeof(createReq{})), Flags: flags,
		Capacity: capacity, MsgMax: msgMax, Mode: 0600}
	copy(r.Name[:len(r.Name)-1], name)
	return byName("create", name, iocCreate, unsafe.Pointer(&r))
}

// Make is Go's make(chan T) for kchan: a new anonymous channel, with no
// name and no node, and one *os.File on it, open for reading and writing
// and close-on-exec.  Like the *os.File of Open it blocks in Read and Write
// (not the netpoller); its Fd can be passed to a child (os/exec ExtraFiles)
// or over a UNIX socket.  The channel goes when its last fd is closed.
func Make(capacity, msgMax, flags uint32) (*os.File, error) {
	r := createReq{Size: uint32(unsafe.Sizeof(createReq{})), Flags: flags | makeCloexec,
		Capacity: capacity, MsgMax: msgMax}
	fd, err := controlRet(iocMake, unsafe.Pointer(&r))
	if err != nil {
		return nil, &os.PathError{Op: "make", Path: ControlPath, Err: err}
	}
	return os.NewFile(fd, "kchan:anon"), nil
}

func byName(op, name string, req uintptr, arg unsafe.Pointer) error {
	if err := control(req, arg); err != nil {
		return &os.PathError{Op: op, Path: DevDir + "/" + name, Err: err}
	}
	return nil
}

func nameArg(name string) *nameReq {
	r := &nameReq{Size: uint32(unsafe.Sizeof(nameReq{}))}
	copy(r.Name[:len(r.Name)-1], name)
	return r
}

// Destroy removes the channel at once; buffered messages are dropped.
func Destroy(name string) error {
	return byName("destroy", name, iocDestroy, unsafe.Pointer(nameArg(name)))
}

// CloseName is Go's close(ch) by name: readers drain the channel, then read
// io.EOF; writers get EPIPE.
func CloseName(name string) error {
	return byName("close", name, iocCloseName, unsafe.Pointer(nameArg(name)))
}

// Close is Go's close(ch) through f, which must be open for writing.
func Close(f *os.File) error {
	return ioctl(f.Fd(), iocClose, nil)
}

// Open opens /dev/chan/name (flag os.O_RDONLY or os.O_WRONLY) for blocking
// reads and writes.
//
// Not os.OpenFile: that registers the file with the runtime's netpoller,
// which makes the fd O_NONBLOCK and waits for readiness in epoll instead of
// blocking in read() and write().  On an unbuffered channel a non-blocking
// write succeeds only if a reader is blocked in read(), and a non-blocking
// read only if a writer is blocked in write(), so two Go peers that both
// wait in epoll never meet.  os.NewFile of a blocking fd keeps it blocking:
// the goroutine's thread sleeps in the kernel, and the rendezvous happens.
func Open(name string, flag int) (*os.File, error) {
	path := DevDir + "/" + name
	fd, err := syscall.Open(path, flag|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return os.NewFile(uintptr(fd), path), nil
}
