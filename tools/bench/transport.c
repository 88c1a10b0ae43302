// SPDX-License-Identifier: GPL-2.0
/*
 * One-way links over each transport.  Every link carries messages of one
 * size; a send is one system call and so is a receive, except on a plain
 * pipe, which keeps no boundaries: its receiver reads until it has the
 * message's bytes (one read, in practice, since every write is one message
 * of the same size), which is what a program framing fixed-size messages on
 * a pipe does.
 */

#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include <linux/kchan.h>

#include "kchanbench.h"

const char *const transport_name[T_COUNT] = {
	[T_KCHAN_UNBUF] = "kchan-unbuf",
	[T_KCHAN_BUF] = "kchan-buf",
	[T_PIPE] = "pipe",
	[T_PIPE_PKT] = "pipe-pkt",
	[T_MQUEUE] = "mqueue",
	[T_SEQPACKET] = "seqpacket",
	[T_EVENTFD] = "eventfd",
};

static unsigned int link_seq;

static int kchan_link(struct link *l, unsigned int capacity)
{
	char path[128];
	int ret;

	snprintf(l->name, sizeof(l->name), "kb-%d-%u", (int)getpid(), link_seq++);
	ret = kchan_make(l->name, capacity, l->msg);
	if (ret)
		return ret;
	snprintf(path, sizeof(path), KCHAN_DEV_DIR "/%s", l->name);
	l->wfd = open(path, O_WRONLY | O_CLOEXEC);
	l->rfd = open(path, O_RDONLY | O_CLOEXEC);
	if (l->wfd < 0 || l->rfd < 0) {
		ret = -errno;
		link_close(l);
		return ret;
	}
	return 0;
}

static int mqueue_link(struct link *l)
{
	struct mq_attr attr = {
		.mq_maxmsg = opts.capacity,
		.mq_msgsize = l->msg,
	};
	mqd_t q;

	snprintf(l->name, sizeof(l->name), "/kb-%d-%u", (int)getpid(), link_seq++);
	q = mq_open(l->name, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600, &attr);
	if (q == (mqd_t)-1)
		return -errno;
	mq_unlink(l->name);	/* the descriptor keeps it; nothing to clean up */
	l->name[0] = '\0';
	l->wfd = l->rfd = q;
	return 0;
}

int link_open(struct link *l, enum transport t, size_t msg)
{
	int fds[2];

	memset(l, 0, sizeof(*l));
	l->t = t;
	l->msg = msg;
	l->wfd = l->rfd = -1;
	switch (t) {
	case T_KCHAN_UNBUF:
		return kchan_link(l, 0);
	case T_KCHAN_BUF:
		return kchan_link(l, opts.capacity);
	case T_PIPE:
	case T_PIPE_PKT:
		if (pipe2(fds, O_CLOEXEC | (t == T_PIPE_PKT ? O_DIRECT : 0)))
			return -errno;
		l->rfd = fds[0];
		l->wfd = fds[1];
		return 0;
	case T_MQUEUE:
		return mqueue_link(l);
	case T_SEQPACKET:
		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds))
			return -errno;
		l->wfd = fds[0];
		l->rfd = fds[1];
		return 0;
	case T_EVENTFD:
		l->msg = sizeof(uint64_t);
		l->wfd = l->rfd = eventfd(0, EFD_CLOEXEC);
		return l->wfd < 0 ? -errno : 0;
	default:
		return -EINVAL;
	}
}

void link_close(struct link *l)
{
	if (l->wfd >= 0)
		close(l->wfd);
	if (l->rfd >= 0 && l->rfd != l->wfd)
		close(l->rfd);
	l->wfd = l->rfd = -1;
	if (l->name[0] && (l->t == T_KCHAN_UNBUF || l->t == T_KCHAN_BUF))
		kchan_unmake(l->name);
	l->name[0] = '\0';
}

int link_send(const struct link *l, const void *buf, size_t len)
{
	static const uint64_t one = 1;
	const char *p = buf;
	ssize_t n;

	switch (l->t) {
	case T_MQUEUE:
		return mq_send(l->wfd, buf, len, 0) ? -errno : 0;
	case T_EVENTFD:
		return write(l->wfd, &one, sizeof(one)) == sizeof(one) ? 0 : -errno;
	case T_PIPE:
	case T_PIPE_PKT:
		while (len) {	/* a blocking pipe write is whole unless interrupted */
			n = write(l->wfd, p, len);
			if (n < 0)
				return -errno;
			p += n;
			len -= n;
		}
		return 0;
	default:
		n = write(l->wfd, buf, len);
		if (n < 0)
			return -errno;
		return (size_t)n == len ? 0 : -EIO;
	}
}

int link_recv(const struct link *l, void *buf, size_t len)
{
	uint64_t count;
	char *p = buf;
	ssize_t n;

	switch (l->t) {
	case T_MQUEUE:
		n = mq_receive(l->rfd, buf, len, NULL);
		if (n < 0)
			return -errno;
		return (size_t)n == len ? 0 : -EIO;
	case T_EVENTFD:
		return read(l->rfd, &count, sizeof(count)) == sizeof(count) ? 0 : -errno;
	case T_PIPE:
	case T_PIPE_PKT:
		/* Packet mode returns at most PIPE_BUF per read: gather those too. */
		while (len) {
			n = read(l->rfd, p, len);
			if (n <= 0)
				return n < 0 ? -errno : -EPIPE;
			p += n;
			len -= n;
		}
		return 0;
	default:
		n = read(l->rfd, buf, len);
		if (n < 0)
			return -errno;
		return (size_t)n == len ? 0 : -EIO;
	}
}
