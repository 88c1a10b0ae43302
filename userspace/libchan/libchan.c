// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * libchan: the ioctls and system calls behind the chan_* verbs.
 *
 * What must stay true here:
 *  - no global state and no allocation: the caller's memory and the stack
 *    only, so every verb is thread-safe and safe between fork and exec;
 *  - every ioctl struct is zeroed and carries .size = sizeof, as the kchan
 *    ABI asks (uapi/linux/kchan.h), and the library's own structs are
 *    copied field by field, so either side can grow on its own;
 *  - errors are -errno from the system call, never rewritten, except where
 *    the library refuses an argument itself (documented in libchan(3));
 *    every exported verb's failure also lands in errno (chan_ret()).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <linux/kchan.h>

#include "libchan.h"

#define CHAN_EXPORT __attribute__((visibility("default")))

/* Every verb's failure is -errno, and errno too (for perror() and friends). */
#define chan_ret(r) ({ __typeof__(r) __r = (r); if (__r < 0) errno = -__r; __r; })

/* The public constants are the kernel's, restated so libchan.h stands alone. */
_Static_assert(CHAN_NAME_MAX == KCHAN_NAME_MAX, "CHAN_NAME_MAX");
_Static_assert(CHAN_SELECT_MAX == KCHAN_SELECT_MAX, "CHAN_SELECT_MAX");
_Static_assert(CHAN_AUTOCLOSE == KCHAN_CREATE_AUTOCLOSE, "CHAN_AUTOCLOSE");
_Static_assert(CHAN_AFTER == KCHAN_CREATE_AFTER, "CHAN_AFTER");
_Static_assert(CHAN_TICK == KCHAN_CREATE_TICK, "CHAN_TICK");
_Static_assert(CHAN_TIMER_MSG_MAX == KCHAN_TIMER_MSG_MAX, "CHAN_TIMER_MSG_MAX");
_Static_assert(CHAN_RECV == KCHAN_SELECT_RECV, "CHAN_RECV");
_Static_assert(CHAN_SEND == KCHAN_SELECT_SEND, "CHAN_SEND");
_Static_assert(CHAN_STATE_CLOSED == KCHAN_STATE_CLOSED, "CHAN_STATE_CLOSED");
_Static_assert(CHAN_STATE_DESTROYED == KCHAN_STATE_DESTROYED, "CHAN_STATE_DESTROYED");
_Static_assert(CHAN_STATE_AUTOCLOSE == KCHAN_STATE_AUTOCLOSE, "CHAN_STATE_AUTOCLOSE");
_Static_assert(CHAN_STATE_TIMER == KCHAN_STATE_TIMER, "CHAN_STATE_TIMER");
_Static_assert(CHAN_STREAMS_DEFAULT == KCHAN_STREAMS_DEFAULT, "CHAN_STREAMS_DEFAULT");
_Static_assert(CHAN_STREAMS_MAX == KCHAN_STREAMS_MAX, "CHAN_STREAMS_MAX");
_Static_assert(CHAN_CLOEXEC == KCHAN_MAKE_CLOEXEC, "CHAN_CLOEXEC");
_Static_assert(CHAN_NONBLOCK == KCHAN_MAKE_NONBLOCK, "CHAN_NONBLOCK");

/* ----- names and the control device ------------------------------------ */

CHAN_EXPORT int chan_name_valid(const char *name)
{
	size_t i;

	if (!name || name[0] == '\0' || name[0] == '.')
		return 0;
	for (i = 0; name[i]; i++) {
		char c = name[i];

		if (i >= CHAN_NAME_MAX - 1)
			return 0;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

/*
 * Copy a valid @name into a name[KCHAN_NAME_MAX] field.  Checked here even
 * where the kernel checks again, because chan_open() builds a path from it:
 * "../x" must never reach open().
 */
static int name_copy(char dst[KCHAN_NAME_MAX], const char *name)
{
	size_t len;

	if (!name)
		return -EINVAL;
	len = strnlen(name, KCHAN_NAME_MAX);
	if (len >= KCHAN_NAME_MAX)
		return -ENAMETOOLONG;
	if (!chan_name_valid(name))
		return -EINVAL;
	memcpy(dst, name, len + 1);
	return 0;
}

/*
 * One ioctl on a control fd of its own: no state is kept between calls.
 * Its return value (an fd for KCHAN_IOC_MAKE, else 0), or -errno.
 */
static int control_ioctl(unsigned long cmd, void *arg)
{
	int fd = open(KCHAN_CONTROL_PATH, O_RDWR | O_CLOEXEC);
	int ret;

	if (fd < 0)
		return -errno;
	ret = ioctl(fd, cmd, arg);
	if (ret < 0)
		ret = -errno;
	close(fd);
	return ret;
}

/* struct chan_opts into a zeroed struct kchan_create: 0 or -EINVAL. */
static int create_req(struct kchan_create *req, const struct chan_opts *opts)
{
	memset(req, 0, sizeof(*req));
	req->size = sizeof(*req);
	if (!opts)
		return 0;
	if (opts->reserved0 || opts->reserved[0])
		return -EINVAL;
	req->flags = opts->flags;
	req->capacity = opts->capacity;
	req->msg_max = opts->msg_max;
	req->mode = opts->mode;
	req->period_ns = opts->period_ns;
	req->streams = opts->streams;
	return 0;
}

CHAN_EXPORT int chan_create(const char *name, const struct chan_opts *opts)
{
	struct kchan_create req;
	int ret;

	ret = create_req(&req, opts);
	if (!ret)
		ret = name_copy(req.name, name);
	if (ret)
		return chan_ret(ret);
	return chan_ret(control_ioctl(KCHAN_IOC_CREATE, &req));
}

CHAN_EXPORT int chan_make(const struct chan_opts *opts, int flags)
{
	struct kchan_create req;
	int ret;

	/* The kernel's flags would also pass, but only these two are ours. */
	if (flags & ~(int)(CHAN_CLOEXEC | CHAN_NONBLOCK))
		return chan_ret(-EINVAL);
	ret = create_req(&req, opts);
	if (ret)
		return chan_ret(ret);
	/* Its own flags may not carry the fd's: they are two fields in one. */
	if (req.flags & KCHAN_MAKE_FLAGS)
		return chan_ret(-EINVAL);
	req.flags |= (unsigned int)flags;
	return chan_ret(control_ioctl(KCHAN_IOC_MAKE, &req));
}

static int name_ioctl(unsigned long cmd, const char *name)
{
	struct kchan_name req;
	int ret;

	memset(&req, 0, sizeof(req));
	req.size = sizeof(req);
	ret = name_copy(req.name, name);
	if (ret)
		return ret;
	return control_ioctl(cmd, &req);
}

CHAN_EXPORT int chan_destroy(const char *name)
{
	return chan_ret(name_ioctl(KCHAN_IOC_DESTROY, name));
}

CHAN_EXPORT int chan_close(const char *name)
{
	return chan_ret(name_ioctl(KCHAN_IOC_CLOSE_NAME, name));
}

CHAN_EXPORT int chan_open(const char *name, int flags)
{
	char path[sizeof(KCHAN_DEV_DIR "/") + KCHAN_NAME_MAX];
	char base[KCHAN_NAME_MAX];
	int ret, fd;

	if (flags & ~(O_ACCMODE | O_NONBLOCK | O_CLOEXEC) ||
	    (flags & O_ACCMODE) == O_ACCMODE)
		return chan_ret(-EINVAL);
	ret = name_copy(base, name);
	if (ret)
		return chan_ret(ret);
	memcpy(path, KCHAN_DEV_DIR "/", sizeof(KCHAN_DEV_DIR "/") - 1);
	memcpy(path + sizeof(KCHAN_DEV_DIR "/") - 1, base, strlen(base) + 1);
	fd = open(path, flags | O_CLOEXEC | O_NOCTTY);
	return chan_ret(fd < 0 ? -errno : fd);
}

CHAN_EXPORT int chan_close_fd(int fd)
{
	return chan_ret(ioctl(fd, KCHAN_IOC_CLOSE) < 0 ? -errno : 0);
}

CHAN_EXPORT int chan_info(int fd, struct chan_info *info)
{
	struct kchan_info ki;

	memset(&ki, 0, sizeof(ki));
	ki.size = sizeof(ki);
	if (ioctl(fd, KCHAN_IOC_INFO, &ki) < 0)
		return chan_ret(-errno);
	memset(info, 0, sizeof(*info));
	info->capacity = ki.capacity;
	info->length = ki.length;
	info->msg_max = ki.msg_max;
	info->state = ki.state;
	info->readers = ki.readers;
	info->writers = ki.writers;
	info->sent = ki.sent;
	info->received = ki.received;
	info->dropped = ki.dropped;
	info->held = ki.held;
	info->id = ki.id;
	return 0;
}

/* ----- messages ---------------------------------------------------------- */

CHAN_EXPORT int chan_send(int fd, const void *msg, size_t len)
{
	ssize_t n;

	/* write(2) would "send" nothing and return 0; select calls it EINVAL. */
	if (!len)
		return chan_ret(-EINVAL);
	n = write(fd, msg, len);
	if (n < 0)
		return chan_ret(-errno);
	/* kchan never writes part of a message */
	return chan_ret((size_t)n == len ? 0 : -EIO);
}

CHAN_EXPORT ssize_t chan_recv(int fd, void *buf, size_t size)
{
	ssize_t n;

	/* No message fits in 0 bytes, and a 0 would read as end of file. */
	if (!size)
		return chan_ret(-EINVAL);
	n = read(fd, buf, size);
	return chan_ret(n < 0 ? -errno : n);
}

CHAN_EXPORT int chan_send_timeout(int fd, const void *msg, size_t len,
				  int64_t timeout_ns)
{
	struct chan_case c = CHAN_CASE_SEND(fd, msg, len);
	int ret = chan_select(&c, 1, timeout_ns);

	return chan_ret(ret < 0 ? ret : 0);
}

CHAN_EXPORT ssize_t chan_recv_timeout(int fd, void *buf, size_t size,
				      int64_t timeout_ns)
{
	struct chan_case c = CHAN_CASE_RECV(fd, buf, size);
	int ret;

	if (!size)
		return chan_ret(-EINVAL);
	ret = chan_select(&c, 1, timeout_ns);
	return chan_ret(ret < 0 ? ret : c.result);
}

/* ----- held receive and at-most-once sends ------------------------------- */

CHAN_EXPORT ssize_t chan_hold(int fd, void *buf, size_t size, uint64_t *id,
			      uint64_t *seq)
{
	struct kchan_hold h;

	if (!size)
		return chan_ret(-EINVAL);	/* as chan_recv() */
	memset(&h, 0, sizeof(h));
	h.size = sizeof(h);
	h.buf = (uintptr_t)buf;
	h.len = size;
	if (ioctl(fd, KCHAN_IOC_HOLD, &h) < 0)
		return chan_ret(-errno);
	if (id)
		*id = h.id;
	if (seq)
		*seq = h.seq;
	return (ssize_t)h.len;
}

static int ack_ioctl(int fd, unsigned long cmd, uint64_t id)
{
	struct kchan_ack a;

	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	a.id = id;
	if (ioctl(fd, cmd, &a) < 0)
		return chan_ret(-errno);
	return (int)a.count;
}

CHAN_EXPORT int chan_ack(int fd, uint64_t id)
{
	return ack_ioctl(fd, KCHAN_IOC_ACK, id);
}

CHAN_EXPORT int chan_return(int fd, uint64_t id)
{
	return ack_ioctl(fd, KCHAN_IOC_RETURN, id);
}

CHAN_EXPORT int chan_send_once(int fd, const void *msg, size_t len,
			       uint64_t stream, uint64_t seq)
{
	struct kchan_send_once s;

	memset(&s, 0, sizeof(s));
	s.size = sizeof(s);
	s.buf = (uintptr_t)msg;
	s.len = len;
	s.stream = stream;
	s.seq = seq;
	if (ioctl(fd, KCHAN_IOC_SEND_ONCE, &s) < 0)
		return chan_ret(-errno);
	return s.result_flags & KCHAN_SEND_DUPLICATE ? CHAN_DUPLICATE : 0;
}

static int stream_seq(int fd, uint64_t stream, uint32_t flags, uint64_t *seq)
{
	struct kchan_stream_seq s;

	memset(&s, 0, sizeof(s));
	s.size = sizeof(s);
	s.flags = flags;
	s.stream = stream;
	if (ioctl(fd, KCHAN_IOC_STREAM_SEQ, &s) < 0)
		return chan_ret(-errno);
	if (seq)
		*seq = s.seq;
	return 0;
}

CHAN_EXPORT int chan_stream_seq(int fd, uint64_t stream, uint64_t *seq)
{
	return stream_seq(fd, stream, 0, seq);
}

CHAN_EXPORT int chan_stream_forget(int fd, uint64_t stream, uint64_t *seq)
{
	return stream_seq(fd, stream, KCHAN_STREAM_FORGET, seq);
}

/* ----- select and poll --------------------------------------------------- */

#define TIMEOUT_NS_MAX	((int64_t)1 << 62)

/*
 * The select ioctl failed on @fd itself (ENOTTY): an old kchan without
 * select keeps ENOTTY; anything else is "not a channel", which the kernel
 * reports as EINVAL for every other case.
 */
static bool chan_fd_lacks_select(int fd)
{
	struct kchan_info ki;
	struct stat st;

	if (fstat(fd, &st) || !S_ISCHR(st.st_mode))
		return false;
	memset(&ki, 0, sizeof(ki));
	ki.size = KCHAN_INFO_SIZE_VER0;
	return ioctl(fd, KCHAN_IOC_INFO, &ki) == 0;
}

CHAN_EXPORT int chan_select(struct chan_case *cases, unsigned int ncases,
			    int64_t timeout_ns)
{
	struct kchan_select_case kc[KCHAN_SELECT_MAX];
	struct kchan_select sel;
	struct chan_case *c;
	unsigned int i;
	int ret;

	if (!ncases || ncases > KCHAN_SELECT_MAX)
		return chan_ret(-EINVAL);
	memset(kc, 0, ncases * sizeof(kc[0]));
	for (i = 0; i < ncases; i++) {
		cases[i].result = -EAGAIN;
		kc[i].fd = cases[i].fd;
		kc[i].op = cases[i].op;
		kc[i].buf = (uintptr_t)cases[i].buf;
		kc[i].len = cases[i].len;
	}
	memset(&sel, 0, sizeof(sel));
	sel.size = sizeof(sel);
	sel.cases = (uintptr_t)kc;
	sel.ncases = ncases;
	sel.case_size = sizeof(kc[0]);
	sel.timeout_ns = timeout_ns < 0 ? -1 : timeout_ns;
	/*
	 * The kernel adds the timeout to the current time without saturating:
	 * near INT64_MAX it would wrap and time out at once.  2^62 ns is 146
	 * years, for ever in practice.
	 */
	if (sel.timeout_ns > TIMEOUT_NS_MAX)
		sel.timeout_ns = TIMEOUT_NS_MAX;
	sel.index = -1;		/* stays so if the kernel fails before any case */

	/* Any channel fd (or the control device) takes the ioctl: use case 0's. */
	if (ioctl(cases[0].fd, KCHAN_IOC_SELECT, &sel) < 0) {
		ret = -errno;
		if (sel.index < 0 && ret == -EBADF) {
			sel.index = 0;		/* case 0's fd is not open */
		} else if (sel.index < 0 && ret == -ENOTTY &&
			   !chan_fd_lacks_select(cases[0].fd)) {
			sel.index = 0;
			ret = -EINVAL;		/* case 0's fd is not a channel */
		}
		if (sel.index >= 0 && (unsigned int)sel.index < ncases)
			cases[sel.index].result = ret;
		return chan_ret(ret);
	}
	if (sel.index < 0 || (unsigned int)sel.index >= ncases)
		return chan_ret(-EPROTO);	/* cannot happen: a kernel bug */
	c = &cases[sel.index];
	if (c->op == CHAN_SEND)
		c->result = c->len;
	else
		c->result = sel.result_flags & KCHAN_SELECT_CLOSED ? 0 : sel.result_len;
	return chan_ret(sel.index);
}

CHAN_EXPORT int chan_poll(struct pollfd *fds, unsigned int nfds, int64_t timeout_ns)
{
	struct timespec ts, *tsp = NULL;
	int n;

	if (timeout_ns >= 0) {
		ts.tv_sec = timeout_ns / 1000000000;
		ts.tv_nsec = timeout_ns % 1000000000;
		tsp = &ts;
	}
	/* ppoll's relative timeout runs on the monotonic clock. */
	n = ppoll(fds, nfds, tsp, NULL);
	if (n < 0)
		return chan_ret(-errno);
	if (n == 0)
		return chan_ret(timeout_ns == 0 ? -EAGAIN : -ETIMEDOUT);
	return chan_ret(n);
}

/* ----- errors -------------------------------------------------------------- */

/* kchan's meaning of @err for @op, or NULL where strerror() says it well. */
static const char *chan_error_text(int err, int op)
{
	switch (err) {
	case EMSGSIZE:
		if (op == CHAN_OP_RECV)
			return "Message larger than the receive buffer (it stays queued)";
		if (op == CHAN_OP_SEND)
			return "Message larger than the channel's msg_max";
		return "Message larger than a receive buffer (it stays queued) or than msg_max";
	case EPIPE:
		if (op == CHAN_OP_CLOSE)
			return "Channel already closed";
		if (op == CHAN_OP_SEND || op == CHAN_OP_SELECT)
			return "Channel closed: nothing was sent";
		return "Channel closed";
	case ENODEV:
		return "Channel destroyed";
	case ENOBUFS:
		if (op == CHAN_OP_HOLD)
			return "The channel holds as many messages as it may: ack or return some";
		return NULL;
	case EAGAIN:
		if (op == CHAN_OP_HOLD)
			return "Nothing to hold now (poll for POLLIN)";
		if (op == CHAN_OP_SEND)
			return "Channel full, or no receiver waiting (unbuffered)";
		if (op == CHAN_OP_RECV)
			return "Channel empty, and no sender waiting";
		if (op == CHAN_OP_SELECT)
			return "No case ready (Go's default case)";
		if (op == CHAN_OP_POLL)
			return "No channel ready";
		return "Channel not ready";
	case ETIMEDOUT:
		if (op == CHAN_OP_SEND)
			return "Timed out: no room and no receiver came";
		if (op == CHAN_OP_RECV)
			return "Timed out: no message came";
		return "Timed out";
	case EBADF:
		if (op == CHAN_OP_SEND || op == CHAN_OP_CLOSE)
			return "Not a channel fd open for writing";
		if (op == CHAN_OP_RECV)
			return "Not a channel fd open for reading";
		if (op == CHAN_OP_SELECT)
			return "A case's fd is not open, or not for the case's direction";
		return NULL;
	case EINVAL:
		switch (op) {
		case CHAN_OP_CREATE:
			return "Invalid name, sizes, mode, flags or timer period, or over a limit";
		case CHAN_OP_DESTROY:
		case CHAN_OP_CLOSE:
		case CHAN_OP_OPEN:
			return "Invalid channel name or flags";
		case CHAN_OP_SEND:
			return "Empty message, or not a channel";
		case CHAN_OP_RECV:
			return "Zero-size buffer, or not a channel";
		case CHAN_OP_SELECT:
			return "Bad select: 0 or >32 cases, bad op, empty send, or not a channel";
		}
		return NULL;
	case ENAMETOOLONG:
		return "Channel name longer than 63 bytes";
	case EEXIST:
		return op == CHAN_OP_CREATE ? "A channel of this name exists" : NULL;
	case ENOENT:
		if (op == CHAN_OP_CREATE)
			return "kchan is not loaded or not mounted (no " KCHAN_CONTROL_PATH ")";
		if (op == CHAN_OP_OPEN || op == CHAN_OP_DESTROY || op == CHAN_OP_CLOSE)
			return "No such channel (or kchan is not loaded)";
		return NULL;
	case ENOSPC:
		if (op == CHAN_OP_CREATE)
			return "Too many channels in the instance (mount option max=)";
		if (op == CHAN_OP_SEND)
			return "The channel remembers no more send-once streams (chan_stream_forget)";
		return NULL;
	case EDQUOT:
		if (op == CHAN_OP_CREATE)
			return "Per-user limit on channels or buffer bytes reached (max_user=, max_user_bytes=)";
		return NULL;
	case EPERM:
		if (op == CHAN_OP_SEND || op == CHAN_OP_SELECT)
			return "Timer channels cannot be written";
		if (op == CHAN_OP_DESTROY || op == CHAN_OP_CLOSE)
			return "Only the channel's owner (or CAP_SYS_ADMIN) may do that";
		return NULL;
	case ENOTTY:
		if (op == CHAN_OP_SELECT)
			return "The kchan module has no select (too old)";
		if (op == CHAN_OP_HOLD)
			return "The kchan module has no held receive (too old)";
		if (op == CHAN_OP_CLOSE || op == CHAN_OP_INFO)
			return "Not a channel fd";
		return NULL;
	case E2BIG:
		return "The kchan module is older than libchan and lacks a feature asked for";
	case EINTR:
		return "Interrupted by a signal";
	}
	return NULL;
}

CHAN_EXPORT const char *chan_strerror(int err, int op)
{
	const char *text;

	if (err == INT_MIN)
		return "Unknown error";
	if (err < 0)
		err = -err;
	text = chan_error_text(err, op);
	if (!text)
		text = strerrordesc_np(err);	/* thread-safe, unlike strerror() */
	return text ? text : "Unknown error";
}
