// SPDX-License-Identifier: GPL-2.0
/*
 * Fault injection: every allocation a kchan call makes may fail, and
 * every such failure must leave the system as it was.
 *
 * Systematic (fixture "faults", one variant per call): for n = 1, 2, ...
 * fail the n-th fault point of the call (an allocation, or a user copy on
 * kernels with fail_usercopy) (/proc/thread-self/fail-nth, see
 * the kernel's Documentation/fault-injection/fault-injection.rst) until a
 * call runs without an injected fault.  After each injected fault:
 *  - the call failed with an errno of the expected set and changed
 *    nothing: the channels in /dev/chan (and /dev), their counters
 *    (fdinfo) and queued messages are as before the call;
 *  - or it succeeded (the fault hit an allocation with a fallback, or one
 *    whose failure the kernel ignores) and did all it should;
 *  - and the same call made again without a fault works.
 * kmemleak, which tools/vm/run scans after the run, finds what was leaked.
 *
 * Random (fixture "random"): failslab and fail_page_alloc fail a share of
 * the allocations made with kchan's code on the stack, in the stress
 * processes only (task-filter, make-it-fail), while writers send numbered
 * messages: every message whose send was acknowledged arrives exactly
 * once and in its writer's order; none other arrives.
 *
 * Both need a kernel with fault injection (tools/debug-kernel/build) and
 * SKIP elsewhere, e.g. on Debian's kernels.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdarg.h>
#include <sys/epoll.h>
#include <sys/fsuid.h>

#include "chan_test.h"

#define FAIL_NTH	"/proc/thread-self/fail-nth"
#define FAULT_DEBUGFS	"/sys/kernel/debug"
/* More fault points than this in one call means the loop never ends. */
#define FAULT_NTH_MAX	5000
/* The channels' owner in the create/destroy cases: its quota starts empty. */
#define FAULT_UID	47111
/* Big enough for every listing and counter of a snapshot. */
#define SNAP_MAX	4096

/* ----- debugfs knobs, saved and restored ------------------------------ */

struct knob {
	char file[48];		/* under FAULT_DEBUGFS */
	char value[32];		/* what we set */
	char saved[32];		/* what it was */
	bool set;
};

#define KNOBS_MAX	24

struct knobs {
	struct knob k[KNOBS_MAX];
	int n;
	char failed[48];	/* the knob that could not be set */
};

/* Set one knob, remembering its value; 0 or -errno. */
static int knob_set(struct knobs *ks, const char *file, const char *fmt, ...)
{
	char path[PATH_MAX];
	struct knob *k;
	va_list ap;
	ssize_t r;

	if (ks->n == KNOBS_MAX)
		return -ENOSPC;
	k = &ks->k[ks->n];
	snprintf(k->file, sizeof(k->file), "%s", file);
	va_start(ap, fmt);
	vsnprintf(k->value, sizeof(k->value), fmt, ap);
	va_end(ap);
	snprintf(path, sizeof(path), FAULT_DEBUGFS "/%s", file);
	r = chan_read_file(path, k->saved, sizeof(k->saved));
	if (r >= 0)
		r = chan_write_file(path, k->value);
	if (r < 0) {
		snprintf(ks->failed, sizeof(ks->failed), "%s", file);
		return r;
	}
	k->set = true;
	ks->n++;
	return 0;
}

/* Last set, first restored: probability goes back to 0 before the filters. */
static void knobs_restore(struct knobs *ks)
{
	char path[PATH_MAX];

	while (ks->n > 0) {
		struct knob *k = &ks->k[--ks->n];

		snprintf(path, sizeof(path), FAULT_DEBUGFS "/%s", k->file);
		if (k->set)
			chan_write_file(path, k->saved);
	}
}

/*
 * Both fault types count under fail-nth and, with a probability, under
 * make-it-fail.  By default they spare sleeping (GFP_KERNEL) allocations
 * and order-0 pages, which is nearly all kchan does, and print a stack
 * for each failure, which the runner's console scan would call a report.
 * probability 0 leaves random faults off until a test turns them on;
 * @random: every chance counts, for ever (fail-nth ignores those).
 */
static int knobs_setup(struct knobs *ks, bool random)
{
	static const char *const types[] = { "failslab", "fail_page_alloc" };
	char file[64];
	unsigned int i;
	int ret = 0;

	for (i = 0; i < 2 && !ret; i++) {
		const char *t = types[i];

#define KNOB(name, ...) do { \
	snprintf(file, sizeof(file), "%s/%s", t, name); \
	if (!ret) \
		ret = knob_set(ks, file, __VA_ARGS__); \
} while (0)
		KNOB("probability", "0");
		KNOB("task-filter", "Y");
		KNOB("verbose", "0");
		KNOB("ignore-gfp-wait", "N");
		if (random) {
			KNOB("interval", "1");
			KNOB("times", "-1");
			KNOB("space", "0");
		}
		if (i == 1) {
			KNOB("ignore-gfp-highmem", "N");
			KNOB("min-order", "0");
		}
#undef KNOB
	}
	return ret;
}

/* ----- what a call may change: a snapshot ----------------------------- */

/* The entries of dir whose names start with prefix, one "tag:name" line each. */
static void snap_dir(char *out, size_t len, const char *tag, const char *dir,
		     const char *prefix)
{
	struct dirent **list;
	int i, n = scandir(dir, &list, NULL, alphasort);

	for (i = 0; i < n; i++) {
		if (!strncmp(list[i]->d_name, prefix, strlen(prefix)))
			snprintf(out + strlen(out), len - strlen(out), "%s:%s\n",
				 tag, list[i]->d_name);
		free(list[i]);
	}
	if (n >= 0)
		free(list);
}

/* ----- the cases ----------------------------------------------------- */

#define FCTX_FDS	3

struct fctx {
	int ctl;			/* KCHAN_CONTROL_PATH */
	int nth;			/* /proc/thread-self/fail-nth */
	char prefix[16];		/* of every channel name below */
	char a[KCHAN_NAME_MAX];		/* the channels a case uses */
	char b[KCHAN_NAME_MAX];
	int fd[FCTX_FDS];		/* files the setup opened; fd[0] on a */
	int epfd;
	__u64 hold_id;			/* the setup's hold */
	char buf[256];			/* what the call read */
	long ret;			/* its result: >= 0, or -errno */
	__u32 out;			/* an ioctl's count or flags */
	int fault;			/* the fault point being tried, 0: none */
};

/* Fills out with the state a call may change; see the file's comment. */
static void snap(struct fctx *c, char *out, size_t len)
{
	static const char *const attrs[] = {
		"length", "sent", "received", "readers", "writers", "closed",
	};
	struct kchan_info info;
	const char *names[] = { c->a, c->b };
	char path[PATH_MAX], val[64];
	unsigned int i, j;

	out[0] = '\0';
	snap_dir(out, len, "node", KCHAN_DEV_DIR, c->prefix);
	/* Nothing of ours anywhere else in /dev. */
	snap_dir(out, len, "dev", "/dev", c->prefix);
	for (i = 0; i < 2; i++) {
		chan_path(path, sizeof(path), names[i]);
		if (access(path, F_OK))
			continue;
		snprintf(out + strlen(out), len - strlen(out), "%s", names[i]);
		for (j = 0; j < sizeof(attrs) / sizeof(attrs[0]); j++)
			snprintf(out + strlen(out), len - strlen(out), " %s=%s",
				 attrs[j], chan_attr(names[i], attrs[j], val, sizeof(val)));
		snprintf(out + strlen(out), len - strlen(out), "\n");
	}
	if (c->fd[0] >= 0 && !chan_info(c->fd[0], &info))
		snprintf(out + strlen(out), len - strlen(out),
			 "info state=%u length=%u readers=%u writers=%u sent=%llu received=%llu held=%u\n",
			 info.state, info.length, info.readers, info.writers,
			 (unsigned long long)info.sent,
			 (unsigned long long)info.received, info.held);
	/* chan_attr() numbers end in '\n': fold them for a readable log. */
	for (i = 0; out[i]; i++)
		if (out[i] == '\n' && out[i + 1] == ' ')
			out[i] = ' ';
}

struct fcase {
	/* Builds the state before the call, without faults. */
	void (*setup)(struct __test_metadata *_metadata, struct fctx *c);
	/* The call: c->ret = its result, >= 0 or -errno. */
	void (*call)(struct fctx *c);
	/* After a successful call: it did all it should. */
	void (*done)(struct __test_metadata *_metadata, struct fctx *c);
	int errnos[4];		/* what a failure may say, besides ENOMEM */
	bool quota;		/* create/destroy: as FAULT_UID, one channel allowed */
};

#define SETUP(name) static void name(struct __test_metadata *_metadata, struct fctx *c)
#define DONE(name) static void name(struct __test_metadata *_metadata, struct fctx *c)
#define CALL(name) static void name(struct fctx *c)

/* ret, or -errno when it is -1 */
static long sysret(long ret)
{
	return ret < 0 ? -errno : ret;
}

#define CAP	4
#define MSG_MAX	64

static void mk(struct __test_metadata *_metadata, struct fctx *c,
	       const char *name, __u32 capacity, __u32 flags)
{
	int ret = chan_create(c->ctl, name, capacity, MSG_MAX, 0, flags);

	ASSERT_EQ(0, ret) TH_LOG("create %s: %s", name, strerror(-ret));
}

/* Opens a with oflags into the first free fd slot. */
static int op(struct __test_metadata *_metadata, struct fctx *c, int oflags)
{
	int i;

	for (i = 0; i < FCTX_FDS && c->fd[i] >= 0; i++)
		;
	if (i == FCTX_FDS) {
		ASSERT_LT(i, FCTX_FDS);
		return -1;
	}
	c->fd[i] = chan_open(c->a, oflags);
	ASSERT_LE(0, c->fd[i]) TH_LOG("open %s: %s", c->a, strerror(-c->fd[i]));
	return c->fd[i];
}

/* Queues "m0", "m1", ... on fd[0]. */
static void fill(struct __test_metadata *_metadata, struct fctx *c, int n)
{
	ASSERT_EQ(n, chan_fill(c->fd[0], "m", n));
}

/* The next message on fd[0] (non-blocking) is want; NULL: none (EAGAIN). */
static void expect_next(struct __test_metadata *_metadata, struct fctx *c,
			const char *want)
{
	char buf[MSG_MAX + 1];
	ssize_t n = read(c->fd[0], buf, sizeof(buf) - 1);

	if (!want) {
		ASSERT_EQ(-1, n);
		ASSERT_EQ(EAGAIN, errno);
		return;
	}
	ASSERT_EQ((ssize_t)strlen(want), n) TH_LOG("read: %m");
	buf[n] = '\0';
	ASSERT_STREQ(want, buf);
}

static const char *attr(const char *name, const char *a)
{
	static char val[64];

	return chan_attr(name, a, val, sizeof(val));
}

/* --- create ---------------------------------------------------------- */

SETUP(setup_none)
{
	(void)_metadata;
	(void)c;
}

CALL(call_create)
{
	struct kchan_create req;

	chan_req_init(&req, c->a, CAP, MSG_MAX, 0600, 0);
	c->ret = chan_ioctl(c->ctl, KCHAN_IOC_CREATE, &req);
}

/* a exists, in /dev/chan only, empty, and opens. */
static void check_fresh(struct __test_metadata *_metadata, struct fctx *c)
{
	char path[PATH_MAX];
	int fd;

	ASSERT_STREQ("0\n", attr(c->a, "length"));
	ASSERT_STREQ("0\n", attr(c->a, "sent"));
	snprintf(path, sizeof(path), "/dev/%s", c->a);
	ASSERT_NE(0, access(path, F_OK)) TH_LOG("%s exists", path);
	fd = chan_open(c->a, O_RDWR | O_NONBLOCK);
	ASSERT_LE(0, fd) TH_LOG("open %s: %s", c->a, strerror(-fd));
	ASSERT_EQ(2, write(fd, "ok", 2));
	ASSERT_EQ(2, read(fd, path, sizeof(path)));
	close(fd);
}

DONE(done_create)
{
	ASSERT_EQ(0, c->ret);
	check_fresh(_metadata, c);
}

CALL(call_create_timer)
{
	struct kchan_create req;

	chan_req_init(&req, c->a, 0, 0, 0600, KCHAN_CREATE_AFTER);
	req.period_ns = 3600ULL * 1000000000ULL;	/* never fires here */
	c->ret = chan_ioctl(c->ctl, KCHAN_IOC_CREATE, &req);
}

DONE(done_create_timer)
{
	char path[PATH_MAX];
	int fd;

	ASSERT_EQ(0, c->ret);
	ASSERT_STREQ("0\n", attr(c->a, "length"));
	fd = chan_open(c->a, O_RDONLY | O_NONBLOCK);
	ASSERT_LE(0, fd);
	ASSERT_EQ(-1, read(fd, path, sizeof(path)));
	ASSERT_EQ(EAGAIN, errno);
	close(fd);
}

/* --- destroy, close by name ------------------------------------------ */

SETUP(setup_queued)
{
	mk(_metadata, c, c->a, CAP, 0);
	op(_metadata, c, O_WRONLY | O_NONBLOCK);
	fill(_metadata, c, 2);
	close(c->fd[0]);
	c->fd[0] = -1;
}

CALL(call_destroy)
{
	c->ret = chan_destroy(c->ctl, c->a);
}

DONE(done_destroy)
{
	int ret;

	ASSERT_EQ(0, c->ret);
	/* The name is free again, and the quota (one channel) too. */
	ret = chan_create(c->ctl, c->a, CAP, MSG_MAX, 0, 0);
	ASSERT_EQ(0, ret) TH_LOG("create after destroy: %s", strerror(-ret));
	check_fresh(_metadata, c);
}

CALL(call_close_name)
{
	c->ret = chan_close_name(c->ctl, c->a);
}

DONE(done_close_name)
{
	ASSERT_EQ(0, c->ret);
	ASSERT_STREQ("1\n", attr(c->a, "closed"));
	ASSERT_STREQ("2\n", attr(c->a, "length"));
}

/* --- open, close ----------------------------------------------------- */

SETUP(setup_chan)
{
	mk(_metadata, c, c->a, CAP, 0);
}

CALL(call_open)
{
	c->ret = chan_open(c->a, O_RDWR);
	if (c->ret >= 0)
		c->fd[0] = c->ret;
}

DONE(done_open)
{
	ASSERT_LE(0, c->ret);
	ASSERT_STREQ("1\n", attr(c->a, "readers"));
	ASSERT_STREQ("1\n", attr(c->a, "writers"));
}

CALL(call_open_control)
{
	c->ret = sysret(open(KCHAN_CONTROL_PATH, O_RDWR | O_CLOEXEC));
	if (c->ret >= 0)
		c->fd[1] = c->ret;
}

DONE(done_open_control)
{
	char name[KCHAN_NAME_MAX];

	ASSERT_LE(0, c->ret);
	snprintf(name, sizeof(name), "%s", c->b);
	ASSERT_EQ(0, chan_create(c->fd[1], name, 0, 0, 0, 0));
	ASSERT_EQ(0, chan_destroy(c->fd[1], name));
}

SETUP(setup_open_rw)
{
	mk(_metadata, c, c->a, CAP, 0);
	op(_metadata, c, O_RDWR | O_NONBLOCK);
	op(_metadata, c, O_WRONLY);
}

CALL(call_close)
{
	c->ret = sysret(close(c->fd[1]));
	c->fd[1] = -1;	/* gone whatever close() says */
}

DONE(done_close)
{
	ASSERT_EQ(0, c->ret);
	ASSERT_STREQ("1\n", attr(c->a, "writers"));
	ASSERT_STREQ("0\n", attr(c->a, "closed"));
}

SETUP(setup_open_autoclose)
{
	mk(_metadata, c, c->a, CAP, KCHAN_CREATE_AUTOCLOSE);
	op(_metadata, c, O_RDONLY | O_NONBLOCK);
	op(_metadata, c, O_WRONLY);
}

DONE(done_close_autoclose)
{
	ASSERT_EQ(0, c->ret);
	ASSERT_STREQ("0\n", attr(c->a, "writers"));
	ASSERT_STREQ("1\n", attr(c->a, "closed"));
}

/* --- read, write, poll ----------------------------------------------- */

SETUP(setup_two_msgs)
{
	mk(_metadata, c, c->a, CAP, 0);
	op(_metadata, c, O_RDWR | O_NONBLOCK);
	fill(_metadata, c, 2);
}

CALL(call_read)
{
	c->ret = sysret(read(c->fd[0], c->buf, sizeof(c->buf)));
}

DONE(done_read)
{
	ASSERT_EQ(2, c->ret);
	ASSERT_EQ(0, memcmp(c->buf, "m0", 2));
	ASSERT_STREQ("1\n", attr(c->a, "received"));
	expect_next(_metadata, c, "m1");
	expect_next(_metadata, c, NULL);
}

SETUP(setup_rw)
{
	mk(_metadata, c, c->a, CAP, 0);
	op(_metadata, c, O_RDWR | O_NONBLOCK);
}

CALL(call_write)
{
	c->ret = sysret(write(c->fd[0], "hello", 5));
}

DONE(done_write)
{
	ASSERT_EQ(5, c->ret);
	ASSERT_STREQ("1\n", attr(c->a, "sent"));
	expect_next(_metadata, c, "hello");
	expect_next(_metadata, c, NULL);
}

CALL(call_poll)
{
	struct pollfd p = { .fd = c->fd[0], .events = POLLIN | POLLOUT };

	c->ret = sysret(poll(&p, 1, -1));
	c->out = p.revents;
}

DONE(done_poll)
{
	ASSERT_EQ(1, c->ret);
	ASSERT_EQ(POLLIN | POLLOUT, c->out);
}

SETUP(setup_epoll)
{
	setup_two_msgs(_metadata, c);
	c->epfd = epoll_create1(EPOLL_CLOEXEC);
	ASSERT_LE(0, c->epfd);
}

CALL(call_epoll_add)
{
	struct epoll_event ev = { .events = EPOLLIN };

	c->ret = sysret(epoll_ctl(c->epfd, EPOLL_CTL_ADD, c->fd[0], &ev));
}

DONE(done_epoll_add)
{
	struct epoll_event ev;

	ASSERT_EQ(0, c->ret);
	ASSERT_EQ(1, epoll_wait(c->epfd, &ev, 1, 0));
	ASSERT_EQ(EPOLLIN, ev.events);
	ASSERT_EQ(0, epoll_ctl(c->epfd, EPOLL_CTL_DEL, c->fd[0], NULL));
}

/* --- channel ioctls -------------------------------------------------- */

CALL(call_info)
{
	struct kchan_info info;

	c->ret = chan_info(c->fd[0], &info);
	c->out = info.length;
}

DONE(done_info)
{
	ASSERT_EQ(0, c->ret);
	ASSERT_EQ(2, c->out);
}

CALL(call_close_ioctl)
{
	c->ret = chan_ioctl(c->fd[0], KCHAN_IOC_CLOSE, NULL);
}

DONE(done_close_ioctl)
{
	ASSERT_EQ(0, c->ret);
	ASSERT_STREQ("1\n", attr(c->a, "closed"));
	expect_next(_metadata, c, "m0");
}

CALL(call_send_batch)
{
	static const char *const m[] = { "b0", "b1", "b2" };
	struct kchan_msgvec v[3];
	struct kchan_batch b = { .size = sizeof(b), .count = 3 };
	int i;

	memset(v, 0, sizeof(v));
	for (i = 0; i < 3; i++) {
		v[i].buf = (__u64)(uintptr_t)m[i];
		v[i].len = 2;
	}
	b.msgs = (__u64)(uintptr_t)v;
	c->ret = sysret(ioctl(c->fd[0], KCHAN_IOC_SEND_BATCH, &b));
}

/* A batch that fails after its first message succeeds with fewer. */
DONE(done_send_batch)
{
	char want[24];
	long i;

	ASSERT_LE(1, c->ret);
	ASSERT_GE(3, c->ret);
	for (i = 0; i < c->ret; i++) {
		snprintf(want, sizeof(want), "b%ld", i);
		expect_next(_metadata, c, want);
	}
	expect_next(_metadata, c, NULL);
}

SETUP(setup_three_msgs)
{
	mk(_metadata, c, c->a, CAP, 0);
	op(_metadata, c, O_RDWR | O_NONBLOCK);
	fill(_metadata, c, 3);
}

CALL(call_recv_batch)
{
	struct kchan_msgvec v[4];
	struct kchan_batch b = { .size = sizeof(b), .count = 4 };
	int i;

	memset(v, 0, sizeof(v));
	for (i = 0; i < 4; i++) {
		v[i].buf = (__u64)(uintptr_t)(c->buf + 16 * i);
		v[i].len = 16;
	}
	b.msgs = (__u64)(uintptr_t)v;
	c->ret = sysret(ioctl(c->fd[0], KCHAN_IOC_RECV_BATCH, &b));
	for (i = 0; i < 4 && i < c->ret; i++)
		c->buf[16 * i + v[i].len] = '\0';
}

DONE(done_recv_batch)
{
	char want[24];
	long i;

	ASSERT_LE(1, c->ret);
	ASSERT_GE(3, c->ret);
	for (i = 0; i < c->ret; i++) {
		snprintf(want, sizeof(want), "m%ld", i);
		ASSERT_STREQ(want, c->buf + 16 * i);
	}
	for (; i < 3; i++) {
		snprintf(want, sizeof(want), "m%ld", i);
		expect_next(_metadata, c, want);
	}
	expect_next(_metadata, c, NULL);
}

/* select: a receive from a (one message) and a send to b (full): only the receive can go. */
SETUP(setup_select)
{
	int fd;

	mk(_metadata, c, c->a, CAP, 0);
	mk(_metadata, c, c->b, 1, 0);
	op(_metadata, c, O_RDWR | O_NONBLOCK);
	fill(_metadata, c, 1);
	fd = chan_open(c->b, O_RDWR | O_NONBLOCK);
	ASSERT_LE(0, fd);
	c->fd[1] = fd;
	ASSERT_EQ(4, write(fd, "full", 4));
}

static void select_on(struct fctx *c, int fd)
{
	struct kchan_select_case cases[2];
	struct kchan_select s;

	chan_case(&cases[0], c->fd[1], KCHAN_SELECT_SEND, "x", 1);
	chan_case(&cases[1], c->fd[0], KCHAN_SELECT_RECV, c->buf, sizeof(c->buf));
	c->ret = chan_select(fd, cases, 2, 0, &s);
	if (!c->ret)
		c->ret = s.index * 1000 + s.result_len;
}

CALL(call_select)
{
	select_on(c, c->ctl);
}

CALL(call_select_fd)
{
	select_on(c, c->fd[1]);
}

DONE(done_select)
{
	ASSERT_EQ(1002, c->ret);
	ASSERT_EQ(0, memcmp(c->buf, "m0", 2));
	expect_next(_metadata, c, NULL);
	ASSERT_STREQ("1\n", attr(c->b, "length"));
}

/* --- held receive and at-most-once sends (when the module has them) --- */

/* The message's length (the ioctl returns it, like read()), or -errno. */
static long hold(struct fctx *c, struct kchan_hold *h)
{
	memset(h, 0, sizeof(*h));
	h->size = sizeof(*h);
	h->buf = (__u64)(uintptr_t)c->buf;
	h->len = sizeof(c->buf);
	return sysret(ioctl(c->fd[0], KCHAN_IOC_HOLD, h));
}

static int ack(struct fctx *c, unsigned long cmd, __u64 id)
{
	struct kchan_ack a = { .size = sizeof(a), .id = id };
	int ret = chan_ioctl(c->fd[0], cmd, &a);

	c->out = a.count;
	return ret;
}

#define SKIP_IF_NOTTY(ret, what) do { \
	if ((ret) == -ENOTTY) \
		SKIP(return, what " is not in this kchan module"); \
} while (0)

CALL(call_hold)
{
	struct kchan_hold h;

	c->ret = hold(c, &h);
	if (c->ret >= 0) {
		c->hold_id = h.id;
		c->out = h.seq;
		if ((__u64)c->ret != h.len)
			c->ret = -EPROTO;	/* the two lengths disagree */
	}
}

DONE(done_hold)
{
	struct kchan_info info;

	ASSERT_EQ(2, c->ret);
	ASSERT_EQ(0, memcmp(c->buf, "m0", 2));
	ASSERT_EQ(1, c->out);	/* seq: the channel's first message */
	ASSERT_EQ(0, chan_info(c->fd[0], &info));
	ASSERT_EQ(1, info.held);
	expect_next(_metadata, c, "m1");
	ASSERT_EQ(0, ack(c, KCHAN_IOC_ACK, c->hold_id));
	ASSERT_EQ(1, c->out);
	expect_next(_metadata, c, NULL);
}

SETUP(setup_held)
{
	struct kchan_hold h;
	long ret;

	setup_two_msgs(_metadata, c);
	ret = hold(c, &h);
	SKIP_IF_NOTTY(ret, "KCHAN_IOC_HOLD");
	ASSERT_EQ(2, ret);
	c->hold_id = h.id;
}

CALL(call_ack)
{
	c->ret = ack(c, KCHAN_IOC_ACK, c->hold_id);
}

DONE(done_ack)
{
	ASSERT_EQ(0, c->ret);
	ASSERT_EQ(1, c->out);
	expect_next(_metadata, c, "m1");
	expect_next(_metadata, c, NULL);
}

CALL(call_return)
{
	c->ret = ack(c, KCHAN_IOC_RETURN, 0);
}

DONE(done_return)
{
	ASSERT_EQ(0, c->ret);
	ASSERT_EQ(1, c->out);
	expect_next(_metadata, c, "m0");
	expect_next(_metadata, c, "m1");
}

static int send_once(struct fctx *c, __u64 seq, __u32 *flags)
{
	struct kchan_send_once s = {
		.size = sizeof(s), .buf = (__u64)(uintptr_t)"once", .len = 4,
		.stream = 7, .seq = seq,
	};
	int ret = chan_ioctl(c->fd[0], KCHAN_IOC_SEND_ONCE, &s);

	*flags = s.result_flags;
	return ret;
}

static int stream_seq(struct fctx *c, __u64 *seq)
{
	struct kchan_stream_seq s = { .size = sizeof(s), .stream = 7 };
	int ret = chan_ioctl(c->fd[0], KCHAN_IOC_STREAM_SEQ, &s);

	*seq = s.seq;
	return ret;
}

SETUP(setup_rw_once)
{
	__u64 seq;
	int ret;

	setup_rw(_metadata, c);
	ret = stream_seq(c, &seq);
	SKIP_IF_NOTTY(ret, "KCHAN_IOC_STREAM_SEQ");
	ASSERT_EQ(0, ret);
}

CALL(call_send_once)
{
	c->ret = send_once(c, 1, &c->out);
}

DONE(done_send_once)
{
	__u64 seq;

	ASSERT_EQ(0, c->ret);
	ASSERT_EQ(0, c->out);
	ASSERT_EQ(0, stream_seq(c, &seq));
	ASSERT_EQ(1, seq);
	expect_next(_metadata, c, "once");
	expect_next(_metadata, c, NULL);
}

SETUP(setup_sent_once)
{
	__u32 flags;

	setup_rw_once(_metadata, c);
	ASSERT_EQ(0, send_once(c, 5, &flags));
}

CALL(call_stream_seq)
{
	__u64 seq = 0;

	c->ret = stream_seq(c, &seq);
	if (!c->ret)
		c->ret = seq;
}

DONE(done_stream_seq)
{
	ASSERT_EQ(5, c->ret);
	expect_next(_metadata, c, "once");
}

/* ----- the systematic fixture ----------------------------------------- */

FIXTURE(faults) {
	struct knobs knobs;
	struct fctx c;
	bool params;
	unsigned long max_user;		/* /dev/chan's mount option */
};

FIXTURE_VARIANT(faults) {
	struct fcase fc;
};

#define FAULT_CASE(name, setup_fn, call_fn, done_fn, ...) \
	FIXTURE_VARIANT_ADD(faults, name) { \
		.fc = { .setup = setup_fn, .call = call_fn, .done = done_fn, \
			__VA_ARGS__ }, \
	}

FAULT_CASE(create, setup_none, call_create, done_create, .quota = true);
FAULT_CASE(create_timer, setup_none, call_create_timer, done_create_timer, .quota = true);
FAULT_CASE(destroy, setup_queued, call_destroy, done_destroy, .quota = true);
FAULT_CASE(close_name, setup_queued, call_close_name, done_close_name);
FAULT_CASE(select, setup_select, call_select, done_select);
FAULT_CASE(select_on_channel_fd, setup_select, call_select_fd, done_select);
FAULT_CASE(open, setup_chan, call_open, done_open, .errnos = { ENFILE });
FAULT_CASE(open_control, setup_none, call_open_control, done_open_control,
	   .errnos = { ENFILE });
FAULT_CASE(read, setup_two_msgs, call_read, done_read);
FAULT_CASE(write, setup_rw, call_write, done_write);
FAULT_CASE(poll, setup_two_msgs, call_poll, done_poll);
FAULT_CASE(epoll_ctl, setup_epoll, call_epoll_add, done_epoll_add);
FAULT_CASE(close, setup_open_rw, call_close, done_close);
FAULT_CASE(close_autoclose, setup_open_autoclose, call_close, done_close_autoclose);
FAULT_CASE(info, setup_two_msgs, call_info, done_info);
FAULT_CASE(close_ioctl, setup_two_msgs, call_close_ioctl, done_close_ioctl);
FAULT_CASE(send_batch, setup_rw, call_send_batch, done_send_batch);
FAULT_CASE(recv_batch, setup_three_msgs, call_recv_batch, done_recv_batch);
FAULT_CASE(hold, setup_two_msgs, call_hold, done_hold);
FAULT_CASE(ack, setup_held, call_ack, done_ack);
FAULT_CASE(return, setup_held, call_return, done_return);
FAULT_CASE(send_once, setup_rw_once, call_send_once, done_send_once);
FAULT_CASE(stream_seq, setup_sent_once, call_stream_seq, done_stream_seq);

/* Why this kernel cannot inject faults, or NULL. */
static const char *fault_missing(void)
{
	if (access(FAIL_NTH, W_OK))
		return FAIL_NTH " is missing: the kernel has no CONFIG_FAULT_INJECTION (Debian's do not)";
	if (access(FAULT_DEBUGFS "/failslab", F_OK) ||
	    access(FAULT_DEBUGFS "/fail_page_alloc", F_OK))
		return "no failslab or fail_page_alloc in " FAULT_DEBUGFS
		       " (CONFIG_FAILSLAB, CONFIG_FAIL_PAGE_ALLOC, CONFIG_FAULT_INJECTION_DEBUG_FS)";
	return NULL;
}

FIXTURE_SETUP(faults)
{
	const char *why = fault_missing();
	int i;

	self->c.ctl = self->c.nth = self->c.epfd = -1;
	for (i = 0; i < FCTX_FDS; i++)
		self->c.fd[i] = -1;
	CHAN_SKIP_IF_ABSENT();
	if (why)
		SKIP(return, "%s", why);
	ASSERT_EQ(0, knobs_setup(&self->knobs, false)) TH_LOG("debugfs knob %s", self->knobs.failed);
	/* Every fault point counts, not only those under kchan's code. */
	if (!access(FAULT_DEBUGFS "/failslab/require-start", F_OK)) {
		ASSERT_EQ(0, knob_set(&self->knobs, "failslab/require-start", "0"));
		ASSERT_EQ(0, knob_set(&self->knobs, "failslab/require-end", "%lu", ~0UL));
		ASSERT_EQ(0, knob_set(&self->knobs, "fail_page_alloc/require-start", "0"));
		ASSERT_EQ(0, knob_set(&self->knobs, "fail_page_alloc/require-end", "%lu", ~0UL));
	}
	chan_ignore(SIGPIPE);
	snprintf(self->c.prefix, sizeof(self->c.prefix), "f%d-", (int)getpid());
	snprintf(self->c.a, sizeof(self->c.a), "%sa", self->c.prefix);
	snprintf(self->c.b, sizeof(self->c.b), "%sb", self->c.prefix);
	self->c.ctl = chan_ctl_open();
	ASSERT_LE(0, self->c.ctl);
	self->c.nth = open(FAIL_NTH, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->c.nth);
	if (variant->fc.quota) {
		/* A charge a failed create leaks makes the next create EDQUOT. */
		ASSERT_EQ(0, chan_limit_get("max_user", &self->max_user));
		self->params = true;
		ASSERT_EQ(0, chan_limit_set("max_user", 1));
		setfsuid(FAULT_UID);
		ASSERT_EQ(FAULT_UID, setfsuid(-1));
	}
}

/* Closes what a case opened and destroys its channels. */
static void fctx_clear(struct fctx *c)
{
	int i;

	for (i = 0; i < FCTX_FDS; i++) {
		if (c->fd[i] >= 0)
			close(c->fd[i]);
		c->fd[i] = -1;
	}
	if (c->epfd >= 0)
		close(c->epfd);
	c->epfd = -1;
	chan_destroy(c->ctl, c->a);
	chan_destroy(c->ctl, c->b);
}

/* Removes a node in the wrong place (see snap()): later tests need /dev clean. */
static void unlink_stray(const char *name)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "/dev/%s", name);
	unlink(path);
}

/*
 * In the parent, after the test process is gone (its files with it):
 * this runs whatever happened to the test, so the mount option and
 * the debugfs knobs always go back.
 */
FIXTURE_TEARDOWN_PARENT(faults)
{
	int ctl = chan_ctl_open();

	if (self->c.fault)
		ksft_print_msg("(a check failed at fault point %d)\n", self->c.fault);
	if (ctl >= 0 && self->c.a[0]) {
		chan_destroy(ctl, self->c.a);
		chan_destroy(ctl, self->c.b);
	}
	if (ctl >= 0)
		close(ctl);
	if (self->c.a[0]) {
		unlink_stray(self->c.a);
		unlink_stray(self->c.b);
	}
	if (self->params)
		chan_limit_set("max_user", self->max_user);
	knobs_restore(&self->knobs);
}

/*
 * Runs the call with its n-th fault point failing; *injected tells
 * whether it got that far.  No fault point may come between the two
 * writes but the call's: everything it touches is touched already.
 */
static void call_nth(struct fctx *c, const struct fcase *fc, int n, bool *injected)
{
	char buf[16];
	int len = snprintf(buf, sizeof(buf), "%d", n);
	ssize_t r;

	if (pwrite(c->nth, buf, len, 0) != len) {
		c->ret = -EIO;
		*injected = false;
		return;
	}
	fc->call(c);
	r = pread(c->nth, buf, sizeof(buf) - 1, 0);
	pwrite(c->nth, "0", 1, 0);
	buf[r > 0 ? r : 0] = '\0';
	*injected = r > 0 && atoi(buf) == 0;
}

static bool errno_expected(const struct fcase *fc, long ret)
{
	unsigned int i;

	if (ret == -ENOMEM)
		return true;
	/*
	 * With CONFIG_FAULT_INJECTION_USERCOPY, fail-nth counts every
	 * copy_{from,to}_user and get/put_user too: the fault there is EFAULT,
	 * and must change nothing all the same.
	 */
	if (ret == -EFAULT && !access(FAULT_DEBUGFS "/fail_usercopy", F_OK))
		return true;
	for (i = 0; i < sizeof(fc->errnos) / sizeof(fc->errnos[0]); i++)
		if (fc->errnos[i] && ret == -fc->errnos[i])
			return true;
	return false;
}

TEST_F_TIMEOUT(faults, inject, 600)
{
	const struct fcase *fc = &variant->fc;
	char empty[SNAP_MAX], before[SNAP_MAX], after[SNAP_MAX];
	struct fctx *c = &self->c;
	int n, failed = 0, absorbed = 0;
	bool injected;

	snap(c, empty, sizeof(empty));
	ASSERT_STREQ("", empty);
	/* A dry run: the case works, and every page it touches is there. */
	fc->setup(_metadata, c);
	fc->call(c);
	if (c->ret == -ENOTTY)
		SKIP(return, "this kchan module has no such ioctl");
	fc->done(_metadata, c);
	fctx_clear(c);

	for (n = 1; n < FAULT_NTH_MAX; n++) {
		c->fault = n;
		fc->setup(_metadata, c);
		snap(c, before, sizeof(before));
		call_nth(c, fc, n, &injected);
		if (!injected) {
			ASSERT_LE(0, c->ret) TH_LOG("no fault injected, yet: %s",
						     strerror(-c->ret));
			fc->done(_metadata, c);
			fctx_clear(c);
			break;
		}
		if (c->ret < 0) {
			failed++;
			ASSERT_TRUE(errno_expected(fc, c->ret))
				TH_LOG("fault %d: unexpected error %s", n, strerror(-c->ret));
			snap(c, after, sizeof(after));
			ASSERT_STREQ(before, after)
				TH_LOG("fault %d (%s) changed the state", n, strerror(-c->ret));
			/* A following clean call works. */
			fc->call(c);
			ASSERT_LE(0, c->ret) TH_LOG("after fault %d: %s", n, strerror(-c->ret));
		} else {
			absorbed++;
		}
		fc->done(_metadata, c);
		fctx_clear(c);
		snap(c, after, sizeof(after));
		ASSERT_STREQ(empty, after) TH_LOG("after fault %d", n);
	}
	c->fault = 0;
	ASSERT_LT(n, FAULT_NTH_MAX);
	ksft_print_msg("%s: %d fault points: %d failed the call, %d absorbed\n",
		       _metadata->name, n - 1, failed, absorbed);
}

/* ----- random faults under stress ------------------------------------- */

#define WRITERS		3
#define READERS		2
#define MSGS		400	/* per writer */
#define PROB		10	/* percent of the allocations under kchan's code */

/* Shared between the stress processes. */
struct ledger {
	int acked[WRITERS][MSGS];	/* 1: the send said it went */
	int seen[WRITERS][MSGS];	/* times it arrived */
	int enomem;			/* sends that failed with ENOMEM */
	int bad;			/* a violation, described in why */
	char why[256];
};

FIXTURE(random) {
	struct knobs knobs;
	char name[KCHAN_NAME_MAX];
	int ctl;
};

FIXTURE_VARIANT(random) {
	__u32 capacity;
};

FIXTURE_VARIANT_ADD(random, buffered) { .capacity = 8 };
FIXTURE_VARIANT_ADD(random, unbuffered) { .capacity = 0 };

/* kchan's code in memory: the lowest and highest [kchan] text symbol. */
static int kchan_text(unsigned long *start, unsigned long *end)
{
	FILE *f = fopen("/proc/kallsyms", "r");
	char line[512], type, sym[256], mod[64];
	unsigned long addr;

	if (!f)
		return -errno;
	*start = ~0UL;
	*end = 0;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx %c %255s %63s", &addr, &type, sym, mod) != 4)
			continue;
		if (strcmp(mod, "[kchan]") || (type != 't' && type != 'T'))
			continue;
		if (addr < *start)
			*start = addr;
		if (addr > *end)
			*end = addr;
	}
	fclose(f);
	if (!*end || !*start)
		return -ENOENT;	/* addresses hidden (kptr_restrict) */
	*end += 4096;		/* the last function's body */
	return 0;
}

FIXTURE_SETUP(random)
{
	const char *why = fault_missing();
	unsigned long start = 0, end = 0;
	const char *t;
	int ret, i;

	self->ctl = -1;
	CHAN_SKIP_IF_ABSENT();
	if (why)
		SKIP(return, "%s", why);
	if (access(FAULT_DEBUGFS "/failslab/require-start", F_OK))
		SKIP(return, "no stack trace filter (CONFIG_FAULT_INJECTION_STACKTRACE_FILTER)");
	ret = kchan_text(&start, &end);
	ASSERT_EQ(0, ret) TH_LOG("kchan's text in /proc/kallsyms: %s", strerror(-ret));
	ASSERT_EQ(0, knobs_setup(&self->knobs, true)) TH_LOG("debugfs knob %s", self->knobs.failed);
	for (i = 0; i < 2; i++) {
		char f1[64], f2[64], f3[64];

		t = i ? "fail_page_alloc" : "failslab";
		snprintf(f1, sizeof(f1), "%s/require-start", t);
		snprintf(f2, sizeof(f2), "%s/require-end", t);
		snprintf(f3, sizeof(f3), "%s/stacktrace-depth", t);
		ASSERT_EQ(0, knob_set(&self->knobs, f1, "%lu", start));
		ASSERT_EQ(0, knob_set(&self->knobs, f2, "%lu", end));
		ASSERT_EQ(0, knob_set(&self->knobs, f3, "32"));
	}
	chan_ignore(SIGPIPE);
	self->ctl = chan_ctl_open();
	ASSERT_LE(0, self->ctl);
	chan_make_name(self->name);
	ASSERT_EQ(0, chan_create(self->ctl, self->name, variant->capacity, 64, 0, 0));
}

FIXTURE_TEARDOWN_PARENT(random)
{
	int ctl = chan_ctl_open();

	knobs_restore(&self->knobs);
	if (ctl >= 0) {
		if (self->name[0])
			chan_destroy(ctl, self->name);
		close(ctl);
	}
}

static void make_it_fail(void)
{
	chan_write_file("/proc/self/make-it-fail", "1");
}

static void ledger_bad(struct ledger *l, const char *fmt, ...)
{
	va_list ap;

	if (__atomic_exchange_n(&l->bad, 1, __ATOMIC_SEQ_CST))
		return;
	va_start(ap, fmt);
	vsnprintf(l->why, sizeof(l->why), fmt, ap);
	va_end(ap);
}

/* "<writer> <seq>" padded with '.' to a length that depends on both. */
static int msg_make(char *buf, int w, int seq)
{
	int len = snprintf(buf, 64, "%d %d ", w, seq);
	int want = 8 + (w * 7 + seq) % 50;

	while (len < want)
		buf[len++] = '.';
	return len;
}

/*
 * Writer w sends its messages one way or another (write, a batch of one,
 * select); a send that fails with ENOMEM is not acknowledged, and its
 * number is never sent again: it must never arrive.
 */
static void writer(const char *name, int w, struct ledger *l)
{
	int fd = chan_open(name, O_WRONLY);
	char buf[64];
	int seq;

	if (fd < 0) {
		ledger_bad(l, "writer %d: open: %s", w, strerror(-fd));
		_exit(1);
	}
	make_it_fail();
	for (seq = 0; seq < MSGS; seq++) {
		int len = msg_make(buf, w, seq);
		long ret;

		if (seq % 3 == 0) {
			ret = sysret(write(fd, buf, len));
			ret = ret == len ? 0 : ret < 0 ? ret : -EIO;
		} else if (seq % 3 == 1) {
			struct kchan_msgvec v = { .buf = (__u64)(uintptr_t)buf, .len = len };
			struct kchan_batch b = {
				.size = sizeof(b), .msgs = (__u64)(uintptr_t)&v, .count = 1,
			};

			ret = sysret(ioctl(fd, KCHAN_IOC_SEND_BATCH, &b));
			ret = ret == 1 ? 0 : ret < 0 ? ret : -EIO;
		} else {
			struct kchan_select_case sc;

			chan_case(&sc, fd, KCHAN_SELECT_SEND, buf, len);
			ret = chan_select(fd, &sc, 1, -1, NULL);
		}
		if (ret == -ENOMEM) {
			__atomic_fetch_add(&l->enomem, 1, __ATOMIC_SEQ_CST);
			continue;
		}
		if (ret) {
			ledger_bad(l, "writer %d seq %d: %s", w, seq, strerror(-ret));
			_exit(1);
		}
		l->acked[w][seq] = 1;
	}
	close(fd);
	_exit(0);
}

/* A reader takes messages (read, batch or select) until end of file. */
static void reader(const char *name, int r, struct ledger *l)
{
	int fd = chan_open(name, O_RDONLY);
	int last[WRITERS], i, w, seq, n;
	char buf[128];
	long len;

	if (fd < 0) {
		ledger_bad(l, "reader %d: open: %s", r, strerror(-fd));
		_exit(1);
	}
	make_it_fail();
	for (i = 0; i < WRITERS; i++)
		last[i] = -1;
	for (i = 0;; i++) {
		if (i % 3 == 0) {
			len = sysret(read(fd, buf, sizeof(buf) - 1));
		} else if (i % 3 == 1) {
			struct kchan_msgvec v = { .buf = (__u64)(uintptr_t)buf, .len = sizeof(buf) - 1 };
			struct kchan_batch b = {
				.size = sizeof(b), .msgs = (__u64)(uintptr_t)&v, .count = 1,
			};

			len = sysret(ioctl(fd, KCHAN_IOC_RECV_BATCH, &b));
			if (len == 1)
				len = v.len;
		} else {
			struct kchan_select_case sc;
			struct kchan_select s;

			chan_case(&sc, fd, KCHAN_SELECT_RECV, buf, sizeof(buf) - 1);
			len = chan_select(fd, &sc, 1, -1, &s);
			if (!len)
				len = s.result_len;
		}
		if (len == -ENOMEM)	/* select's own allocation */
			continue;
		if (len < 0) {
			ledger_bad(l, "reader %d: %s", r, strerror(-len));
			_exit(1);
		}
		if (len == 0)
			break;	/* closed and drained */
		buf[len] = '\0';
		if (sscanf(buf, "%d %d %n", &w, &seq, &n) != 2 || w < 0 || w >= WRITERS ||
		    seq < 0 || seq >= MSGS || msg_make(buf + 64, w, seq) != len ||
		    memcmp(buf, buf + 64, len)) {
			ledger_bad(l, "reader %d: a bad message of %ld bytes: %.40s", r, len, buf);
			_exit(1);
		}
		if (seq <= last[w]) {
			ledger_bad(l, "reader %d: writer %d's %d after its %d", r, w, seq, last[w]);
			_exit(1);
		}
		last[w] = seq;
		__atomic_fetch_add(&l->seen[w][seq], 1, __ATOMIC_SEQ_CST);
	}
	close(fd);
	_exit(0);
}

TEST_F_TIMEOUT(random, acked_once_in_order, 900)
{
	struct ledger *l = mmap(NULL, sizeof(*l), PROT_READ | PROT_WRITE,
				MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pid_t pids[WRITERS + READERS];
	int i, w, seq, status, fd, acked = 0, lost = 0;
	char prob[16];

	ASSERT_NE(MAP_FAILED, l);
	memset(l, 0, sizeof(*l));
	/* The writer fd keeps the channel open until every writer is done. */
	fd = chan_open(self->name, O_WRONLY);
	ASSERT_LE(0, fd);
	snprintf(prob, sizeof(prob), "%d", PROB);
	ASSERT_EQ(0, knob_set(&self->knobs, "failslab/probability", "%s", prob));
	ASSERT_EQ(0, knob_set(&self->knobs, "fail_page_alloc/probability", "%s", prob));

	for (i = 0; i < WRITERS + READERS; i++) {
		fflush(stdout);
		pids[i] = fork();
		ASSERT_LE(0, pids[i]);
		if (pids[i] == 0) {
			alarm(600);
			if (i < WRITERS)
				writer(self->name, i, l);
			reader(self->name, i - WRITERS, l);
		}
	}
	for (i = 0; i < WRITERS; i++) {
		ASSERT_EQ(pids[i], waitpid(pids[i], &status, 0));
		EXPECT_EQ(0, status) TH_LOG("writer %d: %s", i, l->why);
	}
	knobs_restore(&self->knobs);	/* probability 0 first: see knobs_restore */
	ASSERT_EQ(0, chan_ioctl(fd, KCHAN_IOC_CLOSE, NULL));
	for (; i < WRITERS + READERS; i++) {
		ASSERT_EQ(pids[i], waitpid(pids[i], &status, 0));
		EXPECT_EQ(0, status) TH_LOG("reader %d: %s", i - WRITERS, l->why);
	}
	close(fd);
	ASSERT_EQ(0, l->bad) TH_LOG("%s", l->why);

	for (w = 0; w < WRITERS; w++) {
		for (seq = 0; seq < MSGS; seq++) {
			acked += l->acked[w][seq];
			if (l->seen[w][seq] != l->acked[w][seq]) {
				lost++;
				TH_LOG("writer %d seq %d: acked %d, arrived %d times",
				       w, seq, l->acked[w][seq], l->seen[w][seq]);
			}
		}
	}
	ksft_print_msg("%d messages acked, %d sends failed with ENOMEM\n", acked, l->enomem);
	EXPECT_EQ(0, lost);
	/* Without a single injected failure this test could not fail. */
	EXPECT_LT(0, l->enomem);
	EXPECT_LT(0, acked);
}

TEST_HARNESS_MAIN
