// SPDX-License-Identifier: GPL-2.0
/*
 * The model (model/kch_model.c) against the real module: the same seeded
 * random sequence of operations on several files of one channel, run on
 * /dev/chan/<name> and on the model, every result compared: return value
 * and errno, the bytes read or held, seqs, deliveries, hold ids (relative to the
 * channel's first), STREAM_SEQ's seq, and after every step each file's
 * poll() readiness (the model's pipe fds against the kernel's files) and
 * INFO's state, capacity, msg_max, length, held, readers, writers, sent
 * and received; readers and writers asleep in read() and write() (threads
 * in the kernel, waiters in the model), when and with what they complete.
 * Issue 13: a model not checked against the kernel proves nothing.
 *
 *   model_diff [--model-only] [--seed N] [--rounds N] [--steps N] [-v]
 *
 * One round: a new channel (capacity 0..8, msg_max one of a few sizes,
 * a stream table of 1..6 entries or the default 16, against 20 streams),
 * three reading and two writing files, --steps operations.  Exits 0 when
 * every round agreed, 1 at the first difference (printed with the seed,
 * round and step to replay), 2 on a usage or setup error.  --model-only
 * runs the model alone (no kchan needed), checking its pipe fds against
 * its own kchm_poll().
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "kch.h"
#include "model/kch_model.h"

#define NFILES		5	/* 0..2 read, 3..4 write */
#define NWRITE		2
#define NSTREAMS	20	/* more than KCHAN_STREAMS_DEFAULT: ENOSPC comes */
#define NIDS		32	/* hold ids remembered per file, to ack and return */
#define MSG_MAX		4096

struct backend {
	const char *name;
	int (*create)(const char *name, uint32_t capacity, uint32_t msg_max, uint32_t streams);
	int (*destroy)(const char *name);
	int (*open)(const char *name, int write);
	int (*release)(int fd);
	ssize_t (*read)(int fd, void *buf, size_t len);
	ssize_t (*write)(int fd, const void *buf, size_t len);
	int (*hold)(int fd, void *buf, size_t len, uint64_t *id, uint64_t *seq,
		    uint32_t *deliveries);
	int (*ack)(int fd, uint64_t id);
	int (*ret)(int fd, uint64_t from_id, uint32_t flags);
	int (*send_once)(int fd, const void *buf, size_t len, uint64_t stream, uint64_t seq);
	int (*stream_seq)(int fd, uint64_t stream, uint64_t *seq, int forget);
	int (*close)(int fd);
	int (*info)(int fd, struct kchan_info *info);
	/* per round */
	int fd[NFILES];
	uint64_t first_id;	/* the channel's first hold id, 0 before */
};

/* ----- the real module: kch.c, and plain syscalls for the rest ---------- */

/* kch_create() with a stream table of @streams entries (0: the default) */
static int real_create(const char *name, uint32_t capacity, uint32_t msg_max, uint32_t streams)
{
	struct kchan_create c = {
		.size = sizeof(c), .capacity = capacity, .msg_max = msg_max, .streams = streams,
	};
	int fd, rc;

	snprintf(c.name, sizeof(c.name), "%s", name);
	fd = open(KCHAN_CONTROL_PATH, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	rc = ioctl(fd, KCHAN_IOC_CREATE, &c) < 0 ? -errno : 0;
	close(fd);
	return rc;
}

static int real_destroy(const char *name)
{
	struct kchan_name n = { .size = sizeof(n) };
	int fd, rc;

	snprintf(n.name, sizeof(n.name), "%s", name);
	fd = open(KCHAN_CONTROL_PATH, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	rc = ioctl(fd, KCHAN_IOC_DESTROY, &n) < 0 ? -errno : 0;
	close(fd);
	return rc;
}

static int real_release(int fd)
{
	return close(fd) < 0 ? -errno : 0;
}

static ssize_t real_read(int fd, void *buf, size_t len)
{
	ssize_t n = read(fd, buf, len);

	return n < 0 ? -errno : n;
}

static ssize_t real_write(int fd, const void *buf, size_t len)
{
	ssize_t n = write(fd, buf, len);

	return n < 0 ? -errno : n;
}

/* KCHAN_IOC_RETURN from an id, with flags (kch.c has fixed ones). */
static int real_return(int fd, uint64_t from_id, uint32_t flags)
{
	struct kchan_ack a = { .size = sizeof(a), .flags = flags, .id = from_id };

	return ioctl(fd, KCHAN_IOC_RETURN, &a) < 0 ? -errno : (int)a.count;
}

static int real_stream_seq(int fd, uint64_t stream, uint64_t *seq, int forget)
{
	struct kchan_stream_seq s = {
		.size = sizeof(s), .stream = stream, .flags = forget ? KCHAN_STREAM_FORGET : 0,
	};

	if (ioctl(fd, KCHAN_IOC_STREAM_SEQ, &s) < 0)
		return -errno;
	*seq = s.seq;
	return 0;
}

static struct backend real = {
	.name = "kernel",
	.create = real_create, .destroy = real_destroy, .open = kch_open,
	.release = real_release, .read = real_read, .write = real_write,
	.hold = kch_hold, .ack = kch_ack, .ret = real_return,
	.send_once = kch_send_once, .stream_seq = real_stream_seq,
	.close = kch_close, .info = kch_info,
};

/* ----- the model --------------------------------------------------------- */

static int model_destroy(const char *name)
{
	(void)name;
	kchm_reset();	/* one channel per round: all of the model */
	return 0;
}

static int model_stream_seq(int fd, uint64_t stream, uint64_t *seq, int forget)
{
	return forget ? kchm_stream_forget(fd, stream, seq) : kchm_stream_seq(fd, stream, seq);
}

static struct backend model = {
	.name = "model",
	.create = kchm_create_streams, .destroy = model_destroy, .open = kchm_open,
	.release = kchm_release, .read = kchm_read, .write = kchm_write,
	.hold = kchm_hold, .ack = kchm_ack, .ret = kchm_return_flags,
	.send_once = kchm_send_once, .stream_seq = model_stream_seq,
	.close = kchm_close, .info = kchm_info,
};

/* ----- one operation, the same on both ------------------------------------ */

enum op {
	OP_WRITE, OP_READ, OP_HOLD, OP_ACK, OP_RETURN, OP_RETURN_ALL, OP_SEND_ONCE,
	OP_STREAM_SEQ, OP_FORGET, OP_RELEASE, OP_WRITE_WAIT, OP_READ_WAIT, OP_CANCEL,
	OP_CLOSE, OP_NR
};

static const char *const op_names[OP_NR] = {
	"write", "read", "hold", "ack", "return", "return_all", "send_once",
	"stream_seq", "forget", "release", "write_wait", "read_wait", "cancel", "close",
};

/* How often each is drawn, out of 100; a close 1 in 400 (gen_step()). */
static const unsigned int op_weights[OP_NR] = {
	[OP_WRITE] = 18, [OP_READ] = 8, [OP_HOLD] = 20, [OP_ACK] = 14,
	[OP_RETURN] = 4, [OP_RETURN_ALL] = 3, [OP_SEND_ONCE] = 16,
	[OP_STREAM_SEQ] = 4, [OP_FORGET] = 2, [OP_RELEASE] = 3,
	[OP_WRITE_WAIT] = 3, [OP_READ_WAIT] = 3, [OP_CANCEL] = 2,
};

struct step {
	unsigned long n;	/* in the round */
	enum op op;
	int file;
	size_t len;		/* message or buffer length */
	uint64_t id;		/* relative hold id (1: the channel's first) */
	uint64_t stream, seq;
	uint32_t flags;		/* return: KCHAN_RETURN_UNSENT, or 2 (EINVAL) */
	unsigned char msg[MSG_MAX + 2];
};

struct result {
	long rc;
	uint64_t id, seq;	/* id relative */
	uint32_t deliveries;	/* hold */
	unsigned char buf[MSG_MAX + 2];
};

static uint64_t rng_state;

static uint64_t rnd(void)	/* splitmix64: the same sequence everywhere */
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static unsigned int below(unsigned int n)
{
	return (unsigned int)(rnd() % n);
}

/* A length near msg_max, sometimes just over it, sometimes 0. */
static size_t pick_len(size_t msg_max)
{
	switch (below(8)) {
	case 0: return msg_max;
	case 1: return msg_max > 1 ? msg_max - 1 : 1;
	case 2: return below(20) ? 1 + below(msg_max) : msg_max + 1;
	case 3: return below(10) ? 1 : 0;
	default: return 1 + below(msg_max);
	}
}

struct round_state {
	size_t msg_max;
	uint64_t ids[NFILES][NIDS];	/* relative hold ids each file got */
	unsigned int nids[NFILES];
	uint64_t stream_seq[NSTREAMS];	/* the last seq drawn per stream */
	unsigned long step;
};

static void gen_step(struct round_state *rs, struct step *s)
{
	unsigned int w = below(100), i, f;

	s->flags = 0;
	for (i = 0; i < OP_NR && w >= op_weights[i]; i++)
		w -= op_weights[i];
	s->op = i < OP_NR ? (enum op)i : OP_HOLD;
	if (!below(400))
		s->op = OP_CLOSE;	/* most rounds see both sides of it */
	/* Mostly a file of the right kind; sometimes the wrong one (EBADF). */
	switch (s->op) {
	case OP_WRITE: case OP_SEND_ONCE: case OP_CLOSE: case OP_FORGET:
		f = NFILES - NWRITE + below(NWRITE);
		break;
	case OP_STREAM_SEQ: case OP_RELEASE:
		f = below(NFILES);
		break;
	default:
		f = below(NFILES - NWRITE);
	}
	if (!below(30))
		f = below(NFILES);
	s->file = f;
	s->len = pick_len(rs->msg_max);
	if (s->op == OP_READ || s->op == OP_HOLD || s->op == OP_READ_WAIT)
		s->len = below(6) ? rs->msg_max : pick_len(rs->msg_max);
	s->id = rs->nids[f] && below(8) ? rs->ids[f][below(rs->nids[f] < NIDS ? rs->nids[f] : NIDS)] :
		below(3);
	if (s->op == OP_RETURN && !below(4))
		s->id = 0;	/* all */
	if (s->op == OP_RETURN || s->op == OP_RETURN_ALL)
		s->flags = below(2) ? 0 : below(10) ? KCHAN_RETURN_UNSENT : 2;
	i = below(NSTREAMS);
	s->stream = i + 1;
	if (below(5))
		rs->stream_seq[i] += 1 + below(3);
	s->seq = below(6) ? rs->stream_seq[i] : below(rs->stream_seq[i] + 2);
	s->n = rs->step;
	/* The message: the step number, then a pattern of it. */
	for (i = 0; i < sizeof(s->msg); i++)
		s->msg[i] = (unsigned char)(i < 8 ? rs->step >> (8 * i) : rs->step * 31 + i);
}

static const char *chan_name;

/* Open file @i of the round's channel: 0..2 read, 3..4 write. */
static int open_file(struct backend *b, int i)
{
	b->fd[i] = b->open(chan_name, i >= NFILES - NWRITE);
	if (b->fd[i] < 0) {
		fprintf(stderr, "model_diff: %s: open %s: %s\n", b->name, chan_name,
			strerror(-b->fd[i]));
		return -1;
	}
	return 0;
}

static uint64_t abs_id(const struct backend *b, uint64_t rel)
{
	if (!rel)
		return 0;
	return (b->first_id ? b->first_id : 1) + rel - 1;
}

static void run_step(struct backend *b, const struct step *s, struct result *r)
{
	int fd = b->fd[s->file];
	uint64_t id = 0, seq = 0;
	uint32_t deliveries = 0;

	memset(r, 0, sizeof(*r));
	switch (s->op) {
	case OP_WRITE:
		r->rc = b->write(fd, s->msg, s->len);
		break;
	case OP_READ:
		r->rc = b->read(fd, r->buf, s->len);
		break;
	case OP_HOLD:
		r->rc = b->hold(fd, r->buf, s->len, &id, &seq, &deliveries);
		if (r->rc >= 0)
			r->deliveries = deliveries;	/* 0 at end of file */
		if (r->rc > 0) {
			if (!b->first_id)
				b->first_id = id;
			r->id = id - b->first_id + 1;
			r->seq = seq;
		}
		break;
	case OP_ACK:
		r->rc = b->ack(fd, abs_id(b, s->id));
		break;
	case OP_RETURN:
		r->rc = b->ret(fd, abs_id(b, s->id), s->flags);
		break;
	case OP_RETURN_ALL:
		r->rc = b->ret(fd, 0, s->flags);
		break;
	case OP_SEND_ONCE:
		r->rc = b->send_once(fd, s->msg, s->len, s->stream, s->seq);
		break;
	case OP_STREAM_SEQ:
	case OP_FORGET:
		r->rc = b->stream_seq(fd, s->stream, &seq, s->op == OP_FORGET);
		r->seq = seq;
		break;
	case OP_RELEASE:	/* the file goes, and a new one of its kind comes */
		r->rc = b->release(fd);
		if (open_file(b, s->file))
			r->rc = -1000;	/* cannot go on: differ, and stop */
		break;
	case OP_CLOSE:
		r->rc = b->close(fd);
		break;
	default:
		break;
	}
}

/* Readiness as poll() reports it, for read and write interest alike. */
static unsigned int poll_fd(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN | POLLOUT };

	if (poll(&p, 1, 0) < 0)
		return ~0U;
	return p.revents;
}

static int verbose;

/*
 * What the operations returned, for -v: >0, 0, and each errno; a sleeping
 * read or write counts EINPROGRESS when it starts, its result when done.
 */
#define NBUCKETS	130
static unsigned long hist[OP_NR][NBUCKETS];

static void count(enum op op, long rc)
{
	hist[op][rc > 0 ? 0 : rc == 0 ? 1 : -rc < NBUCKETS - 2 ? 2 - rc : 1] += 1;
}

static void print_hist(void)
{
	int op, b;

	for (op = 0; op < OP_NR; op++) {
		fprintf(stderr, "model_diff: %-10s", op_names[op]);
		for (b = 0; b < NBUCKETS; b++)
			if (hist[op][b])
				fprintf(stderr, " %s:%lu", b == 0 ? ">0" : b == 1 ? "0" :
					strerrorname_np(b - 2) ? strerrorname_np(b - 2) : "?",
					hist[op][b]);
		fprintf(stderr, "\n");
	}
}

static int differ(const struct step *s, unsigned long round, const char *what,
		  long a, long b)
{
	fprintf(stderr,
		"model_diff: round %lu step %lu: %s on file %d (len %zu id %" PRIu64
		" stream %" PRIu64 " seq %" PRIu64 "): %s: kernel %ld, model %ld\n",
		round, s->n, op_names[s->op], s->file, s->len, s->id, s->stream, s->seq, what, a, b);
	return 1;
}

static int compare(const struct step *s, unsigned long round,
		   const struct result *a, const struct result *b)
{
	if (a->rc != b->rc)
		return differ(s, round, "result", a->rc, b->rc);
	if (a->id != b->id)
		return differ(s, round, "hold id", (long)a->id, (long)b->id);
	if (a->seq != b->seq)
		return differ(s, round, "seq", (long)a->seq, (long)b->seq);
	if (a->deliveries != b->deliveries)
		return differ(s, round, "deliveries", (long)a->deliveries, (long)b->deliveries);
	if ((s->op == OP_READ || s->op == OP_HOLD) && a->rc > 0 &&
	    memcmp(a->buf, b->buf, a->rc))
		return differ(s, round, "bytes", 0, 1);
	return 0;
}

static const char *const poll_what[NFILES] = {
	"poll of file 0", "poll of file 1", "poll of file 2", "poll of file 3", "poll of file 4",
};

#define INFO_FIELDS(X) X(state) X(capacity) X(length) X(msg_max) X(readers) \
	X(writers) X(sent) X(received) X(held)

static int compare_state(const struct step *s, unsigned long round)
{
	struct kchan_info ia, ib;
	int i, ra, rb;

	ra = real.info(real.fd[0], &ia);
	rb = model.info(model.fd[0], &ib);
	if (ra || rb)
		return differ(s, round, "INFO", ra, rb);
#define CMP(f) if (ia.f != ib.f) return differ(s, round, "info." #f, (long)ia.f, (long)ib.f);
	INFO_FIELDS(CMP)
#undef CMP
	if (!ia.id || !ib.id)
		return differ(s, round, "info.id is 0", (long)!ia.id, (long)!ib.id);
	for (i = 0; i < NFILES; i++) {
		unsigned int pa = poll_fd(real.fd[i]), pb = poll_fd(model.fd[i]);

		if (pa != pb)
			return differ(s, round, poll_what[i], pa, pb);
	}
	return 0;
}

/* The model's pipes say what kchm_poll() says ("kernel" is kchm_poll()'s). */
static int check_model_poll(const struct step *s, unsigned long round)
{
	int i;

	for (i = 0; i < NFILES; i++) {
		unsigned int want = kchm_poll(model.fd[i]) & (POLLIN | POLLOUT | POLLHUP | POLLERR);
		unsigned int got = poll_fd(model.fd[i]);

		if (want != got)
			return differ(s, round, poll_what[i], want, got);
	}
	return 0;
}

/*
 * ----- sleeping readers and writers ----------------------------------------
 *
 * A blocking read() or write() on a file of its own: in the kernel a thread
 * asleep in kchan_wait(), in the model a kchm_waiter.  Started only once
 * the thread is seen asleep in its syscall (or done); collected, on both
 * sides, in the step where the model completes it: the thread is joined
 * before the next step, so its copy out (ch->copying) is over by then.
 * A cancel is a signal (SIGUSR1, no SA_RESTART: EINTR).
 */
#define NWAITERS	3

struct waiter {
	int active, write;
	size_t len;
	unsigned char msg[MSG_MAX + 2];	/* a writer's */
	/* kernel */
	int rfd;
	pthread_t thread;
	atomic_int tid, done;
	ssize_t rres;
	unsigned char rbuf[MSG_MAX + 2];
	/* model */
	int mfd, mdone;
	struct kchm_waiter *mw;
	ssize_t mres;
	unsigned char mbuf[MSG_MAX + 2];
};

static struct waiter waiters[NWAITERS];

static void *waiter_thread(void *arg)
{
	struct waiter *w = arg;
	ssize_t n;

	atomic_store(&w->tid, (int)gettid());
	n = w->write ? write(w->rfd, w->msg, w->len) : read(w->rfd, w->rbuf, w->len);
	w->rres = n < 0 ? -errno : n;
	atomic_store(&w->done, 1);
	return NULL;
}

/* The thread sleeps in read (0) or write (1): /proc says so. */
static int waiter_asleep(struct waiter *w)
{
	char path[64], buf[256], *p;
	long nr = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", atomic_load(&w->tid));
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (fscanf(f, "%ld", &nr) != 1)
		nr = -1;
	fclose(f);
	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", atomic_load(&w->tid));
	f = fopen(path, "r");
	if (!f)
		return 0;
	p = fgets(buf, sizeof(buf), f);
	fclose(f);
	p = p ? strrchr(buf, ')') : NULL;
	return p && p[1] == ' ' && p[2] == 'S' && nr == (w->write ? 1 : 0);
}

/* Wait for the kernel's thread to finish (1) or to fall asleep (0). */
static int waiter_settle(struct waiter *w, int want_done)
{
	int i;

	for (i = 0; i < 20000; i++) {	/* 10 s, for a slow TCG guest */
		if (atomic_load(&w->done))
			return 1;
		if (!want_done && atomic_load(&w->tid) && waiter_asleep(w))
			return 0;
		usleep(500);
	}
	return atomic_load(&w->done);
}

static void waiter_free(struct waiter *w, int model_only)
{
	if (!model_only) {
		pthread_join(w->thread, NULL);
		close(w->rfd);
	}
	kchm_release(w->mfd);
	w->active = 0;
}

/* Both sides completed @w: the same result, the same bytes. */
static int waiter_compare(const struct step *s, unsigned long round, struct waiter *w,
			  int model_only)
{
	int rc = 0;

	count(w->write ? OP_WRITE_WAIT : OP_READ_WAIT, w->mres);
	if (!model_only && !waiter_settle(w, 1))
		rc = differ(s, round, "a waiter the model completed sleeps on", 1, 0);
	else if (!model_only && w->rres != w->mres)
		rc = differ(s, round, w->write ? "sleeping write" : "sleeping read",
			    w->rres, w->mres);
	else if (!model_only && !w->write && w->rres > 0 && memcmp(w->rbuf, w->mbuf, w->rres))
		rc = differ(s, round, "sleeping read's bytes", 0, 1);
	if (rc && !atomic_load(&w->done))
		pthread_kill(w->thread, SIGUSR1);
	waiter_free(w, model_only);
	return rc;
}

/* The two sides disagree whether @w is done: end both. */
static void waiter_abort(struct waiter *w)
{
	if (!w->mdone)
		kchm_waiter_cancel(w->mw);
	if (!atomic_load(&w->done))
		pthread_kill(w->thread, SIGUSR1);
	waiter_free(w, 0);
}

static int waiter_start(const struct step *s, unsigned long round, int model_only)
{
	struct waiter *w = NULL;
	char path[sizeof(KCHAN_DEV_DIR) + KCHAN_NAME_MAX + 1];
	int i, write = s->op == OP_WRITE_WAIT;

	for (i = 0; i < NWAITERS && !w; i++)
		if (!waiters[i].active)
			w = &waiters[i];
	if (!w)
		return 0;	/* all busy: nothing, on both sides */
	memset(w, 0, sizeof(*w));
	w->active = 1;
	w->write = write;
	w->len = s->len;
	memcpy(w->msg, s->msg, sizeof(w->msg));
	w->mfd = kchm_open(chan_name, write);
	w->mres = write ? kchm_write_begin(w->mfd, s->msg, s->len, &w->mw) :
		kchm_read_begin(w->mfd, w->mbuf, s->len, &w->mw);
	w->mdone = w->mres != -EINPROGRESS;
	if (!w->mdone)
		count(s->op, w->mres);
	if (!model_only) {
		snprintf(path, sizeof(path), "%s/%s", KCHAN_DEV_DIR, chan_name);
		w->rfd = open(path, (write ? O_WRONLY : O_RDONLY) | O_CLOEXEC);
		if (w->rfd < 0 || pthread_create(&w->thread, NULL, waiter_thread, w)) {
			fprintf(stderr, "model_diff: waiter: %s\n", strerror(errno));
			exit(2);
		}
		if (waiter_settle(w, 0) != w->mdone) {
			differ(s, round, "the call sleeps", !atomic_load(&w->done), !w->mdone);
			waiter_abort(w);
			return 1;
		}
	}
	return w->mdone ? waiter_compare(s, round, w, model_only) : 0;
}

/* After every step: a waiter the model completed is collected on both sides. */
static int waiters_check(const struct step *s, unsigned long round, int model_only)
{
	int i, rc = 0;

	for (i = 0; i < NWAITERS && !rc; i++) {
		struct waiter *w = &waiters[i];

		if (!w->active)
			continue;
		if (!w->mdone)
			w->mdone = kchm_waiter_done(w->mw, &w->mres);
		if (w->mdone)
			rc = waiter_compare(s, round, w, model_only);
		else if (!model_only && atomic_load(&w->done))
			rc = differ(s, round, "a waiter the model still has completed", 1, 0);
	}
	return rc;
}

/* A signal for the first sleeping waiter (@all: every one, at the end of a round). */
static int waiters_cancel(const struct step *s, unsigned long round, int model_only, int all)
{
	int i, rc = 0;

	for (i = 0; i < NWAITERS; i++) {
		struct waiter *w = &waiters[i];

		if (!w->active)
			continue;
		w->mres = kchm_waiter_cancel(w->mw);
		w->mdone = 1;
		if (!model_only)
			pthread_kill(w->thread, SIGUSR1);
		rc |= waiter_compare(s, round, w, model_only);
		if (!all)
			break;
	}
	return rc;
}

static void on_usr1(int sig)
{
	(void)sig;	/* only to interrupt a sleeping read or write */
}

/* Remember the hold ids a file got, to ack and return them later. */
static void note(struct round_state *rs, const struct step *s, const struct result *r)
{
	if (s->op == OP_HOLD && r->rc > 0)
		rs->ids[s->file][rs->nids[s->file]++ % NIDS] = r->id;
	if (s->op == OP_RELEASE)
		rs->nids[s->file] = 0;
}

/* One round: a fresh channel on each side, @steps operations. */
static int run_round(unsigned long round, unsigned long steps, int model_only)
{
	static struct round_state rs;
	static struct step s;
	static struct result ra, rb;
	static char name[KCHAN_NAME_MAX];
	uint32_t capacity = below(9), streams = below(2) ? 0 : 1 + below(6);
	static const uint32_t sizes[] = { 1, 2, 7, 64, 255, 256, 1000, 4096 };
	int i, rc = 0;

	memset(&rs, 0, sizeof(rs));
	rs.msg_max = sizes[below(sizeof(sizes) / sizeof(sizes[0]))];
	snprintf(name, sizeof(name), "model-diff-%d-%lu", (int)getpid(), round);
	chan_name = name;
	if (verbose)
		fprintf(stderr, "model_diff: round %lu: capacity %u msg_max %zu streams %u\n",
			round, capacity, rs.msg_max, streams);
	if (!model_only && real.create(name, capacity, rs.msg_max, streams)) {
		fprintf(stderr, "model_diff: cannot create %s\n", name);
		return 2;
	}
	if (model.create(name, capacity, rs.msg_max, streams))
		return 2;
	real.first_id = model.first_id = 0;
	for (i = 0; i < NFILES; i++)
		if ((!model_only && open_file(&real, i)) || open_file(&model, i))
			return 2;
	for (rs.step = 1; rs.step <= steps && !rc; rs.step++) {
		gen_step(&rs, &s);
		if (s.op == OP_WRITE_WAIT || s.op == OP_READ_WAIT || s.op == OP_CANCEL) {
			rc = s.op == OP_CANCEL ? waiters_cancel(&s, round, model_only, 0) :
				waiter_start(&s, round, model_only);
			/* A write may have woken a sleeping reader: collect it first. */
			if (!rc)
				rc = waiters_check(&s, round, model_only);
			if (!rc && !model_only)
				rc = compare_state(&s, round);
			if (!rc)
				rc = check_model_poll(&s, round);
			continue;
		}
		run_step(&model, &s, &rb);
		count(s.op, rb.rc);
		note(&rs, &s, &rb);
		if (model_only) {
			rc = waiters_check(&s, round, 1) || check_model_poll(&s, round);
			continue;
		}
		run_step(&real, &s, &ra);
		rc = compare(&s, round, &ra, &rb) || waiters_check(&s, round, 0) ||
		     compare_state(&s, round) || check_model_poll(&s, round);
	}
	rc |= waiters_cancel(&s, round, model_only, 1);
	for (i = 0; i < NFILES; i++) {
		if (!model_only)
			real.release(real.fd[i]);
	}
	if (!model_only)
		real.destroy(name);
	model.destroy(name);
	return rc;
}

int main(int argc, char **argv)
{
	unsigned long seed = 1, rounds = 50, steps = 400, r;
	int model_only = 0, i, rc;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--model-only"))
			model_only = 1;
		else if (!strcmp(argv[i], "-v"))
			verbose = 1;
		else if (!strcmp(argv[i], "--seed") && i + 1 < argc)
			seed = strtoul(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--rounds") && i + 1 < argc)
			rounds = strtoul(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--steps") && i + 1 < argc)
			steps = strtoul(argv[++i], NULL, 0);
		else {
			fprintf(stderr, "usage: model_diff [--model-only] [--seed N] "
				"[--rounds N] [--steps N] [-v]\n");
			return 2;
		}
	}
	signal(SIGPIPE, SIG_IGN);	/* write()'s EPIPE is what we compare */
	sigaction(SIGUSR1, &(struct sigaction){ .sa_handler = on_usr1 }, NULL);
	rng_state = seed;
	for (r = 1; r <= rounds; r++) {
		rc = run_round(r, steps, model_only);
		if (rc) {
			fprintf(stderr, "model_diff: seed %lu: round %lu %s\n", seed, r,
				rc == 1 ? "differs" : "could not run");
			return rc;
		}
	}
	if (verbose)
		print_hist();
	printf("model_diff: seed %lu: %lu rounds of %lu steps, %s\n", seed, rounds, steps,
	       model_only ? "model only, consistent" : "kernel and model agree");
	return 0;
}
