// SPDX-License-Identifier: GPL-2.0
/*
 * libchan: chan_make(), Go's make(chan T): anonymous channels, with no
 * name and no node, one O_RDWR fd shared by fork() and SCM_RIGHTS, working
 * with select, hold and timers as a named channel does.
 */
#include <sys/socket.h>
#include <sys/uio.h>

#include "libchan_test.h"

LT_FIXTURE();

/* Every entry of /dev/chan, dotfiles included. */
static int count_entries(void)
{
	DIR *d = opendir(LT_DIR);
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n++;
	closedir(d);
	return n;
}

/* Defaults: unbuffered, msg_max 4096, one fd for both directions, no node. */
TEST_F(lt, make_defaults)
{
	struct chan_info info;
	int before, fd, fl;

	before = count_entries();
	ASSERT_LE(0, before);
	errno = 0;
	fd = chan_make(NULL, 0);
	ASSERT_LE(0, fd) TH_LOG("chan_make: %s", chan_strerror(fd, CHAN_OP_CREATE));
	EXPECT_EQ(0, errno);
	memset(&info, 0xa5, sizeof(info));
	ASSERT_EQ(0, chan_info(fd, &info));
	EXPECT_EQ(0, info.capacity);
	EXPECT_EQ(0, info.length);
	EXPECT_EQ(4096, info.msg_max);
	EXPECT_EQ(0, info.state);
	EXPECT_EQ(1, info.readers);
	EXPECT_EQ(1, info.writers);
	EXPECT_EQ(0, info.sent);
	EXPECT_NE(0, info.id);
	fl = fcntl(fd, F_GETFL);
	EXPECT_EQ(O_RDWR, fl & O_ACCMODE);
	EXPECT_EQ(0, fl & O_NONBLOCK);
	EXPECT_EQ(0, fcntl(fd, F_GETFD) & FD_CLOEXEC);
	/* No name, so no node. */
	EXPECT_EQ(before, count_entries());
	close(fd);
}

TEST_F(lt, make_flags)
{
	char buf[8];
	int fd;

	fd = chan_make(NULL, CHAN_CLOEXEC);
	ASSERT_LE(0, fd);
	EXPECT_EQ(FD_CLOEXEC, fcntl(fd, F_GETFD) & FD_CLOEXEC);
	EXPECT_EQ(0, fcntl(fd, F_GETFL) & O_NONBLOCK);
	close(fd);

	fd = chan_make(NULL, CHAN_NONBLOCK);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, fcntl(fd, F_GETFD) & FD_CLOEXEC);
	EXPECT_EQ(O_NONBLOCK, fcntl(fd, F_GETFL) & O_NONBLOCK);
	EXPECT_EQ(-EAGAIN, chan_recv(fd, buf, sizeof(buf)));
	EXPECT_EQ(-EAGAIN, chan_send(fd, "x", 1));	/* unbuffered, nobody waits */
	close(fd);

	fd = chan_make(NULL, CHAN_CLOEXEC | CHAN_NONBLOCK);
	ASSERT_LE(0, fd);
	EXPECT_EQ(FD_CLOEXEC, fcntl(fd, F_GETFD) & FD_CLOEXEC);
	EXPECT_EQ(O_NONBLOCK, fcntl(fd, F_GETFL) & O_NONBLOCK);
	close(fd);
}

/* chan_opts reach the kernel; FIFO, EMSGSIZE and Go's close as for a named one. */
TEST_F(lt, make_opts)
{
	struct chan_opts o = { .capacity = 4, .msg_max = 100 };
	struct chan_info info;
	char big[101], buf[128];
	int fd, i;

	fd = chan_make(&o, 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, chan_info(fd, &info));
	EXPECT_EQ(4, info.capacity);
	EXPECT_EQ(100, info.msg_max);
	memset(big, 'b', sizeof(big));
	EXPECT_EQ(-EMSGSIZE, chan_send(fd, big, sizeof(big)));
	for (i = 0; i < 4; i++) {
		char m = '0' + i;

		ASSERT_EQ(0, chan_send(fd, &m, 1));
	}
	ASSERT_EQ(0, chan_info(fd, &info));
	EXPECT_EQ(4, info.length);
	EXPECT_EQ(-ETIMEDOUT, chan_send_timeout(fd, "x", 1, 10 * MSEC));	/* full */
	for (i = 0; i < 4; i++) {
		ASSERT_EQ(1, chan_recv(fd, buf, sizeof(buf)));
		EXPECT_EQ('0' + i, buf[0]);
	}
	ASSERT_EQ(0, chan_send(fd, "last", 4));
	ASSERT_EQ(0, chan_close_fd(fd));	/* the fd is open for writing too */
	EXPECT_EQ(-EPIPE, chan_send(fd, "x", 1));
	EXPECT_EQ(4, chan_recv(fd, buf, sizeof(buf)));
	EXPECT_EQ(0, chan_recv(fd, buf, sizeof(buf)));
	close(fd);
}

TEST_F(lt, make_errors)
{
	struct chan_opts o = { 0 };
	int fd;

	/* The library's own checks: only CHAN_CLOEXEC and CHAN_NONBLOCK. */
	errno = 0;
	EXPECT_EQ(-EINVAL, chan_make(NULL, 0x1));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-EINVAL, chan_make(NULL, O_CLOEXEC));
	EXPECT_EQ(-EINVAL, chan_make(NULL, O_NONBLOCK));
	o.flags = CHAN_CLOEXEC;		/* the fd's flags belong in @flags */
	EXPECT_EQ(-EINVAL, chan_make(&o, 0));
	o.flags = 0;
	o.reserved0 = 1;
	EXPECT_EQ(-EINVAL, chan_make(&o, 0));
	o.reserved0 = 0;

	/* The kernel's: no node, so no mode; the create checks otherwise. */
	o.mode = 0600;
	EXPECT_EQ(-EINVAL, chan_make(&o, 0));
	o.mode = 0;
	o.flags = 0x80;
	EXPECT_EQ(-EINVAL, chan_make(&o, 0));
	o.flags = 0;
	o.period_ns = 1000000;		/* a period without a timer flag */
	EXPECT_EQ(-EINVAL, chan_make(&o, 0));
	o.period_ns = 0;
	o.msg_max = 0x7fffffff;		/* over max_msg_size */
	EXPECT_EQ(-EINVAL, chan_make(&o, 0));

	fd = chan_make(NULL, 0);	/* and nothing of that broke it */
	ASSERT_LE(0, fd);
	close(fd);
}

/* Across fork: the child's inherited fd meets the parent's (unbuffered). */
TEST_F(lt, make_fork)
{
	struct lt_io *io = lt_io_new();
	struct chan_info info;
	char buf[LT_MSG];
	pid_t pid;
	int fd;

	ASSERT_NE(NULL, io);
	fd = chan_make(NULL, 0);
	ASSERT_LE(0, fd);
	pid = lt_spawn_send(fd, "from the child", CHAN_FOREVER, io);
	ASSERT_LT(0, pid);
	ASSERT_EQ(0, lt_wait_blocked(pid, SYS_write));
	ASSERT_EQ(0, chan_info(fd, &info));
	EXPECT_EQ(1, info.writers);	/* the same fd, in two processes: one file */
	EXPECT_EQ(14, chan_recv(fd, buf, sizeof(buf)));
	EXPECT_EQ(0, memcmp(buf, "from the child", 14));
	EXPECT_EQ(0, lt_reap(pid));
	EXPECT_EQ(0, io->ret);

	/* The other way round: the child receives. */
	pid = lt_spawn_recv(fd, sizeof(io->buf), CHAN_FOREVER, io);
	ASSERT_LT(0, pid);
	ASSERT_EQ(0, chan_send(fd, "to the child", 12));
	EXPECT_EQ(0, lt_reap(pid));
	EXPECT_EQ(12, io->ret);
	EXPECT_EQ(0, memcmp(io->buf, "to the child", 12));
	lt_io_free(io);
	close(fd);
}

/* Passed over a UNIX socket, the received fd is the same channel. */
TEST_F(lt, make_scm_rights)
{
	struct chan_opts o = { .capacity = 2 };
	char cbuf[CMSG_SPACE(sizeof(int))], byte = 'f', buf[16];
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct chan_info a, b;
	struct cmsghdr *cm;
	int sv[2], fd, got;

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	fd = chan_make(&o, CHAN_CLOEXEC);
	ASSERT_LE(0, fd);
	memset(cbuf, 0, sizeof(cbuf));
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	ASSERT_EQ(1, sendmsg(sv[0], &mh, 0));

	memset(cbuf, 0, sizeof(cbuf));
	mh.msg_controllen = sizeof(cbuf);
	ASSERT_EQ(1, recvmsg(sv[1], &mh, MSG_CMSG_CLOEXEC));
	cm = CMSG_FIRSTHDR(&mh);
	ASSERT_NE(NULL, cm);
	ASSERT_EQ(SCM_RIGHTS, cm->cmsg_type);
	memcpy(&got, CMSG_DATA(cm), sizeof(int));
	ASSERT_NE(fd, got);
	close(sv[0]);
	close(sv[1]);

	ASSERT_EQ(0, chan_info(fd, &a));
	ASSERT_EQ(0, chan_info(got, &b));
	EXPECT_EQ(a.id, b.id);
	ASSERT_EQ(0, chan_send(fd, "over", 4));
	close(fd);			/* the received fd keeps it alive */
	EXPECT_EQ(4, chan_recv(got, buf, sizeof(buf)));
	EXPECT_EQ(0, memcmp(buf, "over", 4));
	close(got);
}

/* select over an anonymous and a named channel; hold and ack on one. */
TEST_F(lt, make_select_hold)
{
	struct chan_opts o = { .capacity = 2 };
	struct chan_case cases[2];
	char b0[16], b1[16];
	uint64_t id, seq;
	int anon, named;

	anon = chan_make(&o, 0);
	ASSERT_LE(0, anon);
	named = lt_make(&self->env, 2, 0, O_RDWR);
	cases[0] = CHAN_CASE_RECV(anon, b0, sizeof(b0));
	cases[1] = CHAN_CASE_RECV(named, b1, sizeof(b1));
	EXPECT_EQ(-EAGAIN, chan_select(cases, 2, 0));
	ASSERT_EQ(0, chan_send(anon, "a", 1));
	EXPECT_EQ(0, chan_select(cases, 2, 0));
	EXPECT_EQ(1, cases[0].result);
	EXPECT_EQ('a', b0[0]);

	ASSERT_EQ(0, chan_send(anon, "h", 1));
	EXPECT_EQ(1, chan_hold(anon, b0, sizeof(b0), &id, &seq));
	EXPECT_EQ('h', b0[0]);
	EXPECT_EQ(2, seq);
	EXPECT_EQ(1, chan_ack(anon, id));
	close(anon);
	close(named);
}

/* A timer can be anonymous too. */
TEST_F(lt, make_timer)
{
	struct chan_opts o = { .flags = CHAN_AFTER, .period_ns = 1 * MSEC };
	struct chan_info info;
	char buf[CHAN_TIMER_MSG_MAX + 1];
	ssize_t n;
	int fd;

	fd = chan_make(&o, 0);
	if (fd == -EINVAL)
		SKIP(return, "this kchan has no timer channels");
	ASSERT_LE(0, fd);
	n = chan_recv_timeout(fd, buf, CHAN_TIMER_MSG_MAX, LT_LATE_NS);
	ASSERT_LT(1, n);
	buf[n] = '\0';
	EXPECT_EQ('\n', buf[n - 1]);
	ASSERT_EQ(0, chan_info(fd, &info));
	EXPECT_EQ(CHAN_STATE_TIMER, info.state & CHAN_STATE_TIMER);
	EXPECT_EQ(-EPERM, chan_send(fd, "x", 1));
	close(fd);
}

/* Many at once, each its own channel, each gone with its fd. */
TEST_F(lt, make_many)
{
	uint64_t ids[64];
	int fds[64], i, j;

	for (i = 0; i < 64; i++) {
		struct chan_info info;

		fds[i] = chan_make(NULL, CHAN_CLOEXEC);
		ASSERT_LE(0, fds[i]);
		ASSERT_EQ(0, chan_info(fds[i], &info));
		ids[i] = info.id;
		for (j = 0; j < i; j++)
			ASSERT_NE(ids[j], ids[i]);
	}
	for (i = 0; i < 64; i++)
		close(fds[i]);
}

TEST_HARNESS_MAIN
