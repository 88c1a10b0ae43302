/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * kchan: Go-style channels as character devices, /dev/chan/<name>.
 *
 * Channels live in a filesystem of their own, "kchan", mounted on
 * /dev/chan (each mount is an instance with its own names and limits).
 * They are created and destroyed through ioctls on the control node
 * <mount>/.control, or made anonymous (an fd, no name) with
 * KCHAN_IOC_MAKE, and used with plain open/read/write/poll on
 * <mount>/<name>: one write is one message, one read returns one whole
 * message.  See kchan(7).
 *
 * Every ioctl argument starts with a __u32 size, set by the caller to
 * sizeof() the struct it was compiled with.  Like clone3() and openat2(),
 * the kernel accepts a smaller (older) struct and a larger (newer) one
 * whose extra bytes are zero (E2BIG otherwise), so the ABI can grow.
 * Reserved fields and unknown flags must be zero (EINVAL otherwise).
 * The kernel ignores the size bits of the ioctl numbers below, so a
 * struct that grows keeps its ioctl.
 */
#ifndef _UAPI_LINUX_KCHAN_H
#define _UAPI_LINUX_KCHAN_H

#include <linux/ioctl.h>
#include <linux/types.h>

/*
 * The filesystem type, where it is usually mounted, and its control node
 * (in the root of every instance; unlink()ing a channel's node there
 * destroys the channel, as KCHAN_IOC_DESTROY does).
 */
#define KCHAN_FS_TYPE		"kchan"
#define KCHAN_DEV_DIR		"/dev/chan"
#define KCHAN_CONTROL_NAME	".control"
#define KCHAN_CONTROL_PATH	KCHAN_DEV_DIR "/" KCHAN_CONTROL_NAME

/*
 * Names: 1..KCHAN_NAME_MAX-1 bytes of [A-Za-z0-9._-], not starting with
 * '.', NUL-terminated within name[].
 */
#define KCHAN_NAME_MAX		64

/* A msg_max of 0 in struct kchan_create means this many bytes. */
#define KCHAN_MSG_MAX_DEFAULT	4096

/* struct kchan_create.flags */
#define KCHAN_CREATE_AUTOCLOSE	0x1U /* close when the last writer's file is released */
#define KCHAN_CREATE_AFTER	0x2U /* timer: one message period_ns after creation */
#define KCHAN_CREATE_TICK	0x4U /* timer: one message every period_ns */
#define KCHAN_CREATE_FLAGS	(KCHAN_CREATE_AUTOCLOSE | KCHAN_CREATE_AFTER | KCHAN_CREATE_TICK)

/*
 * KCHAN_IOC_MAKE only: flags of the new fd (like pipe2()'s).  An
 * anonymous channel has no name and no node (name[] and mode must be
 * zero); its one fd is open for reading and writing, and dup(), fork()
 * and SCM_RIGHTS share it.  It is counted against the instance's limits
 * like a named one, and goes when its last fd is closed.
 */
#define KCHAN_MAKE_CLOEXEC	0x100U	/* O_CLOEXEC */
#define KCHAN_MAKE_NONBLOCK	0x200U	/* O_NONBLOCK */
#define KCHAN_MAKE_FLAGS	(KCHAN_MAKE_CLOEXEC | KCHAN_MAKE_NONBLOCK)

/*
 * Timer channels (KCHAN_CREATE_AFTER or _TICK, like Go's time.After and
 * time.Ticker) are fed by a kernel timer, never by write() (EPERM).  Each
 * message is the expiry time, CLOCK_MONOTONIC nanoseconds in decimal and
 * a newline.  Their capacity is 1 and msg_max KCHAN_TIMER_MSG_MAX: a tick
 * that finds the previous one unread is dropped, as Go's Ticker does.
 */
#define KCHAN_TIMER_MSG_MAX	24

struct kchan_create {
	__u32 size;		/* sizeof(struct kchan_create) */
	__u32 flags;		/* KCHAN_CREATE_* */
	__u32 capacity;		/* messages buffered; 0 = unbuffered (rendezvous) */
	__u32 msg_max;		/* largest message in bytes; 0 = KCHAN_MSG_MAX_DEFAULT */
	__u32 mode;		/* permission bits of the node; 0 = 0600 */
	__u32 streams;		/* KCHAN_IOC_SEND_ONCE streams remembered;
				 * 0 = KCHAN_STREAMS_DEFAULT, at most
				 * KCHAN_STREAMS_MAX; zero for timers
				 */
	__u32 reserved[2];	/* must be zero */
	char name[KCHAN_NAME_MAX];
	__u64 period_ns;	/* timers: the delay or period; else zero (since VER1) */
};

#define KCHAN_CREATE_SIZE_VER0	96
#define KCHAN_CREATE_SIZE_VER1	104	/* adds period_ns */

/* Names a channel for KCHAN_IOC_DESTROY and KCHAN_IOC_CLOSE_NAME. */
struct kchan_name {
	__u32 size;		/* sizeof(struct kchan_name) */
	__u32 flags;		/* must be zero */
	__u64 reserved;		/* must be zero */
	char name[KCHAN_NAME_MAX];
};

#define KCHAN_NAME_SIZE_VER0	80

/* struct kchan_info.state */
#define KCHAN_STATE_CLOSED	0x1U /* Go's close() happened */
#define KCHAN_STATE_DESTROYED	0x2U /* the channel was destroyed */
#define KCHAN_STATE_AUTOCLOSE	0x4U /* created with KCHAN_CREATE_AUTOCLOSE */
#define KCHAN_STATE_TIMER	0x8U /* a timer channel */

/* Go's len() and cap(), and more: the answer of KCHAN_IOC_INFO. */
struct kchan_info {
	__u32 size;		/* in: sizeof(struct kchan_info); the kernel fills that
				 * much (zeroing what it does not know) and leaves
				 * size as it was
				 */
	__u32 state;		/* out: KCHAN_STATE_* */
	__u32 capacity;		/* Go's cap() */
	__u32 length;		/* Go's len(): messages buffered now */
	__u32 msg_max;
	__u32 readers;		/* open files with read access */
	__u32 writers;		/* open files with write access */
	__u32 reserved0;	/* zero */
	__u64 sent;		/* messages accepted by the channel */
	__u64 received;		/* messages read out of the channel */
	__u64 dropped;		/* timer ticks dropped because the last was unread (VER1) */
	__u32 held;		/* messages held (KCHAN_IOC_HOLD), not yet acked (VER2) */
	__u32 reserved1;	/* zero */
	__u64 id;		/* a random identity, never 0; a channel re-created
				 * under the same name has another (VER2)
				 */
};

#define KCHAN_INFO_SIZE_VER0	48
#define KCHAN_INFO_SIZE_VER1	56
#define KCHAN_INFO_SIZE_VER2	72

/*
 * Go's select: KCHAN_IOC_SELECT, on the control node or any channel fd,
 * completes exactly one of several sends and receives.  Among the cases
 * ready at once one is chosen uniformly at random; otherwise the caller
 * waits on all of them, counting as a waiting reader (writer) of each, and
 * the first counterpart to come completes one case.
 */
#define KCHAN_SELECT_MAX	32	/* cases in one select */

/* struct kchan_select_case.op */
#define KCHAN_SELECT_RECV	1	/* fd open for reading; buf gets the message */
#define KCHAN_SELECT_SEND	2	/* fd open for writing; buf holds the message */

struct kchan_select_case {
	__s32 fd;		/* a channel fd */
	__u32 op;		/* KCHAN_SELECT_RECV or KCHAN_SELECT_SEND */
	__u64 buf;		/* the message buffer (a user pointer) */
	__u64 len;		/* SEND: message length, 1..msg_max; RECV: buffer size */
	__u64 reserved;		/* must be zero */
};

#define KCHAN_SELECT_CASE_SIZE_VER0	32

/* struct kchan_select.result_flags */
#define KCHAN_SELECT_CLOSED	0x1U	/* the receive found the channel closed and drained */

struct kchan_select {
	__u32 size;		/* sizeof(struct kchan_select) */
	__u32 flags;		/* must be zero */
	__u64 cases;		/* pointer to ncases struct kchan_select_case */
	__u32 ncases;		/* 1..KCHAN_SELECT_MAX */
	__u32 case_size;	/* sizeof(struct kchan_select_case) */
	__s64 timeout_ns;	/* < 0: for ever; 0: never wait (Go's default); else at most this */
	__s32 index;		/* out: the case that completed, or whose error is returned */
	__u32 result_flags;	/* out: KCHAN_SELECT_CLOSED */
	__u64 result_len;	/* out: a receive's message length */
	__u64 reserved[2];	/* must be zero */
};

#define KCHAN_SELECT_SIZE_VER0	64

/*
 * Batched I/O, in the spirit of sendmmsg()/recvmmsg(): KCHAN_IOC_SEND_BATCH
 * and KCHAN_IOC_RECV_BATCH on a channel fd move up to count messages in
 * one call, each with the semantics of one write() or read().  The call
 * waits (unless O_NONBLOCK) until the first message moves, then moves as
 * many more as it can without waiting, and returns how many moved (0 for
 * a receive at end of file).  An error on the first message is returned;
 * an error on a later one ends the batch early, and comes back on the
 * next call.
 */
#define KCHAN_BATCH_MAX		1024

struct kchan_msgvec {
	__u64 buf;		/* a user pointer */
	__u32 len;		/* send: message length; receive: buffer size in, length out */
	__u32 flags;		/* must be zero */
};

struct kchan_batch {
	__u32 size;		/* sizeof(struct kchan_batch) */
	__u32 flags;		/* must be zero */
	__u64 msgs;		/* pointer to count struct kchan_msgvec */
	__u32 count;		/* 1..KCHAN_BATCH_MAX */
	__u32 reserved0;	/* must be zero */
	__u64 reserved[2];	/* must be zero */
};

#define KCHAN_BATCH_SIZE_VER0	40

/*
 * Held receive, for relays that must not lose a message (chanbridge):
 * KCHAN_IOC_HOLD takes the oldest message like read(), but the channel
 * keeps owning it.  A held message is invisible to other readers, keeps
 * its slot (a buffered channel counts it against its capacity until it is
 * acked), and keeps the channel from reporting end of file after a close.
 * The file that holds it then either acknowledges it (KCHAN_IOC_ACK: it
 * is gone) or returns it (KCHAN_IOC_RETURN: back at the head, in the
 * order the channel first had it).  Messages a file still holds when it
 * is released go back by themselves.
 *
 * KCHAN_IOC_HOLD never waits: -EAGAIN when nothing is ready (wait with
 * poll() for EPOLLIN), -ENOBUFS when the channel already holds its
 * capacity of messages, or KCHAN_HOLD_UNBUFFERED if it is unbuffered.
 * It returns the message's length, or 0 at end of file, like read().  For
 * a writer of an unbuffered channel, a hold is a receive: its write()
 * returns.
 *
 * Hold ids are unique per channel and increase with every hold, so the
 * holds of one file are acked in the order they were made.  The seq of a
 * message is its place in the channel's history (1 for the first message
 * the channel ever accepted): it increases in FIFO order and stays the same
 * when a message is returned and held again, so (info.id, seq) names one
 * message for good, which is what a relay needs to deduplicate.
 *
 * deliveries counts the times the message was handed out, this hold
 * included: 1 when no receive ever had it before, more when one had it and
 * gave it back (KCHAN_IOC_RETURN without KCHAN_RETURN_UNSENT, the release
 * of the holding file, or a copy-out of a hold, read() or other receive
 * that faulted: its data may have been seen).  So a relay knows that a
 * message with deliveries 1 was never sent by anyone, a relay that crashed
 * included.  It is output only, not
 * checked on input; kernels before it leave it as the caller set it (0 in
 * a zeroed struct), and at end of file it is 0.
 */
#define KCHAN_HOLD_UNBUFFERED	1U	/* messages an unbuffered channel may hold */

struct kchan_hold {
	__u32 size;		/* sizeof(struct kchan_hold) */
	__u32 flags;		/* must be zero */
	__u64 buf;		/* the message buffer (a user pointer) */
	__u64 len;		/* in: buffer size; out: message length */
	__u64 id;		/* out: the hold's id, > 0 */
	__u64 seq;		/* out: the message's sequence number in the channel, > 0 */
	__u32 deliveries;	/* out: times handed out, this hold included, > 0 */
	__u32 reserved0;	/* must be zero */
	__u64 reserved1;	/* must be zero */
};

#define KCHAN_HOLD_SIZE_VER0	56

/*
 * KCHAN_IOC_ACK: every message this file holds with an id <= id is gone.
 * KCHAN_IOC_RETURN: every message this file holds with an id >= id (0:
 * all) goes back to the head of the channel.  Both set count to how
 * many messages they released, and succeed with count 0 if none.
 * KCHAN_RETURN_UNSENT (RETURN only, EINVAL on ACK) says that the holder
 * passed none of them on: they go back without counting in deliveries.
 */
#define KCHAN_RETURN_UNSENT	0x1U	/* kchan_ack.flags: not passed on */

struct kchan_ack {
	__u32 size;		/* sizeof(struct kchan_ack) */
	__u32 flags;		/* RETURN: KCHAN_RETURN_UNSENT or zero; ACK: zero */
	__u64 id;
	__u32 count;		/* out */
	__u32 reserved0;	/* must be zero */
	__u64 reserved[2];	/* must be zero */
};

#define KCHAN_ACK_SIZE_VER0	40

/*
 * Send at most once, the other half of a lossless relay: KCHAN_IOC_SEND_ONCE
 * sends like write(), tagged with a stream (any nonzero 64-bit name the
 * sender picks, e.g. the source channel's info.id) and a seq that must
 * increase within the stream.  The channel remembers the last seq it
 * accepted for each stream, in the same step as it accepts the message: a
 * message whose seq is not above the stream's last is not sent again, and
 * the call succeeds with KCHAN_SEND_DUPLICATE set.
 *
 * A channel remembers up to kchan_create.streams streams
 * (KCHAN_STREAMS_DEFAULT if 0) and never forgets one by itself: a stream
 * it does not know, with every entry taken, fails with ENOSPC and sends
 * nothing.  KCHAN_IOC_STREAM_SEQ reads a stream's last seq (0 if unknown),
 * so a relay that restarted knows where to resume; with KCHAN_STREAM_FORGET
 * (on a file open for writing) it also frees the stream's entry, after
 * which the stream's old seqs would be accepted again.
 */
#define KCHAN_STREAMS_DEFAULT	16
#define KCHAN_STREAMS_MAX	1024

/* struct kchan_send_once.result_flags */
#define KCHAN_SEND_DUPLICATE	0x1U	/* seq was not above the stream's last: not sent */

struct kchan_send_once {
	__u32 size;		/* sizeof(struct kchan_send_once) */
	__u32 flags;		/* must be zero */
	__u64 buf;		/* the message (a user pointer) */
	__u64 len;		/* its length, 1..msg_max */
	__u64 stream;		/* nonzero */
	__u64 seq;		/* nonzero */
	__u32 result_flags;	/* out: KCHAN_SEND_DUPLICATE */
	__u32 reserved0;	/* must be zero */
	__u64 reserved[2];	/* must be zero */
};

#define KCHAN_SEND_ONCE_SIZE_VER0	64

/* struct kchan_stream_seq.flags */
#define KCHAN_STREAM_FORGET	0x1U	/* and free the stream's entry (needs write access) */

struct kchan_stream_seq {
	__u32 size;		/* sizeof(struct kchan_stream_seq) */
	__u32 flags;		/* KCHAN_STREAM_FORGET or zero */
	__u64 stream;		/* in: nonzero */
	__u64 seq;		/* out: the last seq accepted, 0 if none is remembered */
	__u64 reserved[2];	/* must be zero */
};

#define KCHAN_STREAM_SEQ_SIZE_VER0	40

#define KCHAN_IOC_MAGIC		0xC4

/* On the control node. */
#define KCHAN_IOC_CREATE	_IOW(KCHAN_IOC_MAGIC, 0x01, struct kchan_create)
#define KCHAN_IOC_DESTROY	_IOW(KCHAN_IOC_MAGIC, 0x02, struct kchan_name)
#define KCHAN_IOC_CLOSE_NAME	_IOW(KCHAN_IOC_MAGIC, 0x03, struct kchan_name)
/* Returns the new channel's fd. */
#define KCHAN_IOC_MAKE		_IOW(KCHAN_IOC_MAGIC, 0x04, struct kchan_create)

/* On the control node or a channel fd. */
#define KCHAN_IOC_SELECT	_IOWR(KCHAN_IOC_MAGIC, 0x20, struct kchan_select)

/* On a channel fd. */
#define KCHAN_IOC_CLOSE		_IO(KCHAN_IOC_MAGIC, 0x10)	/* needs an fd open for writing */
#define KCHAN_IOC_INFO		_IOWR(KCHAN_IOC_MAGIC, 0x11, struct kchan_info)
#define KCHAN_IOC_SEND_BATCH	_IOW(KCHAN_IOC_MAGIC, 0x12, struct kchan_batch)
#define KCHAN_IOC_RECV_BATCH	_IOWR(KCHAN_IOC_MAGIC, 0x13, struct kchan_batch)
/*
 * Access: SEND_BATCH and SEND_ONCE need an fd open for writing, as write();
 * RECV_BATCH, HOLD, ACK and RETURN one open for reading, as read() (EBADF).
 */
#define KCHAN_IOC_HOLD		_IOWR(KCHAN_IOC_MAGIC, 0x14, struct kchan_hold)
#define KCHAN_IOC_ACK		_IOWR(KCHAN_IOC_MAGIC, 0x15, struct kchan_ack)
#define KCHAN_IOC_RETURN	_IOWR(KCHAN_IOC_MAGIC, 0x16, struct kchan_ack)
#define KCHAN_IOC_SEND_ONCE	_IOWR(KCHAN_IOC_MAGIC, 0x17, struct kchan_send_once)
#define KCHAN_IOC_STREAM_SEQ	_IOWR(KCHAN_IOC_MAGIC, 0x18, struct kchan_stream_seq)

#endif /* _UAPI_LINUX_KCHAN_H */
