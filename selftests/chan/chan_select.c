// SPDX-License-Identifier: GPL-2.0
/*
 * KCHAN_IOC_SELECT, Go's select: a ready case completes at once, chosen
 * uniformly among the ready ones; timeout 0 is Go's default (EAGAIN, nothing
 * consumed); a waiting select counts as a waiting reader or writer of its
 * unbuffered channels, so plain reads and writes, pollers and other selects
 * meet it; exactly one case completes, even under heavy contention, signals,
 * close and destroy; and every argument error has its errno and commits
 * nothing.
 */
#include "chan_test.h"

#include <sys/eventfd.h>

#define MAX	64
#define CAP	4
#define NCH	6
/* The fixture's channels: two unbuffered, four buffered (CAP). */
#define U0	0
#define U1	1
#define B0	2
#define B1	3
#define B2	4
#define B3	5

#define NS_PER_MS	1000000LL
#define NS_PER_S	1000000000LL

FIXTURE(sel) {
	struct chan_env ch[NCH];
	int ctl;
	struct chan_env extra[KCHAN_SELECT_MAX];	/* a test's own channels */
	int nextra;
};

FIXTURE_SETUP(sel)
{
	int i;

	for (i = 0; i < NCH; i++)
		self->ch[i].ctl = self->ch[i].fd = self->ch[i].nb = -1;
	for (i = 0; i < NCH; i++)
		chan_env_setup(&self->ch[i], i < B0 ? 0 : CAP, MAX, 0);
	self->ctl = self->ch[0].ctl;
}

FIXTURE_TEARDOWN(sel)
{
	int i;

	for (i = 0; i < NCH; i++)
		chan_env_teardown(&self->ch[i]);
	for (i = 0; i < self->nextra; i++)
		chan_env_teardown(&self->extra[i]);
}

/* ----- a select in a helper process ----------------------------------- */

/* Shared with the helper: its cases, receive buffers and the answer. */
struct sel_io {
	struct chan_io io;		/* ret: 0 or -1; err; signals */
	struct kchan_select s;		/* the kernel's answer */
	struct kchan_select_case c[KCHAN_SELECT_MAX];
	char buf[KCHAN_SELECT_MAX][MAX];
};

static struct sel_io *sel_io_new(void)
{
	struct sel_io *io = mmap(NULL, sizeof(*io), PROT_READ | PROT_WRITE,
				 MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (io == MAP_FAILED)
		return NULL;
	memset(io, 0, sizeof(*io));
	io->io.ret = -2;	/* never ran */
	return io;
}

/* Ready for another select. */
static void sel_io_reset(struct sel_io *io)
{
	memset(io, 0, sizeof(*io));
	io->io.ret = -2;
}

/* Case i receives from fd into io->buf[i]. */
static void sel_recv(struct sel_io *io, int i, int fd)
{
	memset(io->buf[i], 'X', MAX);
	chan_case(&io->c[i], fd, KCHAN_SELECT_RECV, io->buf[i], MAX);
}

/* Case i sends msg on fd. */
static void sel_send(struct sel_io *io, int i, int fd, const char *msg)
{
	memcpy(io->buf[i], msg, strlen(msg));
	chan_case(&io->c[i], fd, KCHAN_SELECT_SEND, io->buf[i], strlen(msg));
}

/* A helper that makes one select over io->c[0..n) through fd and reports it. */
static pid_t spawn_select(int fd, struct sel_io *io, unsigned int n, __s64 timeout_ns)
{
	pid_t pid;

	chan_select_init(&io->s, io->c, n, timeout_ns);
	pid = chan_fork();
	if (pid == 0) {
		int r;

		chan_io_self = &io->io;
		r = ioctl(fd, KCHAN_IOC_SELECT, &io->s);
		io->io.err = r < 0 ? errno : 0;
		io->io.ret = r;
		_exit(0);
	}
	return pid;
}

/* A select helper asleep in the ioctl (ASSERTs otherwise). */
static struct sel_io *blocked_select(struct __test_metadata *_metadata, int fd,
				     struct sel_io *io, unsigned int n,
				     __s64 timeout_ns, pid_t *pid)
{
	*pid = spawn_select(fd, io, n, timeout_ns);
	ASSERT_LE(0, *pid);
	ASSERT_EQ(0, chan_wait_blocked(*pid, SYS_ioctl)) {
		TH_LOG("select helper: ret %zd, %s, index %d", io->io.ret,
		       strerror(io->io.err), io->s.index);
	}
	return io;
}

/* ----- small checks -------------------------------------------------- */

static struct kchan_info info_of(int fd)
{
	struct kchan_info info;

	if (chan_info(fd, &info))
		memset(&info, 0xff, sizeof(info));
	return info;
}

/* Non-blocking read of the next message into b (NUL-terminated): length or -errno. */
static ssize_t take(int nb, char *b)
{
	ssize_t n = read(nb, b, MAX);

	if (n < 0)
		return -errno;
	b[n] = '\0';
	return n;
}

/* Non-blocking write of a string: its length or -errno. */
static ssize_t put(int nb, const char *msg)
{
	ssize_t n = write(nb, msg, strlen(msg));

	return n < 0 ? -errno : n;
}

/* ---------------------------------------------------------------------- */
/* A ready case completes.                                                */

TEST_F(sel, ready_recv_completes)
{
	struct kchan_select_case c[3];
	struct kchan_select s;
	char b[3][MAX], r[MAX];

	memset(b, 'X', sizeof(b));
	ASSERT_EQ(5, put(self->ch[B1].nb, "hello"));
	chan_case(&c[0], self->ch[U0].fd, KCHAN_SELECT_RECV, b[0], MAX);
	chan_case(&c[1], self->ch[B0].fd, KCHAN_SELECT_RECV, b[1], MAX);
	chan_case(&c[2], self->ch[B1].fd, KCHAN_SELECT_RECV, b[2], MAX);
	ASSERT_EQ(0, chan_select(self->ctl, c, 3, -1, &s));
	EXPECT_EQ(2, s.index);
	EXPECT_EQ(5, s.result_len);
	EXPECT_EQ(0, s.result_flags);
	EXPECT_EQ(0, memcmp(b[2], "helloXX", 7));
	/* The other buffers were not touched. */
	EXPECT_EQ('X', b[0][0]);
	EXPECT_EQ('X', b[1][0]);
	EXPECT_EQ(0, info_of(self->ch[B1].fd).length);
	EXPECT_EQ(1, info_of(self->ch[B1].fd).received);
	EXPECT_EQ(-EAGAIN, take(self->ch[B1].nb, r));
}

TEST_F(sel, ready_send_completes)
{
	struct kchan_select_case c[2];
	struct kchan_select s;
	char r[MAX];

	/* U0 has no reader; B0 has room. */
	chan_case(&c[0], self->ch[U0].fd, KCHAN_SELECT_SEND, "one", 3);
	chan_case(&c[1], self->ch[B0].fd, KCHAN_SELECT_SEND, "two", 3);
	ASSERT_EQ(0, chan_select(self->ctl, c, 2, -1, &s));
	EXPECT_EQ(1, s.index);
	EXPECT_EQ(0, s.result_len);
	EXPECT_EQ(0, s.result_flags);
	EXPECT_EQ(1, info_of(self->ch[B0].fd).sent);
	EXPECT_EQ(3, take(self->ch[B0].nb, r));
	EXPECT_STREQ("two", r);
	EXPECT_EQ(0, info_of(self->ch[U0].fd).sent);
}

TEST_F(sel, select_through_any_channel_fd)
{
	struct kchan_select_case c;
	struct kchan_select s;
	char b[MAX];
	int ro;

	/* Issued on an unrelated channel's read-only fd. */
	ro = chan_open(self->ch[B3].name, O_RDONLY);
	ASSERT_LE(0, ro);
	ASSERT_EQ(1, put(self->ch[B0].nb, "x"));
	chan_case(&c, self->ch[B0].fd, KCHAN_SELECT_RECV, b, MAX);
	ASSERT_EQ(0, chan_select(ro, &c, 1, 0, &s));
	EXPECT_EQ(0, s.index);
	EXPECT_EQ(1, s.result_len);
	close(ro);
}

TEST_F_TIMEOUT(sel, ready_blocked_plain_writer_is_taken, CHAN_TIMEOUT)
{
	struct kchan_select_case c[2];
	struct kchan_select s;
	struct chan_io *wr;
	char b[2][MAX];
	pid_t pw;

	wr = chan_blocked_writer(_metadata, self->ch[U1].fd, "rendezvous", &pw);
	chan_case(&c[0], self->ch[U0].fd, KCHAN_SELECT_RECV, b[0], MAX);
	chan_case(&c[1], self->ch[U1].fd, KCHAN_SELECT_RECV, b[1], MAX);
	ASSERT_EQ(0, chan_select(self->ctl, c, 2, 0, &s));
	EXPECT_EQ(1, s.index);
	EXPECT_EQ(10, s.result_len);
	EXPECT_EQ(0, memcmp(b[1], "rendezvous", 10));
	ASSERT_EQ(0, chan_reap(pw));
	EXPECT_EQ(10, wr->ret);
}

TEST_F_TIMEOUT(sel, selecting_writer_meets_blocked_plain_reader, CHAN_TIMEOUT)
{
	struct kchan_select_case c[2];
	struct kchan_select s;
	struct chan_io *rd;
	pid_t pr;

	rd = chan_blocked_reader(_metadata, self->ch[U0].fd, MAX, &pr);
	chan_case(&c[0], self->ch[U0].fd, KCHAN_SELECT_SEND, "to-reader", 9);
	chan_case(&c[1], self->ch[U1].fd, KCHAN_SELECT_SEND, "nobody", 6);
	ASSERT_EQ(0, chan_select(self->ctl, c, 2, 0, &s));
	EXPECT_EQ(0, s.index);
	ASSERT_EQ(0, chan_reap(pr));
	EXPECT_EQ(9, rd->ret);
	EXPECT_EQ(0, memcmp(rd->buf, "to-reader", 9));
	EXPECT_EQ(0, info_of(self->ch[U1].fd).sent);
}

TEST_F(sel, closed_and_drained_recv_case_is_ready)
{
	struct kchan_select_case c[2];
	struct kchan_select s;
	char b[2][MAX], r[MAX];

	ASSERT_EQ(1, put(self->ch[B0].nb, "q"));
	ASSERT_EQ(0, chan_ioctl(self->ch[B0].fd, KCHAN_IOC_CLOSE, NULL));
	chan_case(&c[0], self->ch[U0].fd, KCHAN_SELECT_RECV, b[0], MAX);
	chan_case(&c[1], self->ch[B0].fd, KCHAN_SELECT_RECV, b[1], MAX);
	/* The buffered message first... */
	ASSERT_EQ(0, chan_select(self->ctl, c, 2, 0, &s));
	EXPECT_EQ(1, s.index);
	EXPECT_EQ(0, s.result_flags);
	EXPECT_EQ(1, s.result_len);
	EXPECT_EQ('q', b[1][0]);
	/* ...then end of file, every time. */
	ASSERT_EQ(0, chan_select(self->ctl, c, 2, 0, &s));
	EXPECT_EQ(1, s.index);
	EXPECT_EQ(KCHAN_SELECT_CLOSED, s.result_flags);
	EXPECT_EQ(0, s.result_len);
	ASSERT_EQ(0, chan_select(self->ctl, c, 2, -1, &s));
	EXPECT_EQ(1, s.index);
	EXPECT_EQ(KCHAN_SELECT_CLOSED, s.result_flags);
	EXPECT_EQ(0, take(self->ch[B0].nb, r));
}

TEST_F(sel, send_case_on_closed_channel_epipe_without_sigpipe)
{
	struct kchan_select_case c[2];
	struct kchan_select s;
	char r[MAX];
	pid_t pid;

	ASSERT_EQ(0, chan_ioctl(self->ch[B1].fd, KCHAN_IOC_CLOSE, NULL));
	chan_case(&c[0], self->ch[B0].fd, KCHAN_SELECT_RECV, r, MAX);	/* not ready */
	chan_case(&c[1], self->ch[B1].fd, KCHAN_SELECT_SEND, "late", 4);
	pid = chan_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		signal(SIGPIPE, SIG_DFL);
		_exit(-chan_select(self->ctl, c, 2, -1, &s) == EPIPE && s.index == 1 ? 0 : 1);
	}
	/* Not killed by SIGPIPE, and EPIPE naming case 1. */
	EXPECT_EQ(0, chan_reap(pid));
	EXPECT_EQ(0, info_of(self->ch[B1].fd).sent);
	EXPECT_EQ(0, take(self->ch[B1].nb, r));
}

/* ---------------------------------------------------------------------- */
/* Go's default: timeout 0.                                               */

TEST_F(sel, default_eagain_nothing_consumed)
{
	struct kchan_select_case c[4];
	struct kchan_info before, after;
	struct kchan_select s;
	char b[2][MAX], r[MAX];
	int i;

	/* Nothing is ready: U0 has no peer, B0 is full, B1 is empty. */
	ASSERT_EQ(CAP, chan_fill(self->ch[B0].nb, "f", CAP));
	before = info_of(self->ch[B0].fd);
	chan_case(&c[0], self->ch[U0].fd, KCHAN_SELECT_RECV, b[0], MAX);
	chan_case(&c[1], self->ch[B0].fd, KCHAN_SELECT_SEND, "more", 4);
	chan_case(&c[2], self->ch[B1].fd, KCHAN_SELECT_RECV, b[1], MAX);
	chan_case(&c[3], self->ch[U0].fd, KCHAN_SELECT_SEND, "u0", 2);
	for (i = 0; i < 50; i++) {
		ASSERT_EQ(-EAGAIN, chan_select(self->ctl, c, 4, 0, &s));
		EXPECT_EQ(-1, s.index);
	}
	after = info_of(self->ch[B0].fd);
	EXPECT_EQ(before.sent, after.sent);
	EXPECT_EQ(before.received, after.received);
	EXPECT_EQ(CAP, after.length);
	for (i = 0; i < CAP; i++) {
		char want[8];

		snprintf(want, sizeof(want), "f%d", i);
		ASSERT_EQ(2, take(self->ch[B0].nb, r));
		EXPECT_STREQ(want, r);
	}
	EXPECT_EQ(0, info_of(self->ch[U0].fd).sent);
	EXPECT_EQ(0, info_of(self->ch[B1].fd).sent);
	/* No registration was left behind on U0. */
	EXPECT_EQ(-EAGAIN, put(self->ch[U0].nb, "x"));
	EXPECT_EQ(-EAGAIN, take(self->ch[U0].nb, r));
}

TEST_F(sel, default_not_taken_when_a_case_is_ready)
{
	struct kchan_select_case c[2];
	struct kchan_select s;
	char b[2][MAX];

	ASSERT_EQ(1, put(self->ch[B1].nb, "r"));
	chan_case(&c[0], self->ch[U0].fd, KCHAN_SELECT_RECV, b[0], MAX);
	chan_case(&c[1], self->ch[B1].fd, KCHAN_SELECT_RECV, b[1], MAX);
	ASSERT_EQ(0, chan_select(self->ctl, c, 2, 0, &s));
	EXPECT_EQ(1, s.index);
	EXPECT_EQ(1, s.result_len);
}

/* ---------------------------------------------------------------------- */
/* Timeouts.                                                              */

TEST_F_TIMEOUT(sel, timeout_etimedout_nothing_consumed, CHAN_TIMEOUT)
{
	const __s64 timeout = 300 * NS_PER_MS;
	struct kchan_select_case c[3];
	struct kchan_select s;
	char b[2][MAX], r[MAX];
	__s64 t0, elapsed;

	ASSERT_EQ(CAP, chan_fill(self->ch[B0].nb, "f", CAP));
	chan_case(&c[0], self->ch[U0].fd, KCHAN_SELECT_RECV, b[0], MAX);
	chan_case(&c[1], self->ch[U1].fd, KCHAN_SELECT_SEND, "u1", 2);
	chan_case(&c[2], self->ch[B0].fd, KCHAN_SELECT_SEND, "b0", 2);
	t0 = chan_now_ns();
	ASSERT_EQ(-ETIMEDOUT, chan_select(self->ctl, c, 3, timeout, &s));
	elapsed = chan_now_ns() - t0;
	EXPECT_EQ(-1, s.index);
	EXPECT_LE(timeout, elapsed);
	EXPECT_GT(timeout + 5 * NS_PER_S, elapsed) TH_LOG("took %lld ns", (long long)elapsed);

	/* Nothing taken or left behind: no lingering reader on U0, writer on U1. */
	EXPECT_EQ(-EAGAIN, put(self->ch[U0].nb, "x"));
	EXPECT_EQ(-EAGAIN, take(self->ch[U1].nb, b[1]));
	EXPECT_EQ(0, chan_revents(self->ch[U0].fd, CHAN_POLL_ALL));
	EXPECT_EQ(0, chan_revents(self->ch[U1].fd, CHAN_POLL_ALL));
	EXPECT_EQ(CAP, info_of(self->ch[B0].fd).length);
	EXPECT_EQ(CAP, info_of(self->ch[B0].fd).sent);
	ASSERT_EQ(2, take(self->ch[B0].nb, r));
	EXPECT_STREQ("f0", r);
}

/* Any negative timeout waits for ever; a huge positive one is "at most that long". */
static void wait_then_feed(struct __test_metadata *_metadata,
			   FIXTURE_DATA(sel) *self, __s64 timeout_ns)
{
	struct sel_io *io = sel_io_new();
	pid_t pid;

	ASSERT_NE(NULL, io);
	sel_recv(io, 0, self->ch[U0].fd);
	sel_recv(io, 1, self->ch[B0].fd);
	pid = spawn_select(self->ctl, io, 2, timeout_ns);
	ASSERT_LE(0, pid);
	if (chan_wait_blocked(pid, SYS_ioctl)) {
		chan_reap(pid);
		ASSERT_TRUE(false) {
			TH_LOG("select with timeout %lld did not wait: ret %zd, %s, index %d",
			       (long long)timeout_ns, io->io.ret, strerror(io->io.err),
			       io->s.index);
		}
	}
	ASSERT_EQ(4, put(self->ch[U0].nb, "feed"));
	ASSERT_EQ(0, chan_reap(pid));
	EXPECT_EQ(0, io->io.ret);
	EXPECT_EQ(0, io->s.index);
	EXPECT_EQ(4, io->s.result_len);
	EXPECT_EQ(0, memcmp(io->buf[0], "feed", 4));
}

TEST_F_TIMEOUT(sel, negative_timeouts_wait_for_ever, CHAN_TIMEOUT)
{
	wait_then_feed(_metadata, self, -1);
	wait_then_feed(_metadata, self, INT64_MIN);
}

TEST_F_TIMEOUT(sel, huge_timeout_waits, CHAN_TIMEOUT)
{
	wait_then_feed(_metadata, self, 1LL << 62);
	wait_then_feed(_metadata, self, INT64_MAX);
}

/* ---------------------------------------------------------------------- */
/* Fairness.                                                              */

/* Pearson's chi-square statistic of counts against a uniform distribution. */
static double chi_square(const unsigned int *counts, int k, unsigned int n)
{
	double expect = (double)n / k, chi = 0;
	int i;

	for (i = 0; i < k; i++)
		chi += (counts[i] - expect) * (counts[i] - expect) / expect;
	return chi;
}

/* Critical values at p = 0.001 for 1 and 3 degrees of freedom. */
#define CHI2_1DF_P001	10.828
#define CHI2_3DF_P001	16.266
#define FAIR_SELECTS	4000

/* A deterministic PRNG for the biased choosers of the self-check. */
static unsigned int xorshift(unsigned int *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x;
}

TEST(chi_square_test_would_catch_a_biased_chooser)
{
	unsigned int counts[4] = { 0 }, x = 2463534242u;
	unsigned int first[4] = { FAIR_SELECTS, 0, 0, 0 };
	unsigned int fair[4] = { 1000, 1000, 1000, 1000 };
	int i;

	/* Case 0 chosen 31% of the time, the others 23%: a mild bias. */
	for (i = 0; i < FAIR_SELECTS; i++) {
		unsigned int r = xorshift(&x) % 100;

		counts[r < 31 ? 0 : 1 + (r - 31) / 23]++;
	}
	EXPECT_LT(CHI2_3DF_P001, chi_square(counts, 4, FAIR_SELECTS));
	/* "The first ready case wins" (no shuffle at all). */
	EXPECT_LT(CHI2_3DF_P001, chi_square(first, 4, FAIR_SELECTS));
	EXPECT_GT(0.001, chi_square(fair, 4, FAIR_SELECTS));
}

TEST_F_TIMEOUT(sel, fairness_all_ready_chi_square, 300)
{
	static const int chans[4] = { B0, B1, B2, B3 };
	unsigned int counts[4] = { 0 };
	struct kchan_select_case c[4];
	struct kchan_select s;
	char b[4][MAX];
	double chi;
	int i;

	for (i = 0; i < 4; i++) {
		ASSERT_EQ(2, chan_fill(self->ch[chans[i]].nb, "m", 2));
		chan_case(&c[i], self->ch[chans[i]].fd, KCHAN_SELECT_RECV, b[i], MAX);
	}
	for (i = 0; i < FAIR_SELECTS; i++) {
		ASSERT_EQ(0, chan_select(self->ctl, c, 4, 0, &s));
		ASSERT_LE(0, s.index);
		ASSERT_GT(4, s.index);
		counts[s.index]++;
		/* Keep every case ready. */
		ASSERT_EQ(1, put(self->ch[chans[s.index]].nb, "m"));
	}
	chi = chi_square(counts, 4, FAIR_SELECTS);
	EXPECT_GT(CHI2_3DF_P001, chi) {
		TH_LOG("counts %u %u %u %u: chi-square %.2f", counts[0], counts[1],
		       counts[2], counts[3], chi);
	}
}

TEST_F_TIMEOUT(sel, fairness_among_the_ready_cases_only, 300)
{
	static const int chans[4] = { B0, B1, B2, B3 };
	unsigned int counts[4] = { 0 }, two[2];
	struct kchan_select_case c[4];
	struct kchan_select s;
	const unsigned int n = FAIR_SELECTS / 2;
	char b[4][MAX];
	double chi;
	unsigned int i;

	/* Cases 1 and 3 are ready, 0 and 2 are empty. */
	ASSERT_EQ(2, chan_fill(self->ch[B1].nb, "m", 2));
	ASSERT_EQ(2, chan_fill(self->ch[B3].nb, "m", 2));
	for (i = 0; i < 4; i++)
		chan_case(&c[i], self->ch[chans[i]].fd, KCHAN_SELECT_RECV, b[i], MAX);
	for (i = 0; i < n; i++) {
		ASSERT_EQ(0, chan_select(self->ctl, c, 4, 0, &s));
		ASSERT_TRUE(s.index == 1 || s.index == 3) TH_LOG("index %d", s.index);
		counts[s.index]++;
		ASSERT_EQ(1, put(self->ch[chans[s.index]].nb, "m"));
	}
	two[0] = counts[1];
	two[1] = counts[3];
	chi = chi_square(two, 2, n);
	EXPECT_GT(CHI2_1DF_P001, chi) TH_LOG("counts %u %u: chi-square %.2f", two[0], two[1], chi);
}

/* ---------------------------------------------------------------------- */
/* A waiting select is a waiting reader / writer.                         */

TEST_F_TIMEOUT(sel, blocked_select_is_a_waiting_reader, CHAN_TIMEOUT)
{
	struct sel_io *io = sel_io_new();
	char r[MAX];
	pid_t pid;

	ASSERT_NE(NULL, io);
	EXPECT_EQ(0, chan_revents(self->ch[U0].fd, CHAN_POLL_ALL));
	sel_recv(io, 0, self->ch[B0].fd);
	sel_recv(io, 1, self->ch[U0].fd);
	blocked_select(_metadata, self->ctl, io, 2, -1, &pid);
	/* U0 is writable now, and a non-blocking write meets the select. */
	EXPECT_EQ(POLLOUT | POLLWRNORM, chan_revents(self->ch[U0].fd, CHAN_POLL_ALL));
	ASSERT_EQ(6, put(self->ch[U0].nb, "direct"));
	ASSERT_EQ(0, chan_reap(pid));
	EXPECT_EQ(0, io->io.ret);
	EXPECT_EQ(1, io->s.index);
	EXPECT_EQ(6, io->s.result_len);
	EXPECT_EQ(0, io->s.result_flags);
	EXPECT_EQ(0, memcmp(io->buf[1], "directX", 7));
	/* Withdrawn from both channels. */
	EXPECT_EQ(-EAGAIN, put(self->ch[U0].nb, "again"));
	EXPECT_EQ(0, chan_revents(self->ch[U0].fd, CHAN_POLL_ALL));
	ASSERT_EQ(1, put(self->ch[B0].nb, "b"));
	EXPECT_EQ(1, take(self->ch[B0].nb, r));
	EXPECT_EQ(1, info_of(self->ch[U0].fd).sent);
	EXPECT_EQ(1, info_of(self->ch[U0].fd).received);
}

TEST_F_TIMEOUT(sel, blocked_select_is_a_waiting_writer, CHAN_TIMEOUT)
{
	struct sel_io *io = sel_io_new();
	char r[MAX];
	pid_t pid;

	ASSERT_NE(NULL, io);
	ASSERT_EQ(CAP, chan_fill(self->ch[B0].nb, "f", CAP));
	sel_send(io, 0, self->ch[B0].fd, "b0");
	sel_send(io, 1, self->ch[U1].fd, "u1-msg");
	blocked_select(_metadata, self->ctl, io, 2, -1, &pid);
	EXPECT_EQ(POLLIN | POLLRDNORM, chan_revents(self->ch[U1].fd, CHAN_POLL_ALL));
	ASSERT_EQ(6, take(self->ch[U1].nb, r));
	EXPECT_STREQ("u1-msg", r);
	ASSERT_EQ(0, chan_reap(pid));
	EXPECT_EQ(0, io->io.ret);
	EXPECT_EQ(1, io->s.index);
	EXPECT_EQ(0, io->s.result_flags);
	/* The losing send case left nothing in B0. */
	EXPECT_EQ(CAP, info_of(self->ch[B0].fd).sent);
	EXPECT_EQ(-EAGAIN, take(self->ch[U1].nb, r));
}

TEST_F_TIMEOUT(sel, blocked_send_case_gets_the_freed_slot, CHAN_TIMEOUT)
{
	struct sel_io *io = sel_io_new();
	char r[MAX];
	pid_t pid;
	int i;

	ASSERT_NE(NULL, io);
	ASSERT_EQ(CAP, chan_fill(self->ch[B0].nb, "f", CAP));
	sel_send(io, 0, self->ch[U0].fd, "u0");
	sel_send(io, 1, self->ch[B0].fd, "last");
	blocked_select(_metadata, self->ctl, io, 2, -1, &pid);
	ASSERT_EQ(2, take(self->ch[B0].nb, r));
	EXPECT_STREQ("f0", r);
	ASSERT_EQ(0, chan_reap(pid));
	EXPECT_EQ(0, io->io.ret);
	EXPECT_EQ(1, io->s.index);
	for (i = 1; i < CAP; i++)
		ASSERT_EQ(2, take(self->ch[B0].nb, r));
	ASSERT_EQ(4, take(self->ch[B0].nb, r));
	EXPECT_STREQ("last", r);
	/* U0 never got the losing message. */
	EXPECT_EQ(-EAGAIN, take(self->ch[U0].nb, r));
}

TEST_F_TIMEOUT(sel, blocked_poller_wakes_when_a_select_waits, CHAN_TIMEOUT)
{
	struct sel_io *io = sel_io_new();
	struct chan_io *pio = chan_io_new();
	pid_t pp, ps;

	ASSERT_NE(NULL, io);
	ASSERT_NE(NULL, pio);
	pp = chan_fork();
	ASSERT_LE(0, pp);
	if (pp == 0) {
		struct pollfd p = { .fd = self->ch[U0].fd, .events = POLLOUT };

		pio->ret = poll(&p, 1, -1) == 1 ? p.revents : -1;
		_exit(0);
	}
	ASSERT_EQ(0, chan_wait_blocked(pp, SYS_poll));
	sel_recv(io, 0, self->ch[U0].fd);
	blocked_select(_metadata, self->ctl, io, 1, -1, &ps);
	ASSERT_EQ(0, chan_reap(pp));
	EXPECT_EQ(POLLOUT, pio->ret);
	ASSERT_EQ(1, put(self->ch[U0].nb, "p"));
	ASSERT_EQ(0, chan_reap(ps));
	EXPECT_EQ(0, io->s.index);
}

TEST_F_TIMEOUT(sel, two_selects_meet, CHAN_TIMEOUT)
{
	struct kchan_select_case c[2];
	struct sel_io *io = sel_io_new();
	struct kchan_select s;
	char b[MAX];
	pid_t pid;

	ASSERT_NE(NULL, io);
	/* A receiving select waits; a sending select with timeout 0 meets it. */
	sel_recv(io, 0, self->ch[U0].fd);
	sel_recv(io, 1, self->ch[U1].fd);
	blocked_select(_metadata, self->ctl, io, 2, -1, &pid);
	chan_case(&c[0], self->ch[B0].fd, KCHAN_SELECT_RECV, b, MAX);	/* empty */
	chan_case(&c[1], self->ch[U1].fd, KCHAN_SELECT_SEND, "sel2sel", 7);
	ASSERT_EQ(0, chan_select(self->ctl, c, 2, 0, &s));
	EXPECT_EQ(1, s.index);
	ASSERT_EQ(0, chan_reap(pid));
	EXPECT_EQ(0, io->io.ret);
	EXPECT_EQ(1, io->s.index);
	EXPECT_EQ(7, io->s.result_len);
	EXPECT_EQ(0, memcmp(io->buf[1], "sel2sel", 7));

	/* And the other way round: a sending select waits. */
	sel_io_reset(io);
	sel_send(io, 0, self->ch[U0].fd, "back");
	blocked_select(_metadata, self->ctl, io, 1, -1, &pid);
	memset(b, 'X', sizeof(b));
	chan_case(&c[0], self->ch[U0].fd, KCHAN_SELECT_RECV, b, MAX);
	ASSERT_EQ(0, chan_select(self->ctl, c, 1, 0, &s));
	EXPECT_EQ(0, s.index);
	EXPECT_EQ(4, s.result_len);
	EXPECT_EQ(0, memcmp(b, "backX", 5));
	ASSERT_EQ(0, chan_reap(pid));
	EXPECT_EQ(0, io->io.ret);
	EXPECT_EQ(0, io->s.index);
}

/* ---------------------------------------------------------------------- */
/* The same channel in several cases.                                     */

TEST_F(sel, same_channel_twice_one_message_taken_once)
{
	struct kchan_select_case c[2];
	struct kchan_select s;
	unsigned int seen[2] = { 0 };
	char b[2][MAX], r[MAX];
	int i;

	for (i = 0; i < 200; i++) {
		ASSERT_EQ(1, put(self->ch[B0].nb, "1"));
		chan_case(&c[0], self->ch[B0].fd, KCHAN_SELECT_RECV, b[0], MAX);
		/* The very same fd twice. */
		chan_case(&c[1], self->ch[B0].fd, KCHAN_SELECT_RECV, b[1], MAX);
		ASSERT_EQ(0, chan_select(self->ctl, c, 2, 0, &s));
		ASSERT_TRUE(s.index == 0 || s.index == 1);
		seen[s.index]++;
		ASSERT_EQ(0, info_of(self->ch[B0].fd).length);
	}
	/* Both cases are ready each time: each must win sometimes (p = 2^-199). */
	EXPECT_LT(0, seen[0]);
	EXPECT_LT(0, seen[1]);
	EXPECT_EQ(200, info_of(self->ch[B0].fd).received);
	EXPECT_EQ(-EAGAIN, take(self->ch[B0].nb, r));
}

TEST_F_TIMEOUT(sel, same_channel_twice_blocked_takes_one, CHAN_TIMEOUT)
{
	struct sel_io *io = sel_io_new();
	pid_t pid;

	ASSERT_NE(NULL, io);
	/* Two files of one channel (one of them O_NONBLOCK: the timeout decides). */
	sel_recv(io, 0, self->ch[U0].fd);
	sel_recv(io, 1, self->ch[U0].nb);
	blocked_select(_metadata, self->ctl, io, 2, -1, &pid);
	ASSERT_EQ(3, put(self->ch[U0].nb, "one"));
	ASSERT_EQ(0, chan_reap(pid));
	EXPECT_EQ(0, io->io.ret);
	ASSERT_TRUE(io->s.index == 0 || io->s.index == 1);
	EXPECT_EQ(0, memcmp(io->buf[io->s.index], "one", 3));
	EXPECT_EQ('X', io->buf[1 - io->s.index][0]);
	/* Its other registration went with it. */
	EXPECT_EQ(-EAGAIN, put(self->ch[U0].nb, "two"));
	EXPECT_EQ(1, info_of(self->ch[U0].fd).sent);
}

TEST_F_TIMEOUT(sel, same_channel_twice_blocked_sends_one, CHAN_TIMEOUT)
{
	struct sel_io *io = sel_io_new();
	char r[MAX];
	pid_t pid;

	ASSERT_NE(NULL, io);
	sel_send(io, 0, self->ch[U0].fd, "first");
	sel_send(io, 1, self->ch[U0].fd, "second");
	blocked_select(_metadata, self->ctl, io, 2, -1, &pid);
	ASSERT_LT(0, take(self->ch[U0].nb, r));
	ASSERT_EQ(0, chan_reap(pid));
	EXPECT_EQ(0, io->io.ret);
	ASSERT_TRUE(io->s.index == 0 || io->s.index == 1);
	EXPECT_STREQ(io->s.index ? "second" : "first", r);
	/* The other message was withdrawn with it. */
	EXPECT_EQ(-EAGAIN, take(self->ch[U0].nb, r));
	EXPECT_EQ(1, info_of(self->ch[U0].fd).sent);
}

TEST_F_TIMEOUT(sel, send_and_recv_on_one_unbuffered_channel_never_meet_themselves, CHAN_TIMEOUT)
{
	struct kchan_select_case c[2];
	struct kchan_select s;
	struct chan_io *rd;
	char b[MAX];
	pid_t pr;

	chan_case(&c[0], self->ch[U0].fd, KCHAN_SELECT_SEND, "self", 4);
	chan_case(&c[1], self->ch[U0].fd, KCHAN_SELECT_RECV, b, MAX);
	EXPECT_EQ(-EAGAIN, chan_select(self->ctl, c, 2, 0, &s));
	EXPECT_EQ(-ETIMEDOUT, chan_select(self->ctl, c, 2, 50 * NS_PER_MS, &s));
	EXPECT_EQ(0, info_of(self->ch[U0].fd).sent);
	/* A plain reader meets the send case. */
	rd = chan_blocked_reader(_metadata, self->ch[U0].fd, MAX, &pr);
	ASSERT_EQ(0, chan_select(self->ctl, c, 2, -1, &s));
	EXPECT_EQ(0, s.index);
	ASSERT_EQ(0, chan_reap(pr));
	EXPECT_EQ(4, rd->ret);
	EXPECT_EQ(0, memcmp(rd->buf, "self", 4));
}

TEST_F(sel, send_and_recv_on_one_buffered_channel)
{
	struct kchan_select_case c[2];
	struct kchan_select s;
	char b[MAX];

	/* Empty: only the send is ready.  Full: only the receive. */
	chan_case(&c[0], self->ch[B0].fd, KCHAN_SELECT_RECV, b, MAX);
	chan_case(&c[1], self->ch[B0].fd, KCHAN_SELECT_SEND, "s", 1);
	ASSERT_EQ(0, chan_select(self->ctl, c, 2, 0, &s));
	EXPECT_EQ(1, s.index);
	ASSERT_EQ(CAP - 1, chan_fill(self->ch[B0].nb, "f", CAP - 1));
	ASSERT_EQ(0, chan_select(self->ctl, c, 2, 0, &s));
	EXPECT_EQ(0, s.index);
	EXPECT_EQ(1, s.result_len);
	EXPECT_EQ('s', b[0]);
	EXPECT_EQ(CAP - 1, info_of(self->ch[B0].fd).length);
}

/* KCHAN_SELECT_MAX distinct channels (the lock-all path at its widest). */
TEST_F_TIMEOUT(sel, thirty_two_distinct_channels, CHAN_TIMEOUT)
{
	struct sel_io *io = sel_io_new();
	struct chan_env *extra = self->extra;
	pid_t pid;
	int i, n = KCHAN_SELECT_MAX;

	ASSERT_NE(NULL, io);
	for (i = 0; i < n; i++) {
		self->nextra = i + 1;
		chan_env_setup(&extra[i], i % 2, MAX, 0);
		sel_recv(io, i, extra[i].fd);
	}
	blocked_select(_metadata, self->ctl, io, n, 10 * NS_PER_S, &pid);
	for (i = 0; i < n; i++)
		EXPECT_EQ(POLLOUT | POLLWRNORM, chan_revents(extra[i].fd, CHAN_POLL_ALL))
			TH_LOG("channel %d", i);
	ASSERT_EQ(4, put(extra[n - 3].nb, "late"));
	ASSERT_EQ(0, chan_reap(pid));
	EXPECT_EQ(0, io->io.ret);
	EXPECT_EQ(n - 3, io->s.index);
	EXPECT_EQ(0, memcmp(io->buf[n - 3], "late", 4));
	/* Every other registration is gone. */
	for (i = 0; i < n; i += 2)
		EXPECT_EQ(-EAGAIN, put(extra[i].nb, "x")) TH_LOG("channel %d", i);
}

/* ---------------------------------------------------------------------- */
/* Signals.                                                               */

TEST_F_TIMEOUT(sel, signal_eintr_with_finite_timeout_commits_nothing, CHAN_TIMEOUT)
{
	struct sel_io *io = sel_io_new();
	char r[MAX];
	pid_t pid;
	int restart;

	ASSERT_NE(NULL, io);
	ASSERT_EQ(CAP, chan_fill(self->ch[B0].nb, "f", CAP));
	/* With or without SA_RESTART: a select with a timeout is not restarted. */
	for (restart = 0; restart < 2; restart++) {
		sel_io_reset(io);
		ASSERT_EQ(0, chan_catch(SIGUSR1, restart));
		sel_recv(io, 0, self->ch[U0].fd);
		sel_send(io, 1, self->ch[U1].fd, "u1");
		sel_send(io, 2, self->ch[B0].fd, "b0");
		blocked_select(_metadata, self->ctl, io, 3, 20 * NS_PER_S, &pid);
		ASSERT_EQ(0, kill(pid, SIGUSR1));
		ASSERT_EQ(0, chan_reap(pid));
		EXPECT_EQ(-1, io->io.ret);
		EXPECT_EQ(EINTR, io->io.err) TH_LOG("SA_RESTART %d", restart);
		EXPECT_EQ(-1, io->s.index);
		EXPECT_EQ(1, io->io.signals);
		EXPECT_EQ('X', io->buf[0][0]);
	}
	EXPECT_EQ(-EAGAIN, put(self->ch[U0].nb, "x"));
	EXPECT_EQ(-EAGAIN, take(self->ch[U1].nb, r));
	EXPECT_EQ(CAP, info_of(self->ch[B0].fd).sent);
	EXPECT_EQ(0, info_of(self->ch[U0].fd).sent);
	EXPECT_EQ(0, info_of(self->ch[U1].fd).sent);
}

TEST_F_TIMEOUT(sel, signal_eintr_infinite_without_sa_restart, CHAN_TIMEOUT)
{
	struct sel_io *io = sel_io_new();
	pid_t pid;

	ASSERT_NE(NULL, io);
	ASSERT_EQ(0, chan_catch(SIGUSR1, false));
	sel_recv(io, 0, self->ch[U0].fd);
	blocked_select(_metadata, self->ctl, io, 1, -1, &pid);
	ASSERT_EQ(0, kill(pid, SIGUSR1));
	ASSERT_EQ(0, chan_reap(pid));
	EXPECT_EQ(-1, io->io.ret);
	EXPECT_EQ(EINTR, io->io.err);
	EXPECT_EQ(-1, io->s.index);
	EXPECT_EQ(-EAGAIN, put(self->ch[U0].nb, "x"));
}

TEST_F_TIMEOUT(sel, signal_sa_restart_restarts_infinite_select, CHAN_TIMEOUT)
{
	struct sel_io *io = sel_io_new();
	pid_t pid;

	ASSERT_NE(NULL, io);
	ASSERT_EQ(0, chan_catch(SIGUSR1, true));
	sel_recv(io, 0, self->ch[B0].fd);
	sel_recv(io, 1, self->ch[U0].fd);
	blocked_select(_metadata, self->ctl, io, 2, -1, &pid);
	ASSERT_EQ(0, kill(pid, SIGUSR1));
	ASSERT_EQ(0, chan_wait_count(&io->io.signals, 1));
	/* The handler ran and the select went back to sleep. */
	ASSERT_EQ(0, chan_wait_blocked(pid, SYS_ioctl));
	EXPECT_EQ(-2, io->io.ret);
	ASSERT_EQ(7, put(self->ch[U0].nb, "resumed"));
	ASSERT_EQ(0, chan_reap(pid));
	EXPECT_EQ(0, io->io.ret);
	EXPECT_EQ(1, io->s.index);
	EXPECT_EQ(7, io->s.result_len);
	EXPECT_EQ(0, memcmp(io->buf[1], "resumed", 7));
	EXPECT_EQ(1, io->io.signals);
}

TEST_F_TIMEOUT(sel, stop_and_continue_do_not_interrupt_infinite_select, CHAN_TIMEOUT)
{
	struct sel_io *io = sel_io_new();
	pid_t pid;

	ASSERT_NE(NULL, io);
	sel_recv(io, 0, self->ch[U0].fd);
	blocked_select(_metadata, self->ctl, io, 1, -1, &pid);
	ASSERT_EQ(0, kill(pid, SIGSTOP));
	ASSERT_EQ(0, chan_wait_state(pid, 'T'));
	ASSERT_EQ(0, kill(pid, SIGCONT));
	ASSERT_EQ(0, chan_wait_blocked(pid, SYS_ioctl));
	ASSERT_EQ(1, put(self->ch[U0].nb, "c"));
	ASSERT_EQ(0, chan_reap(pid));
	EXPECT_EQ(0, io->io.ret) TH_LOG("%s", strerror(io->io.err));
	EXPECT_EQ(0, io->s.index);
}

TEST_F_TIMEOUT(sel, sigkill_blocked_select_commits_nothing, CHAN_TIMEOUT)
{
	struct sel_io *io = sel_io_new();
	char r[MAX];
	pid_t pid;
	int status;

	ASSERT_NE(NULL, io);
	sel_recv(io, 0, self->ch[U0].fd);
	sel_send(io, 1, self->ch[U1].fd, "dead");
	blocked_select(_metadata, self->ctl, io, 2, -1, &pid);
	ASSERT_EQ(0, kill(pid, SIGKILL));
	status = chan_reap(pid);
	EXPECT_TRUE(WIFSIGNALED(status));
	EXPECT_EQ(-EAGAIN, put(self->ch[U0].nb, "x"));
	EXPECT_EQ(-EAGAIN, take(self->ch[U1].nb, r));
	EXPECT_EQ(0, info_of(self->ch[U1].fd).sent);
}

/* ---------------------------------------------------------------------- */
/* Close and destroy while a select waits.                                */

TEST_F_TIMEOUT(sel, close_during_select_recv_case_closed, CHAN_TIMEOUT)
{
	struct sel_io *io = sel_io_new();
	int by_name;

	ASSERT_NE(NULL, io);
	for (by_name = 0; by_name < 2; by_name++) {
		int ch = by_name ? B0 : U1;
		pid_t pid;

		sel_io_reset(io);
		sel_recv(io, 0, self->ch[U0].fd);
		sel_recv(io, 1, self->ch[ch].fd);
		blocked_select(_metadata, self->ctl, io, 2, -1, &pid);
		if (by_name) {
			ASSERT_EQ(0, chan_close_name(self->ctl, self->ch[ch].name));
		} else {
			ASSERT_EQ(0, chan_ioctl(self->ch[ch].fd, KCHAN_IOC_CLOSE, NULL));
		}
		ASSERT_EQ(0, chan_reap(pid));
		EXPECT_EQ(0, io->io.ret) TH_LOG("%s", strerror(io->io.err));
		EXPECT_EQ(1, io->s.index);
		EXPECT_EQ(KCHAN_SELECT_CLOSED, io->s.result_flags);
		EXPECT_EQ(0, io->s.result_len);
		EXPECT_EQ('X', io->buf[1][0]);
	}
	EXPECT_EQ(-EAGAIN, put(self->ch[U0].nb, "x"));
}

TEST_F_TIMEOUT(sel, close_during_select_send_case_epipe, CHAN_TIMEOUT)
{
	struct sel_io *io = sel_io_new();
	char r[MAX];
	pid_t pid;
	int status;

	ASSERT_NE(NULL, io);
	ASSERT_EQ(CAP, chan_fill(self->ch[B0].nb, "f", CAP));
	sel_recv(io, 0, self->ch[U0].fd);
	sel_send(io, 1, self->ch[B0].fd, "b0");
	sel_send(io, 2, self->ch[U1].fd, "u1");
	/* Without SIGPIPE ignored: a select must not raise it. */
	signal(SIGPIPE, SIG_DFL);
	pid = spawn_select(self->ctl, io, 3, -1);
	chan_ignore(SIGPIPE);
	ASSERT_LE(0, pid);
	ASSERT_EQ(0, chan_wait_blocked(pid, SYS_ioctl));
	ASSERT_EQ(0, chan_ioctl(self->ch[U1].fd, KCHAN_IOC_CLOSE, NULL));
	status = chan_reap(pid);
	ASSERT_TRUE(WIFEXITED(status)) TH_LOG("killed by signal %d", WTERMSIG(status));
	EXPECT_EQ(-1, io->io.ret);
	EXPECT_EQ(EPIPE, io->io.err);
	EXPECT_EQ(2, io->s.index);
	/* No case completed. */
	EXPECT_EQ(CAP, info_of(self->ch[B0].fd).sent);
	EXPECT_EQ(-EAGAIN, put(self->ch[U0].nb, "x"));
	EXPECT_EQ(0, take(self->ch[U1].nb, r));
}

TEST_F_TIMEOUT(sel, destroy_during_select_enodev_names_the_case, CHAN_TIMEOUT)
{
	struct sel_io *io = sel_io_new();
	pid_t pid;

	ASSERT_NE(NULL, io);
	sel_recv(io, 0, self->ch[U0].fd);
	sel_recv(io, 1, self->ch[B0].fd);
	sel_send(io, 2, self->ch[U1].fd, "u1");
	blocked_select(_metadata, self->ctl, io, 3, -1, &pid);
	ASSERT_EQ(0, chan_destroy(self->ctl, self->ch[B0].name));
	ASSERT_EQ(0, chan_reap(pid));
	EXPECT_EQ(-1, io->io.ret);
	EXPECT_EQ(ENODEV, io->io.err);
	EXPECT_EQ(1, io->s.index);
	EXPECT_EQ(-EAGAIN, put(self->ch[U0].nb, "x"));

	/* A send case on a destroyed channel fails at once. */
	sel_io_reset(io);
	sel_recv(io, 0, self->ch[U0].fd);
	sel_send(io, 1, self->ch[U1].fd, "u1");
	blocked_select(_metadata, self->ctl, io, 2, -1, &pid);
	ASSERT_EQ(0, chan_destroy(self->ctl, self->ch[U1].name));
	ASSERT_EQ(0, chan_reap(pid));
	EXPECT_EQ(ENODEV, io->io.err);
	EXPECT_EQ(1, io->s.index);
}

TEST_F(sel, destroyed_channel_case_enodev_at_once)
{
	struct kchan_select_case c[2];
	struct kchan_select s;
	char b[2][MAX];

	ASSERT_EQ(0, chan_destroy(self->ctl, self->ch[B1].name));
	chan_case(&c[0], self->ch[U0].fd, KCHAN_SELECT_RECV, b[0], MAX);
	chan_case(&c[1], self->ch[B1].fd, KCHAN_SELECT_RECV, b[1], MAX);
	EXPECT_EQ(-ENODEV, chan_select(self->ctl, c, 2, -1, &s));
	EXPECT_EQ(1, s.index);
	chan_case(&c[1], self->ch[B1].fd, KCHAN_SELECT_SEND, "x", 1);
	EXPECT_EQ(-ENODEV, chan_select(self->ctl, c, 2, 0, &s));
	EXPECT_EQ(1, s.index);
}

/* ---------------------------------------------------------------------- */
/* Argument errors: each has its errno, and nothing is committed.        */

/*
 * Runs a select whose case 1 is bad and whose case 0 is a ready receive of
 * "keep" on B0; returns the select's result and checks "keep" is still there.
 */
static int with_ready_case(struct __test_metadata *_metadata,
			   FIXTURE_DATA(sel) *self, struct kchan_select_case *bad,
			   struct kchan_select *s)
{
	struct kchan_select_case c[2];
	char b[MAX];
	int ret;

	ASSERT_EQ(4, put(self->ch[B0].nb, "keep"));
	chan_case(&c[0], self->ch[B0].fd, KCHAN_SELECT_RECV, b, MAX);
	c[1] = *bad;
	ret = chan_select(self->ctl, c, 2, 0, s);
	/* Nothing committed: "keep" is still the only message. */
	EXPECT_EQ(1, info_of(self->ch[B0].fd).length);
	EXPECT_EQ(4, take(self->ch[B0].nb, b));
	return ret;
}

TEST_F(sel, bad_fd_ebadf)
{
	struct kchan_select_case bad;
	struct kchan_select s;
	char b[MAX];
	int wo, ro, closed;

	closed = open("/dev/null", O_RDONLY);
	ASSERT_LE(0, closed);
	close(closed);
	ASSERT_EQ(-1, fcntl(1000, F_GETFD));
	chan_case(&bad, -1, KCHAN_SELECT_RECV, b, MAX);
	EXPECT_EQ(-EBADF, with_ready_case(_metadata, self, &bad, &s));
	EXPECT_EQ(1, s.index);
	chan_case(&bad, 1000, KCHAN_SELECT_RECV, b, MAX);
	EXPECT_EQ(-EBADF, with_ready_case(_metadata, self, &bad, &s));
	EXPECT_EQ(1, s.index);
	chan_case(&bad, closed, KCHAN_SELECT_SEND, "x", 1);
	EXPECT_EQ(-EBADF, with_ready_case(_metadata, self, &bad, &s));
	EXPECT_EQ(1, s.index);

	/* An fd without the access mode its case needs. */
	wo = chan_open(self->ch[B1].name, O_WRONLY);
	ro = chan_open(self->ch[B1].name, O_RDONLY);
	ASSERT_LE(0, wo);
	ASSERT_LE(0, ro);
	ASSERT_EQ(1, put(self->ch[B1].nb, "r"));
	chan_case(&bad, wo, KCHAN_SELECT_RECV, b, MAX);
	EXPECT_EQ(-EBADF, with_ready_case(_metadata, self, &bad, &s));
	EXPECT_EQ(1, s.index);
	chan_case(&bad, ro, KCHAN_SELECT_SEND, "x", 1);
	EXPECT_EQ(-EBADF, with_ready_case(_metadata, self, &bad, &s));
	EXPECT_EQ(1, s.index);
	EXPECT_EQ(1, info_of(self->ch[B1].fd).length);
	EXPECT_EQ(1, info_of(self->ch[B1].fd).sent);
	close(wo);
	close(ro);
}

TEST_F(sel, not_a_channel_einval)
{
	struct kchan_select_case bad;
	struct kchan_select s;
	int p[2], null, efd;
	char b[MAX];

	ASSERT_EQ(0, pipe(p));
	ASSERT_EQ(1, write(p[1], "p", 1));
	null = open("/dev/null", O_RDWR);
	efd = eventfd(1, 0);
	ASSERT_LE(0, null);
	ASSERT_LE(0, efd);
	chan_case(&bad, p[0], KCHAN_SELECT_RECV, b, MAX);
	EXPECT_EQ(-EINVAL, with_ready_case(_metadata, self, &bad, &s));
	EXPECT_EQ(1, s.index);
	chan_case(&bad, p[1], KCHAN_SELECT_SEND, "x", 1);
	EXPECT_EQ(-EINVAL, with_ready_case(_metadata, self, &bad, &s));
	chan_case(&bad, null, KCHAN_SELECT_SEND, "x", 1);
	EXPECT_EQ(-EINVAL, with_ready_case(_metadata, self, &bad, &s));
	chan_case(&bad, efd, KCHAN_SELECT_RECV, b, MAX);
	EXPECT_EQ(-EINVAL, with_ready_case(_metadata, self, &bad, &s));
	chan_case(&bad, self->ctl, KCHAN_SELECT_RECV, b, MAX);
	EXPECT_EQ(-EINVAL, with_ready_case(_metadata, self, &bad, &s));
	EXPECT_EQ(1, s.index);
	/* The pipe still holds its byte. */
	EXPECT_EQ(1, read(p[0], b, sizeof(b)));
	close(p[0]);
	close(p[1]);
	close(null);
	close(efd);
}

TEST_F(sel, bad_op_reserved_and_empty_send_einval)
{
	static const __u32 ops[] = { 0, 3, 0x101, 0xffffffffu };
	struct kchan_select_case bad;
	struct kchan_select s;
	char b[MAX];
	unsigned int i;

	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		chan_case(&bad, self->ch[B1].fd, KCHAN_SELECT_RECV, b, MAX);
		bad.op = ops[i];
		EXPECT_EQ(-EINVAL, with_ready_case(_metadata, self, &bad, &s)) TH_LOG("op %u", ops[i]);
		EXPECT_EQ(1, s.index);
	}
	chan_case(&bad, self->ch[B1].fd, KCHAN_SELECT_RECV, b, MAX);
	bad.reserved = 1;
	EXPECT_EQ(-EINVAL, with_ready_case(_metadata, self, &bad, &s));
	EXPECT_EQ(1, s.index);
	chan_case(&bad, self->ch[B1].fd, KCHAN_SELECT_SEND, "x", 0);
	EXPECT_EQ(-EINVAL, with_ready_case(_metadata, self, &bad, &s));
	EXPECT_EQ(1, s.index);
	EXPECT_EQ(0, info_of(self->ch[B1].fd).sent);
}

TEST_F(sel, bad_select_struct_einval)
{
	struct kchan_select_case c[KCHAN_SELECT_MAX + 1];
	struct kchan_select s;
	char b[MAX];
	int i;

	ASSERT_EQ(1, put(self->ch[B0].nb, "k"));
	for (i = 0; i <= KCHAN_SELECT_MAX; i++)
		chan_case(&c[i], self->ch[B0].fd, KCHAN_SELECT_RECV, b, MAX);

#define EXPECT_SELECT_EINVAL(what, field, value) do { \
	chan_select_init(&s, c, 1, 0); \
	s.field = (value); \
	EXPECT_EQ(-EINVAL, chan_ioctl(self->ctl, KCHAN_IOC_SELECT, &s)) TH_LOG("%s", what); \
} while (0)
	EXPECT_SELECT_EINVAL("ncases 0", ncases, 0);
	EXPECT_SELECT_EINVAL("ncases 33", ncases, KCHAN_SELECT_MAX + 1);
	EXPECT_SELECT_EINVAL("ncases ~0", ncases, ~0u);
	EXPECT_SELECT_EINVAL("flags 1", flags, 1);
	EXPECT_SELECT_EINVAL("flags 1<<31", flags, 1u << 31);
	EXPECT_SELECT_EINVAL("reserved[0]", reserved[0], 1);
	EXPECT_SELECT_EINVAL("reserved[1]", reserved[1], 1ULL << 63);
	EXPECT_SELECT_EINVAL("case_size 0", case_size, 0);
	EXPECT_SELECT_EINVAL("case_size 31", case_size, KCHAN_SELECT_CASE_SIZE_VER0 - 1);
	EXPECT_SELECT_EINVAL("size 0", size, 0);
	EXPECT_SELECT_EINVAL("size 63", size, KCHAN_SELECT_SIZE_VER0 - 1);
#undef EXPECT_SELECT_EINVAL
	EXPECT_EQ(1, info_of(self->ch[B0].fd).length);

	/* KCHAN_SELECT_MAX cases are fine. */
	ASSERT_EQ(0, chan_select(self->ctl, c, KCHAN_SELECT_MAX, 0, &s));
	EXPECT_LE(0, s.index);
	EXPECT_GT(KCHAN_SELECT_MAX, s.index);
	EXPECT_EQ(0, info_of(self->ch[B0].fd).length);
}

TEST_F(sel, larger_structs_zero_tail_ok_nonzero_e2big)
{
	struct {
		struct kchan_select s;
		__u64 tail;
	} big;
	struct {
		struct kchan_select_case c;
		__u64 tail;
	} bc[2];
	char b[MAX];

	ASSERT_EQ(2, chan_fill(self->ch[B0].nb, "m", 2));
	chan_case(&bc[0].c, self->ch[B0].fd, KCHAN_SELECT_RECV, b, MAX);
	bc[0].tail = 0;

	chan_select_init(&big.s, &bc[0].c, 1, 0);
	big.s.size = sizeof(big);
	big.tail = 0;
	ASSERT_EQ(0, chan_ioctl(self->ctl, KCHAN_IOC_SELECT, &big));
	EXPECT_EQ(0, big.s.index);
	EXPECT_EQ(2, big.s.result_len);
	big.tail = 1;
	EXPECT_EQ(-E2BIG, chan_ioctl(self->ctl, KCHAN_IOC_SELECT, &big));

	/* A newer case struct: stride case_size, extra bytes zero. */
	chan_case(&bc[1].c, self->ch[B1].fd, KCHAN_SELECT_RECV, b, MAX);
	bc[1].tail = 0;
	chan_select_init(&big.s, &bc[0].c, 2, 0);
	big.s.case_size = sizeof(bc[0]);
	big.tail = 0;
	ASSERT_EQ(0, chan_ioctl(self->ctl, KCHAN_IOC_SELECT, &big));
	EXPECT_EQ(0, big.s.index);	/* B1 is empty */
	bc[1].tail = 7;
	EXPECT_EQ(-E2BIG, chan_ioctl(self->ctl, KCHAN_IOC_SELECT, &big));
	EXPECT_EQ(1, big.s.index);
	EXPECT_EQ(0, info_of(self->ch[B0].fd).length);
}

TEST_F(sel, send_larger_than_msg_max_emsgsize)
{
	struct kchan_select_case bad;
	struct kchan_select s;
	char big[MAX + 1];

	memset(big, 'b', sizeof(big));
	chan_case(&bad, self->ch[B1].fd, KCHAN_SELECT_SEND, big, MAX + 1);
	EXPECT_EQ(-EMSGSIZE, with_ready_case(_metadata, self, &bad, &s));
	EXPECT_EQ(1, s.index);
	EXPECT_EQ(0, info_of(self->ch[B1].fd).sent);
	/* msg_max itself is fine. */
	chan_case(&bad, self->ch[B1].fd, KCHAN_SELECT_SEND, big, MAX);
	ASSERT_EQ(0, chan_select(self->ctl, &bad, 1, 0, &s));
	EXPECT_EQ(1, info_of(self->ch[B1].fd).sent);
}

TEST_F(sel, recv_buffer_too_small_emsgsize_message_stays)
{
	struct kchan_select_case c[2];
	struct kchan_select s;
	char b[2][MAX], r[MAX];

	ASSERT_EQ(10, put(self->ch[B0].nb, "0123456789"));
	chan_case(&c[0], self->ch[U0].fd, KCHAN_SELECT_RECV, b[0], MAX);	/* not ready */
	chan_case(&c[1], self->ch[B0].fd, KCHAN_SELECT_RECV, b[1], 9);
	EXPECT_EQ(-EMSGSIZE, chan_select(self->ctl, c, 2, 0, &s));
	EXPECT_EQ(1, s.index);
	EXPECT_EQ(-EMSGSIZE, chan_select(self->ctl, c, 2, -1, &s));
	EXPECT_EQ(1, s.index);
	EXPECT_EQ(1, info_of(self->ch[B0].fd).length);
	EXPECT_EQ(0, info_of(self->ch[B0].fd).received);
	/* Exactly the message's size is enough. */
	c[1].len = 10;
	ASSERT_EQ(0, chan_select(self->ctl, c, 2, 0, &s));
	EXPECT_EQ(1, s.index);
	EXPECT_EQ(10, s.result_len);
	EXPECT_EQ(0, memcmp(b[1], "0123456789", 10));
	EXPECT_EQ(-EAGAIN, take(self->ch[B0].nb, r));
}

TEST_F_TIMEOUT(sel, recv_buffer_too_small_for_blocked_writer_emsgsize, CHAN_TIMEOUT)
{
	struct kchan_select_case c;
	struct kchan_select s;
	struct chan_io *wr;
	char b[MAX];
	pid_t pw;

	wr = chan_blocked_writer(_metadata, self->ch[U0].fd, "0123456789", &pw);
	chan_case(&c, self->ch[U0].fd, KCHAN_SELECT_RECV, b, 9);
	EXPECT_EQ(-EMSGSIZE, chan_select(self->ctl, &c, 1, 0, &s));
	EXPECT_EQ(0, s.index);
	/* The writer was not answered. */
	EXPECT_EQ(0, chan_wait_blocked(pw, SYS_write));
	EXPECT_EQ(0, info_of(self->ch[U0].fd).sent);
	ASSERT_EQ(10, take(self->ch[U0].nb, b));
	ASSERT_EQ(0, chan_reap(pw));
	EXPECT_EQ(10, wr->ret);
}

TEST_F_TIMEOUT(sel, waiting_recv_buffer_too_small_emsgsize_message_stays, CHAN_TIMEOUT)
{
	struct sel_io *io = sel_io_new();
	char r[MAX];
	pid_t pid;

	ASSERT_NE(NULL, io);
	/* Buffered: the message is queued and stays. */
	sel_recv(io, 0, self->ch[U1].fd);
	sel_recv(io, 1, self->ch[B0].fd);
	io->c[1].len = 4;
	blocked_select(_metadata, self->ctl, io, 2, -1, &pid);
	ASSERT_EQ(10, put(self->ch[B0].nb, "0123456789"));
	ASSERT_EQ(0, chan_reap(pid));
	EXPECT_EQ(-1, io->io.ret);
	EXPECT_EQ(EMSGSIZE, io->io.err);
	EXPECT_EQ(1, io->s.index);
	ASSERT_EQ(10, take(self->ch[B0].nb, r));
	EXPECT_STREQ("0123456789", r);

	/* Unbuffered: nobody could take it, so the non-blocking write fails. */
	sel_io_reset(io);
	sel_recv(io, 0, self->ch[U0].fd);
	io->c[0].len = 4;
	sel_recv(io, 1, self->ch[U1].fd);
	blocked_select(_metadata, self->ctl, io, 2, -1, &pid);
	EXPECT_EQ(-EAGAIN, put(self->ch[U0].nb, "0123456789"));
	ASSERT_EQ(0, chan_reap(pid));
	EXPECT_EQ(EMSGSIZE, io->io.err);
	EXPECT_EQ(0, io->s.index);
	EXPECT_EQ(0, info_of(self->ch[U0].fd).sent);
}

TEST_F(sel, bad_pointers_efault_commit_nothing)
{
	struct kchan_select_case *c, ok;
	struct kchan_select s;
	char *g = chan_guard_pages();
	char b[MAX];

	ASSERT_NE(NULL, g);
	ASSERT_EQ(1, put(self->ch[B0].nb, "k"));
	chan_case(&ok, self->ch[B0].fd, KCHAN_SELECT_RECV, b, MAX);

	/* The select struct itself: its size is readable, the rest is not. */
	*(__u32 *)(chan_guard_end(g) - 8) = sizeof(struct kchan_select);
	EXPECT_EQ(-EFAULT, chan_ioctl(self->ctl, KCHAN_IOC_SELECT, chan_null()));
	EXPECT_EQ(-EFAULT, chan_ioctl(self->ctl, KCHAN_IOC_SELECT, chan_guard_end(g) - 8));
	/* The cases array: NULL, or case 1 running into the guard page. */
	EXPECT_EQ(-EFAULT, chan_select(self->ctl, chan_null(), 1, 0, &s));
	EXPECT_EQ(0, s.index);
	c = (struct kchan_select_case *)(chan_guard_end(g) - sizeof(*c));
	*c = ok;
	EXPECT_EQ(-EFAULT, chan_select(self->ctl, c, 2, 0, &s));
	EXPECT_EQ(1, s.index);
	EXPECT_EQ(1, info_of(self->ch[B0].fd).length);

	/* A send whose message faults sends nothing. */
	chan_case(&c[0], self->ch[B1].fd, KCHAN_SELECT_SEND, chan_guard_end(g) - 2, 4);
	EXPECT_EQ(-EFAULT, chan_select(self->ctl, c, 1, 0, &s));
	EXPECT_EQ(0, s.index);
	chan_case(&c[0], self->ch[B1].fd, KCHAN_SELECT_SEND, chan_null(), 4);
	EXPECT_EQ(-EFAULT, chan_select(self->ctl, c, 1, 0, &s));
	EXPECT_EQ(0, info_of(self->ch[B1].fd).sent);
	EXPECT_EQ(1, info_of(self->ch[B0].fd).length);
}

TEST_F(sel, bad_recv_buffer_efault_message_back_at_head)
{
	struct kchan_select_case c;
	struct kchan_select s;
	char *g = chan_guard_pages();
	char r[MAX];

	ASSERT_NE(NULL, g);
	ASSERT_EQ(5, put(self->ch[B0].nb, "first"));
	ASSERT_EQ(6, put(self->ch[B0].nb, "second"));
	chan_case(&c, self->ch[B0].fd, KCHAN_SELECT_RECV, chan_null(), MAX);
	EXPECT_EQ(-EFAULT, chan_select(self->ctl, &c, 1, 0, &s));
	EXPECT_EQ(0, s.index);
	chan_case(&c, self->ch[B0].fd, KCHAN_SELECT_RECV, chan_guard_end(g) - 2, MAX);
	EXPECT_EQ(-EFAULT, chan_select(self->ctl, &c, 1, -1, &s));
	EXPECT_EQ(0, s.index);
	EXPECT_EQ(2, info_of(self->ch[B0].fd).length);
	EXPECT_EQ(0, info_of(self->ch[B0].fd).received);
	ASSERT_EQ(5, take(self->ch[B0].nb, r));
	EXPECT_STREQ("first", r);
	ASSERT_EQ(6, take(self->ch[B0].nb, r));
	EXPECT_STREQ("second", r);
}

TEST_F_TIMEOUT(sel, bad_recv_buffer_from_blocked_writer_loses_nothing, CHAN_TIMEOUT)
{
	struct kchan_select_case c;
	struct kchan_select s;
	struct chan_io *wr;
	char r[MAX];
	pid_t pw;

	wr = chan_blocked_writer(_metadata, self->ch[U0].fd, "handed", &pw);
	chan_case(&c, self->ch[U0].fd, KCHAN_SELECT_RECV, chan_null(), MAX);
	EXPECT_EQ(-EFAULT, chan_select(self->ctl, &c, 1, 0, &s));
	EXPECT_EQ(0, s.index);
	/* The writer's message was taken; the next read gets it. */
	ASSERT_EQ(6, take(self->ch[U0].nb, r));
	EXPECT_STREQ("handed", r);
	ASSERT_EQ(0, chan_reap(pw));
	EXPECT_EQ(6, wr->ret);
	EXPECT_EQ(-EAGAIN, take(self->ch[U0].nb, r));
	EXPECT_EQ(1, info_of(self->ch[U0].fd).received);
}

TEST_F_TIMEOUT(sel, bad_recv_buffer_of_a_waiting_select_loses_nothing, CHAN_TIMEOUT)
{
	struct sel_io *io = sel_io_new();
	char r[MAX];
	pid_t pid;

	ASSERT_NE(NULL, io);
	sel_recv(io, 0, self->ch[U0].fd);
	io->c[0].buf = (__u64)(uintptr_t)chan_null();
	blocked_select(_metadata, self->ctl, io, 1, -1, &pid);
	ASSERT_EQ(4, put(self->ch[U0].nb, "lost"));
	ASSERT_EQ(0, chan_reap(pid));
	EXPECT_EQ(EFAULT, io->io.err);
	EXPECT_EQ(0, io->s.index);
	ASSERT_EQ(4, take(self->ch[U0].nb, r));
	EXPECT_STREQ("lost", r);
}

/*
 * The select's own struct cannot take the answer (it is read-only): the
 * caller cannot learn which case completed, so none may have.
 */
TEST_F(sel, unwritable_answer_efault_commits_nothing)
{
	long pg = sysconf(_SC_PAGESIZE);
	struct kchan_select_case c[2];
	struct kchan_select *s;
	char b[MAX], r[MAX];
	int ret;

	s = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, s);
	ASSERT_EQ(4, put(self->ch[B0].nb, "kept"));
	chan_case(&c[0], self->ch[B0].fd, KCHAN_SELECT_RECV, b, MAX);
	chan_select_init(s, c, 1, 0);
	ASSERT_EQ(0, mprotect(s, pg, PROT_READ));
	ret = chan_ioctl(self->ctl, KCHAN_IOC_SELECT, s);
	EXPECT_EQ(-EFAULT, ret);
	EXPECT_EQ(1, info_of(self->ch[B0].fd).length) TH_LOG("a receive was committed but reported EFAULT");
	if (info_of(self->ch[B0].fd).length == 1) {
		ASSERT_EQ(4, take(self->ch[B0].nb, r));
		EXPECT_STREQ("kept", r);
	}

	ASSERT_EQ(0, mprotect(s, pg, PROT_READ | PROT_WRITE));
	chan_case(&c[1], self->ch[B1].fd, KCHAN_SELECT_SEND, "sent?", 5);
	chan_select_init(s, &c[1], 1, 0);
	ASSERT_EQ(0, mprotect(s, pg, PROT_READ));
	ret = chan_ioctl(self->ctl, KCHAN_IOC_SELECT, s);
	EXPECT_EQ(-EFAULT, ret);
	EXPECT_EQ(0, info_of(self->ch[B1].fd).sent) TH_LOG("a send was committed but reported EFAULT");
	munmap(s, pg);
}

/* ---------------------------------------------------------------------- */
/* Selects mixed with poll-based clients.                                 */

#define MIX_N	100

/* A poll-driven non-blocking writer of "p<i>" on fd, then it exits. */
static pid_t spawn_polling_writer(int nb, struct chan_io *io)
{
	pid_t pid = chan_fork();

	if (pid == 0) {
		int i;

		for (i = 0; i < MIX_N; i++) {
			char msg[16];
			int len = snprintf(msg, sizeof(msg), "p%d", i);

			while (write(nb, msg, len) != len) {
				struct pollfd p = { .fd = nb, .events = POLLOUT };

				if (errno != EAGAIN || poll(&p, 1, 10000) != 1)
					_exit(1);
			}
		}
		io->ret = MIX_N;
		_exit(0);
	}
	return pid;
}

TEST_F_TIMEOUT(sel, selecting_reader_and_polling_writers, 120)
{
	struct chan_io *w0 = chan_io_new(), *w1 = chan_io_new();
	struct kchan_select_case c[2];
	struct kchan_select s;
	int next[2] = { 0, 0 }, i;
	char b[2][MAX];
	pid_t p0, p1;

	ASSERT_NE(NULL, w0);
	ASSERT_NE(NULL, w1);
	p0 = spawn_polling_writer(self->ch[U0].nb, w0);
	p1 = spawn_polling_writer(self->ch[U1].nb, w1);
	ASSERT_LE(0, p0);
	ASSERT_LE(0, p1);
	chan_case(&c[0], self->ch[U0].fd, KCHAN_SELECT_RECV, b[0], MAX);
	chan_case(&c[1], self->ch[U1].fd, KCHAN_SELECT_RECV, b[1], MAX);
	for (i = 0; i < 2 * MIX_N; i++) {
		char want[16];

		ASSERT_EQ(0, chan_select(self->ctl, c, 2, 10 * NS_PER_S, &s))
			TH_LOG("after %d messages", i);
		ASSERT_TRUE(s.index == 0 || s.index == 1);
		snprintf(want, sizeof(want), "p%d", next[s.index]++);
		ASSERT_EQ(strlen(want), s.result_len);
		ASSERT_EQ(0, memcmp(b[s.index], want, s.result_len));
	}
	ASSERT_EQ(0, chan_reap(p0));
	ASSERT_EQ(0, chan_reap(p1));
	EXPECT_EQ(MIX_N, w0->ret);
	EXPECT_EQ(MIX_N, w1->ret);
	EXPECT_EQ(MIX_N, next[0]);
	EXPECT_EQ(MIX_N, next[1]);
}

TEST_F_TIMEOUT(sel, selecting_writer_and_polling_reader, 120)
{
	struct chan_io *rd = chan_io_new();
	struct kchan_select_case c;
	struct kchan_select s;
	pid_t pid;
	int i;

	ASSERT_NE(NULL, rd);
	pid = chan_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		char b[MAX + 1], want[16];
		int n = 0;

		while (n < MIX_N) {
			ssize_t len = read(self->ch[U0].nb, b, MAX);
			struct pollfd p = { .fd = self->ch[U0].nb, .events = POLLIN };

			if (len < 0) {
				if (errno != EAGAIN || poll(&p, 1, 10000) != 1)
					_exit(1);
				continue;
			}
			b[len] = '\0';
			snprintf(want, sizeof(want), "s%d", n++);
			if (strcmp(b, want))
				_exit(2);
		}
		rd->ret = n;
		_exit(0);
	}
	for (i = 0; i < MIX_N; i++) {
		char msg[16];
		int len = snprintf(msg, sizeof(msg), "s%d", i);

		chan_case(&c, self->ch[U0].fd, KCHAN_SELECT_SEND, msg, len);
		ASSERT_EQ(0, chan_select(self->ctl, &c, 1, 10 * NS_PER_S, &s))
			TH_LOG("message %d", i);
	}
	ASSERT_EQ(0, chan_reap(pid));
	EXPECT_EQ(MIX_N, rd->ret);
}

/* ---------------------------------------------------------------------- */
/*
 * Exactly once under heavy contention: plain and selecting writers and
 * readers over two unbuffered and two buffered channels, with a process
 * that keeps interrupting the selecting ones with signals, and selects
 * that time out and retry.  Every message must be received exactly once,
 * on the channel it was sent on, and each reader must see each writer's
 * messages on one channel in the order they were sent.
 */

#define ST_CH		4		/* U0, U1, B0, B1 */
#define ST_PLAIN_W	ST_CH		/* plain writer i writes to channel i */
#define ST_SEL_W	2
#define ST_W		(ST_PLAIN_W + ST_SEL_W)
#define ST_PLAIN_R	ST_CH		/* plain reader i reads channel i */
#define ST_SEL_R	2
#define ST_R		(ST_PLAIN_R + ST_SEL_R)
#define ST_PER_W	400
#define ST_TOTAL	(ST_W * ST_PER_W)
#define ST_GUARD	240
#define ST_MAGIC	0x53454c43u

struct st_msg {
	__u32 magic;
	__u32 writer;
	__u32 seq;
	__u32 check;
};

struct st_rec {
	__u8 writer;
	__u8 chan;
	__u16 seq;
};

struct storm {
	volatile int werr[ST_W];
	volatile int rerr[ST_R];
	volatile int bad[ST_R];
	volatile int count[ST_R];
	volatile int retries[ST_W + ST_R];	/* EINTR and ETIMEDOUT, retried */
	volatile int stop;
	signed char sent_on[ST_W][ST_PER_W];	/* channel each message went to */
	struct st_rec recs[ST_R][ST_TOTAL];
};

static const int st_chans[ST_CH] = { U0, U1, B0, B1 };

static void st_make(struct st_msg *m, int w, int seq)
{
	m->magic = ST_MAGIC;
	m->writer = w;
	m->seq = seq;
	m->check = ~(w * 7919u + seq * 104729u);
}

static bool st_valid(const struct st_msg *m, ssize_t n)
{
	return n == sizeof(*m) && m->magic == ST_MAGIC && m->writer < ST_W &&
	       m->seq < ST_PER_W && m->check == ~(m->writer * 7919u + m->seq * 104729u);
}

/* Selecting writer w: each message goes to whichever channel takes it first. */
static int st_select_writer(int ctl, const int *fds, struct storm *st, int w, __s64 timeout)
{
	struct kchan_select_case c[ST_CH];
	struct kchan_select s;
	struct st_msg m;
	int seq, i, ret;

	for (seq = 0; seq < ST_PER_W; seq++) {
		st_make(&m, w, seq);
		for (i = 0; i < ST_CH; i++)
			chan_case(&c[i], fds[i], KCHAN_SELECT_SEND, &m, sizeof(m));
		while ((ret = chan_select(ctl, c, ST_CH, timeout, &s))) {
			if (ret != -EINTR && ret != -ETIMEDOUT)
				return -ret;
			st->retries[w]++;
		}
		if (s.index < 0 || s.index >= ST_CH)
			return ERANGE;
		st->sent_on[w][seq] = s.index;
	}
	return 0;
}

static void st_record(struct storm *st, int r, const struct st_msg *m, ssize_t n, int chan)
{
	struct st_rec rec;

	if (!st_valid(m, n)) {
		st->bad[r]++;
		return;
	}
	rec.writer = m->writer;
	rec.seq = m->seq;
	rec.chan = chan;
	if (st->count[r] < ST_TOTAL)
		st->recs[r][st->count[r]] = rec;
	st->count[r]++;
}

/* Selecting reader r: receives from every channel until all are closed and drained. */
static int st_select_reader(int ctl, const int *fds, struct storm *st, int r, __s64 timeout)
{
	struct kchan_select_case c[ST_CH];
	struct st_msg m[ST_CH];
	int chan_of[ST_CH], live = ST_CH, i, ret;
	struct kchan_select s;

	for (i = 0; i < ST_CH; i++) {
		chan_case(&c[i], fds[i], KCHAN_SELECT_RECV, &m[i], sizeof(m[i]));
		chan_of[i] = i;
	}
	while (live) {
		ret = chan_select(ctl, c, live, timeout, &s);
		if (ret == -EINTR || ret == -ETIMEDOUT) {
			st->retries[ST_W + r]++;
			continue;
		}
		if (ret)
			return -ret;
		if (s.index < 0 || s.index >= live)
			return ERANGE;
		if (s.result_flags & KCHAN_SELECT_CLOSED) {
			/* Go's idiom: a closed channel's case becomes nil. */
			c[s.index] = c[live - 1];
			chan_of[s.index] = chan_of[live - 1];
			/* Its buffer moved with it: point the case at its own slot. */
			c[s.index].buf = (__u64)(uintptr_t)&m[s.index];
			live--;
			continue;
		}
		st_record(st, r, &m[s.index], s.result_len, chan_of[s.index]);
	}
	return 0;
}

static void st_verify(struct __test_metadata *_metadata, FIXTURE_DATA(sel) *self,
		      struct storm *st)
{
	static unsigned char seen[ST_W][ST_PER_W];
	int r, w, i, total = 0, dups = 0, missing = 0, wrong_chan = 0, retries = 0;
	__u64 sent = 0, received = 0;

	memset(seen, 0, sizeof(seen));
	for (w = 0; w < ST_W; w++) {
		int err = st->werr[w];

		EXPECT_EQ(0, err) TH_LOG("writer %d: %s", w, strerror(err));
	}
	for (r = 0; r < ST_R; r++) {
		int last[ST_W][ST_CH];
		int err = st->rerr[r];

		EXPECT_EQ(0, err) TH_LOG("reader %d: %s", r, strerror(err));
		EXPECT_EQ(0, st->bad[r]) TH_LOG("reader %d: corrupt messages", r);
		ASSERT_LE(st->count[r], ST_TOTAL);
		memset(last, 0xff, sizeof(last));	/* -1 */
		for (i = 0; i < st->count[r]; i++) {
			struct st_rec *rec = &st->recs[r][i];
			int want = rec->writer < ST_PLAIN_W ? (int)rec->writer :
				   st->sent_on[rec->writer][rec->seq];

			if (seen[rec->writer][rec->seq]++)
				dups++;
			if (rec->chan != want)
				wrong_chan++;
			ASSERT_LT(last[rec->writer][rec->chan], (int)rec->seq) {
				TH_LOG("reader %d: writer %u's message %u on channel %u after %d",
				       r, rec->writer, rec->seq, rec->chan,
				       last[rec->writer][rec->chan]);
			}
			last[rec->writer][rec->chan] = rec->seq;
		}
		total += st->count[r];
	}
	for (w = 0; w < ST_W; w++)
		for (i = 0; i < ST_PER_W; i++)
			if (!seen[w][i])
				missing++;
	for (i = 0; i < ST_W + ST_R; i++)
		retries += st->retries[i];
	EXPECT_EQ(0, dups) TH_LOG("messages received twice");
	EXPECT_EQ(0, missing) TH_LOG("messages never received");
	EXPECT_EQ(0, wrong_chan) TH_LOG("messages received on another channel than sent");
	EXPECT_EQ(ST_TOTAL, total);
	for (i = 0; i < ST_CH; i++) {
		struct kchan_info info = info_of(self->ch[st_chans[i]].fd);

		EXPECT_EQ(0, info.length);
		EXPECT_EQ(KCHAN_STATE_CLOSED, info.state);
		sent += info.sent;
		received += info.received;
	}
	EXPECT_EQ(ST_TOTAL, sent);
	EXPECT_EQ(ST_TOTAL, received);
	ksft_print_msg("%d messages, %d selects interrupted or timed out and retried\n",
		       total, retries);
}

/* Waits for pid to exit without reaping it (so its pid cannot be reused yet). */
static void wait_exit_nowait(pid_t pid)
{
	siginfo_t si;

	while (waitid(P_PID, pid, &si, WEXITED | WNOWAIT) && errno == EINTR)
		;
}

TEST_F_TIMEOUT(sel, exactly_once_under_contention, ST_GUARD + 60)
{
	pid_t writers[ST_W], readers[ST_R], pest;
	struct storm *st;
	int i;

	st = mmap(NULL, sizeof(*st), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, st);
	memset((void *)st, 0, sizeof(*st));
	/* Inherited by every helper before the pest can signal it. */
	ASSERT_EQ(0, chan_catch(SIGUSR1, false));

	for (i = 0; i < ST_R; i++) {
		readers[i] = chan_fork();
		ASSERT_LE(0, readers[i]);
		if (readers[i] == 0) {
			int fds[ST_CH], k;

			alarm(ST_GUARD);
			for (k = 0; k < ST_CH; k++)
				fds[k] = chan_open(self->ch[st_chans[k]].name, O_RDONLY);
			if (i < ST_PLAIN_R) {
				struct st_msg m;
				ssize_t n;

				while ((n = read(fds[i], &m, sizeof(m))) > 0)
					st_record(st, i, &m, n, i);
				st->rerr[i] = n < 0 ? errno : 0;
			} else {
				int r = i - ST_PLAIN_R;

				/* One waits for ever, one retries after 2 ms. */
				st->rerr[i] = st_select_reader(self->ctl, fds, st, i,
							       r ? 2 * NS_PER_MS : -1);
			}
			_exit(0);
		}
	}
	for (i = 0; i < ST_W; i++) {
		writers[i] = chan_fork();
		ASSERT_LE(0, writers[i]);
		if (writers[i] == 0) {
			int fds[ST_CH], k;

			alarm(ST_GUARD);
			for (k = 0; k < ST_CH; k++)
				fds[k] = chan_open(self->ch[st_chans[k]].name, O_WRONLY);
			if (i < ST_PLAIN_W) {
				struct st_msg m;
				int seq;

				for (seq = 0; seq < ST_PER_W; seq++) {
					st_make(&m, i, seq);
					if (write(fds[i], &m, sizeof(m)) != sizeof(m)) {
						st->werr[i] = errno ? errno : EIO;
						break;
					}
				}
			} else {
				int w = i - ST_PLAIN_W;

				st->werr[i] = st_select_writer(self->ctl, fds, st, i,
							       w ? 2 * NS_PER_MS : -1);
			}
			_exit(0);
		}
	}
	/* The pest: SIGUSR1 to every selecting process, about every 0.3 ms. */
	pest = chan_fork();
	ASSERT_LE(0, pest);
	if (pest == 0) {
		alarm(ST_GUARD);
		while (!st->stop) {
			for (i = ST_PLAIN_W; i < ST_W; i++)
				kill(writers[i], SIGUSR1);
			for (i = ST_PLAIN_R; i < ST_R; i++)
				kill(readers[i], SIGUSR1);
			usleep(300);
		}
		_exit(0);
	}

	for (i = 0; i < ST_W; i++)
		wait_exit_nowait(writers[i]);
	/* Everything is sent (and, unbuffered, taken): close, so readers see EOF. */
	for (i = 0; i < ST_CH; i++)
		EXPECT_EQ(0, chan_ioctl(self->ch[st_chans[i]].fd, KCHAN_IOC_CLOSE, NULL));
	for (i = 0; i < ST_R; i++)
		wait_exit_nowait(readers[i]);
	st->stop = 1;
	EXPECT_EQ(0, chan_reap(pest));
	for (i = 0; i < ST_W; i++)
		EXPECT_EQ(0, chan_reap(writers[i])) TH_LOG("writer %d", i);
	for (i = 0; i < ST_R; i++)
		EXPECT_EQ(0, chan_reap(readers[i])) TH_LOG("reader %d", i);
	st_verify(_metadata, self, st);
}

TEST_HARNESS_MAIN
