// SPDX-License-Identifier: GPL-2.0
/* libchan: chan_hold, chan_ack, chan_return, chan_send_once, chan_stream_seq. */
#include "libchan_test.h"

LT_FIXTURE();

TEST_F(lt, hold_ack_return)
{
	int fd = lt_make(&self->env, 4, 0, O_RDWR | O_NONBLOCK);
	uint64_t id1, id2, seq1, seq2, seq;
	struct chan_info info;
	char buf[16];

	ASSERT_EQ(0, chan_send(fd, "one", 3));
	ASSERT_EQ(0, chan_send(fd, "two", 3));
	EXPECT_EQ(3, chan_hold(fd, buf, sizeof(buf), &id1, &seq1));
	EXPECT_EQ(0, memcmp(buf, "one", 3));
	EXPECT_EQ(3, chan_hold(fd, buf, sizeof(buf), &id2, &seq2));
	EXPECT_EQ(0, memcmp(buf, "two", 3));
	EXPECT_LT(id1, id2);
	EXPECT_EQ(1, seq1);
	EXPECT_EQ(2, seq2);
	EXPECT_EQ(-EAGAIN, chan_hold(fd, buf, sizeof(buf), NULL, NULL));
	EXPECT_STREQ("Nothing to hold now (poll for POLLIN)",
		     chan_strerror(-EAGAIN, CHAN_OP_HOLD));
	EXPECT_EQ(-EINVAL, chan_hold(fd, buf, 0, NULL, NULL));
	ASSERT_EQ(0, chan_info(fd, &info));
	EXPECT_EQ(2, info.held);
	EXPECT_NE(0, info.id);
	EXPECT_EQ(0, info.reserved);

	EXPECT_EQ(1, chan_return(fd, id2));	/* "two" back */
	EXPECT_EQ(1, chan_ack(fd, id1));	/* "one" gone */
	EXPECT_EQ(0, chan_ack(fd, id1));
	EXPECT_EQ(3, chan_hold(fd, buf, sizeof(buf), NULL, &seq));
	EXPECT_EQ(0, memcmp(buf, "two", 3));
	EXPECT_EQ(seq2, seq);
	EXPECT_EQ(1, chan_return(fd, 0));
	EXPECT_EQ(3, chan_recv(fd, buf, sizeof(buf)));
	ASSERT_EQ(0, chan_close_fd(fd));
	EXPECT_EQ(0, chan_hold(fd, buf, sizeof(buf), NULL, NULL));	/* end of file */
	close(fd);
}

TEST_F(lt, hold_limit)
{
	int fd = lt_make(&self->env, 0, 0, O_RDWR | O_NONBLOCK);
	char buf[16];

	/* Unbuffered, nobody sending: nothing to hold. */
	EXPECT_EQ(-EAGAIN, chan_hold(fd, buf, sizeof(buf), NULL, NULL));
	EXPECT_EQ(0, chan_ack(fd, ~0ULL));
	EXPECT_STREQ("The channel holds as many messages as it may: ack or return some",
		     chan_strerror(-ENOBUFS, CHAN_OP_HOLD));
	close(fd);
}

TEST_F(lt, send_once)
{
	int fd = lt_make(&self->env, 4, 0, O_RDWR | O_NONBLOCK);
	uint64_t seq = 99;
	char buf[16];

	EXPECT_EQ(0, chan_stream_seq(fd, 42, &seq));
	EXPECT_EQ(0, seq);
	EXPECT_EQ(0, chan_send_once(fd, "a", 1, 42, 1));
	EXPECT_EQ(CHAN_DUPLICATE, chan_send_once(fd, "a", 1, 42, 1));
	EXPECT_EQ(0, chan_send_once(fd, "b", 1, 42, 2));
	EXPECT_EQ(0, chan_stream_seq(fd, 42, &seq));
	EXPECT_EQ(2, seq);
	EXPECT_EQ(-EINVAL, chan_send_once(fd, "c", 1, 0, 3));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-EINVAL, chan_stream_seq(fd, 0, &seq));
	EXPECT_EQ(1, chan_recv(fd, buf, sizeof(buf)));
	EXPECT_EQ('a', buf[0]);
	EXPECT_EQ(1, chan_recv(fd, buf, sizeof(buf)));
	EXPECT_EQ('b', buf[0]);
	EXPECT_EQ(-EAGAIN, chan_recv(fd, buf, sizeof(buf)));
	close(fd);
}

TEST_HARNESS_MAIN
