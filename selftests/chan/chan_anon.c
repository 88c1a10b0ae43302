// SPDX-License-Identifier: GPL-2.0
/*
 * Anonymous channels, KCHAN_IOC_MAKE (issue 14): Go's make(chan T) as an
 * fd, like pipe2() and eventfd().  The fd (O_RDWR, its flags as asked)
 * works for read/write/poll/INFO/select/batch/hold and timers, across
 * fork() and SCM_RIGHTS; the request refuses a name, a mode and unknown
 * flags; the channel is counted in its instance's limits and per user, and
 * goes with its last fd (even past the instance's unmount); it is in no
 * directory and no name reaches it; /proc shows it as anon_inode:[kchan]
 * with the fdinfo lines of a named one.
 *
 * Instances a test mounts are on mkdtemp() directories under /tmp, unmounted
 * and removed by the fixture's teardown.  Needs root.
 */
#include "chan_test.h"

#include <grp.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sched.h>

#define UID_A	2001
#define GID_A	2101

#define MNT_MAX	4

FIXTURE(anon) {
	char dir[MNT_MAX][64];
	int ndir;
	int ctl;		/* /dev/chan/.control */
};

FIXTURE_SETUP(anon)
{
	self->ndir = 0;
	self->ctl = -1;
	if (geteuid() != 0)
		SKIP(return, "needs root");
	CHAN_SKIP_IF_ABSENT();
	chan_ignore(SIGPIPE);
	self->ctl = open(KCHAN_CONTROL_PATH, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->ctl) TH_LOG("open " KCHAN_CONTROL_PATH ": %m");
}

FIXTURE_TEARDOWN(anon)
{
	int i;

	if (self->ctl >= 0)
		close(self->ctl);
	for (i = 0; i < self->ndir; i++) {
		umount2(self->dir[i], MNT_DETACH);
		rmdir(self->dir[i]);
	}
}

/* 0 or -errno of a system call's return */
#define ERR(call)	({ long __r = (long)(call); __r < 0 ? -errno : 0; })

static const char *at(char *buf, size_t len, const char *dir, const char *name)
{
	snprintf(buf, len, "%s/%s", dir, name);
	return buf;
}

#define AT(dir, name)	at((char[PATH_MAX]){ 0 }, PATH_MAX, (dir), (name))

/* A new instance on a new directory under /tmp, with opts; its mount point. */
static const char *an_mount(struct __test_metadata *_metadata,
			    FIXTURE_DATA(anon) *self, const char *opts)
{
	char *dir;

	ASSERT_GT(MNT_MAX, self->ndir);
	dir = self->dir[self->ndir];
	snprintf(dir, sizeof(self->dir[0]), "/tmp/kchananon-XXXXXX");
	ASSERT_NE(NULL, mkdtemp(dir)) TH_LOG("mkdtemp: %m");
	self->ndir++;
	ASSERT_EQ(0, mount("kchan", dir, KCHAN_FS_TYPE, 0, opts))
		TH_LOG("mount -t kchan -o %s: %m", opts ? opts : "");
	return dir;
}

static int ctl_at(const char *dir)
{
	int fd = open(AT(dir, KCHAN_CONTROL_NAME), O_RDWR | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

/* KCHAN_IOC_MAKE with req: the fd or -errno */
static int make_req(int ctl, struct kchan_create *req)
{
	int fd = ioctl(ctl, KCHAN_IOC_MAKE, req);

	return fd < 0 ? -errno : fd;
}

static int make(int ctl, __u32 capacity, __u32 msg_max, __u32 flags)
{
	struct kchan_create req;

	memset(&req, 0, sizeof(req));
	req.size = sizeof(req);
	req.capacity = capacity;
	req.msg_max = msg_max;
	req.flags = flags;
	return make_req(ctl, &req);
}

static int make_at(const char *dir, __u32 capacity, __u32 msg_max, __u32 flags)
{
	int ctl = ctl_at(dir), fd;

	if (ctl < 0)
		return ctl;
	fd = make(ctl, capacity, msg_max, flags);
	close(ctl);
	return fd;
}

/* Entries of dir but . and .. */
static int count_dir(const char *dir, char *first, size_t len)
{
	struct dirent *e;
	int n = 0;
	DIR *d = opendir(dir);

	if (first)
		first[0] = '\0';
	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (first && !n)
			snprintf(first, len, "%s", e->d_name);
		n++;
	}
	closedir(d);
	return n;
}

/* A read of up to len - 1 bytes as a string: its length or -errno. */
static ssize_t recv_str(int fd, char *buf, size_t len)
{
	ssize_t n = read(fd, buf, len - 1);

	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return n;
}

/* ----- the fd --------------------------------------------------------- */

TEST_F(anon, make_gives_rdwr_fd)
{
	struct kchan_info info;
	struct pollfd p;
	char buf[32];
	int fd;

	fd = make(self->ctl, 2, 0, 0);
	ASSERT_LE(0, fd) TH_LOG("KCHAN_IOC_MAKE: %s", strerror(-fd));
	EXPECT_EQ(O_RDWR, fcntl(fd, F_GETFL) & (O_ACCMODE | O_NONBLOCK | O_APPEND));
	EXPECT_EQ(0, fcntl(fd, F_GETFD) & FD_CLOEXEC);

	ASSERT_EQ(0, chan_info(fd, &info));
	EXPECT_EQ(0, info.state);
	EXPECT_EQ(2, info.capacity);
	EXPECT_EQ(KCHAN_MSG_MAX_DEFAULT, info.msg_max);
	EXPECT_EQ(1, info.readers);
	EXPECT_EQ(1, info.writers);
	EXPECT_NE(0, info.id);

	p.fd = fd;
	p.events = POLLIN | POLLOUT;
	EXPECT_EQ(1, poll(&p, 1, 0));
	EXPECT_EQ(POLLOUT, p.revents);
	ASSERT_EQ(2, write(fd, "hi", 2));
	ASSERT_EQ(3, write(fd, "you", 3));
	EXPECT_EQ(1, poll(&p, 1, 0));
	EXPECT_EQ(POLLIN, p.revents);	/* full */
	ASSERT_EQ(0, chan_info(fd, &info));
	EXPECT_EQ(2, info.length);
	EXPECT_EQ(2, info.sent);
	EXPECT_EQ(2, recv_str(fd, buf, sizeof(buf)));
	EXPECT_STREQ("hi", buf);
	EXPECT_EQ(3, recv_str(fd, buf, sizeof(buf)));
	EXPECT_STREQ("you", buf);
	{
		static char big[KCHAN_MSG_MAX_DEFAULT + 1];

		EXPECT_EQ(-EMSGSIZE, ERR(write(fd, big, sizeof(big))));
	}
	ASSERT_EQ(0, chan_info(fd, &info));
	EXPECT_EQ(0, info.length);
	EXPECT_EQ(2, info.received);

	/* Two makes, two channels. */
	{
		struct kchan_info other;
		int fd2 = make(self->ctl, 2, 0, 0);

		ASSERT_LE(0, fd2);
		ASSERT_EQ(0, chan_info(fd2, &other));
		EXPECT_NE(info.id, other.id);
		ASSERT_EQ(1, write(fd2, "x", 1));
		EXPECT_EQ(0, chan_len(fd));	/* not the other one's */
		close(fd2);
	}
	close(fd);
}

TEST_F(anon, make_fd_flags)
{
	char buf[16];
	int fd, fl;

	fd = make(self->ctl, 1, 0, KCHAN_MAKE_CLOEXEC);
	ASSERT_LE(0, fd);
	EXPECT_EQ(FD_CLOEXEC, fcntl(fd, F_GETFD) & FD_CLOEXEC);
	EXPECT_EQ(O_RDWR, fcntl(fd, F_GETFL) & (O_ACCMODE | O_NONBLOCK));
	close(fd);

	fd = make(self->ctl, 1, 0, KCHAN_MAKE_NONBLOCK);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, fcntl(fd, F_GETFD) & FD_CLOEXEC);
	EXPECT_EQ(O_RDWR | O_NONBLOCK, fcntl(fd, F_GETFL) & (O_ACCMODE | O_NONBLOCK));
	EXPECT_EQ(-EAGAIN, recv_str(fd, buf, sizeof(buf)));
	EXPECT_EQ(1, write(fd, "a", 1));
	EXPECT_EQ(-EAGAIN, ERR(write(fd, "b", 1)));
	close(fd);

	fd = make(self->ctl, 0, 0, KCHAN_MAKE_NONBLOCK | KCHAN_MAKE_CLOEXEC);
	ASSERT_LE(0, fd);
	EXPECT_EQ(FD_CLOEXEC, fcntl(fd, F_GETFD) & FD_CLOEXEC);
	fl = fcntl(fd, F_GETFL);
	EXPECT_EQ(O_RDWR | O_NONBLOCK, fl & (O_ACCMODE | O_NONBLOCK));
	EXPECT_EQ(-EAGAIN, ERR(write(fd, "u", 1)));	/* unbuffered, nobody reading */
	/* O_NONBLOCK is the file's, as for any fd. */
	ASSERT_EQ(0, fcntl(fd, F_SETFL, fl & ~O_NONBLOCK));
	EXPECT_EQ(O_RDWR, fcntl(fd, F_GETFL) & (O_ACCMODE | O_NONBLOCK));
	close(fd);

	/* Neither: a read blocks. */
	fd = make(self->ctl, 1, 0, 0);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, fcntl(fd, F_GETFD) & FD_CLOEXEC);
	EXPECT_EQ(O_RDWR, fcntl(fd, F_GETFL) & (O_ACCMODE | O_NONBLOCK));
	{
		struct chan_io *io;
		pid_t pid;

		io = chan_blocked_reader(_metadata, fd, 16, &pid);
		ASSERT_EQ(3, write(fd, "wkp", 3));
		ASSERT_EQ(0, chan_reap(pid));
		EXPECT_EQ(3, io->ret);
		EXPECT_EQ(0, memcmp(io->buf, "wkp", 3));
	}
	close(fd);
}

TEST_F(anon, make_cloexec_across_exec)
{
	int fds[2], i;

	fds[0] = make(self->ctl, 1, 0, KCHAN_MAKE_CLOEXEC);
	fds[1] = make(self->ctl, 1, 0, 0);
	ASSERT_LE(0, fds[0]);
	ASSERT_LE(0, fds[1]);
	for (i = 0; i < 2; i++) {
		char cmd[64];
		pid_t pid;
		int status;

		snprintf(cmd, sizeof(cmd), "test -e /proc/self/fd/%d", fds[i]);
		pid = fork();
		ASSERT_LE(0, pid);
		if (pid == 0) {
			execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
			_exit(127);
		}
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
		ASSERT_TRUE(WIFEXITED(status));
		ASSERT_NE(127, WEXITSTATUS(status)) TH_LOG("no /bin/sh");
		EXPECT_EQ(i == 0 ? 1 : 0, WEXITSTATUS(status))
			TH_LOG("fd %d (%s) after exec", fds[i], i ? "no flag" : "KCHAN_MAKE_CLOEXEC");
	}
	close(fds[0]);
	close(fds[1]);
}

TEST_F(anon, make_rejects)
{
	const char *dir = an_mount(_metadata, self, "max=1");
	unsigned long max_cap = 0;
	struct kchan_create req;
	char first[NAME_MAX + 1];
	int ctl = ctl_at(dir), fd;

	ASSERT_LE(0, ctl);
#define REQ(field, value) do { \
	memset(&req, 0, sizeof(req)); \
	req.size = sizeof(req); \
	req.field = value; \
} while (0)
	/* A name (even one byte of it, anywhere), a mode: EINVAL. */
	REQ(name[0], 'x');
	EXPECT_EQ(-EINVAL, make_req(ctl, &req));
	REQ(name[KCHAN_NAME_MAX - 1], 'x');
	EXPECT_EQ(-EINVAL, make_req(ctl, &req));
	REQ(name[1], 'x');
	EXPECT_EQ(-EINVAL, make_req(ctl, &req));
	REQ(mode, 0600);
	EXPECT_EQ(-EINVAL, make_req(ctl, &req));
	REQ(mode, 01000);
	EXPECT_EQ(-EINVAL, make_req(ctl, &req));
	/* Flags: the MAKE ones and CREATE's; nothing else. */
	REQ(flags, 0x400);
	EXPECT_EQ(-EINVAL, make_req(ctl, &req));
	REQ(flags, 0x8);
	EXPECT_EQ(-EINVAL, make_req(ctl, &req));
	REQ(flags, 0x80000000U);
	EXPECT_EQ(-EINVAL, make_req(ctl, &req));
	REQ(flags, O_CLOEXEC);
	EXPECT_EQ(-EINVAL, make_req(ctl, &req));
	REQ(flags, O_NONBLOCK);
	EXPECT_EQ(-EINVAL, make_req(ctl, &req));
	REQ(flags, KCHAN_MAKE_FLAGS | 0x1000);
	EXPECT_EQ(-EINVAL, make_req(ctl, &req));
	/* The rest as CREATE. */
	REQ(reserved[0], 1);
	EXPECT_EQ(-EINVAL, make_req(ctl, &req));
	REQ(reserved[1], 1);
	EXPECT_EQ(-EINVAL, make_req(ctl, &req));
	REQ(period_ns, 1000000);	/* a period without a timer */
	EXPECT_EQ(-EINVAL, make_req(ctl, &req));
	REQ(streams, KCHAN_STREAMS_MAX + 1);
	EXPECT_EQ(-EINVAL, make_req(ctl, &req));
	REQ(size, KCHAN_CREATE_SIZE_VER0 - 4);
	EXPECT_EQ(-EINVAL, make_req(ctl, &req));
	if (!chan_param_get("max_capacity", &max_cap) && max_cap < 0xffffffffUL) {
		REQ(capacity, (__u32)max_cap + 1);
		EXPECT_EQ(-EINVAL, make_req(ctl, &req));
	}
	/* The MAKE flags are not CREATE's. */
	EXPECT_EQ(-EINVAL, chan_create(ctl, "named", 1, 0, 0, KCHAN_MAKE_CLOEXEC));
	EXPECT_EQ(-EINVAL, chan_create(ctl, "named", 1, 0, 0, KCHAN_MAKE_NONBLOCK));
#undef REQ

	/* None of those made anything: the one place is free, no node. */
	EXPECT_EQ(1, count_dir(dir, first, sizeof(first)));
	EXPECT_STREQ(KCHAN_CONTROL_NAME, first);
	fd = make(ctl, 0, 0, 0);
	EXPECT_LE(0, fd);
	EXPECT_EQ(-ENOSPC, make(ctl, 0, 0, 0));
	if (fd >= 0)
		close(fd);
	/* Only the control node makes: not a channel fd, not another file. */
	fd = make(ctl, 1, 0, 0);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-ENOTTY, make(fd, 1, 0, 0));
	close(fd);
	{
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);

		ASSERT_LE(0, null);
		EXPECT_EQ(-ENOTTY, make(null, 1, 0, 0));
		close(null);
	}
	close(ctl);
}

/* Same struct sizes as CREATE: VER0 (no period_ns) and a larger zero-padded one. */
TEST_F(anon, make_struct_sizes)
{
	struct {
		struct kchan_create req;
		char extra[16];
	} big;
	int fd;

	memset(&big, 0, sizeof(big));
	big.req.size = KCHAN_CREATE_SIZE_VER0;
	big.req.capacity = 1;
	fd = make_req(self->ctl, &big.req);
	ASSERT_LE(0, fd);
	close(fd);
	big.req.size = sizeof(big);
	fd = make_req(self->ctl, &big.req);
	ASSERT_LE(0, fd);
	close(fd);
	big.extra[3] = 1;
	EXPECT_EQ(-E2BIG, make_req(self->ctl, &big.req));
}

/* ----- the channel, as a named one ------------------------------------ */

TEST_F(anon, unbuffered_rendezvous_across_fork)
{
	struct chan_io *io;
	char buf[16];
	pid_t pid;
	int fd = make(self->ctl, 0, 0, 0);

	ASSERT_LE(0, fd);
	/* The child's write waits for our read... */
	io = chan_blocked_writer(_metadata, fd, "ping", &pid);
	EXPECT_EQ(4, recv_str(fd, buf, sizeof(buf)));
	EXPECT_STREQ("ping", buf);
	ASSERT_EQ(0, chan_reap(pid));
	EXPECT_EQ(4, io->ret);
	/* ...and the child's read for our write. */
	io = chan_blocked_reader(_metadata, fd, 16, &pid);
	EXPECT_EQ(4, write(fd, "pong", 4));
	ASSERT_EQ(0, chan_reap(pid));
	EXPECT_EQ(4, io->ret);
	EXPECT_EQ(0, memcmp(io->buf, "pong", 4));
	EXPECT_EQ(0, chan_len(fd));
	close(fd);
}

TEST_F(anon, buffered_across_fork)
{
	struct kchan_info info;
	char buf[16];
	pid_t pid;
	int fd = make(self->ctl, 3, 0, KCHAN_MAKE_NONBLOCK);
	int status;

	ASSERT_LE(0, fd);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int ok = write(fd, "c1", 2) == 2 && write(fd, "c2", 2) == 2;

		_exit(ok ? 0 : 1);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_EQ(0, status);
	/* The child's exit closed its copy of the fd, not the channel. */
	ASSERT_EQ(0, chan_info(fd, &info));
	EXPECT_EQ(2, info.length);
	EXPECT_EQ(1, info.readers);
	EXPECT_EQ(1, info.writers);
	EXPECT_EQ(2, recv_str(fd, buf, sizeof(buf)));
	EXPECT_STREQ("c1", buf);
	EXPECT_EQ(2, recv_str(fd, buf, sizeof(buf)));
	EXPECT_STREQ("c2", buf);
	close(fd);
}

static int send_fd(int sock, int fd)
{
	char data = 'f', cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = &data, .iov_len = 1 };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *c;

	memset(cbuf, 0, sizeof(cbuf));
	c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	return sendmsg(sock, &mh, 0) == 1 ? 0 : -errno;
}

static int recv_fd(int sock)
{
	char data, cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = &data, .iov_len = 1 };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *c;
	int fd;

	if (recvmsg(sock, &mh, MSG_CMSG_CLOEXEC) != 1)
		return -errno;
	c = CMSG_FIRSTHDR(&mh);
	if (!c || c->cmsg_type != SCM_RIGHTS)
		return -EBADMSG;
	memcpy(&fd, CMSG_DATA(c), sizeof(int));
	return fd;
}

TEST_F(anon, scm_rights)
{
	struct kchan_info info, again;
	int sv[2], fd, back, status;
	char buf[16];
	pid_t pid;

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	fd = make(self->ctl, 2, 0, KCHAN_MAKE_NONBLOCK);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, chan_info(fd, &info));
	ASSERT_EQ(4, write(fd, "to-k", 4));

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		/* No fd of it but the one that comes over the socket. */
		int got, ok;
		char m[16] = { 0 };

		alarm(CHAN_CHILD_GUARD);
		close(fd);
		close(sv[0]);
		got = recv_fd(sv[1]);
		if (got < 0)
			_exit(2);
		ok = read(got, m, sizeof(m)) == 4 && !memcmp(m, "to-k", 4) &&
		     write(got, "to-p", 4) == 4;
		if (!ok)
			_exit(3);
		if (send_fd(sv[1], got))
			_exit(4);
		close(got);
		_exit(0);
	}
	close(sv[1]);
	/* In flight, the channel lives without any fd of ours. */
	ASSERT_EQ(0, send_fd(sv[0], fd));
	close(fd);
	back = recv_fd(sv[0]);
	ASSERT_LE(0, back);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	ASSERT_EQ(0, chan_info(back, &again));
	EXPECT_EQ(info.id, again.id);
	EXPECT_EQ(1, again.length);
	EXPECT_EQ(2, again.sent);
	EXPECT_EQ(1, again.received);
	EXPECT_EQ(4, recv_str(back, buf, sizeof(buf)));
	EXPECT_STREQ("to-p", buf);
	/* The same open file: its O_NONBLOCK came along. */
	EXPECT_EQ(-EAGAIN, recv_str(back, buf, sizeof(buf)));
	close(back);
	close(sv[0]);
}

TEST_F(anon, select_batch_hold)
{
	struct kchan_select_case cases[3];
	struct kchan_msgvec v[4];
	struct kchan_batch b;
	struct kchan_select s;
	struct kchan_hold h;
	char bufs[4][16], rbuf[16], sbuf[16] = "sel";
	int a, c, named_ok, i;
	char name[KCHAN_NAME_MAX];
	int named;

	a = make(self->ctl, 4, 16, KCHAN_MAKE_NONBLOCK);
	c = make(self->ctl, 1, 16, KCHAN_MAKE_NONBLOCK);
	ASSERT_LE(0, a);
	ASSERT_LE(0, c);

	/* Batch: three in, two out. */
	for (i = 0; i < 3; i++) {
		snprintf(bufs[i], sizeof(bufs[i]), "b%d", i);
		v[i].buf = (__u64)(uintptr_t)bufs[i];
		v[i].len = 2;
		v[i].flags = 0;
	}
	memset(&b, 0, sizeof(b));
	b.size = sizeof(b);
	b.msgs = (__u64)(uintptr_t)v;
	b.count = 3;
	EXPECT_EQ(3, ioctl(a, KCHAN_IOC_SEND_BATCH, &b));
	EXPECT_EQ(3, chan_len(a));
	memset(bufs, 0, sizeof(bufs));
	for (i = 0; i < 2; i++) {
		v[i].buf = (__u64)(uintptr_t)bufs[i];
		v[i].len = sizeof(bufs[i]);
	}
	b.count = 2;
	EXPECT_EQ(2, ioctl(a, KCHAN_IOC_RECV_BATCH, &b));
	EXPECT_STREQ("b0", bufs[0]);
	EXPECT_STREQ("b1", bufs[1]);
	EXPECT_EQ(2, v[0].len);

	/* Hold, return, hold, ack. */
	memset(rbuf, 0, sizeof(rbuf));
	EXPECT_EQ(2, chan_hold_into(a, rbuf, sizeof(rbuf), &h));
	EXPECT_STREQ("b2", rbuf);
	EXPECT_EQ(3, h.seq);
	EXPECT_EQ(1, chan_ack_ret(a, KCHAN_IOC_RETURN, 0));
	EXPECT_EQ(2, chan_hold_into(a, rbuf, sizeof(rbuf), &h));
	EXPECT_EQ(2, h.deliveries);
	EXPECT_EQ(1, chan_ack_ret(a, KCHAN_IOC_ACK, h.id));
	EXPECT_EQ(0, chan_len(a));

	/* Select: nothing ready at once, then one of two anonymous and a named one. */
	chan_make_name(name);
	ASSERT_EQ(0, chan_create(self->ctl, name, 1, 16, 0, 0));
	named = chan_open(name, O_RDWR | O_NONBLOCK);
	named_ok = named >= 0;
	ASSERT_TRUE(named_ok);
	chan_case(&cases[0], a, KCHAN_SELECT_RECV, rbuf, sizeof(rbuf));
	chan_case(&cases[1], c, KCHAN_SELECT_RECV, rbuf, sizeof(rbuf));
	chan_case(&cases[2], named, KCHAN_SELECT_RECV, rbuf, sizeof(rbuf));
	EXPECT_EQ(-EAGAIN, chan_select(self->ctl, cases, 3, 0, &s));
	ASSERT_EQ(1, write(c, "c", 1));
	memset(rbuf, 0, sizeof(rbuf));
	EXPECT_EQ(0, chan_select(a, cases, 3, 0, &s));	/* through a channel fd */
	EXPECT_EQ(1, s.index);
	EXPECT_EQ(1, s.result_len);
	EXPECT_STREQ("c", rbuf);
	ASSERT_EQ(1, write(named, "n", 1));
	EXPECT_EQ(0, chan_select(self->ctl, cases, 3, 0, &s));
	EXPECT_EQ(2, s.index);
	/* A send case into an anonymous one. */
	chan_case(&cases[0], c, KCHAN_SELECT_SEND, sbuf, 3);
	EXPECT_EQ(0, chan_select(c, cases, 1, 0, &s));
	EXPECT_EQ(0, s.index);
	memset(rbuf, 0, sizeof(rbuf));
	EXPECT_EQ(3, recv_str(c, rbuf, sizeof(rbuf)));
	EXPECT_STREQ("sel", rbuf);

	chan_destroy(self->ctl, name);
	close(named);
	close(a);
	close(c);
}

TEST_F(anon, timer)
{
	struct kchan_create req;
	struct kchan_info info;
	char buf[64];
	int fd;

	memset(&req, 0, sizeof(req));
	req.size = sizeof(req);
	req.flags = KCHAN_CREATE_AFTER;
	req.period_ns = 1000000;
	fd = make_req(self->ctl, &req);
	ASSERT_LE(0, fd) TH_LOG("make an AFTER timer: %s", strerror(-fd));
	ASSERT_EQ(0, chan_info(fd, &info));
	EXPECT_TRUE(info.state & KCHAN_STATE_TIMER);
	EXPECT_EQ(KCHAN_TIMER_MSG_MAX, info.msg_max);
	EXPECT_EQ(-EPERM, ERR(write(fd, "x", 1)));
	memset(buf, 0, sizeof(buf));
	ASSERT_LT(1, recv_str(fd, buf, sizeof(buf)));	/* blocks until it fires */
	EXPECT_EQ('\n', buf[strlen(buf) - 1]);
	EXPECT_LT(0, strtoull(buf, NULL, 10));
	close(fd);

	/* A ticker freed while ticking (its last fd goes, no destroy). */
	memset(&req, 0, sizeof(req));
	req.size = sizeof(req);
	req.flags = KCHAN_CREATE_TICK | KCHAN_MAKE_NONBLOCK;
	req.period_ns = 200000;
	fd = make_req(self->ctl, &req);
	ASSERT_LE(0, fd);
	usleep(5000);
	close(fd);
}

TEST_F(anon, close_ioctl_drains_then_eof)
{
	struct chan_io *io;
	struct kchan_info info;
	char buf[16];
	pid_t pid;
	int fd = make(self->ctl, 4, 0, KCHAN_MAKE_NONBLOCK), u;

	ASSERT_LE(0, fd);
	ASSERT_EQ(2, write(fd, "m1", 2));
	ASSERT_EQ(2, write(fd, "m2", 2));
	ASSERT_EQ(0, ioctl(fd, KCHAN_IOC_CLOSE));
	EXPECT_EQ(-EPIPE, chan_ioctl(fd, KCHAN_IOC_CLOSE, NULL));
	EXPECT_EQ(-EPIPE, ERR(write(fd, "m3", 2)));
	ASSERT_EQ(0, chan_info(fd, &info));
	EXPECT_EQ(KCHAN_STATE_CLOSED, info.state);
	EXPECT_EQ(2, info.length);
	EXPECT_EQ(2, recv_str(fd, buf, sizeof(buf)));
	EXPECT_STREQ("m1", buf);
	EXPECT_EQ(2, recv_str(fd, buf, sizeof(buf)));
	EXPECT_STREQ("m2", buf);
	EXPECT_EQ(0, recv_str(fd, buf, sizeof(buf)));
	EXPECT_EQ(0, recv_str(fd, buf, sizeof(buf)));
	close(fd);

	/* A reader blocked on an unbuffered one: EOF at the close. */
	u = make(self->ctl, 0, 0, 0);
	ASSERT_LE(0, u);
	io = chan_blocked_reader(_metadata, u, 16, &pid);
	ASSERT_EQ(0, ioctl(u, KCHAN_IOC_CLOSE));
	ASSERT_EQ(0, chan_reap(pid));
	EXPECT_EQ(0, io->ret);
	close(u);
}

/* ----- limits and the end of the channel ------------------------------ */

TEST_F(anon, limit_max_and_last_close)
{
	const char *dir = an_mount(_metadata, self, "max=3");
	int ctl = ctl_at(dir), fd[3], dupfd, sv[2], i, status;
	pid_t pid;

	ASSERT_LE(0, ctl);
	for (i = 0; i < 3; i++) {
		fd[i] = make(ctl, 1, 0, 0);
		ASSERT_LE(0, fd[i]) TH_LOG("make %d: %s", i, strerror(-fd[i]));
	}
	EXPECT_EQ(-ENOSPC, make(ctl, 1, 0, 0));
	EXPECT_EQ(-ENOSPC, chan_create(ctl, "named", 1, 0, 0, 0));
	/* The /dev/chan instance counts its own. */
	i = make(self->ctl, 1, 0, 0);
	EXPECT_LE(0, i);
	if (i >= 0)
		close(i);

	/* One closed: one more. */
	close(fd[0]);
	fd[0] = make(ctl, 1, 0, 0);
	ASSERT_LE(0, fd[0]);
	EXPECT_EQ(-ENOSPC, make(ctl, 1, 0, 0));

	/* A dup keeps it. */
	dupfd = dup(fd[1]);
	ASSERT_LE(0, dupfd);
	close(fd[1]);
	EXPECT_EQ(-ENOSPC, make(ctl, 1, 0, 0));
	close(dupfd);
	fd[1] = make(ctl, 1, 0, 0);
	ASSERT_LE(0, fd[1]);

	/* A child's inherited copy keeps it until the child exits. */
	ASSERT_EQ(0, pipe(sv));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		char c;

		close(sv[1]);
		alarm(CHAN_CHILD_GUARD);
		_exit(read(sv[0], &c, 1) == 1 ? 0 : 1);	/* until told */
	}
	close(sv[0]);
	close(fd[2]);
	EXPECT_EQ(-ENOSPC, make(ctl, 1, 0, 0));
	ASSERT_EQ(1, write(sv[1], "x", 1));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	close(sv[1]);
	fd[2] = make(ctl, 1, 0, 0);
	ASSERT_LE(0, fd[2]);

	/* One in flight over a socket keeps it; the socket's end frees it. */
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	ASSERT_EQ(0, send_fd(sv[0], fd[2]));
	close(fd[2]);
	EXPECT_EQ(-ENOSPC, make(ctl, 1, 0, 0));
	close(sv[0]);
	close(sv[1]);
	fd[2] = make(ctl, 1, 0, 0);
	EXPECT_LE(0, fd[2]);

	for (i = 0; i < 3; i++)
		if (fd[i] >= 0)
			close(fd[i]);
	/* All gone: three again. */
	for (i = 0; i < 3; i++) {
		fd[i] = make(ctl, 1, 0, 0);
		EXPECT_LE(0, fd[i]);
	}
	for (i = 0; i < 3; i++)
		if (fd[i] >= 0)
			close(fd[i]);
	close(ctl);
}

static void kid_make_n(int *res, int n, const char *dir)
{
	int fds[8], i;

	for (i = 0; i < n && i < 8; i++) {
		fds[i] = make_at(dir, 1, 100, 0);
		res[i] = fds[i] < 0 ? fds[i] : 0;
	}
}

/* Run kid_make_n(n) as user A in a child; its results in res (shared). */
static int as_user_make(int *res, int n, const char *dir)
{
	pid_t pid = fork();
	int status;

	if (pid < 0)
		return -1;
	if (pid == 0) {
		alarm(CHAN_CHILD_GUARD);
		if (setgroups(0, NULL) || setresgid(GID_A, GID_A, GID_A) ||
		    setresuid(UID_A, UID_A, UID_A))
			_exit(100);
		kid_make_n(res, n, dir);
		_exit(0);	/* and its fds with it */
	}
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

TEST_F(anon, limit_per_user)
{
	const char *dir = an_mount(_metadata, self, "max_user=2,max_user_bytes=1000");
	int *res = mmap(NULL, 8 * sizeof(int), PROT_READ | PROT_WRITE,
			MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	int ctl = ctl_at(dir), a, b;

	ASSERT_NE(MAP_FAILED, res);
	ASSERT_LE(0, ctl);
	/* Named and anonymous count alike, against their maker. */
	a = make(ctl, 1, 100, 0);
	ASSERT_LE(0, a);
	ASSERT_EQ(0, chan_create(ctl, "named", 1, 100, 0, 0));
	EXPECT_EQ(-EDQUOT, make(ctl, 1, 100, 0));
	EXPECT_EQ(-EDQUOT, chan_create(ctl, "named2", 1, 100, 0, 0));

	/* Another user has its own two, and gets them back when its fds go. */
	memset(res, 0x55, 8 * sizeof(int));
	ASSERT_EQ(0, as_user_make(res, 3, dir));
	EXPECT_EQ(0, res[0]);
	EXPECT_EQ(0, res[1]);
	EXPECT_EQ(-EDQUOT, res[2]);
	memset(res, 0x55, 8 * sizeof(int));
	ASSERT_EQ(0, as_user_make(res, 2, dir));
	EXPECT_EQ(0, res[0]);
	EXPECT_EQ(0, res[1]);

	/* Bytes: max(capacity, 1) * msg_max. */
	close(a);
	EXPECT_EQ(-EDQUOT, make(ctl, 10, 91, 0));	/* 100 + 910 > 1000 */
	b = make(ctl, 9, 100, 0);			/* 100 + 900 */
	EXPECT_LE(0, b);
	if (b >= 0)
		close(b);
	b = make(ctl, 0, 900, 0);			/* 100 + max(0,1) * 900 */
	EXPECT_LE(0, b);
	if (b >= 0)
		close(b);
	EXPECT_EQ(-EDQUOT, make(ctl, 0, 901, 0));
	EXPECT_EQ(0, chan_destroy(ctl, "named"));
	close(ctl);
}

/* Made through an instance that is then unmounted: works until closed. */
TEST_F(anon, outlives_umount)
{
	const char *dir = an_mount(_metadata, self, "max=1");
	struct kchan_info info;
	char buf[16], first[NAME_MAX + 1];
	int fd = make_at(dir, 2, 0, KCHAN_MAKE_NONBLOCK);

	ASSERT_LE(0, fd);
	ASSERT_EQ(3, write(fd, "pre", 3));
	/* No fd of the instance itself is open: a plain umount succeeds. */
	ASSERT_EQ(0, umount2(dir, 0)) TH_LOG("umount %s: %m", dir);
	EXPECT_EQ(0, count_dir(dir, first, sizeof(first)));
	ASSERT_EQ(4, write(fd, "post", 4));
	EXPECT_EQ(3, recv_str(fd, buf, sizeof(buf)));
	EXPECT_STREQ("pre", buf);
	EXPECT_EQ(4, recv_str(fd, buf, sizeof(buf)));
	EXPECT_STREQ("post", buf);
	ASSERT_EQ(0, chan_info(fd, &info));
	EXPECT_EQ(0, info.state);
	EXPECT_EQ(2, info.sent);
	close(fd);
	/* A new instance there starts empty. */
	ASSERT_EQ(0, mount("kchan", dir, KCHAN_FS_TYPE, 0, "max=1"));
	fd = make_at(dir, 2, 0, 0);
	EXPECT_LE(0, fd);
	if (fd >= 0)
		close(fd);
}

/*
 * Made in a user namespace's own instance, passed to the host, and used
 * there after the namespace (its mount namespace, so its instance) is gone.
 */
TEST_F_TIMEOUT(anon, from_userns_instance, 120)
{
	int sv[2], go[2], ready[2], *res, fd, status;
	char dir[64], map[64], path[PATH_MAX], buf[16], c;
	struct kchan_info info;
	pid_t pid;

	if (access("/proc/self/ns/user", F_OK))
		SKIP(return, "no user namespaces in this kernel");
	res = mmap(NULL, 4 * sizeof(int), PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, res);
	res[0] = res[1] = res[2] = res[3] = -100000;
	ASSERT_LT(self->ndir, MNT_MAX);
	snprintf(dir, sizeof(dir), "/tmp/kchananon-XXXXXX");
	ASSERT_NE(NULL, mkdtemp(dir));
	snprintf(self->dir[self->ndir++], sizeof(self->dir[0]), "%s", dir);
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	ASSERT_EQ(0, pipe(go));
	ASSERT_EQ(0, pipe(ready));

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int a, b;

		alarm(CHAN_CHILD_GUARD);
		close(go[1]);
		close(ready[0]);
		res[0] = unshare(CLONE_NEWUSER | CLONE_NEWNS) ? -errno : 0;
		if (write(ready[1], "r", 1) != 1 || res[0])
			_exit(0);
		if (read(go[0], &c, 1) != 1 ||
		    setgroups(0, NULL) || setresgid(0, 0, 0) || setresuid(0, 0, 0))
			_exit(1);
		res[1] = mount("kchan", dir, KCHAN_FS_TYPE, 0, "max=1") ? -errno : 0;
		if (res[1])
			_exit(0);
		a = make_at(dir, 2, 0, KCHAN_MAKE_NONBLOCK);
		res[2] = a < 0 ? a : 0;
		b = make_at(dir, 2, 0, 0);
		res[3] = b < 0 ? b : 0;
		if (a < 0 || write(a, "ns", 2) != 2 || send_fd(sv[1], a))
			_exit(2);
		_exit(0);	/* the namespaces and the instance's mount go */
	}
	close(go[0]);
	close(ready[1]);
	ASSERT_EQ(1, read(ready[0], &c, 1));
	if (res[0]) {
		waitpid(pid, &status, 0);
		if (res[0] == -EINVAL || res[0] == -EPERM || res[0] == -ENOSPC || res[0] == -ENOSYS)
			SKIP(return, "unshare(CLONE_NEWUSER | CLONE_NEWNS): %s", strerror(-res[0]));
		ASSERT_EQ(0, res[0]);
	}
	snprintf(map, sizeof(map), "0 %d %d\n", 200000, 65536);
	snprintf(path, sizeof(path), "/proc/%d/uid_map", (int)pid);
	ASSERT_LT(0, chan_write_file(path, map));
	snprintf(path, sizeof(path), "/proc/%d/gid_map", (int)pid);
	ASSERT_LT(0, chan_write_file(path, map));
	ASSERT_EQ(1, write(go[1], "g", 1));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	ASSERT_EQ(0, res[1]) TH_LOG("mount in the user namespace: %s", strerror(-res[1]));
	ASSERT_EQ(0, res[2]) TH_LOG("make in the user namespace: %s", strerror(-res[2]));
	EXPECT_EQ(-ENOSPC, res[3]);
	fd = recv_fd(sv[0]);
	ASSERT_LE(0, fd);
	close(sv[0]);
	close(sv[1]);
	EXPECT_EQ(0, count_dir(dir, NULL, 0));	/* never mounted here */
	EXPECT_EQ(2, recv_str(fd, buf, sizeof(buf)));
	EXPECT_STREQ("ns", buf);
	EXPECT_EQ(4, write(fd, "host", 4));
	EXPECT_EQ(4, recv_str(fd, buf, sizeof(buf)));
	ASSERT_EQ(0, chan_info(fd, &info));
	EXPECT_EQ(0, info.state);
	EXPECT_EQ(2, info.sent);
	close(fd);
}

/* ----- no name, no node ------------------------------------------------ */

TEST_F(anon, proc_fd_link)
{
	char path[64], link[128];
	ssize_t n;
	int fd = make(self->ctl, 1, 0, 0);

	ASSERT_LE(0, fd);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, link, sizeof(link) - 1);
	ASSERT_LT(0, n);
	link[n] = '\0';
	EXPECT_STREQ("anon_inode:[kchan]", link);
	close(fd);
}

TEST_F(anon, fdinfo_keys)
{
	static const char *const keys[] = {
		"pos", "flags", "mnt_id", "ino",
		"kchan-id", "capacity", "length", "msg_max", "readers", "writers",
		"sent", "received", "dropped", "held", "closed", "destroyed",
	};
	char want[16][64], hb[8];
	struct kchan_info info;
	struct kchan_hold h;
	struct kv kv[KV_MAX];
	struct stat st;
	int fd = make(self->ctl, 3, 50, KCHAN_MAKE_NONBLOCK | KCHAN_MAKE_CLOEXEC);
	int n, i;

	ASSERT_LE(0, fd);
	ASSERT_EQ(1, write(fd, "1", 1));
	ASSERT_EQ(1, write(fd, "2", 1));
	ASSERT_EQ(1, write(fd, "3", 1));
	ASSERT_EQ(1, read(fd, hb, sizeof(hb)));
	ASSERT_EQ(1, chan_hold_into(fd, hb, sizeof(hb), &h));
	ASSERT_EQ(0, chan_info(fd, &info));
	ASSERT_EQ(0, fstat(fd, &st));
	n = fdinfo_read(fd, kv, KV_MAX);
	ASSERT_EQ(16, n);
	for (i = 0; i < n; i++)
		EXPECT_STREQ(keys[i], kv[i].key);
	snprintf(want[0], 64, "0");
	/* the VFS prints "0%o"; an anon_inode file has no O_LARGEFILE */
	snprintf(want[1], 64, "0%o", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	snprintf(want[3], 64, "%llu", (unsigned long long)st.st_ino);
	snprintf(want[4], 64, "%016llx", (unsigned long long)info.id);
	snprintf(want[5], 64, "3");
	snprintf(want[6], 64, "1");
	snprintf(want[7], 64, "50");
	snprintf(want[8], 64, "1");
	snprintf(want[9], 64, "1");
	snprintf(want[10], 64, "3");
	snprintf(want[11], 64, "%llu", (unsigned long long)info.received);
	snprintf(want[12], 64, "0");
	snprintf(want[13], 64, "1");
	snprintf(want[14], 64, "0");
	snprintf(want[15], 64, "0");
	for (i = 0; i < n; i++) {
		if (i == 2)
			continue;	/* mnt_id: the anon inode mount's */
		EXPECT_STREQ(want[i], kv[i].val) TH_LOG("fdinfo %s", keys[i]);
	}
	ASSERT_EQ(0, ioctl(fd, KCHAN_IOC_CLOSE));
	n = fdinfo_read(fd, kv, KV_MAX);
	ASSERT_EQ(16, n);
	EXPECT_STREQ("closed", kv[14].key);
	EXPECT_STREQ("1", kv[14].val);
	EXPECT_STREQ("0", kv[15].val);	/* an anonymous one is never destroyed */
	close(fd);
}

TEST_F(anon, not_in_any_directory)
{
	const char *dir = an_mount(_metadata, self, NULL);
	int fds[3], i, before, after;
	char first[NAME_MAX + 1];

	before = count_dir(KCHAN_DEV_DIR, NULL, 0);
	ASSERT_LE(1, before);
	for (i = 0; i < 3; i++) {
		fds[i] = make_at(dir, 1, 0, 0);
		ASSERT_LE(0, fds[i]);
	}
	i = make(self->ctl, 1, 0, 0);
	ASSERT_LE(0, i);
	EXPECT_EQ(1, count_dir(dir, first, sizeof(first)));
	EXPECT_STREQ(KCHAN_CONTROL_NAME, first);
	after = count_dir(KCHAN_DEV_DIR, NULL, 0);
	EXPECT_EQ(before, after);
	close(i);
	for (i = 0; i < 3; i++)
		close(fds[i]);
}

TEST_F(anon, no_name_reaches_it)
{
	const char *dir = an_mount(_metadata, self, NULL);
	static const char *const names[] = { "kchan", "anon", "0", "1", "2", "3" };
	struct kchan_info info;
	char fdname[KCHAN_NAME_MAX];
	int ctl = ctl_at(dir), fd, i;

	ASSERT_LE(0, ctl);
	fd = make(ctl, 1, 0, 0);
	ASSERT_LE(0, fd);
	for (i = 0; i < (int)(sizeof(names) / sizeof(names[0])); i++) {
		EXPECT_EQ(-ENOENT, chan_destroy(ctl, names[i]));
		EXPECT_EQ(-ENOENT, chan_close_name(ctl, names[i]));
	}
	snprintf(fdname, sizeof(fdname), "%d", fd);
	EXPECT_EQ(-ENOENT, chan_destroy(ctl, fdname));
	EXPECT_EQ(-EINVAL, chan_destroy(ctl, "[kchan]"));
	EXPECT_EQ(-EINVAL, chan_destroy(ctl, ""));
	EXPECT_EQ(-EINVAL, chan_close_name(ctl, ""));
	EXPECT_EQ(-ENOENT, chan_destroy(self->ctl, fdname));
	ASSERT_EQ(0, chan_info(fd, &info));
	EXPECT_EQ(0, info.state);
	EXPECT_EQ(1, write(fd, "x", 1));
	close(fd);
	close(ctl);
}

TEST_HARNESS_MAIN
