// SPDX-License-Identifier: GPL-2.0
/* libchan: chan_send and chan_recv, buffered and unbuffered, and their errors. */
#include "libchan_test.h"

LT_FIXTURE();

TEST_F(lt, buffered_fifo)
{
	int fd = lt_make(&self->env, 3, 0, O_RDWR);
	struct chan_info info;
	char buf[64];

	ASSERT_EQ(0, chan_send(fd, "one", 3));
	ASSERT_EQ(0, chan_send(fd, "two!", 4));
	ASSERT_EQ(0, chan_send(fd, "3", 1));
	ASSERT_EQ(0, chan_info(fd, &info));
	EXPECT_EQ(3, info.length);
	EXPECT_EQ(3, info.sent);
	EXPECT_EQ(3, chan_recv(fd, buf, sizeof(buf)));
	EXPECT_EQ(0, memcmp(buf, "one", 3));
	EXPECT_EQ(4, chan_recv(fd, buf, sizeof(buf)));
	EXPECT_EQ(0, memcmp(buf, "two!", 4));
	EXPECT_EQ(1, chan_recv(fd, buf, sizeof(buf)));
	EXPECT_EQ('3', buf[0]);
	ASSERT_EQ(0, chan_info(fd, &info));
	EXPECT_EQ(0, info.length);
	EXPECT_EQ(3, info.received);
	close(fd);
}

/* O_NONBLOCK is honoured by the plain verbs: -EAGAIN both ways. */
TEST_F(lt, nonblock)
{
	int fd = lt_make(&self->env, 1, 0, O_RDWR | O_NONBLOCK);
	int ufd = lt_make(&self->env, 0, 0, O_RDWR | O_NONBLOCK);
	char buf[8];

	EXPECT_EQ(-EAGAIN, chan_recv(fd, buf, sizeof(buf)));
	EXPECT_EQ(0, chan_send(fd, "a", 1));
	EXPECT_EQ(-EAGAIN, chan_send(fd, "b", 1));
	EXPECT_STREQ("Channel full, or no receiver waiting (unbuffered)",
		     chan_strerror(-EAGAIN, CHAN_OP_SEND));
	EXPECT_EQ(1, chan_recv(fd, buf, sizeof(buf)));
	/* Unbuffered, nobody waiting on the other side. */
	EXPECT_EQ(-EAGAIN, chan_send(ufd, "a", 1));
	EXPECT_EQ(-EAGAIN, chan_recv(ufd, buf, sizeof(buf)));
	close(fd);
	close(ufd);
}

/* EMSGSIZE: the message stays queued, and the text says so. */
TEST_F(lt, emsgsize)
{
	int fd = lt_make(&self->env, 2, 16, O_RDWR);
	char buf[32];

	ASSERT_EQ(0, chan_send(fd, "0123456789", 10));
	EXPECT_EQ(-EMSGSIZE, chan_recv(fd, buf, 4));
	EXPECT_STREQ("Message larger than the receive buffer (it stays queued)",
		     chan_strerror(-EMSGSIZE, CHAN_OP_RECV));
	EXPECT_EQ(10, chan_recv(fd, buf, sizeof(buf)));
	EXPECT_EQ(0, memcmp(buf, "0123456789", 10));

	memset(buf, 'x', sizeof(buf));
	EXPECT_EQ(-EMSGSIZE, chan_send(fd, buf, 17));
	EXPECT_STREQ("Message larger than the channel's msg_max",
		     chan_strerror(EMSGSIZE, CHAN_OP_SEND));
	EXPECT_EQ(0, chan_send(fd, buf, 16));
	close(fd);
}

/* Zero-length messages and buffers are refused, not silently "sent". */
TEST_F(lt, zero_length)
{
	int fd = lt_make(&self->env, 2, 0, O_RDWR);
	struct chan_info info;
	char buf[8];

	EXPECT_EQ(-EINVAL, chan_send(fd, "", 0));
	EXPECT_EQ(-EINVAL, chan_recv(fd, buf, 0));
	EXPECT_EQ(-EINVAL, chan_recv_timeout(fd, buf, 0, 0));
	EXPECT_EQ(-EINVAL, chan_send_timeout(fd, "", 0, 0));
	ASSERT_EQ(0, chan_info(fd, &info));
	EXPECT_EQ(0, info.sent);
	close(fd);
}

/* Unbuffered: chan_send returns once a blocked receiver has the message. */
TEST_F(lt, unbuffered_rendezvous)
{
	int fd = lt_make(&self->env, 0, 0, O_RDWR);
	struct lt_io *io = lt_io_new();
	struct chan_info info;
	pid_t pid;

	ASSERT_NE(NULL, io);
	pid = lt_spawn_recv(fd, LT_MSG, CHAN_FOREVER, io);
	ASSERT_LE(0, pid);
	ASSERT_EQ(0, lt_wait_blocked(pid, SYS_read));
	ASSERT_EQ(0, chan_send(fd, "hello", 5));
	ASSERT_EQ(0, lt_reap(pid));
	EXPECT_EQ(5, io->ret);
	EXPECT_EQ(0, memcmp(io->buf, "hello", 5));
	ASSERT_EQ(0, chan_info(fd, &info));
	EXPECT_EQ(1, info.received);
	lt_io_free(io);
	close(fd);
}

/* chan_send is write(2): a closed channel raises SIGPIPE (the timed one does not). */
TEST_F(lt, sigpipe)
{
	int fd = lt_make(&self->env, 1, 0, O_RDWR);
	int status;
	pid_t pid;

	ASSERT_EQ(0, chan_close_fd(fd));
	pid = lt_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		signal(SIGPIPE, SIG_DFL);
		chan_send(fd, "x", 1);
		_exit(0);
	}
	status = lt_reap(pid);
	EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGPIPE);

	pid = lt_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		signal(SIGPIPE, SIG_DFL);
		_exit(chan_send_timeout(fd, "x", 1, CHAN_FOREVER) == -EPIPE ? 0 : 1);
	}
	EXPECT_EQ(0, lt_reap(pid));
	EXPECT_STREQ("Channel closed: nothing was sent", chan_strerror(-EPIPE, CHAN_OP_SEND));
	close(fd);
}

/* Direction: a read-only fd cannot send, a write-only fd cannot receive. */
TEST_F(lt, direction)
{
	const char *name;
	char buf[8];
	int rd, wr;

	rd = lt_make(&self->env, 1, 0, O_RDONLY);
	name = lt_last(&self->env);
	wr = chan_open(name, O_WRONLY);
	ASSERT_LE(0, wr);
	EXPECT_EQ(-EBADF, chan_send(rd, "x", 1));
	EXPECT_EQ(-EBADF, chan_recv(wr, buf, sizeof(buf)));
	EXPECT_EQ(-EBADF, chan_send_timeout(rd, "x", 1, 0));
	EXPECT_EQ(-EBADF, chan_recv_timeout(wr, buf, sizeof(buf), 0));
	EXPECT_STREQ("Not a channel fd open for writing", chan_strerror(-EBADF, CHAN_OP_SEND));
	close(rd);
	close(wr);
}

TEST_HARNESS_MAIN
