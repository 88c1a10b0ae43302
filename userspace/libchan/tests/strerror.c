// SPDX-License-Identifier: GPL-2.0
/*
 * libchan: chan_strerror.  Channel words where the errno alone confuses,
 * strerror()'s text elsewhere; either sign; never NULL.  Needs no kchan.
 */
#include <limits.h>

#include "libchan_test.h"

TEST(emsgsize_per_op)
{
	const char *recv = chan_strerror(-EMSGSIZE, CHAN_OP_RECV);
	const char *send = chan_strerror(-EMSGSIZE, CHAN_OP_SEND);

	EXPECT_STREQ("Message larger than the receive buffer (it stays queued)", recv);
	EXPECT_STREQ("Message larger than the channel's msg_max", send);
	EXPECT_STRNE(recv, send);
	EXPECT_STRNE(strerror(EMSGSIZE), recv);
	/* A case's op is an op for chan_strerror. */
	EXPECT_STREQ(recv, chan_strerror(EMSGSIZE, CHAN_RECV));
	EXPECT_STREQ(send, chan_strerror(EMSGSIZE, CHAN_SEND));
}

TEST(sign)
{
	EXPECT_STREQ(chan_strerror(EPIPE, CHAN_OP_SEND), chan_strerror(-EPIPE, CHAN_OP_SEND));
	EXPECT_STREQ(chan_strerror(ENODEV, CHAN_OP_ANY), chan_strerror(-ENODEV, CHAN_OP_ANY));
}

TEST(channel_words)
{
	EXPECT_STREQ("Timed out", chan_strerror(-ETIMEDOUT, CHAN_OP_SELECT));
	EXPECT_STREQ("Channel destroyed", chan_strerror(-ENODEV, CHAN_OP_ANY));
	EXPECT_STREQ("Channel name longer than 63 bytes",
		     chan_strerror(-ENAMETOOLONG, CHAN_OP_CREATE));
	/* A destroyed name is free at once in the kchan filesystem: no EBUSY. */
	EXPECT_STREQ(strerror(EBUSY), chan_strerror(-EBUSY, CHAN_OP_CREATE));
	EXPECT_STREQ("Per-user limit on channels or buffer bytes reached (max_user=, max_user_bytes=)",
		     chan_strerror(-EDQUOT, CHAN_OP_CREATE));
	EXPECT_STREQ("Too many channels in the instance (mount option max=)",
		     chan_strerror(-ENOSPC, CHAN_OP_CREATE));
	EXPECT_STREQ("The kchan module has no select (too old)",
		     chan_strerror(-ENOTTY, CHAN_OP_SELECT));
}

/* Where kchan adds nothing, strerror()'s text; nonsense is still a string. */
TEST(fallback)
{
	EXPECT_STREQ(strerror(ENOMEM), chan_strerror(-ENOMEM, CHAN_OP_SEND));
	EXPECT_STREQ(strerror(EEXIST), chan_strerror(-EEXIST, CHAN_OP_SEND));
	EXPECT_STREQ("Unknown error", chan_strerror(-100000, CHAN_OP_ANY));
	EXPECT_STREQ("Unknown error", chan_strerror(INT_MIN, 12345));
	EXPECT_NE(NULL, chan_strerror(0, CHAN_OP_ANY));
}

/* Failures set errno too, even those libchan decides without the kernel. */
TEST(errno_too)
{
	char buf[4], name[CHAN_NAME_MAX + 1];

	memset(name, 'a', CHAN_NAME_MAX);
	name[CHAN_NAME_MAX] = '\0';
	errno = 0;
	EXPECT_EQ(-ENAMETOOLONG, chan_open(name, O_RDONLY));
	EXPECT_EQ(ENAMETOOLONG, errno);
	errno = 0;
	EXPECT_EQ(-EINVAL, chan_recv(0, buf, 0));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(-EBADF, chan_send(-1, "x", 1));
	EXPECT_EQ(EBADF, errno);
	errno = 0;
	EXPECT_EQ(-EINVAL, chan_select(NULL, 0, 0));
	EXPECT_EQ(EINVAL, errno);
}

TEST_HARNESS_MAIN
