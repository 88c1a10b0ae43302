// SPDX-License-Identifier: GPL-2.0
/*
 * poll, select and epoll readiness: readable when a message is buffered or
 * a writer blocks on an unbuffered channel, writable when there is room or
 * a reader blocks; EPOLLHUP once closed and drained, EPOLLERR once closed;
 * every state change wakes pollers, so edge-triggered epoll works.
 */
#include "chan_test.h"

#include <sys/epoll.h>
#include <sys/select.h>

#define MAX	64
#define CAP	2

#define RD	(POLLIN | POLLRDNORM)
#define WR	(POLLOUT | POLLWRNORM)

FIXTURE(pollch) {
	struct chan_env env;
};

FIXTURE_VARIANT(pollch) {
	__u32 capacity;
};

FIXTURE_VARIANT_ADD(pollch, buffered) { .capacity = CAP };
FIXTURE_VARIANT_ADD(pollch, unbuffered) { .capacity = 0 };

FIXTURE_SETUP(pollch)
{
	chan_env_setup(&self->env, variant->capacity, MAX, 0);
}

FIXTURE_TEARDOWN(pollch)
{
	chan_env_teardown(&self->env);
}

/* A helper blocked in poll(fd, events, -1); io->ret gets revents. */
static pid_t spawn_poll(int fd, short events, struct chan_io *io)
{
	pid_t pid = chan_fork();

	if (pid == 0) {
		struct pollfd p = { .fd = fd, .events = events };
		int n = poll(&p, 1, -1);

		io->err = n < 0 ? errno : 0;
		io->ret = n == 1 ? p.revents : -1;
		_exit(0);
	}
	return pid;
}

/* A helper blocked in epoll_wait(ep, -1); io->ret gets the events. */
static pid_t spawn_epoll_wait(int ep, struct chan_io *io)
{
	pid_t pid = chan_fork();

	if (pid == 0) {
		struct epoll_event ev;
		int n = epoll_wait(ep, &ev, 1, -1);

		io->err = n < 0 ? errno : 0;
		io->ret = n == 1 ? (ssize_t)ev.events : -1;
		_exit(0);
	}
	return pid;
}

/* Events ready now on an epoll fd, 0 if none, -1 on error. */
static int epoll_now(int ep)
{
	struct epoll_event ev;
	int n = epoll_wait(ep, &ev, 1, 0);

	if (n < 0)
		return -1;
	return n ? (int)ev.events : 0;
}

static int epoll_for(int fd, __u32 events)
{
	struct epoll_event ev = { .events = events };
	int ep = epoll_create1(EPOLL_CLOEXEC);

	if (ep < 0)
		return -1;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev)) {
		close(ep);
		return -1;
	}
	return ep;
}

static int close_fd(int fd)
{
	return chan_ioctl(fd, KCHAN_IOC_CLOSE, NULL);
}

TEST_F(pollch, idle)
{
	/* Buffered: room, nothing to read.  Unbuffered: nobody waiting. */
	EXPECT_EQ(variant->capacity ? WR : 0, chan_revents(self->env.fd, CHAN_POLL_ALL));
	EXPECT_EQ(variant->capacity ? WR : 0, chan_revents(self->env.nb, CHAN_POLL_ALL));
}

TEST_F_TIMEOUT(pollch, readable_when_message_or_blocked_writer, CHAN_TIMEOUT)
{
	char b[MAX];
	pid_t pid;

	if (variant->capacity) {
		ASSERT_EQ(1, write(self->env.nb, "x", 1));
		EXPECT_EQ(RD | WR, chan_revents(self->env.fd, CHAN_POLL_ALL));
		ASSERT_EQ(1, read(self->env.nb, b, sizeof(b)));
		EXPECT_EQ(WR, chan_revents(self->env.fd, CHAN_POLL_ALL));
		return;
	}
	chan_blocked_writer(_metadata, self->env.fd, "w", &pid);
	/* Readable; not writable: a writer is no reader. */
	EXPECT_EQ(RD, chan_revents(self->env.nb, CHAN_POLL_ALL));
	ASSERT_EQ(1, read(self->env.nb, b, sizeof(b)));
	ASSERT_EQ(0, chan_reap(pid));
	EXPECT_EQ(0, chan_revents(self->env.nb, CHAN_POLL_ALL));
}

TEST_F_TIMEOUT(pollch, writable_when_room_or_blocked_reader, CHAN_TIMEOUT)
{
	pid_t pid;

	if (variant->capacity) {
		ASSERT_EQ(CAP, chan_fill(self->env.nb, "m", CAP));
		/* Full: readable only. */
		EXPECT_EQ(RD, chan_revents(self->env.fd, CHAN_POLL_ALL));
		return;
	}
	chan_blocked_reader(_metadata, self->env.fd, MAX, &pid);
	EXPECT_EQ(WR, chan_revents(self->env.nb, CHAN_POLL_ALL));
	ASSERT_EQ(1, write(self->env.nb, "r", 1));
	ASSERT_EQ(0, chan_reap(pid));
	EXPECT_EQ(0, chan_revents(self->env.nb, CHAN_POLL_ALL));
}

/* Readiness is a hint: it goes away when someone else takes the message. */
TEST_F_TIMEOUT(pollch, readiness_goes_when_taken, CHAN_TIMEOUT)
{
	char b[MAX];
	pid_t pid = -1;
	int other;

	other = chan_open(self->env.name, O_RDONLY | O_NONBLOCK);
	ASSERT_LE(0, other);
	if (variant->capacity) {
		ASSERT_EQ(1, write(self->env.nb, "x", 1));
	} else {
		chan_blocked_writer(_metadata, self->env.fd, "x", &pid);
	}
	EXPECT_EQ(RD, chan_revents(self->env.nb, RD));
	ASSERT_EQ(1, read(other, b, sizeof(b)));
	EXPECT_EQ(0, chan_revents(self->env.nb, RD));
	EXPECT_EQ(-1, read(self->env.nb, b, sizeof(b)));
	EXPECT_EQ(EAGAIN, errno);
	if (pid > 0)
		ASSERT_EQ(0, chan_reap(pid));
	close(other);
}

/* A blocked writer that gives up takes its readiness with it. */
TEST_F_TIMEOUT(pollch, readiness_goes_when_blocked_peer_leaves, CHAN_TIMEOUT)
{
	pid_t pid;

	if (variant->capacity) {
		ASSERT_EQ(CAP, chan_fill(self->env.nb, "m", CAP));
		chan_blocked_writer(_metadata, self->env.fd, "w", &pid);
		kill(pid, SIGKILL);
		chan_reap(pid);
		EXPECT_EQ(RD, chan_revents(self->env.nb, CHAN_POLL_ALL));
		EXPECT_EQ(CAP, chan_len(self->env.fd));
		return;
	}
	chan_blocked_writer(_metadata, self->env.fd, "w", &pid);
	EXPECT_EQ(RD, chan_revents(self->env.nb, CHAN_POLL_ALL));
	kill(pid, SIGKILL);
	chan_reap(pid);
	EXPECT_EQ(0, chan_revents(self->env.nb, CHAN_POLL_ALL));

	chan_blocked_reader(_metadata, self->env.fd, MAX, &pid);
	EXPECT_EQ(WR, chan_revents(self->env.nb, CHAN_POLL_ALL));
	kill(pid, SIGKILL);
	chan_reap(pid);
	EXPECT_EQ(0, chan_revents(self->env.nb, CHAN_POLL_ALL));
}

/*
 * Closed with messages left: an O_RDWR fd is readable and not in error
 * (event loops treat EPOLLERR as fatal and would stop before draining);
 * EPOLLERR is for fds that can only write (issue 11, 6b).
 */
TEST_F(pollch, closed_with_messages_readable_not_err)
{
	int rev, wo;

	if (variant->capacity)
		ASSERT_EQ(1, write(self->env.nb, "x", 1));
	wo = chan_open(self->env.name, O_WRONLY);
	ASSERT_LE(0, wo);
	ASSERT_EQ(0, close_fd(self->env.fd));
	rev = chan_revents(self->env.fd, CHAN_POLL_ALL);
	if (variant->capacity) {
		/*
		 * A write would fail, but this fd still has messages to read:
		 * no EPOLLERR, which event loops take as fatal (a pipe reports
		 * it only to writers without readers).
		 */
		EXPECT_EQ(RD, rev & RD) TH_LOG("revents %#x", rev);
		EXPECT_EQ(0, rev & POLLERR) TH_LOG("messages left: revents %#x", rev);
		EXPECT_EQ(0, rev & POLLHUP) TH_LOG("not drained yet: revents %#x", rev);
	} else {
		EXPECT_EQ(POLLHUP, rev & POLLHUP) TH_LOG("revents %#x", rev);
	}
	/* A write would fail at once: EPOLLERR on a write-only fd. */
	rev = chan_revents(wo, CHAN_POLL_ALL);
	EXPECT_EQ(POLLERR, rev & POLLERR) TH_LOG("O_WRONLY: revents %#x", rev);
	close(wo);
}

/* Drained: EPOLLHUP (EPOLLERR is allowed then, a write would fail). */
TEST_F(pollch, closed_and_drained_hup)
{
	char b[MAX];
	int rev;

	if (variant->capacity)
		ASSERT_EQ(1, write(self->env.nb, "x", 1));
	ASSERT_EQ(0, close_fd(self->env.fd));
	if (variant->capacity)
		ASSERT_EQ(1, read(self->env.nb, b, sizeof(b)));
	rev = chan_revents(self->env.fd, CHAN_POLL_ALL);
	EXPECT_EQ(POLLHUP, rev & (POLLHUP | RD)) TH_LOG("revents %#x", rev);
	/* POLLHUP is reported even when not asked for. */
	rev = chan_revents(self->env.fd, 0);
	EXPECT_EQ(POLLHUP, rev & POLLHUP) TH_LOG("revents %#x", rev);
	EXPECT_EQ(0, read(self->env.nb, b, sizeof(b)));
}

TEST_F(pollch, epoll_hup_at_eof)
{
	int ep, ev;

	ep = epoll_for(self->env.fd, EPOLLIN | EPOLLOUT);
	ASSERT_LE(0, ep);
	ASSERT_EQ(0, close_fd(self->env.fd));
	ev = epoll_now(ep);
	EXPECT_EQ(EPOLLHUP, ev & (EPOLLHUP | EPOLLIN)) TH_LOG("events %#x", ev);
	close(ep);
}

TEST_F(pollch, select_agrees)
{
	struct timeval tv = { 0, 0 };
	fd_set r, w;
	pid_t pid;
	int n;

	FD_ZERO(&r);
	FD_ZERO(&w);
	FD_SET(self->env.fd, &r);
	FD_SET(self->env.fd, &w);
	n = select(self->env.fd + 1, &r, &w, NULL, &tv);
	EXPECT_EQ(variant->capacity ? 1 : 0, n);
	EXPECT_FALSE(FD_ISSET(self->env.fd, &r));
	EXPECT_EQ(!!variant->capacity, !!FD_ISSET(self->env.fd, &w));

	if (variant->capacity) {
		ASSERT_EQ(CAP, chan_fill(self->env.nb, "m", CAP));
	} else {
		chan_blocked_writer(_metadata, self->env.fd, "w", &pid);
	}
	FD_ZERO(&r);
	FD_ZERO(&w);
	FD_SET(self->env.fd, &r);
	FD_SET(self->env.fd, &w);
	tv.tv_sec = tv.tv_usec = 0;
	n = select(self->env.fd + 1, &r, &w, NULL, &tv);
	EXPECT_EQ(1, n);
	EXPECT_TRUE(FD_ISSET(self->env.fd, &r));
	EXPECT_FALSE(FD_ISSET(self->env.fd, &w));
}

TEST_F_TIMEOUT(pollch, blocked_poller_woken_by_readiness, CHAN_TIMEOUT)
{
	struct chan_io *io = chan_io_new();
	char b[MAX];
	pid_t poller, writer = -1;

	ASSERT_NE(NULL, io);
	poller = spawn_poll(self->env.fd, POLLIN, io);
	ASSERT_LE(0, poller);
	ASSERT_EQ(0, chan_wait_blocked(poller, SYS_poll));
	if (variant->capacity) {
		ASSERT_EQ(1, write(self->env.nb, "x", 1));
	} else {
		chan_blocked_writer(_metadata, self->env.fd, "x", &writer);
	}
	ASSERT_EQ(0, chan_reap(poller));
	EXPECT_EQ(POLLIN, io->ret) TH_LOG("revents %#zx errno %d", io->ret, io->err);
	ASSERT_EQ(1, read(self->env.nb, b, sizeof(b)));
	if (writer > 0)
		ASSERT_EQ(0, chan_reap(writer));
}

TEST_F_TIMEOUT(pollch, blocked_poller_woken_by_room, CHAN_TIMEOUT)
{
	struct chan_io *io = chan_io_new();
	char b[MAX];
	pid_t poller, reader = -1;

	ASSERT_NE(NULL, io);
	if (variant->capacity)
		ASSERT_EQ(CAP, chan_fill(self->env.nb, "m", CAP));
	poller = spawn_poll(self->env.fd, POLLOUT, io);
	ASSERT_LE(0, poller);
	ASSERT_EQ(0, chan_wait_blocked(poller, SYS_poll));
	if (variant->capacity) {
		ASSERT_EQ(2, read(self->env.nb, b, sizeof(b)));
	} else {
		chan_blocked_reader(_metadata, self->env.fd, MAX, &reader);
	}
	ASSERT_EQ(0, chan_reap(poller));
	EXPECT_EQ(POLLOUT, io->ret) TH_LOG("revents %#zx errno %d", io->ret, io->err);
	if (reader > 0) {
		ASSERT_EQ(1, write(self->env.nb, "r", 1));
		ASSERT_EQ(0, chan_reap(reader));
	}
}

TEST_F_TIMEOUT(pollch, blocked_poller_woken_by_close, CHAN_TIMEOUT)
{
	struct chan_io *in = chan_io_new(), *out = chan_io_new();
	pid_t pin = -1, pout;

	ASSERT_NE(NULL, in);
	ASSERT_NE(NULL, out);
	if (variant->capacity)
		ASSERT_EQ(CAP, chan_fill(self->env.nb, "m", CAP));
	pout = spawn_poll(self->env.fd, POLLOUT, out);
	ASSERT_LE(0, pout);
	ASSERT_EQ(0, chan_wait_blocked(pout, SYS_poll));
	if (!variant->capacity) {
		pin = spawn_poll(self->env.fd, POLLIN, in);
		ASSERT_LE(0, pin);
		ASSERT_EQ(0, chan_wait_blocked(pin, SYS_poll));
	}
	ASSERT_EQ(0, close_fd(self->env.fd));
	if (variant->capacity) {
		char b[MAX];
		int i;

		/* Messages left to read on this O_RDWR fd: no EPOLLERR yet. */
		EXPECT_EQ(0, chan_wait_blocked(pout, SYS_poll));
		for (i = 0; i < CAP; i++)
			ASSERT_EQ(2, read(self->env.nb, b, sizeof(b)));	/* "m" */
	}
	ASSERT_EQ(0, chan_reap(pout));
	EXPECT_EQ(POLLERR, out->ret & POLLERR) TH_LOG("revents %#zx", out->ret);
	if (!variant->capacity) {
		ASSERT_EQ(0, chan_reap(pin));
		EXPECT_EQ(POLLHUP, in->ret & POLLHUP) TH_LOG("revents %#zx", in->ret);
	}
}

TEST_F_TIMEOUT(pollch, blocked_epoll_wait_woken, CHAN_TIMEOUT)
{
	struct chan_io *io = chan_io_new();
	char b[MAX];
	pid_t waiter, writer = -1;
	int ep;

	ASSERT_NE(NULL, io);
	ep = epoll_for(self->env.fd, EPOLLIN);
	ASSERT_LE(0, ep);
	waiter = spawn_epoll_wait(ep, io);
	ASSERT_LE(0, waiter);
	ASSERT_EQ(0, chan_wait_blocked(waiter, SYS_epoll_wait));
	if (variant->capacity) {
		ASSERT_EQ(1, write(self->env.nb, "x", 1));
	} else {
		chan_blocked_writer(_metadata, self->env.fd, "x", &writer);
	}
	ASSERT_EQ(0, chan_reap(waiter));
	EXPECT_EQ(EPOLLIN, io->ret) TH_LOG("events %#zx errno %d", io->ret, io->err);
	ASSERT_EQ(1, read(self->env.nb, b, sizeof(b)));
	if (writer > 0)
		ASSERT_EQ(0, chan_reap(writer));
	close(ep);
}

/* ---------------------------------------------------------------------- */
/* Edge-triggered epoll on a buffered channel: every new message is an edge. */

FIXTURE(edge) {
	struct chan_env env;
};

FIXTURE_SETUP(edge)
{
	chan_env_setup(&self->env, 4, MAX, 0);
}

FIXTURE_TEARDOWN(edge)
{
	chan_env_teardown(&self->env);
}

TEST_F(edge, every_message_is_an_edge)
{
	int ep = epoll_for(self->env.fd, EPOLLIN | EPOLLET);
	int i;

	ASSERT_LE(0, ep);
	EXPECT_EQ(0, epoll_now(ep));
	for (i = 0; i < 4; i++) {
		ASSERT_EQ(1, write(self->env.nb, "x", 1));
		EXPECT_EQ(EPOLLIN, epoll_now(ep)) TH_LOG("message %d", i);
		/* Consumed: no new edge until the next state change. */
		EXPECT_EQ(0, epoll_now(ep)) TH_LOG("message %d", i);
	}
	close(ep);
}

TEST_F(edge, every_freed_slot_is_an_edge)
{
	char b[MAX];
	int ep, i;

	ASSERT_EQ(4, chan_fill(self->env.nb, "m", 4));
	ep = epoll_for(self->env.fd, EPOLLOUT | EPOLLET);
	ASSERT_LE(0, ep);
	EXPECT_EQ(0, epoll_now(ep));
	for (i = 0; i < 4; i++) {
		ASSERT_EQ(2, read(self->env.nb, b, sizeof(b)));
		EXPECT_EQ(EPOLLOUT, epoll_now(ep)) TH_LOG("read %d", i);
		EXPECT_EQ(0, epoll_now(ep)) TH_LOG("read %d", i);
	}
	close(ep);
}

TEST_F(edge, close_is_an_edge)
{
	int ep = epoll_for(self->env.fd, EPOLLIN | EPOLLET);
	int ev;

	ASSERT_LE(0, ep);
	EXPECT_EQ(0, epoll_now(ep));
	ASSERT_EQ(0, close_fd(self->env.fd));
	ev = epoll_now(ep);
	EXPECT_EQ(EPOLLHUP, ev & EPOLLHUP) TH_LOG("events %#x", ev);
	close(ep);
}

TEST_HARNESS_MAIN
