// SPDX-License-Identifier: GPL-2.0
/*
 * Seams between features (issue 11): hold meets close, a stalled copy meets
 * a second reader, holds fill a channel under a poller, at-most-once
 * streams meet fresh writers, a tick timer meets a close right after its
 * create, and the ABI details of RECV_BATCH's direction and INFO's size.
 *
 * The copies are stalled with userfaultfd (chan_uffd_*, chan_stall_*): the
 * stalled call runs in a thread of the test process, since a child does
 * not inherit the registration.  Those tests need root (kernel-mode faults)
 * and SKIP without it.
 */
#include <pthread.h>
#include <sys/epoll.h>

#include "chan_test.h"

/* RECV_BATCH as it is after the fix (_IOWR), and as it was (_IOW). */
#define T_RECV_BATCH_IOWR	_IOWR(KCHAN_IOC_MAGIC, 0x13, struct kchan_batch)
#define T_RECV_BATCH_IOW	_IOW(KCHAN_IOC_MAGIC, 0x13, struct kchan_batch)

#define MAX		64
/* "Promptly" under TCG: far below the 20 s a lost wake-up costs. */
#define PROMPT_MS	5000
#define POLL_MS		20000

FIXTURE(seam) {
	struct chan_env env;
};

FIXTURE_SETUP(seam)
{
	memset(&self->env, 0, sizeof(self->env));
	self->env.ctl = self->env.fd = self->env.nb = -1;
	CHAN_SKIP_IF_ABSENT();
	chan_ignore(SIGPIPE);
	/* Every test's leftovers are checked, whichever way it makes its channel. */
	chan_env_register(&self->env);
}

FIXTURE_TEARDOWN(seam)
{
	chan_env_teardown(&self->env);
}

/* The test's channel, of capacity cap: env.fd (O_RDWR) and env.nb (| O_NONBLOCK). */
#define seam_make(cap) chan_env_setup(&self->env, (cap), MAX, 0)

#define UFFD_OR_SKIP(u) do { \
	int __r = chan_uffd_new(u); \
	if (__r) \
		SKIP(return, "no userfaultfd with kernel faults: %s", strerror(-__r)); \
} while (0)

static long hold1(int fd, struct kchan_hold *h, void *buf)
{
	return chan_hold_into(fd, buf, MAX, h);
}

#define ack_ret chan_ack_ret

static int close_fd(int fd)
{
	return ioctl(fd, KCHAN_IOC_CLOSE) ? -errno : 0;
}

/*
 * Two readers that were blocked: both must finish within PROMPT_MS, one
 * with the message "m" and one with 0 (EOF).
 */
static void expect_one_msg_one_eof(struct __test_metadata *_metadata,
				   pid_t p1, struct chan_io *io1,
				   pid_t p2, struct chan_io *io2)
{
	int s1 = chan_reap_within(p1, PROMPT_MS);
	int s2 = chan_reap_within(p2, PROMPT_MS);

	EXPECT_EQ(0, s1) TH_LOG("reader 1 still asleep after %d ms (ret %zd)", PROMPT_MS, io1->ret);
	EXPECT_EQ(0, s2) TH_LOG("reader 2 still asleep after %d ms (ret %zd)", PROMPT_MS, io2->ret);
	if (s1 || s2)
		return;
	/* One got the message, the other EOF. */
	EXPECT_EQ(1, io1->ret + io2->ret) TH_LOG("reader rets %zd, %zd", io1->ret, io2->ret);
	EXPECT_TRUE((io1->ret == 1 && io2->ret == 0) || (io1->ret == 0 && io2->ret == 1));
	EXPECT_EQ('m', io1->ret == 1 ? io1->buf[0] : io2->buf[0]);
}

/* ----- defect 2: a returned hold no longer strands readers at EOF ---- */

/* Capacity 4, one message held, two readers and a poller asleep, close: then how the hold ends. */
enum hold_end { HOLD_RETURN, HOLD_RELEASE_FD };

/*
 * A process that holds the channel's one message, says so on @ready, and
 * releases its file when @go gets a byte (readers forked later share the
 * pipe, so closing it would not do).  A process of its
 * own, so that no reader forked later shares the holding file and keeps
 * it from being released.
 */
static pid_t spawn_holder(const char *name, int ready, int go)
{
	pid_t pid = chan_fork();

	if (pid == 0) {
		struct kchan_hold h;
		char buf[MAX], c = 0;
		int fd = chan_open(name, O_RDONLY | O_NONBLOCK);

		if (fd >= 0 && hold1(fd, &h, buf) == 1)
			c = 'h';
		if (write(ready, &c, 1) != 1 || read(go, &c, 1) < 0)
			_exit(1);
		_exit(0);	/* the release returns the hold */
	}
	return pid;
}

static void held_then_closed(struct __test_metadata *_metadata, struct chan_env *env,
			     enum hold_end how)
{
	struct chan_io *io1, *io2, *pio;
	int hfd = -1, pfd, ready[2], go[2];
	pid_t r1, r2, poller, holder = -1;
	struct kchan_hold h;
	char buf[MAX], c;

	ASSERT_EQ(1, write(env->nb, "m", 1));
	if (how == HOLD_RELEASE_FD) {
		ASSERT_EQ(0, pipe(ready));
		ASSERT_EQ(0, pipe(go));
		holder = spawn_holder(env->name, ready[1], go[0]);
		ASSERT_LE(0, holder);
		ASSERT_EQ(1, read(ready[0], &c, 1));
		ASSERT_EQ('h', c) TH_LOG("the holder could not hold the message");
	} else {
		hfd = chan_open(env->name, O_RDONLY | O_NONBLOCK);
		ASSERT_LE(0, hfd);
		ASSERT_EQ(1, hold1(hfd, &h, buf));
	}
	io1 = chan_blocked_reader(_metadata, env->fd, MAX, &r1);
	io2 = chan_blocked_reader(_metadata, env->fd, MAX, &r2);
	pio = chan_io_new();
	ASSERT_NE(NULL, pio);
	/* O_RDONLY: no EPOLLERR from the close can wake it early. */
	pfd = chan_open(env->name, O_RDONLY);
	ASSERT_LE(0, pfd);
	poller = chan_spawn_poll(pfd, POLLIN, POLL_MS, pio);
	ASSERT_LE(0, poller);
	ASSERT_EQ(0, chan_wait_blocked(poller, SYS_poll));

	ASSERT_EQ(0, close_fd(env->fd));
	/* Not at EOF yet: the held message keeps it away. */
	EXPECT_TRUE(chan_alive(r1) && chan_alive(r2));
	EXPECT_TRUE(chan_alive(poller));
	EXPECT_EQ(0, chan_revents(pfd, POLLIN));
	if (how == HOLD_RETURN) {
		EXPECT_EQ(1, ack_ret(hfd, KCHAN_IOC_RETURN, 0));
		close(hfd);
	} else {
		/* The holder exits: its file's release returns the hold. */
		ASSERT_EQ(1, write(go[1], "x", 1));
		EXPECT_EQ(0, chan_reap(holder));
		close(go[1]);
		close(go[0]);
		close(ready[0]);
		close(ready[1]);
	}

	expect_one_msg_one_eof(_metadata, r1, io1, r2, io2);
	EXPECT_EQ(0, chan_reap_within(poller, PROMPT_MS))
		TH_LOG("the poller was not woken (it would sleep %d ms)", POLL_MS);
	EXPECT_EQ(1, pio->ret);
	EXPECT_NE(0, pio->revents & (POLLIN | POLLHUP)) TH_LOG("revents %#x", pio->revents);
	EXPECT_EQ(0, read(env->nb, buf, sizeof(buf)));
	close(pfd);
}

TEST_F_TIMEOUT(seam, hold_returned_after_close_wakes_every_reader, CHAN_TIMEOUT)
{
	seam_make(4);
	held_then_closed(_metadata, &self->env, HOLD_RETURN);
}

TEST_F_TIMEOUT(seam, hold_fd_released_after_close_wakes_every_reader, CHAN_TIMEOUT)
{
	seam_make(4);
	held_then_closed(_metadata, &self->env, HOLD_RELEASE_FD);
}

/*
 * The hold's copy-out stalls; readers fall asleep; close; the copy faults:
 * HOLD fails with EFAULT, the message goes to one reader, EOF to the other.
 */
TEST_F_TIMEOUT(seam, hold_copy_fault_after_close_wakes_every_reader, CHAN_TIMEOUT)
{
	struct chan_io *io1, *io2;
	struct chan_stall st;
	struct chan_uffd u;
	pid_t r1, r2;
	char buf[MAX];
	int hfd;

	seam_make(4);
	UFFD_OR_SKIP(&u);
	ASSERT_EQ(1, write(self->env.nb, "m", 1));
	hfd = chan_open(self->env.name, O_RDONLY | O_NONBLOCK);
	ASSERT_LE(0, hfd);
	ASSERT_EQ(0, chan_stall_start(&st, hfd, true, u.page, MAX));
	ASSERT_EQ(0, chan_uffd_wait_fault(&u)) TH_LOG("the hold never reached its copy-out");

	io1 = chan_blocked_reader(_metadata, self->env.fd, MAX, &r1);
	io2 = chan_blocked_reader(_metadata, self->env.fd, MAX, &r2);
	ASSERT_EQ(0, close_fd(self->env.fd));
	chan_uffd_fail(&u);
	ASSERT_EQ(0, chan_stall_join(&st, PROMPT_MS)) TH_LOG("the hold never returned");
	EXPECT_EQ(-EFAULT, st.ret);

	expect_one_msg_one_eof(_metadata, r1, io1, r2, io2);
	EXPECT_EQ(0, read(self->env.nb, buf, sizeof(buf)));
	close(hfd);
}

/* ----- defect 3: poll wake-ups when holds fill a buffered channel ---- */

/* Capacity 1, its message held: the channel is full and its queue empty. */
static void full_of_holds(struct __test_metadata *_metadata, struct chan_env *env)
{
	struct kchan_hold h;
	char buf[MAX];

	ASSERT_EQ(1, write(env->nb, "m", 1));
	ASSERT_EQ(1, hold1(env->fd, &h, buf));
	ASSERT_EQ(-EAGAIN, write(env->nb, "x", 1) < 0 ? -errno : 0);
}

/* The poller wakes promptly with want, well before its timeout. */
static void expect_prompt_poll(struct __test_metadata *_metadata, pid_t poller,
			       struct chan_io *pio, short want)
{
	int st = chan_reap_within(poller, 2 * PROMPT_MS);

	ASSERT_EQ(0, st) TH_LOG("the poller was not woken within %d ms (its timeout is %d ms)",
				2 * PROMPT_MS, POLL_MS);
	EXPECT_EQ(1, pio->ret) TH_LOG("poll returned %zd (errno %d)", pio->ret, pio->err);
	EXPECT_EQ(want, pio->revents & want) TH_LOG("revents %#x", pio->revents);
	EXPECT_GT(10LL * 1000000000, pio->ns) TH_LOG("woke after %lld ns", pio->ns);
}

TEST_F_TIMEOUT(seam, held_full_poll_in_woken_by_blocked_writer, CHAN_TIMEOUT)
{
	struct chan_io *pio, *wio;
	pid_t poller, writer;

	seam_make(1);
	full_of_holds(_metadata, &self->env);
	EXPECT_EQ(0, chan_revents(self->env.fd, POLLIN));
	pio = chan_io_new();
	ASSERT_NE(NULL, pio);
	poller = chan_spawn_poll(self->env.fd, POLLIN, POLL_MS, pio);
	ASSERT_LE(0, poller);
	ASSERT_EQ(0, chan_wait_blocked(poller, SYS_poll));

	wio = chan_blocked_writer(_metadata, self->env.fd, "w", &writer);
	/* A blocked writer counts: readable now. */
	EXPECT_EQ(POLLIN, chan_revents(self->env.fd, POLLIN));
	expect_prompt_poll(_metadata, poller, pio, POLLIN);

	EXPECT_EQ(1, ack_ret(self->env.fd, KCHAN_IOC_ACK, ~0ULL));
	EXPECT_EQ(0, chan_reap_within(writer, PROMPT_MS));
	EXPECT_EQ(1, wio->ret);
}

TEST_F_TIMEOUT(seam, held_full_poll_out_woken_by_blocked_reader, CHAN_TIMEOUT)
{
	struct chan_io *pio, *rio;
	pid_t poller, reader;
	int wfd;

	seam_make(1);
	full_of_holds(_metadata, &self->env);
	wfd = chan_open(self->env.name, O_WRONLY | O_NONBLOCK);
	ASSERT_LE(0, wfd);
	EXPECT_EQ(0, chan_revents(wfd, POLLOUT));
	pio = chan_io_new();
	ASSERT_NE(NULL, pio);
	poller = chan_spawn_poll(wfd, POLLOUT, POLL_MS, pio);
	ASSERT_LE(0, poller);
	ASSERT_EQ(0, chan_wait_blocked(poller, SYS_poll));

	rio = chan_blocked_reader(_metadata, self->env.fd, MAX, &reader);
	/* A blocked reader counts: writable now. */
	EXPECT_EQ(POLLOUT, chan_revents(wfd, POLLOUT));
	expect_prompt_poll(_metadata, poller, pio, POLLOUT);

	EXPECT_EQ(1, write(wfd, "w", 1));
	EXPECT_EQ(0, chan_reap_within(reader, PROMPT_MS));
	EXPECT_EQ(1, rio->ret);
	close(wfd);
}

/* The same with a level-triggered epoll_wait(). */
TEST_F_TIMEOUT(seam, held_full_epoll_in_woken_by_blocked_writer, CHAN_TIMEOUT)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct chan_io *pio, *wio;
	pid_t poller, writer;
	int ep;

	seam_make(1);
	full_of_holds(_metadata, &self->env);
	ep = epoll_create1(EPOLL_CLOEXEC);
	ASSERT_LE(0, ep);
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, self->env.fd, &ev));
	pio = chan_io_new();
	ASSERT_NE(NULL, pio);
	poller = chan_fork();
	if (poller == 0) {
		struct epoll_event got = { 0 };
		__s64 t0 = chan_now_ns();
		int n = epoll_wait(ep, &got, 1, POLL_MS);

		pio->ns = chan_now_ns() - t0;
		pio->revents = n > 0 ? (int)got.events : 0;
		pio->err = n < 0 ? errno : 0;
		pio->ret = n;
		_exit(0);
	}
	ASSERT_LE(0, poller);
	ASSERT_EQ(0, chan_wait_blocked(poller, SYS_epoll_wait));

	wio = chan_blocked_writer(_metadata, self->env.fd, "w", &writer);
	expect_prompt_poll(_metadata, poller, pio, EPOLLIN);

	EXPECT_EQ(1, ack_ret(self->env.fd, KCHAN_IOC_ACK, ~0ULL));
	EXPECT_EQ(0, chan_reap_within(writer, PROMPT_MS));
	EXPECT_EQ(1, wio->ret);
	close(ep);
}

/* ----- defect 4: receives still copying out count in EOF and in room - */

/* Capacity cap, "m" written, reader A stalled copying it out into u's page. */
static void stalled_reader(struct __test_metadata *_metadata, struct chan_env *env,
			   struct chan_uffd *u, struct chan_stall *a)
{
	ASSERT_EQ(1, write(env->nb, "m", 1));
	ASSERT_EQ(0, chan_stall_start(a, env->fd, false, u->page, MAX));
	ASSERT_EQ(0, chan_uffd_wait_fault(u)) TH_LOG("reader A never reached its copy-out");
}

/* Reader B (blocking) must sleep while A copies the last message of a closed channel. */
static struct chan_io *reader_b_blocks(struct __test_metadata *_metadata,
				       struct chan_env *env, pid_t *pid)
{
	struct chan_io *io = chan_io_new();

	ASSERT_NE(NULL, io);
	*pid = chan_spawn_read(env->fd, MAX, io);
	ASSERT_LE(0, *pid);
	if (chan_wait_blocked(*pid, SYS_read)) {
		chan_reap_within(*pid, PROMPT_MS);
		ASSERT_TRUE(false) TH_LOG("reader B did not wait for A's copy: read returned %zd (errno %d)",
					  io->ret, io->err);
	}
	return io;
}

/*
 * Capacity 4, "m" written, closed; reader A stalls copying it out; reader B
 * must wait for A (not return 0).  Then A's copy succeeds (B gets EOF) or
 * faults (A gets EFAULT, B the message, a third read EOF).
 */
static void closed_last_copy_stalled(struct __test_metadata *_metadata,
				     struct chan_env *env, bool fault)
{
	struct chan_stall a;
	struct chan_uffd u;
	struct chan_io *b;
	char buf[MAX];
	pid_t pb;

	UFFD_OR_SKIP(&u);
	stalled_reader(_metadata, env, &u, &a);
	ASSERT_EQ(0, close_fd(env->fd));
	b = reader_b_blocks(_metadata, env, &pb);

	if (fault)
		chan_uffd_fail(&u);
	else
		ASSERT_EQ(0, chan_uffd_resolve(&u));
	ASSERT_EQ(0, chan_stall_join(&a, PROMPT_MS)) TH_LOG("reader A never returned");
	EXPECT_EQ(0, chan_reap_within(pb, PROMPT_MS)) TH_LOG("reader B was not woken");
	if (fault) {
		EXPECT_EQ(-EFAULT, a.ret);
		EXPECT_EQ(1, b->ret) TH_LOG("reader B did not get the message back");
		EXPECT_EQ('m', b->buf[0]);
	} else {
		EXPECT_EQ(1, a.ret);
		EXPECT_EQ('m', u.page[0]);
		EXPECT_EQ(0, b->ret) TH_LOG("reader B did not get EOF");
	}
	EXPECT_EQ(0, read(env->nb, buf, sizeof(buf)));
	chan_uffd_free(&u);
}

TEST_F_TIMEOUT(seam, recv_copying_out_keeps_eof_away, CHAN_TIMEOUT)
{
	seam_make(4);
	closed_last_copy_stalled(_metadata, &self->env, false);
}

TEST_F_TIMEOUT(seam, recv_copy_fault_after_close_goes_to_next_reader, CHAN_TIMEOUT)
{
	seam_make(4);
	closed_last_copy_stalled(_metadata, &self->env, true);
}

TEST_F_TIMEOUT(seam, recv_copying_out_keeps_its_slot, CHAN_TIMEOUT)
{
	struct chan_io *w;
	struct chan_stall a;
	struct chan_uffd u;
	pid_t pw;

	seam_make(1);
	UFFD_OR_SKIP(&u);
	stalled_reader(_metadata, &self->env, &u, &a);
	/* The slot is still taken while A copies. */
	EXPECT_EQ(-EAGAIN, write(self->env.nb, "x", 1) < 0 ? -errno : 1);
	w = chan_blocked_writer(_metadata, self->env.fd, "w", &pw);

	ASSERT_EQ(0, chan_uffd_resolve(&u));
	ASSERT_EQ(0, chan_stall_join(&a, PROMPT_MS)) TH_LOG("reader A never returned");
	EXPECT_EQ(1, a.ret);
	EXPECT_EQ(0, chan_reap_within(pw, PROMPT_MS)) TH_LOG("the blocked writer was not admitted");
	EXPECT_EQ(1, w->ret);
	EXPECT_EQ(1, chan_len(self->env.fd));
	chan_uffd_free(&u);
}

/* ----- defect 5: at-most-once streams never vanish -------------------- */

/* 0 (sent), KCHAN_SEND_DUPLICATE (1), or -errno. */
static long send_once(int fd, __u64 stream, __u64 seq)
{
	return chan_send_once(fd, "o", 1, stream, seq);
}

/* The stream's last seq, or -errno. */
#define stream_seq chan_stream_seq

/* Create with a table of streams entries: 0 or -errno. */
static int create_streams(int ctl, const char *name, __u32 cap, __u32 streams,
			  __u32 flags, __u64 period_ns)
{
	struct kchan_create req;

	chan_req_init(&req, name, cap, flags ? 0 : MAX, 0, flags);
	req.streams = streams;
	req.period_ns = period_ns;
	return chan_ioctl(ctl, KCHAN_IOC_CREATE, &req);
}

/* The test's channel, capacity 64, with a table of streams entries. */
#define streams_setup(streams) do { \
	int __r; \
	self->env.ctl = chan_ctl_open(); \
	ASSERT_LE(0, self->env.ctl); \
	chan_make_name(self->env.name); \
	__r = create_streams(self->env.ctl, self->env.name, 64, (streams), 0, 0); \
	ASSERT_EQ(0, __r) TH_LOG("create with streams=%u: %s", (streams), strerror(-__r)); \
	self->env.fd = chan_open(self->env.name, O_RDWR | O_NONBLOCK); \
	ASSERT_LE(0, self->env.fd); \
} while (0)

TEST_F(seam, streams_default_table_full_enospc_sends_nothing)
{
	struct kchan_info before, after;
	__u64 s;

	streams_setup(0);
	for (s = 1; s <= KCHAN_STREAMS_DEFAULT; s++)
		ASSERT_EQ(0, send_once(self->env.fd, s, 1)) TH_LOG("stream %llu", (unsigned long long)s);
	ASSERT_EQ(0, chan_info(self->env.fd, &before));
	EXPECT_EQ(-ENOSPC, send_once(self->env.fd, KCHAN_STREAMS_DEFAULT + 1, 1));
	ASSERT_EQ(0, chan_info(self->env.fd, &after));
	EXPECT_EQ(before.sent, after.sent);
	EXPECT_EQ(before.length, after.length);
	/* No entry was evicted for it. */
	for (s = 1; s <= KCHAN_STREAMS_DEFAULT; s++)
		EXPECT_EQ(1, stream_seq(self->env.fd, s, 0));
	EXPECT_EQ(0, stream_seq(self->env.fd, KCHAN_STREAMS_DEFAULT + 1, 0));
}

/*
 * The old LRU bug: a relay's stream, then 16+ fresh streams from anyone;
 * the relay restarts, reads its stream's seq and resends its last message:
 * it must be reported a duplicate, not delivered twice.
 */
TEST_F(seam, streams_relay_entry_survives_fresh_streams)
{
	const __u64 relay = 0x5eedULL;
	int i, sent = 0, full = 0;
	long len;

	streams_setup(0);
	for (i = 1; i <= 3; i++)
		ASSERT_EQ(0, send_once(self->env.fd, relay, i));
	for (i = 0; i < 20; i++) {
		long r = send_once(self->env.fd, 1000 + i, 1);

		if (r == 0)
			sent++;
		else if (r == -ENOSPC)
			full++;
		else
			ASSERT_TRUE(false) TH_LOG("fresh stream %d: %ld", i, r);
	}
	EXPECT_EQ(KCHAN_STREAMS_DEFAULT - 1, sent);
	EXPECT_EQ(20 - (KCHAN_STREAMS_DEFAULT - 1), full);
	EXPECT_EQ(3, stream_seq(self->env.fd, relay, 0)) TH_LOG("the relay's stream was forgotten");
	len = chan_len(self->env.fd);
	EXPECT_EQ(KCHAN_SEND_DUPLICATE, send_once(self->env.fd, relay, 3));
	EXPECT_EQ(len, chan_len(self->env.fd)) TH_LOG("the resend was delivered again");
}

TEST_F(seam, stream_forget_frees_one_entry)
{
	int ro;
	__u64 s;

	streams_setup(0);
	for (s = 1; s <= KCHAN_STREAMS_DEFAULT; s++)
		ASSERT_EQ(0, send_once(self->env.fd, s, 10 + s));
	ASSERT_EQ(-ENOSPC, send_once(self->env.fd, 100, 1));
	/* FORGET needs an fd open for writing. */
	ro = chan_open(self->env.name, O_RDONLY);
	ASSERT_LE(0, ro);
	EXPECT_EQ(-EBADF, stream_seq(ro, 5, KCHAN_STREAM_FORGET));
	EXPECT_EQ(15, stream_seq(ro, 5, 0));
	close(ro);

	EXPECT_EQ(15, stream_seq(self->env.fd, 5, KCHAN_STREAM_FORGET));
	EXPECT_EQ(0, stream_seq(self->env.fd, 5, 0));
	/* An unknown stream: seq 0, success. */
	EXPECT_EQ(0, stream_seq(self->env.fd, 999, KCHAN_STREAM_FORGET));
	EXPECT_EQ(0, send_once(self->env.fd, 100, 1));
	EXPECT_EQ(-ENOSPC, send_once(self->env.fd, 101, 1));
	EXPECT_EQ(1, stream_seq(self->env.fd, 100, 0));
}

TEST_F(seam, streams_one_at_create)
{
	streams_setup(1);
	EXPECT_EQ(0, send_once(self->env.fd, 1, 1));
	EXPECT_EQ(-ENOSPC, send_once(self->env.fd, 2, 1));
	EXPECT_EQ(0, send_once(self->env.fd, 1, 2));
	EXPECT_EQ(KCHAN_SEND_DUPLICATE, send_once(self->env.fd, 1, 2));
	EXPECT_EQ(2, chan_len(self->env.fd));
}

TEST_F(seam, streams_limits_at_create)
{
	char name[KCHAN_NAME_MAX];

	self->env.ctl = chan_ctl_open();
	ASSERT_LE(0, self->env.ctl);
	chan_make_name(name);
	EXPECT_EQ(-EINVAL, create_streams(self->env.ctl, name, 4, KCHAN_STREAMS_MAX + 1, 0, 0));
	EXPECT_EQ(0, create_streams(self->env.ctl, name, 4, KCHAN_STREAMS_MAX, 0, 0));
	chan_destroy(self->env.ctl, name);
	/* Timers take no SEND_ONCE: no table. */
	EXPECT_EQ(-EINVAL, create_streams(self->env.ctl, name, 0, 1,
					  KCHAN_CREATE_AFTER, 1000000000ULL));
	EXPECT_EQ(0, create_streams(self->env.ctl, name, 0, 0,
				    KCHAN_CREATE_AFTER, 1000000000ULL));
	chan_destroy(self->env.ctl, name);
}

/* ----- 6a: a tick timer closed right after its create stays stopped --- */

struct closer {
	pthread_t thread;
	char path[PATH_MAX];
	volatile int go;		/* generation to close */
	volatile int done;		/* generation closed */
	volatile int ret;		/* its KCHAN_IOC_CLOSE: 0 or -errno */
	volatile int stop;
};

/* Spins on open(O_WRONLY) of the next channel, then closes it through that fd. */
static void *closer_main(void *arg)
{
	struct closer *c = arg;

	while (!__atomic_load_n(&c->stop, __ATOMIC_ACQUIRE)) {
		int gen = __atomic_load_n(&c->go, __ATOMIC_ACQUIRE);
		int fd;

		if (gen == c->done)
			continue;
		fd = open(c->path, O_WRONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		c->ret = ioctl(fd, KCHAN_IOC_CLOSE) ? -errno : 0;
		close(fd);
		__atomic_store_n(&c->done, gen, __ATOMIC_RELEASE);
	}
	return NULL;
}

TEST_F_TIMEOUT(seam, tick_closed_right_after_create_stays_stopped, 120)
{
	struct kchan_info a, b;
	struct kchan_create req;
	struct closer *c;
	int i, j, fd;

	self->env.ctl = chan_ctl_open();
	ASSERT_LE(0, self->env.ctl);
	c = calloc(1, sizeof(*c));
	ASSERT_NE(NULL, c);
	chan_make_name(self->env.name);
	chan_path(c->path, sizeof(c->path), self->env.name);
	ASSERT_EQ(0, pthread_create(&c->thread, NULL, closer_main, c));

	for (i = 1; i <= 200; i++) {
		__atomic_store_n(&c->go, i, __ATOMIC_RELEASE);
		chan_req_init(&req, self->env.name, 0, 0, 0, KCHAN_CREATE_TICK);
		req.period_ns = 100000;
		ASSERT_EQ(0, chan_ioctl(self->env.ctl, KCHAN_IOC_CREATE, &req));
		for (j = 0; j < CHAN_WAIT_MS && __atomic_load_n(&c->done, __ATOMIC_ACQUIRE) != i; j++)
			usleep(1000);
		ASSERT_EQ(i, c->done) TH_LOG("round %d: the closer never closed", i);
		ASSERT_EQ(0, c->ret) TH_LOG("round %d: close: %s", i, strerror(-c->ret));

		/*
		 * A tick that fired just before the close may still be
		 * delivered (and dropped) once: let it settle, then watch.
		 */
		fd = chan_open(self->env.name, O_RDONLY);
		ASSERT_LE(0, fd);
		usleep(10000);
		ASSERT_EQ(0, chan_info(fd, &a));
		usleep(50000);
		ASSERT_EQ(0, chan_info(fd, &b));
		close(fd);
		EXPECT_NE(0, a.state & KCHAN_STATE_CLOSED);
		if (a.sent != b.sent || a.dropped != b.dropped) {
			EXPECT_EQ(a.sent, b.sent) TH_LOG("round %d: ticks sent after the close", i);
			EXPECT_EQ(a.dropped, b.dropped) TH_LOG("round %d: the timer still runs after the close", i);
			break;
		}
		ASSERT_EQ(0, chan_destroy(self->env.ctl, self->env.name));
	}
	__atomic_store_n(&c->stop, 1, __ATOMIC_RELEASE);
	pthread_join(c->thread, NULL);
	free(c);
}

/* ----- 6b: EPOLLERR only where a write fails and nothing is left to read */

TEST_F(seam, closed_rdwr_with_messages_pollin_not_pollerr)
{
	char buf[MAX];
	int wo, rev;

	seam_make(4);
	ASSERT_EQ(1, write(self->env.nb, "m", 1));
	wo = chan_open(self->env.name, O_WRONLY);
	ASSERT_LE(0, wo);
	ASSERT_EQ(0, close_fd(self->env.fd));

	rev = chan_revents(self->env.fd, CHAN_POLL_ALL);
	EXPECT_EQ(POLLIN | POLLRDNORM, rev) TH_LOG("O_RDWR, closed, one message left: revents %#x", rev);
	EXPECT_EQ(POLLERR, chan_revents(wo, CHAN_POLL_ALL) & POLLERR);

	ASSERT_EQ(1, read(self->env.nb, buf, sizeof(buf)));
	rev = chan_revents(self->env.fd, CHAN_POLL_ALL);
	EXPECT_EQ(POLLHUP, rev & (POLLHUP | POLLIN)) TH_LOG("drained: revents %#x", rev);
	EXPECT_EQ(POLLERR, chan_revents(wo, CHAN_POLL_ALL) & POLLERR);
	close(wo);
}

/* ----- 6c: RECV_BATCH writes into its argument: _IOWR ------------------ */

TEST_F(seam, recv_batch_is_iowr_old_iow_enotty)
{
	struct kchan_msgvec v;
	struct kchan_batch arg;
	char buf[MAX];

	EXPECT_EQ(_IOC_READ | _IOC_WRITE, _IOC_DIR(KCHAN_IOC_RECV_BATCH))
		TH_LOG("uapi's KCHAN_IOC_RECV_BATCH is %#lx", (unsigned long)KCHAN_IOC_RECV_BATCH);
	seam_make(4);
	ASSERT_EQ(2, chan_fill(self->env.nb, "b", 2));

	memset(&arg, 0, sizeof(arg));
	arg.size = sizeof(arg);
	arg.msgs = (__u64)(uintptr_t)&v;
	arg.count = 1;
	v = (struct kchan_msgvec){ .buf = (__u64)(uintptr_t)buf, .len = sizeof(buf) };
	EXPECT_EQ(1, ioctl(self->env.nb, T_RECV_BATCH_IOWR, &arg));
	EXPECT_EQ(2, v.len);
	v = (struct kchan_msgvec){ .buf = (__u64)(uintptr_t)buf, .len = sizeof(buf) };
	EXPECT_EQ(-1, ioctl(self->env.nb, T_RECV_BATCH_IOW, &arg));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(1, chan_len(self->env.fd)) TH_LOG("the old number still received");
}

/* ----- 6d: INFO leaves the caller's size alone ------------------------- */

TEST_F(seam, info_keeps_callers_size)
{
	union {
		struct kchan_info info;
		unsigned char b[128];
	} u;
	size_t i;

	seam_make(4);
	memset(&u, 0xa5, sizeof(u));
	u.info.size = KCHAN_INFO_SIZE_VER0;
	ASSERT_EQ(0, chan_ioctl(self->env.fd, KCHAN_IOC_INFO, &u));
	EXPECT_EQ(KCHAN_INFO_SIZE_VER0, u.info.size);
	EXPECT_EQ(4, u.info.capacity);
	/* Nothing past the caller's size was written. */
	for (i = KCHAN_INFO_SIZE_VER0; i < sizeof(u); i++)
		ASSERT_EQ(0xa5, u.b[i]) TH_LOG("byte %zu written", i);

	memset(&u, 0xa5, sizeof(u));
	u.info.size = sizeof(u);
	ASSERT_EQ(0, chan_ioctl(self->env.fd, KCHAN_IOC_INFO, &u));
	EXPECT_EQ(sizeof(u), u.info.size);
	for (i = sizeof(struct kchan_info); i < sizeof(u); i++)
		ASSERT_EQ(0, u.b[i]) TH_LOG("byte %zu not zeroed", i);
}

TEST_HARNESS_MAIN
