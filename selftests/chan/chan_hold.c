// SPDX-License-Identifier: GPL-2.0
/*
 * Held receive (KCHAN_IOC_HOLD, _ACK, _RETURN) and at-most-once sends
 * (KCHAN_IOC_SEND_ONCE, _STREAM_SEQ): a held message keeps its slot, is
 * invisible to other readers and keeps end of file away until acked; a
 * return puts it back in seq order; a released file returns what it holds;
 * a SEND_ONCE is accepted at most once per (stream, seq), atomically with
 * the accept, even when it waited.
 */
#include "chan_test.h"

#define MAX	64
#define CAP	4

FIXTURE(held) {
	struct chan_env env;
};

FIXTURE_SETUP(held)
{
	chan_env_setup(&self->env, CAP, MAX, 0);
}

FIXTURE_TEARDOWN(held)
{
	chan_env_teardown(&self->env);
}

/* ----- helpers ---------------------------------------------------------- */

/* What one hold gave: its length (or -errno), id, seq and bytes. */
struct held_msg {
	long ret;
	__u64 id;
	__u64 seq;
	__u32 deliveries;
	char buf[MAX + 1];
};

#define hold_into chan_hold_into

/* Hold one message of up to MAX bytes; m->buf is NUL-terminated. */
static struct held_msg hold(int fd)
{
	struct held_msg m;
	struct kchan_hold h;

	memset(&m, 0, sizeof(m));
	m.ret = hold_into(fd, m.buf, MAX, &h);
	if (m.ret >= 0) {
		m.id = h.id;
		m.seq = h.seq;
		m.deliveries = h.deliveries;
	}
	return m;
}

static long ack(int fd, __u64 id)
{
	return chan_ack_ret(fd, KCHAN_IOC_ACK, id);
}

static long give_back(int fd, __u64 id)
{
	return chan_ack_ret(fd, KCHAN_IOC_RETURN, id);
}

/* KCHAN_IOC_RETURN with KCHAN_RETURN_UNSENT: the count, or -errno. */
static long unsent_back(int fd, __u64 id)
{
	return chan_ack_flags_ret(fd, KCHAN_IOC_RETURN, id, KCHAN_RETURN_UNSENT);
}

/* SEND_ONCE of a string: 0 or 1 (a duplicate), or -errno. */
static int send_once(int fd, const char *msg, __u64 stream, __u64 seq)
{
	return chan_send_once(fd, msg, strlen(msg), stream, seq);
}

/* KCHAN_IOC_STREAM_SEQ: the last seq, or -errno. */
static long long stream_seq(int fd, __u64 stream)
{
	return chan_stream_seq(fd, stream, 0);
}

/* read() one message as a NUL-terminated string; its length or -errno. */
static long recv_str(int fd, char *buf)
{
	ssize_t n = read(fd, buf, MAX);

	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return n;
}

static struct kchan_info info_of(int fd)
{
	struct kchan_info info;

	memset(&info, 0xff, sizeof(info));
	if (chan_info(fd, &info))
		info.size = 0;
	return info;
}

/* A helper making one SEND_ONCE; io->ret is send_once()'s answer. */
static pid_t spawn_send_once(int fd, const char *msg, __u64 stream, __u64 seq,
			     struct chan_io *io)
{
	pid_t pid;

	snprintf(io->buf, sizeof(io->buf), "%s", msg);
	pid = chan_fork();
	if (pid == 0) {
		chan_io_self = io;
		io->ret = send_once(fd, io->buf, stream, seq);
		_exit(0);
	}
	return pid;
}

/* ----- hold, ack, return ------------------------------------------------ */

TEST_F(held, hold_ack_return_keep_order_ids_and_seqs)
{
	struct held_msg a, b, c, b2, c2;
	struct kchan_info info;
	char buf[MAX + 1];

	ASSERT_EQ(4, chan_fill(self->env.nb, "m", 4));	/* m0..m3 */
	a = hold(self->env.fd);
	b = hold(self->env.fd);
	c = hold(self->env.fd);
	ASSERT_EQ(2, a.ret);
	ASSERT_EQ(2, b.ret);
	ASSERT_EQ(2, c.ret);
	EXPECT_STREQ("m0", a.buf);
	EXPECT_STREQ("m1", b.buf);
	EXPECT_STREQ("m2", c.buf);
	EXPECT_EQ(1, a.seq);
	EXPECT_EQ(2, b.seq);
	EXPECT_EQ(3, c.seq);
	EXPECT_LT(0, a.id);
	EXPECT_LT(a.id, b.id);
	EXPECT_LT(b.id, c.id);
	info = info_of(self->env.fd);
	EXPECT_EQ(3, info.held);
	EXPECT_EQ(1, info.length);

	/* m1 and m2 go back, in front of m3; m0 stays held. */
	EXPECT_EQ(2, give_back(self->env.fd, b.id));
	info = info_of(self->env.fd);
	EXPECT_EQ(1, info.held);
	EXPECT_EQ(3, info.length);
	b2 = hold(self->env.fd);
	ASSERT_EQ(2, b2.ret);
	EXPECT_STREQ("m1", b2.buf);
	EXPECT_EQ(b.seq, b2.seq);	/* the same message, the same seq */
	EXPECT_LT(c.id, b2.id);	/* a new hold, a new id */
	c2 = hold(self->env.fd);
	ASSERT_EQ(2, c2.ret);
	EXPECT_STREQ("m2", c2.buf);
	EXPECT_EQ(c.seq, c2.seq);

	/* ACK(b2.id): m0 and m1 are gone, m2 is still held. */
	EXPECT_EQ(2, ack(self->env.fd, b2.id));
	EXPECT_EQ(0, ack(self->env.fd, b2.id));	/* nothing left at or below */
	EXPECT_EQ(1, info_of(self->env.fd).held);
	EXPECT_EQ(1, give_back(self->env.fd, 0));	/* 0: all */
	EXPECT_EQ(0, give_back(self->env.fd, 0));
	EXPECT_EQ(2, recv_str(self->env.nb, buf));
	EXPECT_STREQ("m2", buf);
	EXPECT_EQ(2, recv_str(self->env.nb, buf));
	EXPECT_STREQ("m3", buf);
	EXPECT_EQ(-EAGAIN, recv_str(self->env.nb, buf));
	info = info_of(self->env.fd);
	EXPECT_EQ(0, info.held);
	EXPECT_EQ(4, info.sent);
	EXPECT_EQ(4, info.received);
}

TEST_F(held, held_message_invisible_to_readers)
{
	struct held_msg a;
	char buf[MAX + 1];

	ASSERT_EQ(3, write(self->env.nb, "one", 3));
	a = hold(self->env.fd);
	ASSERT_EQ(3, a.ret);
	EXPECT_EQ(-EAGAIN, recv_str(self->env.nb, buf));
	EXPECT_EQ(-EAGAIN, hold(self->env.nb).ret);
	EXPECT_EQ(0, chan_revents(self->env.fd, POLLIN) & POLLIN);
	EXPECT_EQ(0, chan_len(self->env.fd));
	EXPECT_EQ(1, give_back(self->env.fd, a.id));
	EXPECT_EQ(POLLIN, chan_revents(self->env.fd, POLLIN));
	EXPECT_EQ(3, recv_str(self->env.nb, buf));
	EXPECT_STREQ("one", buf);
}

/* A return made by another file is not ours to ack or return. */
TEST_F(held, only_the_holding_file_acks)
{
	struct held_msg a;
	char buf[MAX + 1];

	ASSERT_EQ(1, write(self->env.nb, "z", 1));
	a = hold(self->env.fd);
	ASSERT_EQ(1, a.ret);
	EXPECT_EQ(0, ack(self->env.nb, a.id));
	EXPECT_EQ(0, give_back(self->env.nb, 0));
	EXPECT_EQ(1, info_of(self->env.fd).held);
	EXPECT_EQ(1, give_back(self->env.fd, 0));
	EXPECT_EQ(1, recv_str(self->env.nb, buf));
}

TEST_F(held, two_files_returning_interleaved_keep_seq_order)
{
	int other = chan_open(self->env.name, O_RDONLY);
	char buf[MAX + 1];
	int i;

	ASSERT_LE(0, other);
	ASSERT_EQ(4, chan_fill(self->env.nb, "m", 4));
	ASSERT_EQ(2, hold(self->env.fd).ret);	/* m0 */
	ASSERT_EQ(2, hold(other).ret);		/* m1 */
	ASSERT_EQ(2, hold(self->env.fd).ret);	/* m2 */
	ASSERT_EQ(2, hold(other).ret);		/* m3 */
	EXPECT_EQ(0, chan_len(self->env.fd));
	ASSERT_EQ(2, give_back(other, 0));
	ASSERT_EQ(2, give_back(self->env.fd, 0));
	for (i = 0; i < 4; i++) {
		char want[8];

		snprintf(want, sizeof(want), "m%d", i);
		EXPECT_EQ(2, recv_str(self->env.nb, buf));
		EXPECT_STREQ(want, buf);
	}
	close(other);
}

/* One file's holds, out of seq order by id, still go back in seq order. */
TEST_F(held, return_sorts_by_seq_not_by_id)
{
	int other = chan_open(self->env.name, O_RDONLY);
	struct held_msg m[3];
	char buf[MAX + 1];
	int i;

	ASSERT_LE(0, other);
	ASSERT_EQ(3, chan_fill(self->env.nb, "m", 3));
	for (i = 0; i < 3; i++)
		ASSERT_EQ(2, hold(self->env.fd).ret);
	ASSERT_EQ(2, give_back(self->env.fd, 2));	/* ids 2, 3: m1, m2 */
	m[1] = hold(other);				/* m1, by the other file */
	m[2] = hold(self->env.fd);			/* m2 */
	ASSERT_EQ(1, give_back(other, 0));
	m[0] = hold(self->env.fd);			/* m1 again, the newest id */
	EXPECT_STREQ("m1", m[1].buf);
	EXPECT_STREQ("m2", m[2].buf);
	EXPECT_STREQ("m1", m[0].buf);
	EXPECT_LT(m[2].id, m[0].id);
	ASSERT_EQ(3, give_back(self->env.fd, 0));
	for (i = 0; i < 3; i++) {
		char want[8];

		snprintf(want, sizeof(want), "m%d", i);
		EXPECT_EQ(2, recv_str(self->env.nb, buf));
		EXPECT_STREQ(want, buf);
	}
	close(other);
}

TEST_F(held, hold_never_waits_and_eof_is_zero)
{
	struct held_msg m;

	m = hold(self->env.fd);	/* a blocking fd: still EAGAIN */
	EXPECT_EQ(-EAGAIN, m.ret);
	ASSERT_EQ(0, chan_ioctl(self->env.fd, KCHAN_IOC_CLOSE, NULL));
	m = hold(self->env.fd);
	EXPECT_EQ(0, m.ret);
	EXPECT_EQ(0, m.id);
	EXPECT_EQ(0, m.seq);
	EXPECT_EQ(0, m.deliveries);
}

/* ----- deliveries (issue 13) ---------------------------------------------- */

/* A hold's deliveries: 1 the first time, one more after every way back. */
TEST_F(held, deliveries_count_every_way_back)
{
	struct held_msg a, b, m;
	struct kchan_hold h;
	char buf[MAX + 1];
	int fd2;

	ASSERT_EQ(1, write(self->env.nb, "a", 1));
	ASSERT_EQ(1, write(self->env.nb, "b", 1));
	a = hold(self->env.fd);
	b = hold(self->env.fd);
	ASSERT_EQ(1, a.ret);
	ASSERT_EQ(1, b.ret);
	EXPECT_EQ(1, a.deliveries);	/* never handed out before */
	EXPECT_EQ(1, b.deliveries);

	/* KCHAN_IOC_RETURN */
	EXPECT_EQ(1, give_back(self->env.fd, b.id));
	m = hold(self->env.fd);
	EXPECT_EQ(b.seq, m.seq);
	EXPECT_EQ(2, m.deliveries);
	EXPECT_EQ(2, give_back(self->env.fd, 0));
	a = hold(self->env.fd);
	EXPECT_STREQ("a", a.buf);
	EXPECT_EQ(2, a.deliveries);
	EXPECT_EQ(1, ack(self->env.fd, a.id));

	/* The release of the holding file */
	fd2 = chan_open(self->env.name, O_RDONLY);
	ASSERT_LE(0, fd2);
	m = hold(fd2);
	EXPECT_STREQ("b", m.buf);
	EXPECT_EQ(3, m.deliveries);
	ASSERT_EQ(0, close(fd2));
	EXPECT_EQ(0, info_of(self->env.fd).held);
	m = hold(self->env.fd);
	EXPECT_STREQ("b", m.buf);
	EXPECT_EQ(4, m.deliveries);
	EXPECT_EQ(1, ack(self->env.fd, m.id));

	/* A hold whose copy-out faulted: its data may have been seen */
	ASSERT_EQ(1, write(self->env.nb, "c", 1));
	EXPECT_EQ(-EFAULT, hold_into(self->env.fd, chan_null(), MAX, &h));
	m = hold(self->env.fd);
	EXPECT_STREQ("c", m.buf);
	EXPECT_EQ(2, m.deliveries);
	EXPECT_EQ(1, ack(self->env.fd, m.id));

	/* read() counts as well: a faulting one put the message back */
	ASSERT_EQ(1, write(self->env.nb, "d", 1));
	EXPECT_EQ(-1, read(self->env.nb, chan_null(), MAX));
	EXPECT_EQ(EFAULT, errno);
	m = hold(self->env.fd);
	EXPECT_STREQ("d", m.buf);
	EXPECT_EQ(2, m.deliveries);
	EXPECT_EQ(1, give_back(self->env.fd, 0));
	EXPECT_EQ(1, recv_str(self->env.nb, buf));	/* read() reports nothing */
	EXPECT_STREQ("d", buf);

	/* A new message, in a spare buffer of the acked ones: 1 again */
	ASSERT_EQ(1, write(self->env.nb, "e", 1));
	m = hold(self->env.fd);
	EXPECT_STREQ("e", m.buf);
	EXPECT_EQ(1, m.deliveries);

	/* KCHAN_IOC_RETURN with KCHAN_RETURN_UNSENT undoes the hold */
	ASSERT_EQ(1, write(self->env.nb, "f", 1));
	a = hold(self->env.fd);
	EXPECT_STREQ("f", a.buf);
	EXPECT_EQ(1, unsent_back(self->env.fd, a.id));	/* f only */
	a = hold(self->env.fd);
	EXPECT_STREQ("f", a.buf);
	EXPECT_EQ(1, a.deliveries);
	EXPECT_EQ(2, unsent_back(self->env.fd, 0));
	m = hold(self->env.fd);
	EXPECT_STREQ("e", m.buf);
	EXPECT_EQ(1, m.deliveries);
	EXPECT_EQ(1, give_back(self->env.fd, 0));	/* counted again */
	m = hold(self->env.fd);
	EXPECT_STREQ("e", m.buf);
	EXPECT_EQ(2, m.deliveries);
	a = hold(self->env.fd);
	EXPECT_STREQ("f", a.buf);
	EXPECT_EQ(1, a.deliveries);
	EXPECT_EQ(2, info_of(self->env.fd).held);
}

/*
 * deliveries is output only: a struct reused from the last hold (as an old
 * caller that never heard of it keeps it) is accepted, and a zeroed VER0
 * struct, or a larger one with a zero tail, gets it written.
 */
TEST_F(held, deliveries_output_only_and_sizes)
{
	struct {
		struct kchan_hold h;
		__u64 tail[2];
	} big;
	struct kchan_hold h;
	char buf[MAX + 1];

	ASSERT_EQ(KCHAN_HOLD_SIZE_VER0, sizeof(struct kchan_hold));
	ASSERT_EQ(1, write(self->env.nb, "x", 1));
	ASSERT_EQ(1, write(self->env.nb, "y", 1));
	memset(&h, 0, sizeof(h));
	h.size = KCHAN_HOLD_SIZE_VER0;
	h.buf = (__u64)(uintptr_t)buf;
	h.len = MAX;
	ASSERT_EQ(1, ioctl(self->env.fd, KCHAN_IOC_HOLD, &h));
	EXPECT_EQ(1, h.deliveries);
	EXPECT_EQ(1, give_back(self->env.fd, 0));
	h.len = MAX;
	h.deliveries = 0xdeadbeef;	/* reused as it came back: not checked */
	ASSERT_EQ(1, ioctl(self->env.fd, KCHAN_IOC_HOLD, &h));
	EXPECT_EQ(2, h.deliveries);
	EXPECT_EQ(1, ack(self->env.fd, h.id));

	memset(&big, 0, sizeof(big));
	big.h.size = sizeof(big);
	big.h.buf = (__u64)(uintptr_t)buf;
	big.h.len = MAX;
	ASSERT_EQ(1, ioctl(self->env.fd, KCHAN_IOC_HOLD, &big));
	EXPECT_EQ(1, big.h.deliveries);
	EXPECT_EQ(0, big.tail[0]);
	EXPECT_EQ(0, big.tail[1]);
	EXPECT_EQ(1, ack(self->env.fd, big.h.id));

	/* End of file: 0, whatever came in */
	ASSERT_EQ(0, chan_ioctl(self->env.fd, KCHAN_IOC_CLOSE, NULL));
	h.len = MAX;
	h.deliveries = 7;
	ASSERT_EQ(0, ioctl(self->env.fd, KCHAN_IOC_HOLD, &h));
	EXPECT_EQ(0, h.deliveries);
	EXPECT_EQ(0, h.seq);
}

/* ----- close -------------------------------------------------------------- */

TEST_F_TIMEOUT(held, closed_channel_eof_only_after_last_ack, CHAN_TIMEOUT)
{
	struct held_msg x, y;
	struct chan_io *io;
	char buf[MAX + 1];
	pid_t pid;

	ASSERT_EQ(1, write(self->env.nb, "x", 1));
	ASSERT_EQ(1, write(self->env.nb, "y", 1));
	x = hold(self->env.fd);
	y = hold(self->env.fd);
	ASSERT_EQ(1, x.ret);
	ASSERT_EQ(1, y.ret);
	ASSERT_EQ(0, chan_ioctl(self->env.fd, KCHAN_IOC_CLOSE, NULL));

	/* Closed, nothing queued, but two held: not the end yet. */
	EXPECT_EQ(-EAGAIN, recv_str(self->env.nb, buf));
	EXPECT_EQ(-EAGAIN, hold(self->env.nb).ret);
	EXPECT_EQ(0, chan_revents(self->env.fd, POLLIN) & (POLLIN | POLLHUP));
	io = chan_blocked_reader(_metadata, self->env.fd, MAX, &pid);

	EXPECT_EQ(1, ack(self->env.fd, x.id));
	/* Still one held: the reader sleeps on. */
	ASSERT_EQ(0, chan_wait_blocked(pid, SYS_read));
	EXPECT_EQ(0, chan_revents(self->env.fd, POLLIN) & (POLLIN | POLLHUP));

	EXPECT_EQ(1, ack(self->env.fd, y.id));
	ASSERT_EQ(0, chan_reap(pid));
	EXPECT_EQ(0, io->ret);	/* end of file */
	EXPECT_EQ(POLLHUP, chan_revents(self->env.fd, POLLIN) & (POLLIN | POLLHUP));
	EXPECT_EQ(0, recv_str(self->env.nb, buf));
	EXPECT_EQ(0, hold(self->env.fd).ret);
}

/* A reader already asleep when the close comes keeps waiting for the holds. */
TEST_F_TIMEOUT(held, reader_blocked_before_close_waits_for_ack, CHAN_TIMEOUT)
{
	struct chan_io *io;
	struct held_msg x;
	pid_t pid;

	ASSERT_EQ(1, write(self->env.nb, "x", 1));
	x = hold(self->env.fd);
	ASSERT_EQ(1, x.ret);
	io = chan_blocked_reader(_metadata, self->env.fd, MAX, &pid);
	ASSERT_EQ(0, chan_ioctl(self->env.fd, KCHAN_IOC_CLOSE, NULL));
	ASSERT_EQ(0, chan_wait_blocked(pid, SYS_read));
	EXPECT_EQ(-2, io->ret);
	EXPECT_EQ(1, ack(self->env.fd, x.id));
	ASSERT_EQ(0, chan_reap(pid));
	EXPECT_EQ(0, io->ret);
}

TEST_F_TIMEOUT(held, closed_channel_return_feeds_blocked_reader, CHAN_TIMEOUT)
{
	struct chan_io *io;
	char buf[MAX + 1];
	pid_t pid;

	ASSERT_EQ(5, write(self->env.nb, "later", 5));
	ASSERT_EQ(5, hold(self->env.fd).ret);
	ASSERT_EQ(0, chan_ioctl(self->env.fd, KCHAN_IOC_CLOSE, NULL));
	io = chan_blocked_reader(_metadata, self->env.fd, MAX, &pid);
	EXPECT_EQ(1, give_back(self->env.fd, 0));
	ASSERT_EQ(0, chan_reap(pid));
	EXPECT_EQ(5, io->ret);
	EXPECT_EQ(0, memcmp(io->buf, "later", 5));
	EXPECT_EQ(0, recv_str(self->env.nb, buf));
	EXPECT_EQ(0, info_of(self->env.fd).length);
}

/* A blocked select receive gets a returned message, like a read. */
TEST_F_TIMEOUT(held, return_hands_off_to_blocked_select, CHAN_TIMEOUT)
{
	struct {
		struct chan_io io;
		struct kchan_select_case c;
		struct kchan_select s;
	} *sh;
	pid_t pid;

	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, sh);
	ASSERT_EQ(3, write(self->env.nb, "sel", 3));
	ASSERT_EQ(3, hold(self->env.fd).ret);
	chan_case(&sh->c, self->env.fd, KCHAN_SELECT_RECV, sh->io.buf, MAX);
	chan_select_init(&sh->s, &sh->c, 1, -1);
	pid = chan_fork();
	if (pid == 0) {
		sh->io.ret = ioctl(self->env.fd, KCHAN_IOC_SELECT, &sh->s);
		_exit(0);
	}
	ASSERT_LE(0, pid);
	ASSERT_EQ(0, chan_wait_blocked(pid, SYS_ioctl));
	EXPECT_EQ(1, give_back(self->env.fd, 0));
	ASSERT_EQ(0, chan_reap(pid));
	EXPECT_EQ(0, sh->io.ret);
	EXPECT_EQ(0, sh->s.index);
	EXPECT_EQ(3, sh->s.result_len);
	EXPECT_EQ(0, memcmp(sh->io.buf, "sel", 3));
	EXPECT_EQ(0, info_of(self->env.fd).length);
	munmap(sh, sizeof(*sh));
}

/* ----- capacity ----------------------------------------------------------- */

TEST_F_TIMEOUT(held, held_messages_keep_their_slots, CHAN_TIMEOUT)
{
	struct held_msg a, b;
	struct kchan_info info;
	struct chan_io *io;
	char buf[MAX + 1];
	pid_t pid;

	ASSERT_EQ(CAP, chan_fill(self->env.nb, "m", CAP));
	a = hold(self->env.fd);
	b = hold(self->env.fd);
	ASSERT_EQ(2, a.ret);
	ASSERT_EQ(2, b.ret);
	/* length 2 + held 2 == capacity: no room. */
	EXPECT_EQ(-1, write(self->env.nb, "w", 1));
	EXPECT_EQ(EAGAIN, errno);
	EXPECT_EQ(0, chan_revents(self->env.fd, POLLOUT));
	io = chan_blocked_writer(_metadata, self->env.fd, "w", &pid);

	/* A return frees no slot. */
	EXPECT_EQ(1, give_back(self->env.fd, b.id));
	ASSERT_EQ(0, chan_wait_blocked(pid, SYS_write));
	b = hold(self->env.fd);
	ASSERT_EQ(2, b.ret);

	/* An ack does: the writer's message takes it. */
	EXPECT_EQ(1, ack(self->env.fd, a.id));
	ASSERT_EQ(0, chan_reap(pid));
	EXPECT_EQ(1, io->ret);
	info = info_of(self->env.fd);
	EXPECT_EQ(3, info.length);
	EXPECT_EQ(1, info.held);
	EXPECT_EQ(5, info.sent);
	EXPECT_EQ(0, chan_revents(self->env.fd, POLLOUT));
	EXPECT_EQ(1, ack(self->env.fd, b.id));
	EXPECT_EQ(POLLOUT, chan_revents(self->env.fd, POLLOUT));
	EXPECT_EQ(2, recv_str(self->env.nb, buf));
	EXPECT_STREQ("m2", buf);
	EXPECT_EQ(2, recv_str(self->env.nb, buf));
	EXPECT_STREQ("m3", buf);
	EXPECT_EQ(1, recv_str(self->env.nb, buf));
	EXPECT_STREQ("w", buf);
}

TEST_F_TIMEOUT(held, hold_limit_enobufs, CHAN_TIMEOUT)
{
	struct held_msg m[CAP], w;
	struct chan_io *io;
	pid_t pid;
	int i;

	ASSERT_EQ(CAP, chan_fill(self->env.nb, "m", CAP));
	for (i = 0; i < CAP; i++) {
		m[i] = hold(self->env.fd);
		ASSERT_EQ(2, m[i].ret);
	}
	EXPECT_EQ(-ENOBUFS, hold(self->env.fd).ret);
	EXPECT_EQ(CAP, info_of(self->env.fd).held);
	/* A writer waits with its message: still no hold beyond the limit. */
	io = chan_blocked_writer(_metadata, self->env.fd, "w", &pid);
	EXPECT_EQ(-ENOBUFS, hold(self->env.nb).ret);
	ASSERT_EQ(0, chan_wait_blocked(pid, SYS_write));
	EXPECT_EQ(1, ack(self->env.fd, m[0].id));
	ASSERT_EQ(0, chan_reap(pid));
	EXPECT_EQ(1, io->ret);
	w = hold(self->env.nb);
	ASSERT_EQ(1, w.ret);
	EXPECT_STREQ("w", w.buf);
	EXPECT_EQ(CAP + 1, w.seq);
	EXPECT_EQ(-ENOBUFS, hold(self->env.nb).ret);
	EXPECT_EQ(CAP - 1, ack(self->env.fd, ~0ULL));
	EXPECT_EQ(1, ack(self->env.nb, ~0ULL));
	EXPECT_EQ(-EAGAIN, hold(self->env.nb).ret);
}

TEST_F(held, emsgsize_and_efault_hold_nothing)
{
	struct held_msg first;
	struct kchan_hold h, *ro;
	struct kchan_info info;
	char small[4], buf[MAX + 1];
	char *guard = chan_guard_pages();
	long pg = sysconf(_SC_PAGESIZE);

	ASSERT_NE(NULL, guard);
	ASSERT_EQ(1, write(self->env.nb, "a", 1));
	ASSERT_EQ(5, write(self->env.nb, "hello", 5));
	first = hold(self->env.fd);
	ASSERT_EQ(1, first.ret);

	EXPECT_EQ(-EMSGSIZE, hold_into(self->env.fd, small, sizeof(small), &h));
	/* The buffer faults: the message goes back, as read() would put it. */
	EXPECT_EQ(-EFAULT, hold_into(self->env.fd, chan_guard_end(guard) - 2, MAX, &h));
	EXPECT_EQ(-EFAULT, hold_into(self->env.fd, chan_null(), MAX, &h));
	/* The struct is readable but the results cannot be written back. */
	ro = (struct kchan_hold *)guard;
	memset(ro, 0, sizeof(*ro));
	ro->size = sizeof(*ro);
	ro->buf = (__u64)(uintptr_t)buf;
	ro->len = MAX;
	ASSERT_EQ(0, mprotect(guard, pg, PROT_READ));
	EXPECT_EQ(-1, ioctl(self->env.fd, KCHAN_IOC_HOLD, ro));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-EFAULT, chan_ioctl(self->env.fd, KCHAN_IOC_HOLD, chan_null()));

	info = info_of(self->env.fd);
	EXPECT_EQ(1, info.held);
	EXPECT_EQ(1, info.length);
	EXPECT_EQ(1, info.received);
	/* The return goes in front of the message that was put back. */
	EXPECT_EQ(1, give_back(self->env.fd, 0));
	EXPECT_EQ(1, recv_str(self->env.nb, buf));
	EXPECT_STREQ("a", buf);
	EXPECT_EQ(5, recv_str(self->env.nb, buf));
	EXPECT_STREQ("hello", buf);
	munmap(guard, 2 * pg);
}

/* ----- unbuffered --------------------------------------------------------- */

TEST_F_TIMEOUT(held, unbuffered_hold_is_a_receive, CHAN_TIMEOUT)
{
	struct chan_env u;
	struct chan_io *io1, *io2;
	struct held_msg m;
	pid_t p1, p2;

	chan_env_setup(&u, 0, MAX, 0);
	EXPECT_EQ(-EAGAIN, hold(u.fd).ret);
	io1 = chan_blocked_writer(_metadata, u.fd, "first", &p1);
	m = hold(u.fd);
	ASSERT_EQ(5, m.ret);
	EXPECT_STREQ("first", m.buf);
	EXPECT_EQ(1, m.seq);
	ASSERT_EQ(0, chan_reap(p1));
	EXPECT_EQ(5, io1->ret);	/* the write returned: a hold is a receive */

	io2 = chan_blocked_writer(_metadata, u.fd, "second", &p2);
	EXPECT_EQ(-ENOBUFS, hold(u.fd).ret);	/* KCHAN_HOLD_UNBUFFERED == 1 */
	EXPECT_EQ(1, ack(u.fd, m.id));
	ASSERT_EQ(0, chan_wait_blocked(p2, SYS_write));	/* no slot to free */
	m = hold(u.fd);
	ASSERT_EQ(6, m.ret);
	EXPECT_STREQ("second", m.buf);
	EXPECT_EQ(2, m.seq);
	ASSERT_EQ(0, chan_reap(p2));
	EXPECT_EQ(6, io2->ret);
	EXPECT_EQ(1, give_back(u.fd, 0));
	EXPECT_EQ(1, info_of(u.fd).length);
	chan_env_teardown(&u);
}

/* ----- the holder goes ---------------------------------------------------- */

static void hold_in_child(struct __test_metadata *_metadata, const char *name,
			  bool wait_for_kill)
{
	struct chan_io *io = chan_io_new();
	pid_t pid;
	int status;

	ASSERT_NE(NULL, io);
	pid = chan_fork();
	if (pid == 0) {
		int fd = chan_open(name, O_RDONLY);
		struct held_msg m;

		m = fd < 0 ? (struct held_msg){ .ret = fd } : hold(fd);
		io->ret = m.ret;
		if (wait_for_kill)
			for (;;)
				pause();
		_exit(0);
	}
	ASSERT_LE(0, pid);
	if (wait_for_kill) {
		int i;

		for (i = 0; i < CHAN_WAIT_MS && io->ret == -2; i++)
			usleep(1000);
		ASSERT_EQ(4, io->ret);
		ASSERT_EQ(0, kill(pid, SIGKILL));
	}
	status = chan_reap(pid);
	if (wait_for_kill) {
		EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	} else {
		EXPECT_EQ(0, status);
	}
	EXPECT_EQ(4, io->ret);
	munmap(io, sizeof(*io));
}

TEST_F_TIMEOUT(held, exit_returns_held_messages, CHAN_TIMEOUT)
{
	char buf[MAX + 1];

	ASSERT_EQ(4, write(self->env.nb, "exit", 4));
	ASSERT_EQ(4, write(self->env.nb, "next", 4));
	hold_in_child(_metadata, self->env.name, false);
	EXPECT_EQ(0, info_of(self->env.fd).held);
	EXPECT_EQ(4, recv_str(self->env.nb, buf));
	EXPECT_STREQ("exit", buf);
	EXPECT_EQ(4, recv_str(self->env.nb, buf));
	EXPECT_STREQ("next", buf);
}

TEST_F_TIMEOUT(held, sigkill_returns_held_messages, CHAN_TIMEOUT)
{
	char buf[MAX + 1];

	ASSERT_EQ(4, write(self->env.nb, "kill", 4));
	hold_in_child(_metadata, self->env.name, true);
	EXPECT_EQ(0, info_of(self->env.fd).held);
	EXPECT_EQ(4, recv_str(self->env.nb, buf));
	EXPECT_STREQ("kill", buf);
}

/* Destroy frees held messages; the module must still unload (no leak). */
TEST_F(held, destroy_with_holds_outstanding)
{
	struct held_msg a;

	ASSERT_EQ(CAP, chan_fill(self->env.nb, "m", CAP));
	a = hold(self->env.fd);
	ASSERT_EQ(2, a.ret);
	ASSERT_EQ(2, hold(self->env.nb).ret);
	ASSERT_EQ(0, chan_destroy(self->env.ctl, self->env.name));
	EXPECT_EQ(-ENODEV, ack(self->env.fd, a.id));
	EXPECT_EQ(-ENODEV, give_back(self->env.nb, 0));
	EXPECT_EQ(-ENODEV, hold(self->env.fd).ret);
	EXPECT_EQ(0, info_of(self->env.fd).held);
	EXPECT_EQ(KCHAN_STATE_DESTROYED, info_of(self->env.fd).state);
}

/* ----- bad arguments ------------------------------------------------------ */

TEST_F(held, bad_arguments_einval)
{
	struct {
		struct kchan_ack a;
		char tail[8];
	} big;
	struct kchan_hold h;
	struct kchan_ack a;
	char buf[MAX];

	ASSERT_EQ(1, write(self->env.nb, "k", 1));
	ASSERT_EQ(1, hold(self->env.fd).ret);
	memset(&a, 0, sizeof(a));
	a.size = KCHAN_ACK_SIZE_VER0 - 1;
	a.id = ~0ULL;
	EXPECT_EQ(-EINVAL, chan_ioctl(self->env.fd, KCHAN_IOC_ACK, &a));
	a.size = sizeof(a);
	a.flags = KCHAN_RETURN_UNSENT;	/* RETURN only */
	EXPECT_EQ(-EINVAL, chan_ioctl(self->env.fd, KCHAN_IOC_ACK, &a));
	a.flags = 2;
	EXPECT_EQ(-EINVAL, chan_ioctl(self->env.fd, KCHAN_IOC_ACK, &a));
	EXPECT_EQ(-EINVAL, chan_ioctl(self->env.fd, KCHAN_IOC_RETURN, &a));
	a.flags = 0;
	a.reserved0 = 1;
	EXPECT_EQ(-EINVAL, chan_ioctl(self->env.fd, KCHAN_IOC_ACK, &a));
	a.reserved0 = 0;
	a.reserved[1] = 1;
	EXPECT_EQ(-EINVAL, chan_ioctl(self->env.fd, KCHAN_IOC_RETURN, &a));
	a.reserved[1] = 0;
	a.size = 8192;
	EXPECT_EQ(-E2BIG, chan_ioctl(self->env.fd, KCHAN_IOC_ACK, &a));
	memset(&big, 0, sizeof(big));
	big.a = a;
	big.a.size = sizeof(big);
	big.tail[3] = 1;
	EXPECT_EQ(-E2BIG, chan_ioctl(self->env.fd, KCHAN_IOC_ACK, &big));
	EXPECT_EQ(-EFAULT, chan_ioctl(self->env.fd, KCHAN_IOC_ACK, chan_null()));
	EXPECT_EQ(1, info_of(self->env.fd).held);	/* none of that acked */
	big.tail[3] = 0;
	EXPECT_EQ(0, chan_ioctl(self->env.fd, KCHAN_IOC_ACK, &big));	/* zero tail: fine */
	EXPECT_EQ(1, big.a.count);

	ASSERT_EQ(1, write(self->env.nb, "k", 1));
	hold_into(self->env.fd, buf, MAX, &h);	/* fills h; holds "k" */
	EXPECT_EQ(1, ack(self->env.fd, ~0ULL));
	ASSERT_EQ(1, write(self->env.nb, "k", 1));
	h.len = MAX;
	h.flags = 1;
	EXPECT_EQ(-EINVAL, chan_ioctl(self->env.fd, KCHAN_IOC_HOLD, &h));
	h.flags = 0;
	h.reserved0 = 1;
	EXPECT_EQ(-EINVAL, chan_ioctl(self->env.fd, KCHAN_IOC_HOLD, &h));
	h.reserved0 = 0;
	h.reserved1 = 1;
	EXPECT_EQ(-EINVAL, chan_ioctl(self->env.fd, KCHAN_IOC_HOLD, &h));
	h.reserved1 = 0;
	h.size = KCHAN_HOLD_SIZE_VER0 - 8;
	EXPECT_EQ(-EINVAL, chan_ioctl(self->env.fd, KCHAN_IOC_HOLD, &h));
	EXPECT_EQ(0, info_of(self->env.fd).held);
	EXPECT_EQ(1, info_of(self->env.fd).length);
}

TEST_F(held, wrong_access_mode_ebadf)
{
	int wr = chan_open(self->env.name, O_WRONLY);
	int rd = chan_open(self->env.name, O_RDONLY);

	ASSERT_LE(0, wr);
	ASSERT_LE(0, rd);
	ASSERT_EQ(1, write(wr, "q", 1));
	EXPECT_EQ(-EBADF, hold(wr).ret);
	EXPECT_EQ(-EBADF, send_once(rd, "x", 1, 1));
	/* ACK and RETURN need an fd open for reading too (issue 11, defect 1). */
	EXPECT_EQ(-EBADF, ack(wr, ~0ULL));
	EXPECT_EQ(0, ack(rd, ~0ULL));	/* holds nothing: count 0 */
	EXPECT_EQ(1, info_of(rd).length);
	EXPECT_EQ(0, stream_seq(rd, 1));
	close(wr);
	close(rd);
}

/* ----- info and fdinfo ---------------------------------------------------- */

TEST_F(held, info_held_id_and_older_sizes)
{
	unsigned char raw[sizeof(struct kchan_info) + 8];
	struct kchan_info info, again;
	char name2[KCHAN_NAME_MAX], sbuf[32];
	int fd2;
	size_t i;

	ASSERT_EQ(KCHAN_INFO_SIZE_VER2, sizeof(struct kchan_info));
	ASSERT_EQ(3, chan_fill(self->env.nb, "m", 3));
	ASSERT_EQ(2, hold(self->env.fd).ret);
	ASSERT_EQ(2, hold(self->env.fd).ret);
	info = info_of(self->env.fd);
	EXPECT_EQ(2, info.held);
	EXPECT_EQ(1, info.length);
	EXPECT_EQ(0, info.reserved1);
	EXPECT_NE(0, info.id);
	again = info_of(self->env.nb);
	EXPECT_EQ(info.id, again.id);	/* stable */
	EXPECT_STREQ("2\n", chan_attr(self->env.name, "held", sbuf, sizeof(sbuf)));

	/* Another channel, and the same name re-created: other ids. */
	chan_make_name(name2);
	ASSERT_EQ(0, chan_create(self->env.ctl, name2, 1, 0, 0, 0));
	fd2 = chan_open(name2, O_RDWR);
	ASSERT_LE(0, fd2);
	EXPECT_NE(info.id, info_of(fd2).id);
	EXPECT_NE(0, info_of(fd2).id);
	again = info_of(fd2);
	close(fd2);
	ASSERT_EQ(0, chan_destroy(self->env.ctl, name2));
	ASSERT_EQ(0, chan_create(self->env.ctl, name2, 1, 0, 0, 0));
	fd2 = chan_open(name2, O_RDWR);
	ASSERT_LE(0, fd2);
	EXPECT_NE(again.id, info_of(fd2).id);
	close(fd2);
	ASSERT_EQ(0, chan_destroy(self->env.ctl, name2));

	/* VER0 and VER1 callers get their bytes and not one more. */
	for (i = 0; i < 2; i++) {
		__u32 size = i ? KCHAN_INFO_SIZE_VER1 : KCHAN_INFO_SIZE_VER0;
		size_t j;

		memset(raw, 0xa5, sizeof(raw));
		memcpy(raw, &size, sizeof(size));
		ASSERT_EQ(0, chan_ioctl(self->env.fd, KCHAN_IOC_INFO, raw));
		memset(&again, 0, sizeof(again));
		memcpy(&again, raw, size);
		EXPECT_EQ(CAP, again.capacity);
		EXPECT_EQ(1, again.length);
		EXPECT_EQ(3, again.sent);
		for (j = size; j < sizeof(raw); j++)
			EXPECT_EQ(0xa5, raw[j]) TH_LOG("byte %zu past size %u", j, size);
	}
}

/* ----- SEND_ONCE ---------------------------------------------------------- */

TEST_F(held, send_once_suppresses_duplicates)
{
	struct kchan_info info;
	char buf[MAX + 1];

	EXPECT_EQ(0, stream_seq(self->env.fd, 5));
	EXPECT_EQ(0, send_once(self->env.fd, "s1", 5, 1));
	EXPECT_EQ(1, send_once(self->env.fd, "s1 again", 5, 1));
	EXPECT_EQ(0, send_once(self->env.fd, "s3", 5, 3));	/* gaps are fine */
	EXPECT_EQ(1, send_once(self->env.fd, "s2 late", 5, 2));
	EXPECT_EQ(0, send_once(self->env.fd, "other", 6, 1));	/* streams are apart */
	EXPECT_EQ(3, stream_seq(self->env.fd, 5));
	EXPECT_EQ(1, stream_seq(self->env.fd, 6));
	EXPECT_EQ(0, stream_seq(self->env.fd, 7));
	info = info_of(self->env.fd);
	EXPECT_EQ(3, info.sent);
	EXPECT_EQ(3, info.length);
	EXPECT_EQ(2, recv_str(self->env.nb, buf));
	EXPECT_STREQ("s1", buf);
	EXPECT_EQ(2, recv_str(self->env.nb, buf));
	EXPECT_STREQ("s3", buf);
	EXPECT_EQ(5, recv_str(self->env.nb, buf));
	EXPECT_STREQ("other", buf);
	/* The seq a message got is its place in the channel, not the stream's. */
	EXPECT_EQ(0, send_once(self->env.fd, "s9", 5, 9));
	EXPECT_EQ(4, hold(self->env.fd).seq);
}

TEST_F(held, send_once_bad_arguments)
{
	struct kchan_send_once s;
	struct kchan_stream_seq q;
	char big[MAX + 1];

	memset(big, 'b', sizeof(big));
	EXPECT_EQ(-EINVAL, send_once(self->env.fd, "x", 0, 1));
	EXPECT_EQ(-EINVAL, send_once(self->env.fd, "x", 1, 0));
	EXPECT_EQ(-EINVAL, send_once(self->env.fd, "", 1, 1));
	big[MAX] = '\0';
	EXPECT_EQ(0, send_once(self->env.nb, big, 1, 1));	/* MAX bytes: fits */
	big[MAX] = 'b';
	memset(&s, 0, sizeof(s));
	s.size = sizeof(s);
	s.buf = (__u64)(uintptr_t)big;
	s.len = MAX + 1;
	s.stream = 1;
	s.seq = 2;
	EXPECT_EQ(-EMSGSIZE, chan_ioctl(self->env.fd, KCHAN_IOC_SEND_ONCE, &s));
	s.len = 1;
	s.flags = 1;
	EXPECT_EQ(-EINVAL, chan_ioctl(self->env.fd, KCHAN_IOC_SEND_ONCE, &s));
	s.flags = 0;
	s.reserved0 = 1;
	EXPECT_EQ(-EINVAL, chan_ioctl(self->env.fd, KCHAN_IOC_SEND_ONCE, &s));
	s.reserved0 = 0;
	s.reserved[0] = 1;
	EXPECT_EQ(-EINVAL, chan_ioctl(self->env.fd, KCHAN_IOC_SEND_ONCE, &s));
	s.reserved[0] = 0;
	s.buf = (__u64)(uintptr_t)chan_null();
	EXPECT_EQ(-EFAULT, chan_ioctl(self->env.fd, KCHAN_IOC_SEND_ONCE, &s));
	s.size = KCHAN_SEND_ONCE_SIZE_VER0 - 8;
	EXPECT_EQ(-EINVAL, chan_ioctl(self->env.fd, KCHAN_IOC_SEND_ONCE, &s));
	EXPECT_EQ(1, stream_seq(self->env.fd, 1));	/* nothing above changed it */
	EXPECT_EQ(1, info_of(self->env.fd).sent);

	EXPECT_EQ(-EINVAL, stream_seq(self->env.fd, 0));
	memset(&q, 0, sizeof(q));
	q.size = sizeof(q);
	q.stream = 1;
	q.flags = 0x80000000U;	/* unknown (0x1 is KCHAN_STREAM_FORGET, issue 11) */
	EXPECT_EQ(-EINVAL, chan_ioctl(self->env.fd, KCHAN_IOC_STREAM_SEQ, &q));
	q.flags = 0;
	q.reserved[1] = 1;
	EXPECT_EQ(-EINVAL, chan_ioctl(self->env.fd, KCHAN_IOC_STREAM_SEQ, &q));
}

/* KCHAN_IOC_STREAM_SEQ with KCHAN_STREAM_FORGET: the seq, and the entry is free. */
static __u64 stream_forget(int fd, __u64 stream)
{
	struct kchan_stream_seq q = {
		.size = sizeof(q), .stream = stream, .flags = KCHAN_STREAM_FORGET,
	};

	if (chan_ioctl(fd, KCHAN_IOC_STREAM_SEQ, &q))
		return (__u64)-errno;
	return q.seq;
}

TEST_F(held, send_once_table_full_enospc_never_evicts)
{
	struct chan_env env;
	__u64 s;

	chan_env_setup(&env, 64, MAX, 0);
	for (s = 1; s <= KCHAN_STREAMS_DEFAULT; s++)
		ASSERT_EQ(0, send_once(env.fd, "m", s, 10));
	for (s = 1; s <= KCHAN_STREAMS_DEFAULT; s++)
		EXPECT_EQ(10, stream_seq(env.fd, s));
	/* One more stream: refused, nothing sent, nobody forgotten. */
	EXPECT_EQ(-ENOSPC, send_once(env.fd, "m", KCHAN_STREAMS_DEFAULT + 1, 10));
	EXPECT_EQ(KCHAN_STREAMS_DEFAULT, info_of(env.fd).sent);
	EXPECT_EQ(10, stream_seq(env.fd, 1));
	EXPECT_EQ(1, send_once(env.fd, "m", 1, 10));	/* still a duplicate */
	/* Known streams go on while the table is full. */
	EXPECT_EQ(0, send_once(env.fd, "m", 1, 11));
	/* Forgetting one makes room, and returns its last seq. */
	EXPECT_EQ(11, stream_forget(env.fd, 1));
	EXPECT_EQ(0, stream_seq(env.fd, 1));
	EXPECT_EQ(0, stream_forget(env.fd, 1));		/* unknown: seq 0 */
	EXPECT_EQ(0, send_once(env.fd, "m", KCHAN_STREAMS_DEFAULT + 1, 10));
	EXPECT_EQ(KCHAN_STREAMS_DEFAULT + 2, info_of(env.fd).sent);
	chan_env_teardown(&env);
}

TEST_F(held, stream_forget_needs_write_access)
{
	int rfd;

	ASSERT_EQ(0, send_once(self->env.fd, "m", 7, 3));
	rfd = chan_open(self->env.name, O_RDONLY | O_NONBLOCK);
	ASSERT_LE(0, rfd);
	EXPECT_EQ(3, stream_seq(rfd, 7));		/* reading is for anyone */
	EXPECT_EQ((__u64)-EBADF, stream_forget(rfd, 7));
	EXPECT_EQ(3, stream_seq(rfd, 7));
	close(rfd);
}

TEST_F(held, send_once_nonblocking_full_eagain)
{
	char buf[MAX + 1];

	ASSERT_EQ(CAP, chan_fill(self->env.nb, "m", CAP));
	EXPECT_EQ(-EAGAIN, send_once(self->env.nb, "late", 9, 1));
	EXPECT_EQ(0, stream_seq(self->env.fd, 9));	/* not accepted: not remembered */
	EXPECT_EQ(2, recv_str(self->env.nb, buf));
	EXPECT_EQ(0, send_once(self->env.nb, "late", 9, 1));
	EXPECT_EQ(1, stream_seq(self->env.fd, 9));
	ASSERT_EQ(0, chan_ioctl(self->env.fd, KCHAN_IOC_CLOSE, NULL));
	EXPECT_EQ(-EPIPE, send_once(self->env.nb, "x", 9, 2));
}

/*
 * Two senders of one (stream, seq) wait on a full channel: the first is
 * accepted when a slot frees, the second finds it a duplicate when its
 * turn comes, so the check is made again at the accept.
 */
TEST_F_TIMEOUT(held, send_once_blocking_checks_again_on_accept, CHAN_TIMEOUT)
{
	struct chan_io *io1 = chan_io_new(), *io2 = chan_io_new();
	char buf[MAX + 1];
	pid_t p1, p2;

	ASSERT_NE(NULL, io1);
	ASSERT_NE(NULL, io2);
	ASSERT_EQ(CAP, chan_fill(self->env.nb, "m", CAP));
	p1 = spawn_send_once(self->env.fd, "first", 4, 1, io1);
	ASSERT_LE(0, p1);
	ASSERT_EQ(0, chan_wait_blocked(p1, SYS_ioctl));
	p2 = spawn_send_once(self->env.fd, "second", 4, 1, io2);
	ASSERT_LE(0, p2);
	ASSERT_EQ(0, chan_wait_blocked(p2, SYS_ioctl));

	EXPECT_EQ(2, recv_str(self->env.nb, buf));	/* m0: first takes the slot */
	ASSERT_EQ(0, chan_reap(p1));
	EXPECT_EQ(0, io1->ret);
	EXPECT_EQ(1, stream_seq(self->env.fd, 4));
	ASSERT_EQ(0, chan_wait_blocked(p2, SYS_ioctl));
	EXPECT_EQ(2, recv_str(self->env.nb, buf));	/* m1: second's turn */
	ASSERT_EQ(0, chan_reap(p2));
	EXPECT_EQ(1, io2->ret);	/* a duplicate, not sent */
	EXPECT_EQ(CAP - 1, chan_len(self->env.fd));
	EXPECT_EQ(CAP + 1, info_of(self->env.fd).sent);
	EXPECT_EQ(2, recv_str(self->env.nb, buf));
	EXPECT_EQ(2, recv_str(self->env.nb, buf));
	EXPECT_EQ(5, recv_str(self->env.nb, buf));
	EXPECT_STREQ("first", buf);
	EXPECT_EQ(-EAGAIN, recv_str(self->env.nb, buf));
}

/* Unbuffered: a blocked SEND_ONCE is accepted by the hold that takes it. */
TEST_F_TIMEOUT(held, send_once_unbuffered_meets_hold, CHAN_TIMEOUT)
{
	struct chan_io *io = chan_io_new();
	struct chan_env u;
	struct held_msg m;
	pid_t pid;

	ASSERT_NE(NULL, io);
	chan_env_setup(&u, 0, MAX, 0);
	pid = spawn_send_once(u.fd, "rdv", 8, 3, io);
	ASSERT_LE(0, pid);
	ASSERT_EQ(0, chan_wait_blocked(pid, SYS_ioctl));
	EXPECT_EQ(0, stream_seq(u.fd, 8));	/* waiting is not accepted */
	m = hold(u.nb);
	ASSERT_EQ(3, m.ret);
	EXPECT_STREQ("rdv", m.buf);
	ASSERT_EQ(0, chan_reap(pid));
	EXPECT_EQ(0, io->ret);
	EXPECT_EQ(3, stream_seq(u.fd, 8));
	chan_env_teardown(&u);
}

#define RACE_N	300

/* Two processes send seqs 1..RACE_N of one stream at once: each arrives once. */
TEST_F_TIMEOUT(held, send_once_concurrent_senders_deliver_each_seq_once, 300)
{
	int dups[2] = { 0, 0 }, *shared, i, got = 0, fds[2];
	char buf[MAX + 1];
	pid_t pids[2];
	long last = 0;

	shared = mmap(NULL, sizeof(int) * 2, PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, shared);
	for (i = 0; i < 2; i++) {
		fds[i] = chan_open(self->env.name, O_WRONLY);
		ASSERT_LE(0, fds[i]);
	}
	for (i = 0; i < 2; i++) {
		pids[i] = chan_fork();
		if (pids[i] == 0) {
			int s, r, n = 0;

			alarm(280);
			for (s = 1; s <= RACE_N; s++) {
				char msg[16];

				snprintf(msg, sizeof(msg), "%d", s);
				r = send_once(fds[i], msg, 77, s);
				if (r < 0)
					_exit(10);
				n += r;
			}
			shared[i] = n;
			_exit(0);
		}
		ASSERT_LE(0, pids[i]);
	}
	close(fds[0]);
	close(fds[1]);
	/* Read until both senders are done and nothing is left. */
	for (;;) {
		struct pollfd p = { .fd = self->env.nb, .events = POLLIN };
		bool done = !chan_alive(pids[0]) && !chan_alive(pids[1]);
		long n = recv_str(self->env.nb, buf);

		if (n == -EAGAIN) {
			if (done)
				break;
			poll(&p, 1, 100);
			continue;
		}
		ASSERT_LT(0, n);
		EXPECT_EQ(last + 1, strtol(buf, NULL, 10)) TH_LOG("after %ld: %s", last, buf);
		last = strtol(buf, NULL, 10);
		got++;
	}
	EXPECT_EQ(RACE_N, got);
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, chan_reap(pids[i]));
		dups[i] = shared[i];
	}
	EXPECT_EQ(RACE_N, dups[0] + dups[1]);
	EXPECT_EQ(-EAGAIN, recv_str(self->env.nb, buf));
	EXPECT_EQ(RACE_N, stream_seq(self->env.fd, 77));
	EXPECT_EQ(RACE_N, info_of(self->env.fd).sent);
	munmap(shared, sizeof(int) * 2);
}

TEST_HARNESS_MAIN
