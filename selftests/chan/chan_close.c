// SPDX-License-Identifier: GPL-2.0
/*
 * Go's close(ch): KCHAN_IOC_CLOSE on a writable fd, KCHAN_IOC_CLOSE_NAME on
 * the control node, and autoclose.  Readers drain then see EOF; writers
 * (blocked or later) get EPIPE and SIGPIPE; a second close is EPIPE.
 */
#include "chan_test.h"

#define MAX	64
#define CAP	4

FIXTURE(closing) {
	struct chan_env env;
};

FIXTURE_VARIANT(closing) {
	__u32 capacity;
};

FIXTURE_VARIANT_ADD(closing, buffered) { .capacity = CAP };
FIXTURE_VARIANT_ADD(closing, unbuffered) { .capacity = 0 };

FIXTURE_SETUP(closing)
{
	chan_env_setup(&self->env, variant->capacity, MAX, 0);
}

FIXTURE_TEARDOWN(closing)
{
	chan_env_teardown(&self->env);
}

static int close_fd(int fd)
{
	return chan_ioctl(fd, KCHAN_IOC_CLOSE, NULL);
}

/* In a helper: write once with SIGPIPE at its default action. */
static void write_with_default_sigpipe(int fd)
{
	signal(SIGPIPE, SIG_DFL);
	if (write(fd, "x", 1) == -1 && errno == EPIPE)
		_exit(2);	/* EPIPE, but no SIGPIPE killed us */
	_exit(1);
}

TEST_F(closing, read_after_close_returns_eof)
{
	struct kchan_info info;
	char b[MAX];

	ASSERT_EQ(0, close_fd(self->env.fd));
	EXPECT_EQ(0, read(self->env.fd, b, sizeof(b)));
	EXPECT_EQ(0, read(self->env.fd, b, sizeof(b)));
	/* EOF, not EAGAIN, without blocking too; any buffer size. */
	EXPECT_EQ(0, read(self->env.nb, b, sizeof(b)));
	EXPECT_EQ(0, read(self->env.nb, b, 0));
	ASSERT_EQ(0, chan_info(self->env.fd, &info));
	EXPECT_EQ(KCHAN_STATE_CLOSED, info.state);
	EXPECT_EQ(0, info.received);
}

TEST_F(closing, write_after_close_epipe_sends_nothing)
{
	struct kchan_info info;
	char b[MAX];

	ASSERT_EQ(0, close_fd(self->env.fd));
	EXPECT_EQ(-1, write(self->env.fd, "x", 1));
	EXPECT_EQ(EPIPE, errno);
	EXPECT_EQ(-1, write(self->env.nb, "x", 1));
	EXPECT_EQ(EPIPE, errno);
	ASSERT_EQ(0, chan_info(self->env.fd, &info));
	EXPECT_EQ(0, info.length);
	EXPECT_EQ(0, info.sent);
	EXPECT_EQ(0, read(self->env.nb, b, sizeof(b)));
}

TEST_F_TIMEOUT(closing, write_after_close_raises_sigpipe, CHAN_TIMEOUT)
{
	int status;
	pid_t pid;

	ASSERT_EQ(0, close_fd(self->env.fd));
	/* Default action: the writer dies of SIGPIPE. */
	pid = chan_fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		write_with_default_sigpipe(self->env.nb);
	status = chan_reap(pid);
	EXPECT_TRUE(WIFSIGNALED(status)) TH_LOG("wait status %#x", status);
	EXPECT_EQ(SIGPIPE, WTERMSIG(status));

	/* Blocked: the write fails with EPIPE and SIGPIPE stays pending. */
	pid = chan_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		sigset_t set;

		signal(SIGPIPE, SIG_DFL);
		sigemptyset(&set);
		sigaddset(&set, SIGPIPE);
		sigprocmask(SIG_BLOCK, &set, NULL);
		if (write(self->env.fd, "x", 1) != -1 || errno != EPIPE)
			_exit(1);
		sigemptyset(&set);
		sigpending(&set);
		_exit(sigismember(&set, SIGPIPE) ? 0 : 2);
	}
	EXPECT_EQ(0, chan_reap(pid));
}

TEST_F(closing, second_close_epipe_changes_nothing)
{
	struct kchan_info before, after;

	if (variant->capacity)
		ASSERT_EQ(2, chan_fill(self->env.nb, "m", 2));
	ASSERT_EQ(0, close_fd(self->env.fd));
	ASSERT_EQ(0, chan_info(self->env.fd, &before));
	EXPECT_EQ(-EPIPE, close_fd(self->env.fd));
	EXPECT_EQ(-EPIPE, close_fd(self->env.nb));
	EXPECT_EQ(-EPIPE, chan_close_name(self->env.ctl, self->env.name));
	ASSERT_EQ(0, chan_info(self->env.fd, &after));
	EXPECT_EQ(KCHAN_STATE_CLOSED, after.state);
	EXPECT_EQ(0, memcmp(&before, &after, sizeof(before)));
}

TEST_F(closing, second_close_by_name_epipe)
{
	ASSERT_EQ(0, chan_close_name(self->env.ctl, self->env.name));
	EXPECT_EQ(-EPIPE, chan_close_name(self->env.ctl, self->env.name));
	EXPECT_EQ(-EPIPE, close_fd(self->env.fd));
}

TEST_F(closing, close_needs_fd_open_for_writing)
{
	struct kchan_info info;
	int r, w;

	r = chan_open(self->env.name, O_RDONLY);
	ASSERT_LE(0, r);
	EXPECT_EQ(-EBADF, close_fd(r));
	ASSERT_EQ(0, chan_info(r, &info));
	EXPECT_EQ(0, info.state);

	w = chan_open(self->env.name, O_WRONLY);
	ASSERT_LE(0, w);
	EXPECT_EQ(0, close_fd(w));
	ASSERT_EQ(0, chan_info(r, &info));
	EXPECT_EQ(KCHAN_STATE_CLOSED, info.state);
	/* Once closed, a read-only fd is still EBADF: the fd check comes first. */
	EXPECT_EQ(-EBADF, close_fd(r));
	close(r);
	close(w);
}

TEST_F(closing, close_by_name)
{
	struct kchan_info info;
	char s[16];

	ASSERT_EQ(0, chan_close_name(self->env.ctl, self->env.name));
	ASSERT_EQ(0, chan_info(self->env.fd, &info));
	EXPECT_EQ(KCHAN_STATE_CLOSED, info.state);
	EXPECT_STREQ("1\n", chan_attr(self->env.name, "closed", s, sizeof(s)));
	EXPECT_EQ(0, read(self->env.nb, s, sizeof(s)));
	EXPECT_EQ(-1, write(self->env.nb, "x", 1));
	EXPECT_EQ(EPIPE, errno);
}

TEST_F_TIMEOUT(closing, blocked_readers_all_get_eof, CHAN_TIMEOUT)
{
	struct chan_io *io[3];
	pid_t pid[3];
	int i;

	for (i = 0; i < 3; i++)
		io[i] = chan_blocked_reader(_metadata, self->env.fd, MAX, &pid[i]);
	ASSERT_EQ(0, close_fd(self->env.fd));
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, chan_reap(pid[i]));
		EXPECT_EQ(0, io[i]->ret) TH_LOG("reader %d: errno %d", i, io[i]->err);
	}
}

TEST_F_TIMEOUT(closing, blocked_reader_gets_eof_on_close_by_name, CHAN_TIMEOUT)
{
	struct chan_io *io;
	pid_t pid;

	io = chan_blocked_reader(_metadata, self->env.fd, MAX, &pid);
	ASSERT_EQ(0, chan_close_name(self->env.ctl, self->env.name));
	ASSERT_EQ(0, chan_reap(pid));
	EXPECT_EQ(0, io->ret);
}

/* Buffered: fill first so the writer blocks; unbuffered: it blocks anyway. */
static int make_writer_block(int nb, __u32 capacity)
{
	return chan_fill(nb, "m", capacity) == (int)capacity ? 0 : -1;
}

TEST_F_TIMEOUT(closing, blocked_writer_gets_epipe_and_delivers_nothing, CHAN_TIMEOUT)
{
	struct kchan_info info;
	struct chan_io *io;
	char b[MAX];
	pid_t pid;
	__u32 i;

	ASSERT_EQ(0, make_writer_block(self->env.nb, variant->capacity));
	io = chan_blocked_writer(_metadata, self->env.fd, "lost", &pid);
	ASSERT_EQ(0, close_fd(self->env.fd));
	ASSERT_EQ(0, chan_reap(pid));
	EXPECT_EQ(-1, io->ret);
	EXPECT_EQ(EPIPE, io->err);

	/* Readers get what was buffered before the close, never "lost". */
	for (i = 0; i < variant->capacity; i++) {
		ASSERT_EQ(2, read(self->env.nb, b, sizeof(b)));
		EXPECT_EQ('m', b[0]);
	}
	EXPECT_EQ(0, read(self->env.nb, b, sizeof(b)));
	ASSERT_EQ(0, chan_info(self->env.fd, &info));
	EXPECT_EQ(variant->capacity, info.sent);
	EXPECT_EQ(variant->capacity, info.received);
}

TEST_F_TIMEOUT(closing, blocked_writer_gets_sigpipe, CHAN_TIMEOUT)
{
	int status;
	pid_t pid;

	ASSERT_EQ(0, make_writer_block(self->env.nb, variant->capacity));
	pid = chan_fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		write_with_default_sigpipe(self->env.fd);
	ASSERT_EQ(0, chan_wait_blocked(pid, SYS_write));
	ASSERT_EQ(0, chan_close_name(self->env.ctl, self->env.name));
	status = chan_reap(pid);
	EXPECT_TRUE(WIFSIGNALED(status)) TH_LOG("wait status %#x", status);
	EXPECT_EQ(SIGPIPE, WTERMSIG(status));
}

TEST_F(closing, info_and_fdinfo_show_closed)
{
	struct kchan_info info;
	char s[16];

	EXPECT_STREQ("0\n", chan_attr(self->env.name, "closed", s, sizeof(s)));
	ASSERT_EQ(0, close_fd(self->env.nb));
	ASSERT_EQ(0, chan_info(self->env.nb, &info));
	EXPECT_EQ(KCHAN_STATE_CLOSED, info.state);
	EXPECT_EQ(variant->capacity, info.capacity);
	EXPECT_STREQ("1\n", chan_attr(self->env.name, "closed", s, sizeof(s)));
	EXPECT_STREQ("0\n", chan_attr(self->env.name, "autoclose", s, sizeof(s)));
}

/* ---------------------------------------------------------------------- */

FIXTURE(drain) {
	struct chan_env env;
};

FIXTURE_SETUP(drain)
{
	chan_env_setup(&self->env, CAP, MAX, 0);
}

FIXTURE_TEARDOWN(drain)
{
	chan_env_teardown(&self->env);
}

TEST_F(drain, readers_drain_then_eof)
{
	char b[MAX];

	ASSERT_EQ(3, chan_fill(self->env.nb, "m", 3));
	ASSERT_EQ(0, close_fd(self->env.fd));
	EXPECT_EQ(3, chan_len(self->env.fd));
	/* EMSGSIZE still applies before EOF, and loses nothing. */
	EXPECT_EQ(-1, read(self->env.nb, b, 1));
	EXPECT_EQ(EMSGSIZE, errno);
	ASSERT_EQ(2, read(self->env.fd, b, sizeof(b)));
	EXPECT_EQ(0, memcmp(b, "m0", 2));
	EXPECT_EQ(2, chan_len(self->env.fd));
	ASSERT_EQ(2, read(self->env.nb, b, sizeof(b)));
	EXPECT_EQ(0, memcmp(b, "m1", 2));
	ASSERT_EQ(2, read(self->env.fd, b, sizeof(b)));
	EXPECT_EQ(0, memcmp(b, "m2", 2));
	EXPECT_EQ(0, read(self->env.fd, b, sizeof(b)));
	EXPECT_EQ(0, read(self->env.nb, b, sizeof(b)));
	EXPECT_EQ(0, chan_len(self->env.fd));
}

TEST_F(drain, full_closed_channel_write_epipe_not_eagain)
{
	ASSERT_EQ(CAP, chan_fill(self->env.nb, "m", CAP));
	ASSERT_EQ(0, close_fd(self->env.fd));
	EXPECT_EQ(-1, write(self->env.nb, "x", 1));
	EXPECT_EQ(EPIPE, errno);
	EXPECT_EQ(CAP, chan_len(self->env.fd));
}

TEST_F(drain, oversized_write_after_close_fails)
{
	char big[MAX + 1];

	memset(big, 'b', sizeof(big));
	ASSERT_EQ(0, close_fd(self->env.fd));
	/* Either reason is right; what matters is that nothing is sent. */
	EXPECT_EQ(-1, write(self->env.nb, big, sizeof(big)));
	EXPECT_TRUE(errno == EPIPE || errno == EMSGSIZE) TH_LOG("errno %d", errno);
	EXPECT_EQ(0, chan_len(self->env.fd));
}

/* ---------------------------------------------------------------------- */
/* Autoclose: the channel closes itself when the last writable file goes. */

FIXTURE(autoclose) {
	struct chan_env env;	/* fd and nb are read-only here */
};

FIXTURE_VARIANT(autoclose) {
	__u32 capacity;
};

FIXTURE_VARIANT_ADD(autoclose, buffered) { .capacity = CAP };
FIXTURE_VARIANT_ADD(autoclose, unbuffered) { .capacity = 0 };

FIXTURE_SETUP(autoclose)
{
	chan_env_setup_open(&self->env, variant->capacity, MAX,
			    KCHAN_CREATE_AUTOCLOSE, O_RDONLY);
}

FIXTURE_TEARDOWN(autoclose)
{
	chan_env_teardown(&self->env);
}

static __u32 state_of(int fd)
{
	struct kchan_info info;

	if (chan_info(fd, &info))
		return ~0u;
	return info.state;
}

TEST_F(autoclose, no_writer_yet_is_not_closed)
{
	char b[MAX], s[16];

	EXPECT_EQ(KCHAN_STATE_AUTOCLOSE, state_of(self->env.fd));
	EXPECT_STREQ("1\n", chan_attr(self->env.name, "autoclose", s, sizeof(s)));
	EXPECT_STREQ("0\n", chan_attr(self->env.name, "closed", s, sizeof(s)));
	EXPECT_EQ(-1, read(self->env.nb, b, sizeof(b)));
	EXPECT_EQ(EAGAIN, errno);
}

TEST_F(autoclose, last_writer_release_closes)
{
	char b[MAX];
	int w1, w2;

	w1 = chan_open(self->env.name, O_WRONLY | O_NONBLOCK);
	w2 = chan_open(self->env.name, O_WRONLY | O_NONBLOCK);
	ASSERT_LE(0, w1);
	ASSERT_LE(0, w2);
	if (variant->capacity)
		ASSERT_EQ(1, write(w1, "a", 1));
	close(w1);
	EXPECT_EQ(KCHAN_STATE_AUTOCLOSE, state_of(self->env.fd));
	if (variant->capacity)
		ASSERT_EQ(1, write(w2, "b", 1));
	close(w2);
	EXPECT_EQ(KCHAN_STATE_AUTOCLOSE | KCHAN_STATE_CLOSED, state_of(self->env.fd));
	if (variant->capacity) {
		ASSERT_EQ(1, read(self->env.nb, b, sizeof(b)));
		EXPECT_EQ('a', b[0]);
		ASSERT_EQ(1, read(self->env.nb, b, sizeof(b)));
		EXPECT_EQ('b', b[0]);
	}
	EXPECT_EQ(0, read(self->env.nb, b, sizeof(b)));
	EXPECT_EQ(0, read(self->env.fd, b, sizeof(b)));
}

TEST_F(autoclose, rdwr_file_is_a_writer)
{
	int rw = chan_open(self->env.name, O_RDWR);

	ASSERT_LE(0, rw);
	EXPECT_EQ(KCHAN_STATE_AUTOCLOSE, state_of(self->env.fd));
	close(rw);
	EXPECT_EQ(KCHAN_STATE_AUTOCLOSE | KCHAN_STATE_CLOSED, state_of(self->env.fd));
}

TEST_F(autoclose, readers_leaving_do_not_close)
{
	int w = chan_open(self->env.name, O_WRONLY);
	int r = chan_open(self->env.name, O_RDONLY);

	ASSERT_LE(0, w);
	ASSERT_LE(0, r);
	close(r);
	close(self->env.nb);
	self->env.nb = -1;
	EXPECT_EQ(KCHAN_STATE_AUTOCLOSE, state_of(self->env.fd));
	close(w);
	EXPECT_EQ(KCHAN_STATE_AUTOCLOSE | KCHAN_STATE_CLOSED, state_of(self->env.fd));
}

/* The last *file*, not the last fd: dup() and fork() share the file. */
TEST_F(autoclose, dup_keeps_the_file_open)
{
	int w, d;

	w = chan_open(self->env.name, O_WRONLY);
	ASSERT_LE(0, w);
	d = dup(w);
	ASSERT_LE(0, d);
	close(w);
	EXPECT_EQ(KCHAN_STATE_AUTOCLOSE, state_of(self->env.fd));
	close(d);
	EXPECT_EQ(KCHAN_STATE_AUTOCLOSE | KCHAN_STATE_CLOSED, state_of(self->env.fd));
}

TEST_F_TIMEOUT(autoclose, blocked_reader_gets_eof_when_last_writer_leaves, CHAN_TIMEOUT)
{
	struct chan_io *io;
	pid_t pid;
	int w;

	/* Open the writer after the fork: the reader must not inherit it. */
	io = chan_blocked_reader(_metadata, self->env.fd, MAX, &pid);
	w = chan_open(self->env.name, O_WRONLY);
	ASSERT_LE(0, w);
	EXPECT_EQ(0, chan_wait_blocked(pid, SYS_read));
	close(w);
	ASSERT_EQ(0, chan_reap(pid));
	EXPECT_EQ(0, io->ret);
}

/* `producer > /dev/chan/x` ending `cat /dev/chan/x`, like a pipe. */
TEST_F_TIMEOUT(autoclose, writer_process_exit_ends_reader, CHAN_TIMEOUT)
{
	char b[MAX];
	pid_t pid;

	pid = chan_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int w = chan_open(self->env.name, O_WRONLY);

		if (w < 0)
			_exit(1);
		if (write(w, "one", 3) != 3 || write(w, "two", 3) != 3)
			_exit(2);
		_exit(0);	/* the exit releases w */
	}
	ASSERT_EQ(3, read(self->env.fd, b, sizeof(b)));
	EXPECT_EQ(0, memcmp(b, "one", 3));
	ASSERT_EQ(3, read(self->env.fd, b, sizeof(b)));
	EXPECT_EQ(0, memcmp(b, "two", 3));
	EXPECT_EQ(0, read(self->env.fd, b, sizeof(b)));
	EXPECT_EQ(0, chan_reap(pid));
}

TEST_F(autoclose, explicit_close_first_then_release)
{
	char b[MAX];
	int w;

	w = chan_open(self->env.name, O_WRONLY);
	ASSERT_LE(0, w);
	EXPECT_EQ(0, close_fd(w));
	EXPECT_EQ(KCHAN_STATE_AUTOCLOSE | KCHAN_STATE_CLOSED, state_of(self->env.fd));
	EXPECT_EQ(-EPIPE, close_fd(w));
	close(w);
	EXPECT_EQ(KCHAN_STATE_AUTOCLOSE | KCHAN_STATE_CLOSED, state_of(self->env.fd));
	EXPECT_EQ(0, read(self->env.nb, b, sizeof(b)));
}

TEST_HARNESS_MAIN
