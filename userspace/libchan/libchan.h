/* SPDX-License-Identifier: (GPL-2.0 OR MIT) */
/*
 * libchan: Go's channels for C, over the kchan devices /dev/chan/<name>.
 * See libchan(3) for the whole story; this header is its summary.
 *
 * Conventions, as in liburing:
 *  - Every function returns a non-negative value on success and -errno on
 *    failure, and then sets errno to that error too (perror() works).
 *    chan_strerror() turns an error into text, per operation, where the
 *    kernel's errno alone would confuse (EMSGSIZE on a receive).
 *  - A channel in use is a plain file descriptor, from chan_open(); poll,
 *    epoll, fork and close(2) work on it as on any fd.
 *  - No global state, no locks and no allocation: every function is
 *    thread-safe and async-signal-safe apart from chan_strerror(), which is
 *    only thread-safe.
 *  - Timeouts are relative, in nanoseconds, measured on CLOCK_MONOTONIC
 *    (so a change of the wall clock does not move them): negative waits
 *    for ever (CHAN_FOREVER), 0 never waits, positive waits at most that
 *    long.
 */
#ifndef LIBCHAN_H
#define LIBCHAN_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CHAN_NAME_MAX		64	/* a name's bytes, its NUL included */
#define CHAN_SELECT_MAX		32	/* cases in one chan_select() */
#define CHAN_FOREVER		((int64_t)-1)	/* a timeout: wait for ever */

/* ----- creating, destroying, opening ---------------------------------- */

/* struct chan_opts.flags */
#define CHAN_AUTOCLOSE		0x1U	/* close when the last writer's fd goes */
#define CHAN_AFTER		0x2U	/* timer: one message period_ns after creation */
#define CHAN_TICK		0x4U	/* timer: one message every period_ns */

#define CHAN_TIMER_MSG_MAX	24	/* a timer message: "<ns>\n", CLOCK_MONOTONIC */
#define CHAN_TIMER_MIN_NS	100000	/* shortest timer period (100 us) */

/* What chan_create() and chan_make() make; all zero (or NULL) is the default. */
struct chan_opts {
	unsigned int capacity;	/* messages buffered; 0: unbuffered (rendezvous) */
	unsigned int msg_max;	/* largest message in bytes; 0: 4096 */
	unsigned int mode;	/* permission bits of /dev/chan/<name>; 0: 0600 */
	unsigned int flags;	/* CHAN_AUTOCLOSE, CHAN_AFTER or CHAN_TICK */
	uint64_t period_ns;	/* CHAN_AFTER, CHAN_TICK: the delay or period */
	unsigned int streams;	/* chan_send_once() streams remembered; 0: CHAN_STREAMS_DEFAULT */
	unsigned int reserved0;	/* must be zero */
	uint64_t reserved[1];	/* must be zero */
};

int chan_create(const char *name, const struct chan_opts *opts);
int chan_destroy(const char *name);

/* chan_make() @flags, like pipe2()'s O_CLOEXEC and O_NONBLOCK */
#define CHAN_CLOEXEC		0x100U	/* the fd is close-on-exec */
#define CHAN_NONBLOCK		0x200U	/* the fd is O_NONBLOCK */

/*
 * Go's make(chan T): a new anonymous channel, with no name and no node,
 * made as @opts says (mode must be 0: there is no node), and an fd to it
 * open for reading and writing.  Like pipe2(), dup(), fork() and passing
 * the fd over a UNIX socket share it; it goes when its last fd is closed.
 * Returns the fd (since libchan 0.2, LIBCHAN_0.2).
 */
int chan_make(const struct chan_opts *opts, int flags);

/*
 * Open /dev/chan/<name>; @flags: O_RDONLY, O_WRONLY or O_RDWR, optionally
 * O_NONBLOCK.  The fd is always close-on-exec.  Returns the fd.
 */
int chan_open(const char *name, int flags);

/*
 * Go's close(ch): senders fail with EPIPE, receivers drain what is
 * buffered, then see end of file.  By name (owner or CAP_SYS_ADMIN), or
 * through an fd open for writing.  This is not close(2).
 */
int chan_close(const char *name);
int chan_close_fd(int fd);

/* 1 if @name is a valid channel name, as the kernel checks it, else 0. */
int chan_name_valid(const char *name);

/*
 * 0 if kchan is loaded and its control device (behind chan_create,
 * chan_destroy and chan_close) opens; else -errno: -ENOENT when kchan is
 * not loaded, which those verbs cannot tell from "no such channel".
 */
int chan_available(void);

/* ----- sending and receiving ------------------------------------------ */

/*
 * One message of 1..msg_max bytes; returns 0 once the channel took it (on
 * an unbuffered channel: once a receiver has it).  This is write(2): on a
 * closed channel it fails with -EPIPE and the kernel raises SIGPIPE, and
 * it honours O_NONBLOCK (-EAGAIN).
 */
int chan_send(int fd, const void *msg, size_t len);

/*
 * One whole message into @buf of @size bytes: its length, 0 once the
 * channel is closed and drained, -EMSGSIZE (the message stays queued) if
 * it does not fit.  This is read(2), and honours O_NONBLOCK.
 */
ssize_t chan_recv(int fd, void *buf, size_t size);

/*
 * The same with a timeout, done by the kernel's select on one case, so
 * it is exact even on an unbuffered channel: a timed send completes only
 * by meeting a receiver, never half-way.  -ETIMEDOUT when @timeout_ns > 0
 * passed, -EAGAIN when it is 0 and the channel is not ready, -EINTR on a
 * signal (never restarted while a timeout runs).  No SIGPIPE: a closed
 * channel is -EPIPE only.  O_NONBLOCK on the fd does not matter.
 */
int chan_send_timeout(int fd, const void *msg, size_t len, int64_t timeout_ns);
ssize_t chan_recv_timeout(int fd, void *buf, size_t size, int64_t timeout_ns);

/* ----- select ---------------------------------------------------------- */

#define CHAN_RECV		1	/* struct chan_case.op: receive into buf */
#define CHAN_SEND		2	/* struct chan_case.op: send buf */

struct chan_case {
	int fd;			/* a channel fd, open for the case's direction */
	unsigned int op;	/* CHAN_RECV or CHAN_SEND */
	void *buf;		/* RECV: the buffer; SEND: the message */
	size_t len;		/* RECV: the buffer's size; SEND: the message's length */
	ssize_t result;		/* out: see chan_select() */
};

#define CHAN_CASE_RECV(fd_, buf_, size_) \
	((struct chan_case){ .fd = (fd_), .op = CHAN_RECV, .buf = (buf_), .len = (size_) })
#define CHAN_CASE_SEND(fd_, msg_, len_) \
	((struct chan_case){ .fd = (fd_), .op = CHAN_SEND, \
			     .buf = (void *)(uintptr_t)(const void *)(msg_), .len = (len_) })

/*
 * Go's select over 1..CHAN_SELECT_MAX cases: completes exactly one, chosen
 * at random among those ready, and returns its index.  Its result is the
 * bytes received (0: the channel is closed and drained) or sent.  With
 * @timeout_ns 0 it is Go's select with a default case: -EAGAIN when no
 * case is ready.  On an error that belongs to one case (EPIPE, EMSGSIZE,
 * ENODEV, EBADF...), that case's result is the -errno too.  Every other
 * case's result is -EAGAIN: it sent or took nothing.
 */
int chan_select(struct chan_case *cases, unsigned int ncases, int64_t timeout_ns);

/* ----- waiting for readiness ------------------------------------------ */

/*
 * ppoll(2) over channel fds (or any fds) with a chan timeout: returns how
 * many fds have revents, -ETIMEDOUT or (timeout 0) -EAGAIN when none.
 * Readiness is a hint, not a reservation, and on an unbuffered channel a
 * send is ready only while a receiver is blocked: two sides that only poll
 * never meet.  See libchan(3), or use chan_select() to commit.
 */
int chan_poll(struct pollfd *fds, unsigned int nfds, int64_t timeout_ns);

/* ----- len, cap and state ---------------------------------------------- */

/* struct chan_info.state */
#define CHAN_STATE_CLOSED	0x1U	/* Go's close() happened */
#define CHAN_STATE_DESTROYED	0x2U	/* chan_destroy() happened */
#define CHAN_STATE_AUTOCLOSE	0x4U	/* created with CHAN_AUTOCLOSE */
#define CHAN_STATE_TIMER	0x8U	/* a CHAN_AFTER or CHAN_TICK channel */

struct chan_info {
	unsigned int capacity;	/* Go's cap() */
	unsigned int length;	/* Go's len(): messages buffered now */
	unsigned int msg_max;
	unsigned int state;	/* CHAN_STATE_* */
	unsigned int readers;	/* open fds with read access */
	unsigned int writers;	/* open fds with write access */
	uint64_t sent;		/* messages the channel accepted */
	uint64_t received;	/* messages read out of it */
	uint64_t dropped;	/* timer ticks dropped, the last being unread */
	uint64_t id;		/* the channel's random identity, never 0 (0: kchan too old) */
	unsigned int held;	/* messages held (chan_hold()), not yet acked */
	unsigned int reserved;	/* zero */
};

int chan_info(int fd, struct chan_info *info);

/* ----- held receive and at-most-once sends ------------------------------ */

/*
 * A receive the channel keeps owning until chan_ack(): the message is
 * copied into @buf like chan_recv(), but stays held (invisible to other
 * receivers, still taking its slot, keeping end of file away) until this
 * fd acks it, or goes back to the head of the channel in its original
 * order on chan_return() or when the fd is closed.  Never waits: -EAGAIN
 * when nothing is ready (poll for POLLIN), -ENOBUFS when the channel
 * already holds max(capacity, 1) messages.  Returns the length (0 at end
 * of file) and sets *@id (the hold's id, increasing) and *@seq (the
 * message's place in the channel's history, kept across returns); either
 * pointer may be NULL.  See kchan(7), "Held receive".
 */
ssize_t chan_hold(int fd, void *buf, size_t size, uint64_t *id, uint64_t *seq);

/* Drop every message this fd holds with an id <= @id; how many. */
int chan_ack(int fd, uint64_t id);

/* Give back every message this fd holds with an id >= @id (0: all); how many. */
int chan_return(int fd, uint64_t id);

#define CHAN_DUPLICATE		1	/* chan_send_once(): not sent, seq already seen */

/*
 * chan_send() at most once per (@stream, @seq), both nonzero, @seq rising
 * within a stream: returns 0 once sent, CHAN_DUPLICATE (and sends nothing)
 * if the channel already took a seq >= @seq of @stream.  The channel
 * remembers chan_opts.streams streams (CHAN_STREAMS_DEFAULT; at most
 * CHAN_STREAMS_MAX) and never forgets one by itself: a new stream with
 * every entry taken fails with -ENOSPC.
 */
#define CHAN_STREAMS_DEFAULT	16
#define CHAN_STREAMS_MAX	1024
int chan_send_once(int fd, const void *msg, size_t len, uint64_t stream,
		   uint64_t seq);

/* The last seq the channel took from @stream into *@seq (0: none). */
int chan_stream_seq(int fd, uint64_t stream, uint64_t *seq);

/*
 * The same, and the channel forgets @stream, freeing its entry (an fd open
 * for writing): its old seqs would then be sent again.  For a relay whose
 * source is gone for good.
 */
int chan_stream_forget(int fd, uint64_t stream, uint64_t *seq);

/* ----- errors ------------------------------------------------------------ */

/* @op for chan_strerror(); CHAN_OP_RECV and _SEND equal a case's op. */
#define CHAN_OP_ANY		0
#define CHAN_OP_RECV		CHAN_RECV
#define CHAN_OP_SEND		CHAN_SEND
#define CHAN_OP_CREATE		3
#define CHAN_OP_DESTROY		4
#define CHAN_OP_OPEN		5
#define CHAN_OP_CLOSE		6
#define CHAN_OP_SELECT		7
#define CHAN_OP_POLL		8
#define CHAN_OP_INFO		9
#define CHAN_OP_HOLD		10	/* chan_hold, chan_ack, chan_return */

/*
 * What error @err (positive or negative) means for operation @op, in a
 * channel's words; strerror()'s text where kchan adds nothing.  The string
 * is static: never freed, never overwritten.
 */
const char *chan_strerror(int err, int op);

#ifdef __cplusplus
}
#endif

#endif /* LIBCHAN_H */
