// SPDX-License-Identifier: GPL-2.0
/*
 * Timer channels, Go's time.After and time.Ticker: KCHAN_CREATE_AFTER sends
 * one message period_ns after creation, KCHAN_CREATE_TICK one every
 * period_ns.  Each message is the expiry time in CLOCK_MONOTONIC ns, in
 * decimal, with a newline.  Capacity 1: a tick that finds the last one
 * unread is dropped and counted.  Nothing but the timer sends (EPERM);
 * close stops it; destroy while it ticks is safe.
 */
#include "chan_test.h"

#include <sys/uio.h>

#define NS_PER_MS	1000000LL
#define NS_PER_S	1000000000LL
/* How late a timer message may arrive under TCG and still pass. */
#define LATE_NS		(2 * NS_PER_S)
#define MAX_NAMES	8

FIXTURE(timer) {
	int ctl;
	char names[MAX_NAMES][KCHAN_NAME_MAX];
	int nnames;
};

FIXTURE_SETUP(timer)
{
	self->ctl = -1;
	self->nnames = 0;
	CHAN_SKIP_IF_ABSENT();
	chan_ignore(SIGPIPE);
	chan_leaks_begin();
	self->ctl = chan_ctl_open();
	ASSERT_LE(0, self->ctl) TH_LOG("open " KCHAN_CONTROL_PATH ": %m");
}

FIXTURE_TEARDOWN(timer)
{
	int i;

	for (i = 0; i < self->nnames; i++)
		chan_destroy(self->ctl, self->names[i]);
	if (self->ctl >= 0)
		close(self->ctl);
	chan_leaks_end();
}

/* A fresh name, destroyed in teardown. */
static const char *new_name(FIXTURE_DATA(timer) *self)
{
	char *name = self->names[self->nnames++];

	chan_make_name(name);
	return name;
}

/* Create a channel with period_ns: 0 or -errno. */
static int create_timer(int ctl, const char *name, __u32 flags, __u64 period_ns)
{
	struct kchan_create req;

	chan_req_init(&req, name, 0, 0, 0, flags);
	req.period_ns = period_ns;
	return chan_ioctl(ctl, KCHAN_IOC_CREATE, &req);
}

/*
 * Creates a timer channel and opens it with oflags; *t0 and *t1 bracket
 * the create, so its first expiry lies in [*t0 + period, *t1 + period].
 */
static int open_timer(struct __test_metadata *_metadata, FIXTURE_DATA(timer) *self,
		      __u32 flags, __u64 period_ns, int oflags,
		      __s64 *t0, __s64 *t1)
{
	const char *name = new_name(self);
	int fd, ret;

	*t0 = chan_now_ns();
	ret = create_timer(self->ctl, name, flags, period_ns);
	*t1 = chan_now_ns();
	ASSERT_EQ(0, ret) TH_LOG("create timer %s: %s", name, strerror(-ret));
	fd = chan_open(name, oflags);
	ASSERT_LE(0, fd) TH_LOG("open %s: %s", name, strerror(-fd));
	return fd;
}

/*
 * Parses a timer message: decimal digits and one '\n', nothing else.
 * The expiry time, or -1 if the message is malformed.
 */
static __s64 parse_tick(const char *b, ssize_t n)
{
	__s64 v = 0;
	ssize_t i;

	if (n < 2 || n > KCHAN_TIMER_MSG_MAX || b[n - 1] != '\n')
		return -1;
	for (i = 0; i < n - 1; i++) {
		if (b[i] < '0' || b[i] > '9')
			return -1;
		v = v * 10 + (b[i] - '0');
	}
	if (n > 2 && b[0] == '0')
		return -1;	/* no leading zeros */
	return v;
}

/*
 * Reads one tick from fd (blocking or not): its value, 0 at end of file,
 * -errno, or -1000 if malformed.
 */
static __s64 read_tick(int fd)
{
	char b[64];
	ssize_t n = read(fd, b, sizeof(b));
	__s64 v;

	if (n <= 0)
		return n ? -errno : 0;
	v = parse_tick(b, n);
	return v < 0 ? -1000 : v;
}

static struct kchan_info info_of(int fd)
{
	struct kchan_info info;

	if (chan_info(fd, &info))
		memset(&info, 0xff, sizeof(info));
	return info;
}

static void sleep_ns(__s64 ns)
{
	struct timespec ts = { .tv_sec = ns / NS_PER_S, .tv_nsec = ns % NS_PER_S };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* Name of the channel behind a fixture name index. */
#define NAME(i)	(self->names[(i)])

/* ---------------------------------------------------------------------- */

TEST_F_TIMEOUT(timer, after_delivers_once_at_deadline, CHAN_TIMEOUT)
{
	const __s64 d = 300 * NS_PER_MS;
	__s64 t0, t1, t2, v;
	struct kchan_info info;
	int fd, nb, ready;

	fd = open_timer(_metadata, self, KCHAN_CREATE_AFTER, d, O_RDONLY, &t0, &t1);
	nb = chan_open(NAME(0), O_RDONLY | O_NONBLOCK);
	ASSERT_LE(0, nb);
	/* Nothing before the deadline (if we still are before it). */
	ready = chan_revents(fd, POLLIN);
	if (chan_now_ns() < t0 + d)
		EXPECT_EQ(0, ready);
	v = read_tick(fd);
	t2 = chan_now_ns();
	ASSERT_LT(0, v) TH_LOG("read: %s", v == -1000 ? "malformed message" : strerror(-v));
	/* The message is its own expiry: creation + d, and not before. */
	EXPECT_LE(t0 + d, v) TH_LOG("expiry %lld, created at %lld", (long long)v, (long long)t0);
	EXPECT_GE(t1 + d, v) TH_LOG("expiry %lld, create returned at %lld", (long long)v, (long long)t1);
	EXPECT_LE(v, t2);
	EXPECT_GT(v + LATE_NS, t2) TH_LOG("arrived %lld ns after its expiry", (long long)(t2 - v));

	/* Once only: nothing more after another two periods; not closed. */
	sleep_ns(2 * d);
	EXPECT_EQ(-EAGAIN, read_tick(nb));
	ASSERT_EQ(0, chan_info(fd, &info));
	EXPECT_EQ(KCHAN_STATE_TIMER, info.state);
	EXPECT_EQ(1, info.sent);
	EXPECT_EQ(1, info.received);
	EXPECT_EQ(0, info.length);
	EXPECT_EQ(0, info.dropped);
	close(fd);
	close(nb);
}

/* O_NONBLOCK read of an after-timer's fd: EAGAIN until, and after, its one message. */
TEST_F_TIMEOUT(timer, after_message_waits_in_the_buffer, CHAN_TIMEOUT)
{
	const __s64 d = 100 * NS_PER_MS;
	__s64 t0, t1, v;
	char b[64];
	int fd;

	fd = open_timer(_metadata, self, KCHAN_CREATE_AFTER, d, O_RDONLY | O_NONBLOCK, &t0, &t1);
	EXPECT_EQ(-1, read(fd, b, sizeof(b)));
	EXPECT_EQ(EAGAIN, errno);
	sleep_ns(5 * d);
	EXPECT_EQ(1, chan_len(fd));
	EXPECT_EQ(POLLIN | POLLRDNORM, chan_revents(fd, CHAN_POLL_ALL));
	/* Too small a buffer: EMSGSIZE, and it stays. */
	EXPECT_EQ(-1, read(fd, b, 5));
	EXPECT_EQ(EMSGSIZE, errno);
	v = read_tick(fd);
	EXPECT_LE(t0 + d, v);
	EXPECT_GE(t1 + d, v);
	EXPECT_EQ(-EAGAIN, read_tick(fd));
	EXPECT_EQ(0, info_of(fd).dropped);
	close(fd);
}

TEST_F_TIMEOUT(timer, tick_delivers_periodically, CHAN_TIMEOUT)
{
	const __s64 p = 100 * NS_PER_MS;
	__s64 t0, t1, first, prev, v, start;
	int fd, i;

	fd = open_timer(_metadata, self, KCHAN_CREATE_TICK, p, O_RDONLY, &t0, &t1);
	start = chan_now_ns();
	first = prev = read_tick(fd);
	ASSERT_LT(0, first);
	EXPECT_LE(t0 + p, first);
	EXPECT_GE(t1 + p, first);
	for (i = 1; i < 5; i++) {
		v = read_tick(fd);
		ASSERT_LT(0, v);
		/* Expiries are whole periods after the first, and increase. */
		EXPECT_LT(prev, v);
		EXPECT_EQ(0, (v - first) % p) TH_LOG("tick %d: %lld ns after the first", i, (long long)(v - first));
		EXPECT_LE(v, chan_now_ns());
		prev = v;
	}
	EXPECT_LE(4 * p, prev - first);
	EXPECT_LE(4 * p, chan_now_ns() - start);
	EXPECT_EQ(5, info_of(fd).received);
	close(fd);
}

/*
 * Go's Ticker drops ticks for a slow receiver: after k periods unread the
 * channel holds one tick (the oldest: the first one after the last read),
 * and `dropped` in KCHAN_IOC_INFO and fdinfo counts the ones that found it
 * full.
 */
TEST_F_TIMEOUT(timer, tick_drops_for_a_slow_receiver, CHAN_TIMEOUT)
{
	const __s64 p = 40 * NS_PER_MS;
	const int k = 25;
	struct kchan_info info, info2;
	__s64 t0, t1, v1, v2, t_read, t_sleep, t_close;
	char buf[64], want[64];
	unsigned long long sys;
	int fd;

	fd = open_timer(_metadata, self, KCHAN_CREATE_TICK, p, O_RDWR, &t0, &t1);
	v1 = read_tick(fd);
	t_read = chan_now_ns();
	ASSERT_LT(0, v1);
	sleep_ns(k * p);
	t_sleep = chan_now_ns() - t_read;

	/* One tick waits; every later one found it there. */
	info = info_of(fd);
	EXPECT_EQ(1, info.length);
	EXPECT_EQ(2, info.sent);
	EXPECT_EQ(1, info.received);
	EXPECT_LE(1, info.dropped);

	v2 = read_tick(fd);
	ASSERT_LT(0, v2);
	/* The oldest: the first expiry after v1 (a whole number of periods later). */
	EXPECT_LT(v1, v2);
	EXPECT_EQ(0, (v2 - v1) % p);
	EXPECT_GE(t_read + p, v2) TH_LOG("kept tick %lld ns after the read, not the oldest",
					 (long long)(v2 - t_read));

	/* Stop it, so the counts settle, then compare them. */
	ASSERT_EQ(0, chan_ioctl(fd, KCHAN_IOC_CLOSE, NULL));
	t_close = chan_now_ns();
	info = info_of(fd);
	chan_attr(NAME(0), "dropped", buf, sizeof(buf));
	info2 = info_of(fd);
	sys = strtoull(buf, NULL, 10);
	EXPECT_LE(info.dropped, sys) TH_LOG("fdinfo dropped %s", buf);
	EXPECT_GE(info2.dropped, sys) TH_LOG("fdinfo dropped %s", buf);
	EXPECT_STREQ(chan_num(sys, want, sizeof(want)), buf);
	/*
	 * Bounds: at most one firing per period after v1 but v2 (and one more
	 * if a delivery was under way at close); at least a quarter of the
	 * periods slept even if TCG stalls the timer now and then.
	 */
	EXPECT_GE((t_close - v1) / p + 1, (__s64)info2.dropped)
		TH_LOG("dropped %llu in %lld ns", info2.dropped, (long long)(t_close - v1));
	EXPECT_LE((__s64)(t_sleep / p / 4), (__s64)info2.dropped)
		TH_LOG("dropped %llu over %lld periods", info2.dropped, (long long)(t_sleep / p));
	ksft_print_msg("%llu ticks dropped while %lld periods were slept\n",
		       (unsigned long long)info2.dropped, (long long)(t_sleep / p));
	close(fd);
}

TEST_F(timer, write_eperm)
{
	struct iovec iov = { .iov_base = "x", .iov_len = 1 };
	__s64 t0, t1;
	int fd, nb;

	fd = open_timer(_metadata, self, KCHAN_CREATE_TICK, NS_PER_S, O_WRONLY, &t0, &t1);
	nb = chan_open(NAME(0), O_RDWR | O_NONBLOCK);
	ASSERT_LE(0, nb);
	EXPECT_EQ(-1, write(fd, "1\n", 2));
	EXPECT_EQ(EPERM, errno);
	EXPECT_EQ(-1, write(nb, "1\n", 2));
	EXPECT_EQ(EPERM, errno);
	EXPECT_EQ(-1, writev(fd, &iov, 1));
	EXPECT_EQ(EPERM, errno);
	EXPECT_EQ(-1, write(fd, "", 0));
	EXPECT_EQ(EPERM, errno);
	/* Even a message the size limit rejects: the timer check comes first. */
	EXPECT_EQ(-1, write(nb, "0123456789012345678901234567890", 31));
	EXPECT_EQ(EPERM, errno);
	EXPECT_EQ(0, info_of(fd).sent);
	EXPECT_EQ(0, info_of(fd).length);
	close(fd);
	close(nb);
}

/* The write side polls as an error, never writable: a write fails at once. */
TEST_F(timer, write_side_polls_err_not_out)
{
	__s64 t0, t1;
	int fd;

	fd = open_timer(_metadata, self, KCHAN_CREATE_TICK, NS_PER_S, O_WRONLY, &t0, &t1);
	EXPECT_EQ(POLLERR, chan_revents(fd, POLLOUT));
	close(fd);
}

/* A select send case is a write too: only the timer may send. */
TEST_F(timer, select_send_case_eperm)
{
	struct kchan_select_case c;
	struct kchan_select s;
	__s64 t0, t1;
	int fd, ret;

	fd = open_timer(_metadata, self, KCHAN_CREATE_AFTER, 100 * NS_PER_S, O_RDWR, &t0, &t1);
	chan_case(&c, fd, KCHAN_SELECT_SEND, "1\n", 2);
	ret = chan_select(self->ctl, &c, 1, 0, &s);
	EXPECT_EQ(-EPERM, ret) TH_LOG("select send to a timer channel: %s", ret ? strerror(-ret) : "sent");
	EXPECT_EQ(0, s.index);
	EXPECT_EQ(0, info_of(fd).sent) TH_LOG("a forged tick was queued");
	EXPECT_EQ(0, info_of(fd).length);
	close(fd);
}

TEST_F(timer, info_and_fdinfo)
{
	struct kchan_info info;
	char buf[64];
	__s64 t0, t1;
	int fd;

	fd = open_timer(_metadata, self, KCHAN_CREATE_AFTER, 100 * NS_PER_S, O_RDONLY, &t0, &t1);
	ASSERT_EQ(0, chan_info(fd, &info));
	EXPECT_EQ(KCHAN_STATE_TIMER, info.state);
	EXPECT_EQ(1, info.capacity);
	EXPECT_EQ(KCHAN_TIMER_MSG_MAX, info.msg_max);
	EXPECT_EQ(0, info.length);
	EXPECT_EQ(0, info.sent);
	EXPECT_EQ(0, info.dropped);
	EXPECT_STREQ("1\n", chan_attr(NAME(0), "capacity", buf, sizeof(buf)));
	EXPECT_STREQ("24\n", chan_attr(NAME(0), "msg_max", buf, sizeof(buf)));
	EXPECT_STREQ("0\n", chan_attr(NAME(0), "dropped", buf, sizeof(buf)));
	EXPECT_STREQ("0\n", chan_attr(NAME(0), "autoclose", buf, sizeof(buf)));
	EXPECT_STREQ("0\n", chan_attr(NAME(0), "closed", buf, sizeof(buf)));
	close(fd);
}

/* ---------------------------------------------------------------------- */

TEST_F_TIMEOUT(timer, close_stops_the_timer, CHAN_TIMEOUT)
{
	const __s64 p = 50 * NS_PER_MS;
	__u64 sent;
	int by_name;

	for (by_name = 0; by_name < 2; by_name++) {
		__s64 t0, t1, v;
		int fd, n = 0;

		fd = open_timer(_metadata, self, KCHAN_CREATE_TICK, p, O_RDWR, &t0, &t1);
		ASSERT_LT(0, read_tick(fd));
		if (by_name) {
			ASSERT_EQ(0, chan_close_name(self->ctl, NAME(by_name)));
		} else {
			ASSERT_EQ(0, chan_ioctl(fd, KCHAN_IOC_CLOSE, NULL));
		}
		/* Drain: at most the one tick buffered, then end of file. */
		while ((v = read_tick(fd)) > 0)
			n++;
		EXPECT_EQ(0, v) TH_LOG("read after close: %lld", (long long)v);
		EXPECT_GE(1, n);
		sent = info_of(fd).sent;
		EXPECT_EQ(KCHAN_STATE_TIMER | KCHAN_STATE_CLOSED, info_of(fd).state);
		sleep_ns(4 * p);
		EXPECT_EQ(sent, info_of(fd).sent) TH_LOG("the timer still sends after close");
		EXPECT_EQ(0, read_tick(fd));
		EXPECT_EQ(POLLHUP, chan_revents(fd, POLLIN) & POLLHUP);
		close(fd);
	}
}

TEST_F_TIMEOUT(timer, close_before_after_fires_sends_nothing, CHAN_TIMEOUT)
{
	const __s64 d = 100 * NS_PER_MS;
	__s64 t0, t1;
	int fd;

	fd = open_timer(_metadata, self, KCHAN_CREATE_AFTER, d, O_WRONLY, &t0, &t1);
	ASSERT_EQ(0, chan_ioctl(fd, KCHAN_IOC_CLOSE, NULL));
	sleep_ns(3 * d);
	EXPECT_EQ(0, info_of(fd).sent);
	EXPECT_EQ(0, info_of(fd).length);
	close(fd);
	fd = chan_open(NAME(0), O_RDONLY);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, read_tick(fd));
	close(fd);
}

TEST_F_TIMEOUT(timer, destroy_while_ticking, CHAN_TIMEOUT)
{
	struct chan_io *io = chan_io_new();
	__s64 t0, t1;
	int fd, i;
	pid_t pid;

	ASSERT_NE(NULL, io);
	/* The shortest period, read as fast as we can in a helper. */
	fd = open_timer(_metadata, self, KCHAN_CREATE_TICK, 100000, O_RDONLY, &t0, &t1);
	pid = chan_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		__s64 v;
		int n = 0;

		while ((v = read_tick(fd)) > 0)
			io->signals = ++n;	/* ticks read so far */
		io->err = v < 0 ? (int)-v : 0;
		io->ret = n;
		_exit(0);
	}
	ASSERT_EQ(0, chan_wait_count(&io->signals, 20));
	ASSERT_EQ(0, chan_destroy(self->ctl, NAME(0)));
	ASSERT_EQ(0, chan_reap(pid));
	EXPECT_EQ(ENODEV, io->err);
	EXPECT_LE(20, io->ret);
	EXPECT_EQ(-ENODEV, read_tick(fd));
	EXPECT_EQ(KCHAN_STATE_TIMER | KCHAN_STATE_DESTROYED, info_of(fd).state);
	EXPECT_EQ(POLLERR | POLLHUP, chan_revents(fd, POLLIN));
	/* Nothing is delivered to a destroyed channel. */
	for (i = 0; i < 3; i++) {
		__u64 sent = info_of(fd).sent;

		sleep_ns(10 * NS_PER_MS);
		EXPECT_EQ(sent, info_of(fd).sent);
	}
	close(fd);
}

TEST_F_TIMEOUT(timer, destroy_before_after_fires, CHAN_TIMEOUT)
{
	/* Long enough to see the reader blocked first, on a debug kernel too. */
	const __s64 d = 2 * NS_PER_S;
	struct chan_io *io;
	__s64 t0, t1;
	pid_t pid;
	int fd;

	fd = open_timer(_metadata, self, KCHAN_CREATE_AFTER, d, O_RDONLY, &t0, &t1);
	io = chan_blocked_reader(_metadata, fd, 64, &pid);
	ASSERT_EQ(0, chan_destroy(self->ctl, NAME(0)));
	ASSERT_EQ(0, chan_reap(pid));
	EXPECT_EQ(-1, io->ret);
	EXPECT_EQ(ENODEV, io->err);
	sleep_ns(d + d / 2);	/* past when it would have fired */
	EXPECT_EQ(0, info_of(fd).sent);
	EXPECT_EQ(-ENODEV, read_tick(fd));
	close(fd);
	/* And with nobody holding it open, the name is free again at once. */
	ASSERT_EQ(0, create_timer(self->ctl, NAME(0), KCHAN_CREATE_AFTER, d));
	ASSERT_EQ(0, chan_destroy(self->ctl, NAME(0)));
	sleep_ns(d + d / 2);
}

/* ---------------------------------------------------------------------- */

TEST_F(timer, invalid_timer_requests_einval)
{
	static const __u64 short_periods[] = { 0, 1, 99999 };
	const char *name = new_name(self);
	struct kchan_create req;
	unsigned int i;

	for (i = 0; i < 3; i++) {
		EXPECT_EQ(-EINVAL, create_timer(self->ctl, name, KCHAN_CREATE_AFTER, short_periods[i]));
		EXPECT_EQ(-EINVAL, create_timer(self->ctl, name, KCHAN_CREATE_TICK, short_periods[i]));
	}
	EXPECT_EQ(-EINVAL, create_timer(self->ctl, name, KCHAN_CREATE_AFTER | KCHAN_CREATE_TICK, NS_PER_S));
	EXPECT_EQ(-EINVAL, create_timer(self->ctl, name, KCHAN_CREATE_AFTER | KCHAN_CREATE_AUTOCLOSE, NS_PER_S));
	EXPECT_EQ(-EINVAL, create_timer(self->ctl, name, KCHAN_CREATE_TICK | KCHAN_CREATE_AUTOCLOSE, NS_PER_S));

	chan_req_init(&req, name, 1, 0, 0, KCHAN_CREATE_TICK);
	req.period_ns = NS_PER_S;
	EXPECT_EQ(-EINVAL, chan_ioctl(self->ctl, KCHAN_IOC_CREATE, &req)) TH_LOG("capacity 1");
	chan_req_init(&req, name, 0, KCHAN_TIMER_MSG_MAX, 0, KCHAN_CREATE_AFTER);
	req.period_ns = NS_PER_S;
	EXPECT_EQ(-EINVAL, chan_ioctl(self->ctl, KCHAN_IOC_CREATE, &req)) TH_LOG("msg_max 24");

	/* period_ns belongs to timers only. */
	chan_req_init(&req, name, 1, 0, 0, 0);
	req.period_ns = NS_PER_S;
	EXPECT_EQ(-EINVAL, chan_ioctl(self->ctl, KCHAN_IOC_CREATE, &req));
	chan_req_init(&req, name, 0, 0, 0, KCHAN_CREATE_AUTOCLOSE);
	req.period_ns = 1;
	EXPECT_EQ(-EINVAL, chan_ioctl(self->ctl, KCHAN_IOC_CREATE, &req));

	EXPECT_EQ(-ENOENT, chan_open(name, O_RDONLY));

	/* The smallest period is accepted. */
	EXPECT_EQ(0, create_timer(self->ctl, name, KCHAN_CREATE_AFTER, 100000));
	EXPECT_EQ(0, chan_destroy(self->ctl, name));
	EXPECT_EQ(0, create_timer(self->ctl, name, KCHAN_CREATE_TICK, 100000));
	EXPECT_EQ(0, chan_destroy(self->ctl, name));
}

TEST_F(timer, ver0_create_struct)
{
	const char *plain = new_name(self);
	const char *tmr = new_name(self);
	struct kchan_create req;
	struct kchan_info info;
	int fd;

	/* A VER0 struct (no period_ns) still makes plain channels. */
	chan_req_init(&req, plain, 3, 100, 0, 0);
	req.size = KCHAN_CREATE_SIZE_VER0;
	req.period_ns = 12345;	/* beyond the size: never read */
	ASSERT_EQ(0, chan_ioctl(self->ctl, KCHAN_IOC_CREATE, &req));
	fd = chan_open(plain, O_RDONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, chan_info(fd, &info));
	EXPECT_EQ(0, info.state);
	EXPECT_EQ(3, info.capacity);
	EXPECT_EQ(100, info.msg_max);
	close(fd);

	/* ...but not timers: their period is missing, so it is zero. */
	chan_req_init(&req, tmr, 0, 0, 0, KCHAN_CREATE_AFTER);
	req.size = KCHAN_CREATE_SIZE_VER0;
	req.period_ns = NS_PER_S;
	EXPECT_EQ(-EINVAL, chan_ioctl(self->ctl, KCHAN_IOC_CREATE, &req));
	EXPECT_EQ(-ENOENT, chan_open(tmr, O_RDONLY));
	/* VER1 is the current size. */
	EXPECT_EQ(KCHAN_CREATE_SIZE_VER1, sizeof(req));
	req.size = KCHAN_CREATE_SIZE_VER1;
	EXPECT_EQ(0, chan_ioctl(self->ctl, KCHAN_IOC_CREATE, &req));
}

/* ---------------------------------------------------------------------- */
/* The timeout pattern: receive a job, or give up when the timer fires.   */

TEST_F_TIMEOUT(timer, select_timer_wins_when_no_job, CHAN_TIMEOUT)
{
	const __s64 d = 200 * NS_PER_MS;
	const char *jobs = new_name(self);
	struct kchan_select_case c[2];
	struct kchan_select s;
	char jb[64], tb[64];
	__s64 t0, t1, t2, v;
	int jfd, tfd;

	ASSERT_EQ(0, chan_create(self->ctl, jobs, 4, 64, 0, 0));
	jfd = chan_open(jobs, O_RDWR);
	ASSERT_LE(0, jfd);
	tfd = open_timer(_metadata, self, KCHAN_CREATE_AFTER, d, O_RDONLY, &t0, &t1);
	chan_case(&c[0], jfd, KCHAN_SELECT_RECV, jb, sizeof(jb));
	chan_case(&c[1], tfd, KCHAN_SELECT_RECV, tb, sizeof(tb));
	ASSERT_EQ(0, chan_select(self->ctl, c, 2, -1, &s));
	t2 = chan_now_ns();
	EXPECT_EQ(1, s.index);
	EXPECT_LE(t0 + d, t2);
	v = parse_tick(tb, s.result_len);
	EXPECT_LE(t0 + d, v);
	EXPECT_GE(t1 + d, v);
	EXPECT_EQ(0, info_of(jfd).received);
	close(jfd);
	close(tfd);
}

TEST_F_TIMEOUT(timer, select_job_wins_before_the_timer, CHAN_TIMEOUT)
{
	const __s64 d = 10 * NS_PER_S;
	const char *jobs = new_name(self);
	struct kchan_select_case c[2];
	struct kchan_select s;
	char jb[64], tb[64];
	__s64 t0, t1;
	int jfd, tfd;

	ASSERT_EQ(0, chan_create(self->ctl, jobs, 4, 64, 0, 0));
	jfd = chan_open(jobs, O_RDWR);
	ASSERT_LE(0, jfd);
	tfd = open_timer(_metadata, self, KCHAN_CREATE_AFTER, d, O_RDONLY, &t0, &t1);
	chan_case(&c[0], jfd, KCHAN_SELECT_RECV, jb, sizeof(jb));
	chan_case(&c[1], tfd, KCHAN_SELECT_RECV, tb, sizeof(tb));

	/* A job already queued. */
	ASSERT_EQ(4, write(jfd, "job1", 4));
	ASSERT_EQ(0, chan_select(self->ctl, c, 2, -1, &s));
	EXPECT_EQ(0, s.index);
	EXPECT_EQ(4, s.result_len);
	EXPECT_EQ(0, memcmp(jb, "job1", 4));

	/* A job that comes while the select waits. */
	{
		struct chan_io *io = chan_io_new();
		pid_t pid;

		ASSERT_NE(NULL, io);
		pid = chan_fork();
		ASSERT_LE(0, pid);
		if (pid == 0) {
			struct kchan_select r;

			io->ret = chan_select(self->ctl, c, 2, -1, &r);
			io->err = r.index;
			memcpy(io->buf, jb, 4);
			_exit(0);
		}
		ASSERT_EQ(0, chan_wait_blocked(pid, SYS_ioctl));
		ASSERT_EQ(4, write(jfd, "job2", 4));
		ASSERT_EQ(0, chan_reap(pid));
		EXPECT_EQ(0, io->ret);
		EXPECT_EQ(0, io->err);
		EXPECT_EQ(0, memcmp(io->buf, "job2", 4));
	}
	EXPECT_GT(t0 + d, chan_now_ns());
	EXPECT_EQ(0, info_of(tfd).sent);
	close(jfd);
	close(tfd);
}

TEST_F_TIMEOUT(timer, blocked_poller_wakes_on_a_tick, CHAN_TIMEOUT)
{
	struct chan_io *io = chan_io_new();
	__s64 t0, t1;
	pid_t pid;
	int fd;

	ASSERT_NE(NULL, io);
	fd = open_timer(_metadata, self, KCHAN_CREATE_AFTER, 300 * NS_PER_MS, O_RDONLY, &t0, &t1);
	pid = chan_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		io->ret = poll(&p, 1, -1) == 1 ? p.revents : -1;
		_exit(0);
	}
	ASSERT_EQ(0, chan_reap(pid));
	EXPECT_EQ(POLLIN, io->ret);
	EXPECT_LE(t0 + 300 * NS_PER_MS, chan_now_ns());
	close(fd);
}

TEST_HARNESS_MAIN
