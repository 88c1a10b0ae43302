// SPDX-License-Identifier: GPL-2.0
/*
 * The kchanfuzz engine.  Worker processes run random operations on a few
 * shared channel names: create, destroy, close by name, make an anonymous
 * channel (KCHAN_IOC_MAKE), open, close, dup, read, write, poll, epoll,
 * every ioctl with valid and invalid arguments (random sizes, flags and
 * pointers, unmapped and read-only ones among them), O_NONBLOCK toggles,
 * signals to one another, fork, and attempts to unload the module (the
 * kchan instance on /dev/chan unmounted first, and mounted again after).
 *
 * Reproducible: worker i draws everything from a generator seeded with
 * (seed, i), and no draw depends on a result, so the same seed replays
 * the same operation sequences (what they return depends on timing).
 *
 * The kernel's own detectors and the runner's console scan find most
 * bugs; the workers check what they can see (a violation ends the run):
 *  - a message read has the length its writer gave it, and its bytes;
 *  - read, batch, select and hold never report more than the buffer took;
 *  - write returns the whole length or fails; close of our file succeeds;
 *  - INFO on an open channel succeeds and is consistent (counts, and
 *    length at most capacity plus one per task that may be reading);
 *  - poll reports only known events;
 *  - an anonymous channel's fd is O_RDWR, with the O_NONBLOCK and
 *    FD_CLOEXEC its flags asked for;
 *  - rmmod fails (EAGAIN/EBUSY) while the worker has a kchan file open
 *    (of /dev/chan's instance, unmounted, or an anonymous channel).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>

#include <linux/kchan.h>

#include "fuzz.h"

#define NAMES		6	/* channel names the workers share */
#define SLOTS		16	/* a worker's file table */
#define CHILDREN_MAX	4	/* a worker's forked children alive at once */
#define CHILD_OPS	32	/* most operations a forked child runs */
#define MSG_MAGIC	0x315a464bU	/* "KFZ1" */
/*
 * A worker's arena, then a PROT_NONE guard page: struct arrays at 0,
 * message buffers at ARENA_MSG, ioctl arguments at ARENA_ARG.
 */
#define ARENA		(8 * 4096)
#define ARENA_MSG	4096
#define MSG_SLOT	1024	/* one message buffer of a batch or select */
#define ARENA_ARG	(3 * 4096)

/* ----- the generator: splitmix64 --------------------------------------- */

static uint64_t rng_state;

static uint64_t rnd64(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* 0..n-1 */
static uint32_t rnd(uint32_t n)
{
	return n ? rnd64() % n : 0;
}

/* true one time in n */
static bool one_in(uint32_t n)
{
	return rnd(n) == 0;
}

uint64_t fuzz_random_seed(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	rng_state = (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec + getpid();
	return rnd64();
}

/* ----- shared state ---------------------------------------------------- */

struct shared {
	volatile int stop;
	volatile int violation;
	char why[1200];
	pid_t pids[FUZZ_PROCS_MAX];
	unsigned long ops[FUZZ_PROCS_MAX];
	unsigned long rmmods;		/* that succeeded */
	unsigned long reloads;
	unsigned long checked;		/* messages whose bytes were checked */
	char doing[FUZZ_PROCS_MAX][160];	/* each worker's current operation */
};

static struct shared *sh;
static const struct fuzz_opts *opt;
static int me;			/* worker index */
static unsigned long opno;	/* operations this worker ran */
static char *trace;		/* what the current operation is: sh->doing[me] */
#define TRACE_LEN	sizeof(sh->doing[0])

static void violation(const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!__atomic_exchange_n(&sh->violation, 1, __ATOMIC_SEQ_CST))
		snprintf(sh->why, sizeof(sh->why),
			 "worker %d (pid %d), operation %lu: %s: %s", me, (int)getpid(),
			 opno, trace, msg);
	sh->stop = 1;
}

/* ----- memory: valid, read-only, unmapped, straddling ----------------- */

static char *arena;		/* see ARENA */
static char *ro_page;		/* PROT_READ */
static char *gone_page;		/* munmapped */

static int memory_setup(void)
{
	char *p = mmap(NULL, ARENA + 4096, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED || mprotect(p + ARENA, 4096, PROT_NONE))
		return -1;
	arena = p;
	ro_page = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	gone_page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (ro_page == MAP_FAILED || gone_page == MAP_FAILED || munmap(gone_page, 4096))
		return -1;
	return 0;
}

/*
 * A user pointer for len bytes: mostly good (in the arena at *good, which
 * the caller fills), else one that faults in one way or another.
 */
static void *rnd_ptr(size_t len, char *good)
{
	switch (rnd(16)) {
	case 0: return NULL;
	case 1: return gone_page + rnd(4096);
	case 2: return ro_page;
	case 3: return arena + ARENA - (len ? rnd(len) + 1 : 0);	/* into the guard */
	case 4: return (void *)0xffff888000000000ULL;		/* the kernel's */
	case 5: return (void *)0x8000000000000000ULL;		/* non-canonical */
	default: return good;
	}
}

/* A length: mostly small, sometimes at or beyond the limits. */
static size_t rnd_len(void)
{
	switch (rnd(10)) {
	case 0: return 0;
	case 1: return rnd(8192) + 1;
	case 2: return (size_t)1 << rnd(40);
	case 3: return 4096;
	default: return rnd(200) + 1;
	}
}

/* ----- messages: a header the reader checks -------------------------- */

struct msg_hdr {
	uint32_t magic;
	uint32_t len;		/* of the whole message */
	uint32_t salt;		/* the payload's pattern */
};

static uint8_t msg_byte(uint32_t salt, size_t i)
{
	return (uint8_t)(salt + i * 31);
}

/* Writes a checkable message of len bytes at p (len < header: raw bytes). */
static void msg_fill(char *p, size_t len)
{
	struct msg_hdr h = { MSG_MAGIC, (uint32_t)len, (uint32_t)rnd64() };
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = msg_byte(h.salt, i);
	if (len >= sizeof(h))
		memcpy(p, &h, sizeof(h));
}

/*
 * A message to send from good: a checkable one if it fits in the slot,
 * else whatever the buffer holds, with no header (an old one would lie).
 */
static void msg_prepare(char *good, uint64_t buf, size_t len, size_t slot)
{
	if (buf != (uintptr_t)good)
		return;
	if (len <= slot)
		msg_fill(good, len);
	else
		memset(good, 0, sizeof(struct msg_hdr));
}

/* Checks a message of n bytes read into p (n <= room). */
static void msg_check(const char *what, const char *p, long n, size_t room)
{
	struct msg_hdr h;
	long i;

	if (n < 0)
		return;
	if ((size_t)n > room) {
		violation("%s returned %ld bytes into a buffer of %zu", what, n, room);
		return;
	}
	if ((size_t)n < sizeof(h))
		return;
	memcpy(&h, p, sizeof(h));
	if (h.magic != MSG_MAGIC)
		return;	/* a timer's message, or raw bytes */
	if (h.len != (uint32_t)n) {
		violation("%s: a message of %ld bytes says it was written with %u", what, n, h.len);
		return;
	}
	for (i = sizeof(h); i < n; i++) {
		if ((uint8_t)p[i] != msg_byte(h.salt, i)) {
			violation("%s: byte %ld of a %ld-byte message is wrong", what, i, n);
			return;
		}
	}
	__atomic_fetch_add(&sh->checked, 1, __ATOMIC_RELAXED);
}

/* ----- the file table --------------------------------------------------- */

enum kind { NONE, CHAN, CTL, EPOLL };

struct slot {
	int fd;
	enum kind kind;
	int accmode;		/* O_RDONLY, O_WRONLY, O_RDWR of a CHAN */
};

static struct slot slots[SLOTS];
static int epfd = -1;

static bool holds_kchan_file(void)
{
	int i;

	for (i = 0; i < SLOTS; i++)
		if (slots[i].kind == CHAN || slots[i].kind == CTL)
			return true;
	return false;
}

/*
 * Mostly the first open slot from a random place on, else any slot.  The
 * draws are the same whatever the table holds (see the file's comment).
 */
static struct slot *rnd_slot(void)
{
	bool any = one_in(8);
	unsigned int k = rnd(SLOTS), i;

	for (i = 0; !any && i < SLOTS; i++)
		if (slots[(k + i) % SLOTS].fd >= 0)
			return &slots[(k + i) % SLOTS];
	return &slots[k];
}

/* A slot's fd, or now and then a number that is no file of ours. */
static int rnd_fd(void)
{
	bool bad = one_in(20), neg = one_in(2);
	int n = 1000 + rnd(100);
	struct slot *s = rnd_slot();

	if (bad)
		return neg ? -1 : n;
	return s->fd;
}

static int tmp_ctl = -1;	/* opened by rnd_ctl_fd() for one call */

/*
 * Mostly a control fd (creates and destroys need one): ours if we have
 * one, else one opened for this call only (put_ctl() closes it), so that
 * no file stays open just for this and rmmod can succeed now and then.
 */
static int rnd_ctl_fd(void)
{
	bool ctl = !one_in(4);
	int fd = rnd_fd(), i;

	for (i = 0; ctl && i < SLOTS; i++)
		if (slots[i].kind == CTL)
			return slots[i].fd;
	if (ctl) {
		tmp_ctl = open(KCHAN_CONTROL_PATH, O_RDWR | O_CLOEXEC);
		return tmp_ctl;
	}
	return fd;
}

static long put_ctl(long ret)
{
	if (tmp_ctl >= 0)
		close(tmp_ctl);
	tmp_ctl = -1;
	return ret;
}

static void slot_put(struct slot *s, int fd, enum kind kind, int accmode)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = fd;
	s->kind = fd < 0 ? NONE : kind;
	s->accmode = accmode;
}

/* ----- names ----------------------------------------------------------- */

static void rnd_name(char name[KCHAN_NAME_MAX])
{
	memset(name, 0, KCHAN_NAME_MAX);
	switch (rnd(20)) {
	case 0: break;					/* empty */
	case 1: strcpy(name, ".hidden"); break;
	case 2: strcpy(name, "a/b"); break;
	case 3: memset(name, 'n', KCHAN_NAME_MAX - 1); break;	/* the longest */
	case 4: memset(name, 'x', KCHAN_NAME_MAX); break;	/* no NUL */
	default: snprintf(name, KCHAN_NAME_MAX, "fz-%u", rnd(NAMES)); break;
	}
}

/* ----- argument structs: a size, then mutations ------------------------- */

/* Did place_arg() change the struct?  Then its results are not checked. */
static bool arg_mutated;

/*
 * Places an extensible ioctl struct for the call: its size field is
 * mostly right, sometimes older, smaller, larger (with a zero or nonzero
 * tail) or absurd; a random byte may be flipped; the pointer may fault.
 */
static void *place_arg(void *st, size_t size)
{
	char *p = arena + ARENA_ARG;
	uint32_t usize = size;
	size_t room = ARENA - ARENA_ARG;

	switch (rnd(12)) {
	case 0: usize = rnd(size); break;
	case 1: usize = size + 8 * (rnd(8) + 1); break;
	case 2: usize = 4096 + rnd(2); break;
	case 3: usize = (uint32_t)rnd64(); break;
	default: break;
	}
	arg_mutated = usize != size;
	memcpy(st, &usize, sizeof(usize));
	memset(p, 0, room);
	memcpy(p, st, size);
	if (usize > size && usize <= room && one_in(2))
		p[size + rnd(usize - size)] = 1;	/* a nonzero tail: E2BIG */
	if (one_in(10)) {
		int i;

		p[4 + rnd(size - 4)] ^= 1 << rnd(8);
		arg_mutated = true;
		/* A length or pointer may have changed: a header would lie. */
		for (i = 0; i < (ARENA_ARG - ARENA_MSG) / MSG_SLOT; i++)
			memset(arena + ARENA_MSG + i * MSG_SLOT, 0, sizeof(struct msg_hdr));
	}
	switch (rnd(14)) {
	case 0: return NULL;
	case 1: return gone_page;
	case 2: return ro_page;		/* readable: only the kernel's answer faults */
	case 3: /* the struct runs into the guard page */
		memmove(arena + ARENA - size / 2, p, size / 2);
		return arena + ARENA - size / 2;
	default: return p;
	}
}

/* ----- operations ------------------------------------------------------- */

#define TRACE(...) snprintf(trace, TRACE_LEN, __VA_ARGS__)

/* 0 or -errno */
static long sys(long ret)
{
	return ret < 0 ? -errno : ret;
}

/*
 * Blocking calls end by themselves: SIGALRM, without SA_RESTART, in a
 * while, and again and again (a signal that comes before the call blocks
 * does not end it).
 */
static void arm_timer(void)
{
	long us = 5000 + rnd(45000);
	struct itimerval it = { .it_value = { 0, us }, .it_interval = { 0, us } };

	setitimer(ITIMER_REAL, &it, NULL);
}

static void disarm_timer(void)
{
	struct itimerval it = {};

	setitimer(ITIMER_REAL, &it, NULL);
}

static long op_create(void)
{
	struct kchan_create req;
	int ctl = rnd_ctl_fd();
	void *arg;

	memset(&req, 0, sizeof(req));
	rnd_name(req.name);
	req.capacity = one_in(8) ? (uint32_t)rnd64() : (uint32_t[]){ 0, 1, 2, 8, 64 }[rnd(5)];
	req.msg_max = one_in(8) ? (uint32_t)rnd64() : (uint32_t[]){ 0, 1, 16, 256, 8192 }[rnd(5)];
	req.mode = one_in(8) ? (uint32_t)rnd64() : 0600;
	req.flags = one_in(8) ? (uint32_t)rnd64() : 0;
	if (one_in(4))
		req.flags = KCHAN_CREATE_AUTOCLOSE;
	if (one_in(6)) {	/* a timer: 1 ms .. 100 ms, or now and then the least, 100 us */
		req.flags = one_in(2) ? KCHAN_CREATE_AFTER : KCHAN_CREATE_TICK;
		req.capacity = req.msg_max = 0;
		req.period_ns = one_in(8) ? 100000 : 1000000ULL << rnd(7);
	}
	if (one_in(10))
		req.reserved[rnd(3)] = 1;
	arg = place_arg(&req, sizeof(req));
	TRACE("create fd %d %.20s cap %u max %u flags %#x", ctl, req.name,
	      req.capacity, req.msg_max, req.flags);
	return put_ctl(sys(ioctl(ctl, KCHAN_IOC_CREATE, arg)));
}

/*
 * KCHAN_IOC_MAKE: an anonymous channel, its fd into a slot.  Mostly a
 * valid request (no name, mode 0, the two fd flags at random), now and
 * then a name, a mode or a stray flag (EINVAL).
 */
static long op_make(void)
{
	struct kchan_create req;
	struct slot *s = rnd_slot();
	int ctl = rnd_ctl_fd();
	uint32_t fdflags = (one_in(2) ? KCHAN_MAKE_CLOEXEC : 0) |
			   (one_in(2) ? KCHAN_MAKE_NONBLOCK : 0);
	void *arg;
	long fd;

	memset(&req, 0, sizeof(req));
	req.capacity = one_in(8) ? (uint32_t)rnd64() : (uint32_t[]){ 0, 1, 2, 8, 64 }[rnd(5)];
	req.msg_max = one_in(8) ? (uint32_t)rnd64() : (uint32_t[]){ 0, 1, 16, 256, 8192 }[rnd(5)];
	req.flags = fdflags | (one_in(4) ? KCHAN_CREATE_AUTOCLOSE : 0);
	if (one_in(8))
		req.flags = (uint32_t)rnd64();
	if (one_in(10)) {	/* a timer */
		req.flags = fdflags | (one_in(2) ? KCHAN_CREATE_AFTER : KCHAN_CREATE_TICK);
		req.capacity = req.msg_max = 0;
		req.period_ns = one_in(8) ? 100000 : 1000000ULL << rnd(7);
	}
	if (one_in(12))
		rnd_name(req.name);
	if (one_in(12))
		req.mode = 0600;
	arg = place_arg(&req, sizeof(req));
	TRACE("make fd %d cap %u max %u flags %#x", ctl, req.capacity, req.msg_max, req.flags);
	fd = put_ctl(sys(ioctl(ctl, KCHAN_IOC_MAKE, arg)));
	if (fd >= 0) {
		int fl = fcntl(fd, F_GETFL), fdf = fcntl(fd, F_GETFD);

		if ((fl & O_ACCMODE) != O_RDWR)
			violation("make: fd %ld has access mode %#x, not O_RDWR", fd, fl & O_ACCMODE);
		else if (!arg_mutated && !!(fl & O_NONBLOCK) != !!(req.flags & KCHAN_MAKE_NONBLOCK))
			violation("make: flags %#x, fd %ld has O_NONBLOCK %d", req.flags, fd,
				  !!(fl & O_NONBLOCK));
		else if (!arg_mutated && !!(fdf & FD_CLOEXEC) != !!(req.flags & KCHAN_MAKE_CLOEXEC))
			violation("make: flags %#x, fd %ld has FD_CLOEXEC %d", req.flags, fd,
				  !!(fdf & FD_CLOEXEC));
		fcntl(fd, F_SETFD, FD_CLOEXEC);
	}
	slot_put(s, fd, CHAN, O_RDWR);
	return fd;
}

static long op_by_name(void)
{
	static const unsigned long cmds[] = { KCHAN_IOC_DESTROY, KCHAN_IOC_CLOSE_NAME };
	struct kchan_name req;
	unsigned long cmd = cmds[rnd(2)];
	int ctl = rnd_ctl_fd();
	void *arg;

	memset(&req, 0, sizeof(req));
	rnd_name(req.name);
	if (one_in(10))
		req.flags = 1;
	arg = place_arg(&req, sizeof(req));
	TRACE("%s fd %d %.20s", cmd == KCHAN_IOC_DESTROY ? "destroy" : "close_name",
	      ctl, req.name);
	return put_ctl(sys(ioctl(ctl, cmd, arg)));
}

static long op_open(void)
{
	static const int modes[] = { O_RDONLY, O_WRONLY, O_RDWR, O_RDWR };
	char name[KCHAN_NAME_MAX], path[128];
	struct slot *s = rnd_slot();
	int accmode = modes[rnd(4)];
	int flags = accmode | O_CLOEXEC | (one_in(2) ? O_NONBLOCK : 0);
	bool ctl = one_in(5);
	long fd;

	snprintf(name, sizeof(name), "fz-%u", rnd(NAMES));
	snprintf(path, sizeof(path), ctl ? KCHAN_CONTROL_PATH : KCHAN_DEV_DIR "/%s", name);
	TRACE("open %s %#x", path, flags);
	arm_timer();	/* an open waits for nothing; but no call may hang */
	fd = sys(open(path, flags));
	disarm_timer();
	slot_put(s, fd, ctl ? CTL : CHAN, accmode);
	return fd;
}

static long op_close(void)
{
	struct slot *s = rnd_slot();
	long ret;

	TRACE("close %d", s->fd);
	if (s->fd < 0)
		return -EBADF;
	ret = sys(close(s->fd));
	if (ret)
		violation("close: %s", strerror(-ret));
	s->fd = -1;
	s->kind = NONE;
	return ret;
}

static long op_dup(void)
{
	struct slot *from = rnd_slot(), *to = rnd_slot();
	long fd;

	TRACE("dup %d", from->fd);
	if (from == to || from->fd < 0)
		return -EBADF;
	fd = sys(fcntl(from->fd, F_DUPFD_CLOEXEC, 0));
	slot_put(to, fd, from->kind, from->accmode);
	return fd;
}

static long op_read(void)
{
	int fd = rnd_fd();
	size_t len = one_in(4) ? rnd_len() : 8192;
	char *good = arena + ARENA_MSG;
	void *p = rnd_ptr(len, good);
	long n;

	if (p == good && len > ARENA_ARG - ARENA_MSG)
		len = ARENA_ARG - ARENA_MSG;
	TRACE("read %d %p %zu", fd, p, len);
	arm_timer();
	n = sys(read(fd, p, len));
	disarm_timer();
	if (p == good)
		msg_check("read", good, n, len);
	return n;
}

static long op_write(void)
{
	int fd = rnd_fd();
	size_t len = rnd_len();
	char *good = arena + ARENA_MSG;
	void *p = rnd_ptr(len, good);
	long n;

	if (p == good) {
		if (len > ARENA_ARG - ARENA_MSG)
			len = ARENA_ARG - ARENA_MSG;
		msg_fill(good, len);
	}
	TRACE("write %d %p %zu", fd, p, len);
	arm_timer();
	n = sys(write(fd, p, len));
	disarm_timer();
	if (n >= 0 && (size_t)n != len)
		violation("write of %zu bytes returned %ld", len, n);
	return n;
}

#define POLL_KNOWN (POLLIN | POLLRDNORM | POLLOUT | POLLWRNORM | POLLERR | POLLHUP | POLLNVAL)

static long op_poll(void)
{
	struct pollfd p[4];
	int i, n = rnd(4) + 1, timeout = one_in(2) ? 0 : (int)rnd(20);
	long ret;

	for (i = 0; i < n; i++) {
		p[i].fd = rnd_fd();
		p[i].events = rnd(0x10000);
		if (!one_in(4))
			p[i].events = POLLIN | POLLOUT;
	}
	TRACE("poll %d fds, %d ms", n, timeout);
	arm_timer();
	ret = sys(poll(p, n, timeout));
	disarm_timer();
	for (i = 0; ret > 0 && i < n; i++)
		if (p[i].revents & ~POLL_KNOWN ||
		    p[i].revents & ~(p[i].events | POLLERR | POLLHUP | POLLNVAL))
			violation("poll: revents %#x for events %#x", p[i].revents, p[i].events);
	return ret;
}

static long op_epoll(void)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | (one_in(2) ? EPOLLET : 0) };
	struct epoll_event out[4];
	int fd = rnd_fd(), what = rnd(3);
	long ret;

	if (epfd < 0)
		epfd = epoll_create1(EPOLL_CLOEXEC);
	TRACE("epoll %d fd %d", what, fd);
	if (what == 0)
		return sys(epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev));
	if (what == 1)
		return sys(epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL));
	arm_timer();
	ret = sys(epoll_wait(epfd, out, 4, rnd(10)));
	disarm_timer();
	return ret;
}

static long op_info(void)
{
	struct slot *s = rnd_slot();
	struct kchan_info info;
	bool valid = !one_in(4);
	void *arg = &info;
	long ret;

	memset(&info, 0, sizeof(info));
	info.size = sizeof(info);
	if (!valid)
		arg = place_arg(&info, sizeof(info));
	TRACE("info %d%s", s->fd, valid ? "" : " (mutated)");
	ret = sys(ioctl(s->fd, KCHAN_IOC_INFO, arg));
	if (!valid || s->kind != CHAN)
		return ret;
	if (ret) {
		violation("INFO on an open channel: %s", strerror(-ret));
		return ret;
	}
	/*
	 * A reader whose copy-out fails puts its message back, over the
	 * capacity if a writer took the slot meanwhile: one per task reading.
	 */
	if (info.length > info.capacity + opt->procs * (CHILDREN_MAX + 1) ||
	    info.received > info.sent ||
	    info.held > (info.capacity ? info.capacity : 1) ||
	    (s->accmode != O_WRONLY && !info.readers) ||
	    (s->accmode != O_RDONLY && !info.writers) ||
	    info.state & ~0xfU)
		violation("INFO: state %#x cap %u len %u held %u readers %u writers %u sent %llu received %llu",
			  info.state, info.capacity, info.length, info.held, info.readers,
			  info.writers, (unsigned long long)info.sent,
			  (unsigned long long)info.received);
	return ret;
}

/* KCHAN_IOC_SEND_BATCH or _RECV_BATCH */
static long op_batch(void)
{
	bool send = one_in(2);
	unsigned int count = one_in(8) ? rnd(KCHAN_BATCH_MAX + 2) : rnd(8) + 1;
	struct kchan_msgvec *v = (struct kchan_msgvec *)arena;
	struct kchan_batch b;
	uint32_t room[8];
	int fd = rnd_fd();
	unsigned int i;
	void *arg;
	long ret;

	memset(&b, 0, sizeof(b));
	memset(arena, 0, ARENA_MSG);
	for (i = 0; i < 8; i++) {
		size_t len = rnd(8) ? rnd(120) + 12 : rnd_len();
		char *good = arena + ARENA_MSG + i * MSG_SLOT;

		if (len > MSG_SLOT && one_in(2))
			len = MSG_SLOT;
		v[i].len = room[i] = len;
		v[i].buf = (uintptr_t)rnd_ptr(len, good);
		if (send)
			msg_prepare(good, v[i].buf, len, MSG_SLOT);
		if (one_in(30))
			v[i].flags = 1;
	}
	b.count = count;
	b.msgs = (uintptr_t)(one_in(10) ? rnd_ptr(count * sizeof(*v), (char *)v) : v);
	if (count > 8 && b.msgs == (uintptr_t)v)
		b.msgs = (uintptr_t)(arena + ARENA - 8 * sizeof(*v));	/* runs into the guard */
	arg = place_arg(&b, sizeof(b));
	TRACE("%s_batch %d count %u", send ? "send" : "recv", fd, count);
	arm_timer();
	ret = sys(ioctl(fd, send ? KCHAN_IOC_SEND_BATCH : KCHAN_IOC_RECV_BATCH, arg));
	disarm_timer();
	/* A flipped bit may have raised the count the kernel read. */
	if (ret > (long)count && !arg_mutated)
		violation("batch of %u returned %ld", count, ret);
	if (!send && arg == arena + ARENA_ARG && !arg_mutated && b.msgs == (uintptr_t)v)
		for (i = 0; ret > 0 && i < (unsigned int)ret && i < 8; i++)
			if (v[i].buf == (uintptr_t)(arena + ARENA_MSG + i * MSG_SLOT))
				msg_check("recv_batch", arena + ARENA_MSG + i * MSG_SLOT,
					  v[i].len, room[i]);
	return ret;
}

static long op_select(void)
{
	static const int64_t timeouts[] = { 0, 0, 1000000, 20000000, -1 };
	struct kchan_select_case *cs = (struct kchan_select_case *)arena;
	unsigned int n = one_in(10) ? rnd(KCHAN_SELECT_MAX + 3) : rnd(4) + 1;
	struct kchan_select s;
	int via = one_in(2) ? rnd_ctl_fd() : rnd_fd();
	unsigned int i;
	void *arg;
	long ret;

	memset(&s, 0, sizeof(s));
	memset(arena, 0, ARENA_MSG);
	for (i = 0; i < n && i < 8; i++) {
		char *good = arena + ARENA_MSG + i * MSG_SLOT;
		size_t len = rnd(8) ? rnd(200) + 12 : rnd_len();

		cs[i].fd = rnd_fd();
		cs[i].op = one_in(10) ? rnd(4) : rnd(2) + 1;
		cs[i].len = len;
		cs[i].buf = (uintptr_t)rnd_ptr(len, good);
		if (cs[i].op == KCHAN_SELECT_SEND)
			msg_prepare(good, cs[i].buf, len, MSG_SLOT);
		if (one_in(30))
			cs[i].reserved = 1;
	}
	s.ncases = n;
	s.case_size = one_in(10) ? rnd(64) : sizeof(*cs);
	s.cases = (uintptr_t)(n > 8 ? (void *)(arena + ARENA - 4 * sizeof(*cs)) :
			      one_in(10) ? rnd_ptr(n * sizeof(*cs), (char *)cs) : cs);
	s.timeout_ns = timeouts[rnd(5)];
	s.index = -100;
	arg = place_arg(&s, sizeof(s));
	TRACE("select via %d, %u cases, timeout %lld", via, n, (long long)s.timeout_ns);
	arm_timer();
	ret = put_ctl(sys(ioctl(via, KCHAN_IOC_SELECT, arg)));
	disarm_timer();
	if (!ret && arg == arena + ARENA_ARG && !arg_mutated) {
		struct kchan_select *out = arg;

		if (out->index < 0 || (unsigned int)out->index >= n) {
			violation("select of %u cases succeeded with index %d", n, out->index);
		} else if (out->index < 8 && cs[out->index].op == KCHAN_SELECT_RECV &&
			   s.cases == (uintptr_t)cs && s.case_size == sizeof(*cs)) {
			struct kchan_select_case *c = &cs[out->index];

			if (out->result_len > c->len)
				violation("select received %llu bytes into %llu",
					  (unsigned long long)out->result_len,
					  (unsigned long long)c->len);
			else if (c->buf == (uintptr_t)(arena + ARENA_MSG + out->index * MSG_SLOT))
				msg_check("select", (char *)(uintptr_t)c->buf, out->result_len,
					  c->len);
		}
	}
	return ret;
}

static long op_hold(void)
{
	struct kchan_hold h;
	struct slot *s = rnd_slot();
	char *good = arena + ARENA_MSG;
	size_t len = rnd(4) ? 8192 : rnd_len();
	void *arg;
	long ret;

	memset(&h, 0, sizeof(h));
	h.len = len;
	h.buf = (uintptr_t)rnd_ptr(len, good);
	if (h.buf == (uintptr_t)good && len > ARENA_ARG - ARENA_MSG)
		h.len = len = ARENA_ARG - ARENA_MSG;
	arg = place_arg(&h, sizeof(h));
	TRACE("hold %d %zu", s->fd, len);
	ret = sys(ioctl(s->fd, KCHAN_IOC_HOLD, arg));
	/*
	 * It returns the length, like read(), and says it in len too; a
	 * message's deliveries are >= 1, 0 only at end of file.
	 */
	if (ret >= 0 && arg == arena + ARENA_ARG && !arg_mutated) {
		struct kchan_hold *out = arg;

		if (out->len != (uint64_t)ret || (ret && !out->id) ||
		    !ret != !out->deliveries)
			violation("hold returned %ld, len %llu, id %llu, deliveries %u", ret,
				  (unsigned long long)out->len, (unsigned long long)out->id,
				  out->deliveries);
		else if (h.buf == (uintptr_t)good)
			msg_check("hold", good, ret, len);
	}
	return ret;
}

static long op_ack(void)
{
	struct kchan_ack a;
	bool ret_not_ack = one_in(2);
	int fd = rnd_fd();

	memset(&a, 0, sizeof(a));
	a.id = one_in(4) ? rnd64() : rnd(64);
	if (one_in(4))
		a.flags = KCHAN_RETURN_UNSENT;	/* EINVAL on an ACK */
	TRACE("%s %d id %llu", ret_not_ack ? "return" : "ack", fd, (unsigned long long)a.id);
	return sys(ioctl(fd, ret_not_ack ? KCHAN_IOC_RETURN : KCHAN_IOC_ACK,
			 place_arg(&a, sizeof(a))));
}

static long op_send_once(void)
{
	struct kchan_send_once so;
	char *good = arena + ARENA_MSG;
	int fd = rnd_fd();
	long ret;

	memset(&so, 0, sizeof(so));
	so.len = one_in(8) ? rnd_len() : rnd(200) + 12;
	so.buf = (uintptr_t)rnd_ptr(so.len, good);
	msg_prepare(good, so.buf, so.len, MSG_SLOT);
	so.stream = rnd(4);
	so.seq = rnd(32);
	TRACE("send_once %d stream %llu seq %llu", fd, (unsigned long long)so.stream,
	      (unsigned long long)so.seq);
	arm_timer();
	ret = sys(ioctl(fd, KCHAN_IOC_SEND_ONCE, place_arg(&so, sizeof(so))));
	disarm_timer();
	return ret;
}

static long op_stream_seq(void)
{
	struct kchan_stream_seq ss;
	int fd = rnd_fd();

	memset(&ss, 0, sizeof(ss));
	ss.stream = rnd(4);
	TRACE("stream_seq %d %llu", fd, (unsigned long long)ss.stream);
	return sys(ioctl(fd, KCHAN_IOC_STREAM_SEQ, place_arg(&ss, sizeof(ss))));
}

/* CLOSE, or any number at all, with any argument. */
static long op_ioctl_other(void)
{
	int fd = rnd_fd();
	unsigned long cmd;
	void *arg = rnd_ptr(64, arena);
	long ret;

	if (one_in(3))
		cmd = KCHAN_IOC_CLOSE;
	else if (one_in(2))
		cmd = _IOC(rnd(4), KCHAN_IOC_MAGIC, rnd(0x30), rnd(1 << 14));
	else
		cmd = (uint32_t)rnd64();
	memset(arena, one_in(2) ? 0 : (int)rnd(256), 64);
	TRACE("ioctl %d %#lx %p", fd, cmd, arg);
	arm_timer();
	ret = sys(ioctl(fd, cmd, arg));
	disarm_timer();
	return ret;
}

static long op_nonblock(void)
{
	int fd = rnd_fd();
	long fl = fcntl(fd, F_GETFL);

	TRACE("fcntl %d O_NONBLOCK", fd);
	if (fl < 0)
		return -errno;
	return sys(fcntl(fd, F_SETFL, fl ^ O_NONBLOCK));
}

static long op_signal(void)
{
	static const int sigs[] = { SIGUSR1, SIGUSR2, SIGUSR1, SIGSTOP };
	unsigned int to = rnd(opt->procs);
	int sig = sigs[rnd(4)];
	pid_t pid = sh->pids[to];

	TRACE("kill worker %u signal %d", to, sig);
	if (pid <= 0 || sh->stop)
		return -ESRCH;
	if (sig == SIGSTOP && (int)to != me) {
		/* Two workers may stop each other: the parent sends SIGCONT often. */
		kill(pid, SIGSTOP);
		return sys(kill(pid, SIGCONT));
	}
	return sys(kill(pid, sig == SIGSTOP ? SIGUSR1 : sig));
}

static void make_it_fail(bool on);
static int faults_target(void);

/* Loads opt->module (EEXIST: another worker was first); 0 or -1 with errno. */
static int load_module(void)
{
	int fd, ret, tries;

	make_it_fail(false);	/* the load itself must not fail */
	fd = open(opt->module, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	for (tries = 0; tries < 10; tries++) {
		ret = syscall(SYS_finit_module, fd, "", 0);
		if (!ret || errno == EEXIST || errno != EINTR)
			break;
	}
	close(fd);
	if (!ret && opt->faults)
		faults_target();	/* it loaded at another address */
	make_it_fail(true);
	return ret && errno != EEXIST ? -1 : 0;
}

/* A file every worker opens for itself: flock() on it serializes the (un)mounts. */
static char lock_path[64];

static int mount_lock(void)
{
	int fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

	if (fd < 0)
		return -1;
	while (flock(fd, LOCK_EX) && errno == EINTR)
		;
	return fd;
}

static void mount_unlock(int fd)
{
	if (fd >= 0)
		close(fd);	/* drops the lock */
}

/* Mounts the kchan instance on /dev/chan unless one is there: 0 or -1 with errno. */
static int mount_dev_chan(void)
{
	int ret, tries;

	if (!access(KCHAN_CONTROL_PATH, F_OK))
		return 0;
	make_it_fail(false);	/* the mount itself must not fail */
	for (tries = 0; tries < 10; tries++) {
		ret = mount(KCHAN_FS_TYPE, KCHAN_DEV_DIR, KCHAN_FS_TYPE, 0, NULL);
		if (!ret || errno != EINTR)
			break;
	}
	make_it_fail(true);
	return ret;
}

/*
 * rmmod: the instance on /dev/chan pins the module, so unmount it first
 * (detached: files of it stay usable); then rmmod must fail while we have
 * a file open; load the module again if it went, and mount /dev/chan
 * again whatever happened.  The workers take turns (mount_lock()).
 */
static long op_rmmod(void)
{
	bool busy = holds_kchan_file(), go = one_in(10);
	long ret;
	int lock;

	if (!go)
		return 0;	/* it resets everything: not too often */
	TRACE("rmmod kchan (%s)", busy ? "files open" : "no file open here");
	lock = mount_lock();
	if (lock < 0) {
		violation("open %s: %m", lock_path);
		return -errno;
	}
	if (!access(KCHAN_CONTROL_PATH, F_OK) && umount2(KCHAN_DEV_DIR, MNT_DETACH)) {
		ret = -errno;
		violation("umount -l " KCHAN_DEV_DIR ": %s", strerror(-ret));
		goto out;
	}
	ret = sys(syscall(SYS_delete_module, "kchan", O_NONBLOCK));
	/* ENOENT: not loaded (a load failed); EINTR: a sibling's signal */
	if (ret == -EAGAIN || ret == -EBUSY || ret == -ENOENT || ret == -EINTR)
		goto out;
	if (ret) {
		violation("rmmod: %s", strerror(-ret));
		goto out;
	}
	__atomic_fetch_add(&sh->rmmods, 1, __ATOMIC_RELAXED);
	if (busy)
		violation("rmmod succeeded while this process had a kchan file open");
	if (load_module())
		violation("insmod %s again: %m", opt->module);
	else
		__atomic_fetch_add(&sh->reloads, 1, __ATOMIC_RELAXED);
out:
	if (mount_dev_chan())
		violation("mount -t " KCHAN_FS_TYPE " on " KCHAN_DEV_DIR " again: %m");
	mount_unlock(lock);
	return ret;
}

static void run_ops(unsigned long max, double deadline);

static int children;

static void reap(bool block)
{
	int status;
	pid_t pid;

	while (children > 0 && (pid = waitpid(-1, &status, block ? 0 : WNOHANG)) > 0) {
		children--;
		if (!WIFEXITED(status) || (WEXITSTATUS(status) && !sh->violation))
			violation("a forked child (pid %d) ended with status %#x", (int)pid, status);
	}
}

/* The child shares our files and runs a few operations of its own sequence. */
static long op_fork(void)
{
	uint64_t child_seed = rnd64();
	pid_t pid;

	TRACE("fork");
	if (children >= CHILDREN_MAX)
		return -EAGAIN;
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		rng_state = child_seed;
		children = 0;
		epfd = -1;
		run_ops(rnd(CHILD_OPS) + 1, 0);
		_exit(0);
	}
	children++;
	return pid;
}

struct op {
	const char *name;
	long (*fn)(void);
	unsigned int weight;
};

static const struct op ops[] = {
	{ "create", op_create, 10 },
	{ "make", op_make, 4 },
	{ "destroy/close_name", op_by_name, 5 },
	{ "open", op_open, 14 },
	{ "close", op_close, 8 },
	{ "dup", op_dup, 2 },
	{ "read", op_read, 12 },
	{ "write", op_write, 12 },
	{ "poll", op_poll, 5 },
	{ "epoll", op_epoll, 4 },
	{ "info", op_info, 4 },
	{ "batch", op_batch, 8 },
	{ "select", op_select, 8 },
	{ "hold", op_hold, 4 },
	{ "ack/return", op_ack, 4 },
	{ "send_once", op_send_once, 3 },
	{ "stream_seq", op_stream_seq, 2 },
	{ "ioctl", op_ioctl_other, 4 },
	{ "nonblock", op_nonblock, 4 },
	{ "signal", op_signal, 3 },
	{ "fork", op_fork, 1 },
	{ "rmmod", op_rmmod, 1 },
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* max operations (0: no limit) or until the deadline (0: none) */
static void run_ops(unsigned long max, double deadline)
{
	unsigned int total = 0, i;
	unsigned long n;

	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		total += ops[i].weight;
	for (n = 0; (!max || n < max) && !sh->stop; n++) {
		unsigned int pick = rnd(total);
		const struct op *o = ops;
		long ret;

		if (deadline && now() >= deadline)
			break;
		while (pick >= o->weight)
			pick -= (o++)->weight;
		if (o->fn == op_rmmod && !opt->module)
			continue;	/* the draw is made all the same */
		opno++;
		trace[0] = '\0';
		ret = o->fn();
		if (opt->verbose)
			fprintf(opt->out, "w%d #%lu %s = %ld%s%s\n", me, opno, trace, ret,
				ret < 0 ? " " : "", ret < 0 ? strerror(-ret) : "");
		reap(false);
	}
	reap(true);
	sh->ops[me] += n;
}

static void on_signal(int sig)
{
	(void)sig;
}

/* SIGUSR1 and SIGALRM interrupt calls, SIGUSR2 restarts them. */
static void catch_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGALRM, &sa, NULL);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGUSR2, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static void worker(int i, double deadline)
{
	int s;

	me = i;
	trace = sh->doing[i];
	rng_state = opt->seed ^ (0x5bd1e995ULL * (i + 1));
	rnd64();
	for (s = 0; s < SLOTS; s++)
		slots[s] = (struct slot){ .fd = -1 };
	if (memory_setup()) {
		violation("memory setup: %m");
		_exit(1);
	}
	make_it_fail(true);
	run_ops(opt->ops, deadline);
	_exit(sh->violation ? 1 : 0);
}

/* Prints a file of /proc/pid, for a worker that does not stop. */
static void show_proc(pid_t pid, const char *file)
{
	char path[64], buf[2048];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n > 0) {
		buf[n] = '\0';
		fprintf(opt->out, "kchanfuzz: %s:\n%s%s", path, buf,
			buf[n - 1] == '\n' ? "" : "\n");
	}
}

/* ----- random faults (--faults) ----------------------------------------- */

#define DEBUGFS		"/sys/kernel/debug"
#define KNOBS_MAX	32

static struct { char file[64]; char val[32]; } saved[KNOBS_MAX];
static int nsaved;

static int file_rw(const char *path, char *val, size_t len, bool write_it)
{
	int fd = open(path, (write_it ? O_WRONLY : O_RDONLY) | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write_it ? write(fd, val, strlen(val)) : read(fd, val, len - 1);
	if (!write_it && n >= 0)
		val[n] = '\0';
	n = n < 0 ? -errno : 0;
	close(fd);
	return n;
}

/* Sets DEBUGFS/type/name; the first time, remembers what it was. */
static int knob(const char *type, const char *name, const char *fmt, ...)
{
	char file[64], path[128], val[32];
	va_list ap;
	int i, ret;

	snprintf(file, sizeof(file), "%s/%s", type, name);
	snprintf(path, sizeof(path), DEBUGFS "/%s", file);
	for (i = 0; i < nsaved && strcmp(saved[i].file, file); i++)
		;
	if (i == nsaved && nsaved < KNOBS_MAX) {
		ret = file_rw(path, saved[i].val, sizeof(saved[i].val), false);
		if (ret)
			return ret;
		snprintf(saved[i].file, sizeof(saved[i].file), "%s", file);
		nsaved++;
	}
	va_start(ap, fmt);
	vsnprintf(val, sizeof(val), fmt, ap);
	va_end(ap);
	return file_rw(path, val, 0, true);
}

/* Last set, first restored: the probabilities (set last) go to 0 first. */
static void knobs_restore(void)
{
	char path[128];

	while (nsaved > 0) {
		nsaved--;
		snprintf(path, sizeof(path), DEBUGFS "/%s", saved[nsaved].file);
		file_rw(path, saved[nsaved].val, 0, true);
	}
}

/* Failures only with kchan's code on the stack: its text as it is loaded now. */
static int faults_target(void)
{
	static const char *const types[] = { "failslab", "fail_page_alloc" };
	unsigned long addr, start = ~0UL, end = 0;
	char line[512], type, sym[256], mod[64];
	FILE *f = fopen("/proc/kallsyms", "re");
	int i, ret = 0;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx %c %255s %63s", &addr, &type, sym, mod) != 4 ||
		    strcmp(mod, "[kchan]") || (type != 't' && type != 'T'))
			continue;
		start = addr < start ? addr : start;
		end = addr > end ? addr : end;
	}
	fclose(f);
	if (!end || !start)
		return -ENOENT;
	for (i = 0; i < 2 && !ret; i++) {
		ret = knob(types[i], "require-start", "%lu", start);
		if (!ret)
			ret = knob(types[i], "require-end", "%lu", end + 4096);
	}
	return ret;
}

/*
 * failslab and fail_page_alloc fail opts->faults percent of the
 * allocations made under kchan's code, by the workers only (task-filter;
 * each worker sets its make-it-fail).  0 or -errno.
 */
static int faults_setup(void)
{
	static const char *const types[] = { "failslab", "fail_page_alloc" };
	int i, ret = 0;

	if (access(DEBUGFS "/failslab/require-start", F_OK) ||
	    access(DEBUGFS "/fail_page_alloc", F_OK))
		return -ENOENT;
	for (i = 0; i < 2 && !ret; i++) {
		const char *t = types[i];

		ret = knob(t, "probability", "0");
		ret = ret ?: knob(t, "task-filter", "Y");
		ret = ret ?: knob(t, "verbose", "0");
		ret = ret ?: knob(t, "ignore-gfp-wait", "N");
		ret = ret ?: knob(t, "interval", "1");
		ret = ret ?: knob(t, "times", "-1");
		ret = ret ?: knob(t, "space", "0");
		ret = ret ?: knob(t, "stacktrace-depth", "32");
		if (i == 1) {
			ret = ret ?: knob(t, "ignore-gfp-highmem", "N");
			ret = ret ?: knob(t, "min-order", "0");
		}
	}
	ret = ret ?: faults_target();
	for (i = 0; i < 2 && !ret; i++)
		ret = knob(types[i], "probability", "%u", opt->faults);
	return ret;
}

static void make_it_fail(bool on)
{
	char v[2] = { on ? '1' : '0', 0 };

	if (opt->faults)
		file_rw("/proc/self/make-it-fail", v, 0, true);
}

/*
 * Could the workers have made a channel called @name?  rnd_name()'s names,
 * or one of them with one bit flipped by place_arg() (a zero-padded
 * KCHAN_NAME_MAX buffer at most one bit away).
 */
static bool fuzz_name(const char *name)
{
	char want[KCHAN_NAME_MAX], got[KCHAN_NAME_MAX];
	int i, j, bits;

	memset(got, 0, sizeof(got));
	memcpy(got, name, strnlen(name, sizeof(got) - 1));
	for (i = 0; i < NAMES + 3; i++) {
		memset(want, 0, sizeof(want));
		if (i < NAMES)
			snprintf(want, sizeof(want), "fz-%d", i);
		else if (i == NAMES)
			strcpy(want, ".hidden");
		else if (i == NAMES + 1)
			strcpy(want, "a/b");
		else
			memset(want, 'n', KCHAN_NAME_MAX - 1);
		for (j = 0, bits = 0; j < KCHAN_NAME_MAX; j++)
			bits += __builtin_popcount((unsigned char)(want[j] ^ got[j]));
		if (bits <= 1)
			return true;
	}
	return false;
}

/* Destroys the channels the workers left, so the module can unload. */
static void cleanup(void)
{
	struct kchan_name req;
	struct dirent *d;
	DIR *dir;
	int ctl;

	ctl = open(KCHAN_CONTROL_PATH, O_RDWR | O_CLOEXEC);
	if (ctl < 0)
		return;
	dir = opendir(KCHAN_DEV_DIR);
	while (dir && (d = readdir(dir))) {
		if (d->d_name[0] == '.' || !fuzz_name(d->d_name))
			continue;
		memset(&req, 0, sizeof(req));
		req.size = sizeof(req);
		memcpy(req.name, d->d_name, strnlen(d->d_name, sizeof(req.name) - 1));
		ioctl(ctl, KCHAN_IOC_DESTROY, &req);
	}
	if (dir)
		closedir(dir);
	close(ctl);
}

/* The workers are gone: the module loaded and /dev/chan mounted again, if need be. */
static int module_back(void)
{
	if (!access(KCHAN_CONTROL_PATH, F_OK) || !opt->module)
		return 0;
	if (access("/sys/module/kchan", F_OK) && load_module())
		return -1;
	return mount_dev_chan();
}

int fuzz_run(const struct fuzz_opts *o)
{
	double start = now(), deadline = start + o->duration;
	unsigned long total = 0;
	unsigned int i, j, n;
	sigset_t block, old;
	int status, ret;

	opt = o;
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigaddset(&block, SIGUSR2);
	sigaddset(&block, SIGALRM);
	if (access(KCHAN_CONTROL_PATH, F_OK)) {
		fprintf(o->out, "kchanfuzz: %s is missing: load kchan first\n", KCHAN_CONTROL_PATH);
		return 2;
	}
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		return 2;
	memset(sh, 0, sizeof(*sh));
	if (o->faults) {
		ret = faults_setup();
		if (ret) {
			knobs_restore();
			fprintf(o->out, "kchanfuzz: --faults: cannot set up failslab and fail_page_alloc in "
				DEBUGFS " (%s): the kernel needs CONFIG_FAILSLAB, CONFIG_FAIL_PAGE_ALLOC, "
				"CONFIG_FAULT_INJECTION_DEBUG_FS and _STACKTRACE_FILTER\n", strerror(-ret));
			return 2;
		}
	}
	fprintf(o->out, "kchanfuzz: seed %llu, %u workers, %.0f s%s (replay: --seed %llu)\n",
		(unsigned long long)o->seed, o->procs, o->duration,
		o->module ? ", with rmmod" : "", (unsigned long long)o->seed);
	if (o->faults)
		fprintf(o->out, "kchanfuzz: %u%% of the allocations under kchan's code fail\n",
			o->faults);
	fflush(o->out);

	snprintf(lock_path, sizeof(lock_path), "/tmp/kchanfuzz-%d.lock", (int)getpid());
	fflush(NULL);
	for (i = 0; i < o->procs; i++) {
		pid_t pid;

		/* Blocked until the worker has its handlers: siblings signal early. */
		sigprocmask(SIG_BLOCK, &block, &old);
		pid = fork();
		if (pid == 0)
			catch_signals();
		sigprocmask(SIG_SETMASK, &old, NULL);
		if (pid < 0) {
			sh->stop = 1;
			break;
		}
		if (pid == 0)
			worker(i, deadline);
		sh->pids[i] = pid;
	}
	n = i;
	/* Workers stop at the deadline; one that does not is stuck in the kernel. */
	for (i = 0; i < n; i++) {
		while ((ret = waitpid(sh->pids[i], &status, WNOHANG)) == 0) {
			if (now() > deadline + 60) {
				if (!sh->violation)
					snprintf(sh->why, sizeof(sh->why),
						 "worker %u (pid %d) still runs 60 s after the deadline, in: %s",
						 i, (int)sh->pids[i], sh->doing[i]);
				show_proc(sh->pids[i], "stat");
				show_proc(sh->pids[i], "syscall");
				show_proc(sh->pids[i], "stack");
				sh->violation = 1;
				kill(sh->pids[i], SIGKILL);
			}
			for (j = i; j < n; j++)
				kill(sh->pids[j], SIGCONT);
			usleep(100000);
		}
		if (ret > 0 && !(WIFEXITED(status) && (WEXITSTATUS(status) == 0 || sh->violation))) {
			if (!sh->violation)
				snprintf(sh->why, sizeof(sh->why), "worker %u ended with status %#x",
					 i, status);
			sh->violation = 1;
		}
		total += sh->ops[i];
	}
	knobs_restore();
	if (module_back())
		fprintf(o->out, "kchanfuzz: could not load %s again and mount " KCHAN_DEV_DIR ": %m\n",
			o->module);
	unlink(lock_path);
	cleanup();

	fprintf(o->out, "kchanfuzz: %lu operations in %.1f s, %lu messages checked, %lu rmmods (%lu reloads)\n",
		total, now() - start, sh->checked, sh->rmmods, sh->reloads);
	if (sh->violation) {
		fprintf(o->out, "kchanfuzz: VIOLATION: %s\n", sh->why);
		fprintf(o->out, "kchanfuzz: replay with --seed %llu --procs %u (add --verbose for a trace)\n",
			(unsigned long long)o->seed, o->procs);
		return 1;
	}
	return 0;
}
