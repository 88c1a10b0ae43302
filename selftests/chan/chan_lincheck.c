// SPDX-License-Identifier: GPL-2.0
/*
 * chan_lincheck: a workload generator and a history checker for kchan.
 *
 * Each round creates a few channels (buffered, capacity 1..4, and
 * unbuffered), forks worker processes whose threads run random operations
 * on them (write, read, their O_NONBLOCK variants, poll with and without a
 * timeout, KCHAN_IOC_CLOSE, KCHAN_IOC_SEND_BATCH/_RECV_BATCH, held receive
 * with ACK/RETURN and fd release,
 * reads and holds whose buffer is a userfaultfd page so that the kernel's
 * copy-out stalls and then completes or faults, KCHAN_IOC_SELECT over sends
 * and receives of several channels with timeout 0, finite or for ever,
 * KCHAN_IOC_SEND_ONCE on a few streams per channel with resends of seqs
 * already drawn, KCHAN_IOC_STREAM_SEQ with and without KCHAN_STREAM_FORGET;
 * fork(2) of the holder, also while it holds, into a child that shares
 * every file, does a few O_NONBLOCK reads and writes and exits;
 * in some rounds signals (SIGUSR1 without SA_RESTART, SIGUSR2 with it) at
 * the workload threads, small stream tables, and a KCHAN_IOC_DESTROY of one
 * channel mid-round), and records every
 * operation's invocation and response (CLOCK_MONOTONIC) in shared memory.
 * Every message is unique, so a value names one message.  At the end of a
 * round the parent closes every channel, the holders give back what they
 * hold, the stalls are resolved and a drainer reads every channel to end of
 * file; whatever is still blocked a while later is stuck.
 *
 * The checker then decides, per channel (P-compositionality), whether the
 * history agrees with a sequential model of kchan(7): a FIFO queue of unique
 * values with capacity, holds (a held message keeps its slot and keeps end
 * of file away; a return puts it back in seq order), close and end of file.
 * Unique values allow exact checks instead of a search; each rule is a
 * necessary condition of linearizability, so what it reports is real:
 *   phantom, receive-before-send, duplicate (more takes than give-backs + 1),
 *   corrupt payload, ack-count (ACK/RETURN released what the file held);
 *   send-after-close, epipe-before-close, second close;
 *   eof-before-close, eof-lost (accepted, never received, yet end of file),
 *   eof-before-drained (a message taken by an operation invoked after a read
 *   returned 0, or still held/unconsumed then);
 *   fifo (write(a) returned before write(b) began: b's first receive may
 *   not return before a's began, unless a receive that faulted or never
 *   returned may have had a for a while);
 *   unbuffered (a write returned before any receive of its message began);
 *   capacity (messages certainly in the channel: accepted, final receive or
 *   ack not yet invoked, more than capacity; --strict-capacity counts the
 *   overruns a faulting receive explains too);
 *   eagain (an O_NONBLOCK read or a hold while a message was certainly
 *   queued throughout; an O_NONBLOCK write while a slot was certainly free).
 * A select is one record per case on that case's channel, sharing its
 * interval: the case that won has the result of a write or read (a receive
 * at KCHAN_SELECT_CLOSED is end of file), the others "another case won"
 * (-ECANCELED), so every rule above applies per channel, and a losing send
 * whose message is received is a phantom, a losing receive that took a
 * message leaves it accepted and never received (eof-lost); timeout 0 is
 * O_NONBLOCK for the eagain rules.  An interrupted (EINTR) or destroyed
 * (ENODEV) operation is a failed one: the same rules say it had no effect.
 * At-most-once sends, per stream (a forget that may lie between excuses):
 *   send-once (a seq accepted after one at least as high was), send-once-
 *   duplicate (KCHAN_SEND_DUPLICATE with no seq as high accepted before),
 *   send-once-evicted (ENOSPC for a stream whose seq was accepted),
 *   send-once-enospc (ENOSPC with fewer other streams ever sending than the
 *   table holds), stream-seq (a seq never sent, or below one accepted or
 *   read before).
 * Destroy: after-destroy (an operation invoked after it succeeded, an
 *   O_NONBLOCK read or write said EAGAIN, a poll saw no POLLERR|POLLHUP),
 *   destroy-not-woken (blocked across it for longer than the bound + 1 s),
 *   enodev-before-destroy; messages it dropped break no rule.
 * Liveness: a witness is a time the channel was certainly ready in a
 * direction (a poll reported it; a buffered write returned; closed with
 * every accepted message consumed), valid until an operation that can end
 * that readiness begins.  A poll, blocking read or blocking write waiting
 * in that direction for longer than --bound-ms past the witness was not
 * woken (not-woken); a poll that timed out though ready from before its
 * deadline to its return is wrong (poll-timeout); an operation still
 * blocked --grace-ms after the end-of-round close, with every hold given
 * back and every stalled copy resolved, is stuck; a select that timed out
 * though a case's channel was ready from a bound before its deadline to its
 * return is wrong (select-timeout).
 *
 * Odd rounds are scripted ("scenario seeds": a relay's hold returned after
 * the close while readers wait; holds filling capacity-1 channels under
 * pollers and a blocked writer/reader; a stalled copy of the last message
 * across a close), even rounds random, their mix of operations drawn per
 * round ("swarm" testing: kinds switched off, channels without readers or
 * writers, producers or consumers stopping early, short or long holds),
 * which pushes the schedule toward the seams between features.
 *
 * Output is TAP, one test per round.  A violation prints the seed, the
 * rule, and the operations of that channel that overlap the violating ones
 * (those that changed nothing left out; KCHAN_LINCHECK_DUMP=1 keeps them).
 *
 *   chan_lincheck [--seed S] [--duration SEC] [--rounds N] [--round-ms MS]
 *                 [--ops N] [--procs N] [--threads N] [--bound-ms MS]
 *                 [--grace-ms MS] [--no-scenarios] [--scenario N]
 *                 [--strict-capacity] [--verbose]
 * Environment: KCHAN_LINCHECK_SEED, KCHAN_LINCHECK_DURATION, KCHAN_LINCHECK_DUMP.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/userfaultfd.h>

#include <linux/kchan.h>

#define NCH		3
#define MAXREC		(1u << 18)
#define MAXPROC		6
#define MAXTHR		8
#define MSGLEN		16
#define BUFLEN		64
#define INF		UINT64_MAX
#define MS		1000000ULL
#define NSTREAM		6	/* SEND_ONCE streams per channel */
#define NCASE		4	/* select cases */

/* ----- the history ----------------------------------------------------- */

enum { K_SEND = 1, K_RECV, K_HOLD, K_ACK, K_RET, K_CLOSE, K_POLL, K_SSEQ, K_DESTROY };

#define F_NB	 0x01	/* O_NONBLOCK */
#define F_UFFD	 0x02	/* buffer on a userfaultfd page: the copy may stall */
#define F_DRAIN	 0x04	/* the end-of-round drainer */
#define F_REL	 0x08	/* K_RET: given back by close(2) of the holding fd */
#define F_STUCK	 0x10	/* still pending when the end-of-round grace expired */
#define F_END	 0x20	/* end-of-round action */
#define F_BAD	 0x40	/* received bytes do not encode a value */
#define F_BATCH	 0x80	/* one message of KCHAN_IOC_SEND_BATCH / _RECV_BATCH; the
			 * messages a batch did not move have res -ECANCELED */
#define F_SEL	 0x100	/* one case of KCHAN_IOC_SELECT; the cases that did not
			 * win have res -ECANCELED; aux: case | ncases << 8 |
			 * (per case: 8 | op << 2 | ch) << (16 + 4 * case); aux2:
			 * the timeout in ms (INF: for ever) */
#define F_ONCE	 0x200	/* KCHAN_IOC_SEND_ONCE: aux seq, aux2 stream; res
			 * -EALREADY: KCHAN_SEND_DUPLICATE (nothing sent) */
#define F_FORGET 0x400	/* K_SSEQ: with KCHAN_STREAM_FORGET */

struct rec {
	uint8_t kind, ch;
	uint16_t flags;
	int32_t res;		/* SEND/CLOSE: 0 or -errno; RECV/HOLD: 1 value, 0 EOF, -errno;
				 * POLL: revents; ACK/RET: kernel's count */
	uint32_t who;		/* proc << 4 | thread; 0xff.. parent */
	uint32_t aux;		/* POLL: events; ACK/RET: expected count; SEND_ONCE: seq */
	uint64_t inv, resp;	/* resp 0: never returned */
	uint64_t val;
	uint64_t aux2;		/* POLL: timeout ms; HOLD: hold id; SEND_ONCE, SSEQ: stream */
};

struct cfg {
	uint32_t cap[NCH];
	uint8_t noread[NCH], nowrite[NCH];	/* swarm: a channel without readers or writers */
	uint32_t tail;		/* the round's tail: 1 producers stop early, 2 consumers do */
	char name[NCH][KCHAN_NAME_MAX];
	/* general threads' weights */
	uint32_t w_write, w_write_nb, w_read, w_read_nb, w_read_uffd, w_poll_in,
		 w_poll_out, w_probe, w_close, w_sbatch, w_rbatch, w_select, w_once, w_sseq;
	uint32_t streams[NCH];	/* kchan_create.streams (0: the default, 16) */
	uint32_t sig;		/* signals: 0 none, 1 SIGUSR1 (EINTR), 2 SIGUSR2 (SA_RESTART), 3 both */
	int32_t destroy_ch;	/* KCHAN_IOC_DESTROY of this channel mid-round; -1 none */
	uint32_t destroy_ms;
	/* holders' weights */
	uint32_t w_hold, w_hold_uffd, w_ack, w_ret, w_rel, w_hprobe, w_fork;
	uint32_t hold_ms, think_us, stall_ms, stall_min_ms, fault_pct, profile;
	uint32_t scenario, variant;	/* scripted rounds; 0: random */
	uint32_t procs, threads;	/* general threads per process (+1 holder) */
	uint32_t aff[MAXPROC][MAXTHR + 1][NCH];
	uint64_t seed;
	int uffd_ok;
};

struct shared {
	atomic_int stop;
	atomic_uint nrec;
	uint32_t maxops;
	uint64_t t0, close_from, tail_from;
	atomic_uint sseq[NCH][NSTREAM];	/* the highest seq drawn per stream */
	atomic_int gone[NCH];		/* destroyed: the workload mostly leaves it */
	struct cfg cfg;
	struct rec recs[MAXREC];
};

static struct shared *sh;
static int verbose, dump, strict_capacity;
static uint64_t bound_ns = 2000 * MS, grace_ns = 10000 * MS;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static uint64_t R(const struct rec *r) { return r->resp ? r->resp : INF; }

/* splitmix64 */
static uint64_t rnd(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint32_t rn(uint64_t *s, uint32_t n) { return n ? rnd(s) % n : 0; }

static struct rec *rec_new(int kind, int ch, uint32_t who)
{
	unsigned int i = atomic_fetch_add(&sh->nrec, 1);
	struct rec *r;

	if (i >= sh->maxops) {
		atomic_store(&sh->stop, 1);
		return NULL;
	}
	r = &sh->recs[i];
	memset(r, 0, sizeof(*r));
	r->kind = kind;
	r->ch = ch;
	r->who = who;
	return r;
}

static void rec_begin(struct rec *r) { __atomic_store_n(&r->inv, now_ns(), __ATOMIC_SEQ_CST); }
static void rec_end(struct rec *r, int res)
{
	uint64_t t = now_ns();

	r->res = res;
	__atomic_store_n(&r->resp, t ? t : 1, __ATOMIC_SEQ_CST);
}

static void msg_encode(char *buf, uint64_t v)
{
	uint64_t x = ~v;

	memcpy(buf, &v, 8);
	memcpy(buf + 8, &x, 8);
}

static bool msg_decode(const char *buf, ssize_t n, uint64_t *v)
{
	uint64_t x;

	memcpy(v, buf, 8);
	memcpy(&x, buf + 8, 8);
	return n == MSGLEN && x == ~*v;
}

/* ----- userfaultfd stalls ---------------------------------------------- */

struct stall {
	int used, state, fault, done;	/* state 0 armed, 1 faulted, 2 resolved */
	int uffd;
	char *page;
	uint64_t due;
};

#define NSTALL 32
static struct stall stalls[NSTALL];
static pthread_mutex_t stall_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_int workers_live;
static long pagesz;
static char *zpage;

static int stall_get(void)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = { 0 };
	int i, uffd;
	char *p;

	uffd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (uffd < 0)
		return -1;
	if (ioctl(uffd, UFFDIO_API, &api)) {
		close(uffd);
		return -1;
	}
	p = mmap(NULL, pagesz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		close(uffd);
		return -1;
	}
	reg.range.start = (uintptr_t)p;
	reg.range.len = pagesz;
	reg.mode = UFFDIO_REGISTER_MODE_MISSING;
	if (ioctl(uffd, UFFDIO_REGISTER, &reg)) {
		munmap(p, pagesz);
		close(uffd);
		return -1;
	}
	pthread_mutex_lock(&stall_lock);
	for (i = 0; i < NSTALL; i++)
		if (!stalls[i].used)
			break;
	if (i == NSTALL) {
		pthread_mutex_unlock(&stall_lock);
		munmap(p, pagesz);
		close(uffd);
		return -1;
	}
	stalls[i] = (struct stall){ .used = 1, .uffd = uffd, .page = p };
	pthread_mutex_unlock(&stall_lock);
	return i;
}

static void stall_put(int i)
{
	pthread_mutex_lock(&stall_lock);
	stalls[i].done = 1;
	pthread_mutex_unlock(&stall_lock);
}

static void *resolver(void *arg)
{
	uint64_t seed = (uintptr_t)arg;
	bool stopped = false;

	for (;;) {
		int i, active = 0;
		uint64_t t = now_ns();
		bool stop_now = !stopped && atomic_load(&sh->stop);

		/* The round ends: the parent closes, the drainer reads to end of
		 * file.  Copies stalled now stay stalled across that a while. */
		stopped |= stop_now;

		pthread_mutex_lock(&stall_lock);
		for (i = 0; i < NSTALL; i++) {
			struct stall *s = &stalls[i];
			struct uffd_msg m;

			if (!s->used)
				continue;
			active++;
			if (s->state == 0 && read(s->uffd, &m, sizeof(m)) == sizeof(m) &&
			    m.event == UFFD_EVENT_PAGEFAULT) {
				s->state = 1;
				s->due = t + (uint64_t)(sh->cfg.stall_min_ms +
							rn(&seed, sh->cfg.stall_ms + 1)) * MS;
				s->fault = rn(&seed, 100) < sh->cfg.fault_pct;
			}
			if (s->state == 1 && stop_now && !sh->cfg.scenario)
				s->due = t + (uint64_t)(100 + rn(&seed, 400)) * MS;
			if (s->state == 1 && t >= s->due) {
				if (s->fault) {
					/* The copy's retry finds no access: EFAULT. */
					mmap(s->page, pagesz, PROT_NONE,
					     MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
					close(s->uffd);
					s->uffd = -1;
				} else {
					struct uffdio_copy c = {
						.dst = (uintptr_t)s->page, .src = (uintptr_t)zpage,
						.len = pagesz,
					};
					ioctl(s->uffd, UFFDIO_COPY, &c);
				}
				s->state = 2;
			}
			if (s->done) {
				if (s->uffd >= 0)
					close(s->uffd);
				munmap(s->page, pagesz);
				s->used = 0;
			}
		}
		pthread_mutex_unlock(&stall_lock);
		if (!active && !atomic_load(&workers_live))
			return NULL;
		(void)stopped;
		usleep(2000);
	}
}

/* ----- workers ----------------------------------------------------------- */

static int open_ch(int c, int flags)
{
	char path[128];

	snprintf(path, sizeof(path), KCHAN_DEV_DIR "/%s", sh->cfg.name[c]);
	return open(path, flags | O_CLOEXEC);
}

struct thr {
	uint32_t who, proc, idx;
	uint64_t seed;
	uint32_t seq;
	int fd_rw[NCH], fd_nb[NCH], fd_ro[NCH], fd_wo[NCH], fd_hold[NCH];
	/* holder: what each hold fd holds, oldest id first */
	int nheld[NCH];
	uint64_t hid[NCH][64], hval[NCH][64];
};

static int pick_ch(struct thr *t)
{
	uint32_t *a = sh->cfg.aff[t->proc][t->idx], sum = 0, x;
	int c;

	for (c = 0; c < NCH; c++)
		sum += a[c];
	if (!sum)
		c = rn(&t->seed, NCH);
	else
		for (x = rn(&t->seed, sum), c = 0; c < NCH - 1; c++) {
			if (x < a[c])
				break;
			x -= a[c];
		}
	/* a destroyed channel: now and then still (ENODEV), else another */
	if (atomic_load(&sh->gone[c]) && rn(&t->seed, 20))
		c = (c + 1 + rn(&t->seed, NCH - 1)) % NCH;
	return c;
}

static int pick(uint64_t *s, const uint32_t *w, int n)
{
	uint32_t sum = 0, x;
	int i;

	for (i = 0; i < n; i++)
		sum += w[i];
	if (!sum)
		return -1;
	x = rn(s, sum);
	for (i = 0; i < n; i++) {
		if (x < w[i])
			return i;
		x -= w[i];
	}
	return -1;
}

static uint64_t new_val(struct thr *t)
{
	return ((sh->cfg.seed & 0xffff) << 48) | ((uint64_t)t->who << 32) | ++t->seq;
}

static void do_write(struct thr *t, int c, bool nb)
{
	char buf[MSGLEN];
	struct rec *r = rec_new(K_SEND, c, t->who);
	ssize_t n;

	if (!r)
		return;
	r->val = new_val(t);
	r->flags = nb ? F_NB : 0;
	msg_encode(buf, r->val);
	rec_begin(r);
	n = write(nb ? t->fd_nb[c] : t->fd_rw[c], buf, MSGLEN);
	rec_end(r, n == MSGLEN ? 0 : n < 0 ? -errno : -EIO);
}

/* A batch: the messages of one call share its interval. */
static void do_send_batch(struct thr *t, int c, bool nb)
{
	struct kchan_batch b = { .size = sizeof(b) };
	struct kchan_msgvec mv[4];
	char bufs[4][MSGLEN];
	struct rec *r[4];
	int k = 1 + rn(&t->seed, 4), i, n, e;
	uint64_t inv, resp;

	for (i = 0; i < k; i++) {
		r[i] = rec_new(K_SEND, c, t->who);
		if (!r[i])
			break;
		r[i]->val = new_val(t);
		r[i]->flags = F_BATCH | (nb ? F_NB : 0);
		msg_encode(bufs[i], r[i]->val);
		mv[i] = (struct kchan_msgvec){ .buf = (uintptr_t)bufs[i], .len = MSGLEN };
	}
	if (!(k = i))
		return;
	b.msgs = (uintptr_t)mv;
	b.count = k;
	inv = now_ns();
	for (i = 0; i < k; i++)
		r[i]->inv = inv;
	n = ioctl(nb ? t->fd_nb[c] : t->fd_rw[c], KCHAN_IOC_SEND_BATCH, &b);
	e = n < 0 ? -errno : 0;
	resp = now_ns();
	for (i = 0; i < k; i++) {
		r[i]->res = n >= 0 ? (i < n ? 0 : -ECANCELED) : (i ? -ECANCELED : e);
		r[i]->resp = resp;
	}
}

static void do_recv_batch(struct thr *t, int c, bool nb)
{
	struct kchan_batch b = { .size = sizeof(b) };
	struct kchan_msgvec mv[4];
	char bufs[4][BUFLEN];
	struct rec *r[4];
	int k = 1 + rn(&t->seed, 4), i, n, e, fd = nb ? t->fd_nb[c] : t->fd_rw[c];
	uint64_t inv, resp;

	for (i = 0; i < k; i++) {
		r[i] = rec_new(K_RECV, c, t->who);
		if (!r[i])
			break;
		r[i]->flags = F_BATCH | (nb ? F_NB : 0);
		mv[i] = (struct kchan_msgvec){ .buf = (uintptr_t)bufs[i], .len = BUFLEN };
	}
	if (!(k = i))
		return;
	b.msgs = (uintptr_t)mv;
	b.count = k;
	inv = now_ns();
	for (i = 0; i < k; i++)
		r[i]->inv = inv;
	n = ioctl(fd, KCHAN_IOC_RECV_BATCH, &b);
	e = n < 0 ? -errno : 0;
	resp = now_ns();
	for (i = 0; i < k; i++) {
		if (n > 0 && i < n) {
			if (!msg_decode(bufs[i], mv[i].len, &r[i]->val))
				r[i]->flags |= F_BAD;
			r[i]->res = 1;
		} else {
			r[i]->res = i ? -ECANCELED : n == 0 ? 0 : e;
		}
		r[i]->resp = resp;
	}
}

/*
 * KCHAN_IOC_SELECT over up to NCASE cases of the round's channels (never a
 * send and a receive on one channel: a select does not meet itself), each
 * case recorded on its channel; timeout 0, finite or for ever.
 */
static int ctl_fd = -1;	/* a worker's control node (KCHAN_CONTROL_PATH), for selects */

static bool tail_now(void)
{
	return sh->cfg.tail && now_ns() >= sh->tail_from;
}

static bool may_send(struct thr *t, int c)
{
	(void)t;
	return !sh->cfg.nowrite[c] && !(tail_now() && sh->cfg.tail == 1);
}

static bool may_recv(struct thr *t, int c)
{
	(void)t;
	return !sh->cfg.noread[c] && !(tail_now() && sh->cfg.tail == 2);
}

static void do_select(struct thr *t)
{
	struct kchan_select s = { .size = sizeof(s), .case_size = sizeof(struct kchan_select_case) };
	struct kchan_select_case cs[NCASE];
	char bufs[NCASE][BUFLEN];
	struct rec *r[NCASE];
	int n = 1 + rn(&t->seed, NCASE), k = 0, i, ret, e, dir[NCH] = { 0, 0, 0 };
	uint32_t map = 0, x = rn(&t->seed, 10);
	uint64_t inv, resp, tmo;
	int64_t tns;

	if (x < 3) {
		tns = 0;
		tmo = 0;
	} else if (x < 7) {
		tmo = x < 6 ? 10 + rn(&t->seed, 400) : 2500 + rn(&t->seed, 2500);
		tns = (int64_t)tmo * (int64_t)MS;
	} else {
		tns = -1;
		tmo = INF;
	}
	for (i = 0; i < n; i++) {
		int c = pick_ch(t), op = rn(&t->seed, 2) ? KCHAN_SELECT_SEND : KCHAN_SELECT_RECV;

		if (dir[c] && dir[c] != op)
			op = dir[c];
		if (op == KCHAN_SELECT_SEND && !may_send(t, c))
			op = KCHAN_SELECT_RECV;
		if (op == KCHAN_SELECT_RECV && !may_recv(t, c))
			op = KCHAN_SELECT_SEND;
		if ((op == KCHAN_SELECT_SEND && !may_send(t, c)) ||
		    (op == KCHAN_SELECT_RECV && !may_recv(t, c)) || (dir[c] && dir[c] != op))
			continue;
		dir[c] = op;
		map |= (8u | (op == KCHAN_SELECT_SEND) << 2 | c) << (4 * k);
		cs[k] = (struct kchan_select_case){ .fd = t->fd_rw[c], .op = op,
						    .buf = (uintptr_t)bufs[k], .len = BUFLEN };
		k++;
	}
	if (!k)
		return;
	for (i = 0; i < k; i++) {
		int c = (map >> (4 * i)) & 3;

		r[i] = rec_new(cs[i].op == KCHAN_SELECT_SEND ? K_SEND : K_RECV, c, t->who);
		if (!r[i])
			return;	/* the history is full: the round stops */
		r[i]->flags = F_SEL | (tns == 0 ? F_NB : 0);
		r[i]->aux = i | k << 8 | map << 16;
		r[i]->aux2 = tmo;
		if (cs[i].op == KCHAN_SELECT_SEND) {
			r[i]->val = new_val(t);
			msg_encode(bufs[i], r[i]->val);
			cs[i].len = MSGLEN;
		}
	}
	s.cases = (uintptr_t)cs;
	s.ncases = k;
	s.timeout_ns = tns;
	s.index = -1;
	inv = now_ns();
	for (i = 0; i < k; i++)
		r[i]->inv = inv;
	ret = ioctl(ctl_fd, KCHAN_IOC_SELECT, &s);
	e = ret < 0 ? -errno : 0;
	resp = now_ns();
	for (i = 0; i < k; i++) {
		struct rec *q = r[i];

		if (!ret && i == s.index) {
			if (q->kind == K_SEND)
				q->res = 0;
			else if (s.result_flags & KCHAN_SELECT_CLOSED)
				q->res = 0;
			else {
				if (!msg_decode(bufs[i], s.result_len, &q->val))
					q->flags |= F_BAD;
				q->res = 1;
			}
		} else if (!ret) {
			q->res = -ECANCELED;
		} else if (e == -EAGAIN || e == -ETIMEDOUT || e == -EINTR ||
			   s.index < 0 || s.index >= k) {
			q->res = e;
		} else {
			q->res = i == s.index ? e : -ECANCELED;
		}
		q->resp = resp;
	}
	if (!ret && (s.index < 0 || s.index >= k)) {
		/* no case won, yet it succeeded: recorded as an impossible result */
		r[0]->res = 1;
		r[0]->flags |= F_BAD;
	}
}

/* KCHAN_IOC_SEND_ONCE on one of the channel's streams: a new seq, or now
 * and then one already drawn (a relay's resend after a restart). */
static uint64_t stream_id(int c, int k)
{
	return ((sh->cfg.seed & 0xffffff) << 16) | (uint64_t)c << 8 | (k + 1);
}

static void do_once(struct thr *t, int c, bool nb)
{
	struct kchan_send_once so = { .size = sizeof(so) };
	char buf[MSGLEN];
	struct rec *r;
	int k = rn(&t->seed, NSTREAM), ret;
	uint32_t seq;

	if (rn(&t->seed, 10) < 4 && (seq = atomic_load(&sh->sseq[c][k])) > 0)
		seq = seq > 3 ? seq - rn(&t->seed, 3) : 1 + rn(&t->seed, seq);
	else
		seq = atomic_fetch_add(&sh->sseq[c][k], 1) + 1;
	r = rec_new(K_SEND, c, t->who);
	if (!r)
		return;
	r->val = new_val(t);
	r->flags = F_ONCE | (nb ? F_NB : 0);
	r->aux = seq;
	r->aux2 = stream_id(c, k);
	msg_encode(buf, r->val);
	so.buf = (uintptr_t)buf;
	so.len = MSGLEN;
	so.stream = r->aux2;
	so.seq = seq;
	rec_begin(r);
	ret = ioctl(nb ? t->fd_nb[c] : t->fd_rw[c], KCHAN_IOC_SEND_ONCE, &so);
	rec_end(r, ret < 0 ? -errno : (so.result_flags & KCHAN_SEND_DUPLICATE) ? -EALREADY : 0);
}

static void do_sseq(struct thr *t, int c, bool forget)
{
	struct kchan_stream_seq q = { .size = sizeof(q) };
	struct rec *r = rec_new(K_SSEQ, c, t->who);
	int ret;

	if (!r)
		return;
	r->flags = forget ? F_FORGET : 0;
	r->aux2 = q.stream = stream_id(c, rn(&t->seed, NSTREAM));
	q.flags = forget ? KCHAN_STREAM_FORGET : 0;
	rec_begin(r);
	ret = ioctl(t->fd_rw[c], KCHAN_IOC_STREAM_SEQ, &q);
	r->val = ret ? 0 : q.seq;
	rec_end(r, ret < 0 ? -errno : 0);
}

static void got(struct rec *r, const char *buf, ssize_t n)
{
	if (n > 0) {
		if (!msg_decode(buf, n, &r->val))
			r->flags |= F_BAD;
		rec_end(r, 1);
	} else {
		rec_end(r, n < 0 ? -errno : 0);
	}
}

static void do_read(struct thr *t, int c, int fd, uint16_t flags)
{
	char lbuf[BUFLEN], *buf = lbuf;
	int s = -1;
	struct rec *r;
	ssize_t n;

	if (flags & F_UFFD) {
		s = stall_get();
		if (s < 0)
			flags &= ~F_UFFD;
		else
			buf = stalls[s].page;
	}
	r = rec_new(K_RECV, c, t->who);
	if (!r) {
		if (s >= 0)
			stall_put(s);
		return;
	}
	r->flags = flags;
	rec_begin(r);
	n = read(fd, buf, BUFLEN);
	if (n > 0 && s >= 0)
		memcpy(lbuf, buf, n);
	got(r, lbuf, n);
	if (s >= 0)
		stall_put(s);
}

static void do_poll(struct thr *t, int c, int fd, short ev, int timeout)
{
	struct pollfd p = { .fd = fd, .events = ev };
	struct rec *r = rec_new(K_POLL, c, t->who);
	int n;

	if (!r)
		return;
	r->aux = ev;
	r->aux2 = timeout;
	rec_begin(r);
	n = poll(&p, 1, timeout);
	rec_end(r, n < 0 ? -errno : n ? p.revents : 0);
}

static void do_close(struct thr *t, int c, uint16_t flags)
{
	struct rec *r = rec_new(K_CLOSE, c, t->who);
	int fd;

	if (!r)
		return;
	r->flags = flags;
	fd = t->fd_rw[c];
	rec_begin(r);
	rec_end(r, ioctl(fd, KCHAN_IOC_CLOSE) ? -errno : 0);
}

static void do_hold(struct thr *t, int c, bool uffd)
{
	struct kchan_hold h = { .size = sizeof(h) };
	char lbuf[BUFLEN], *buf = lbuf;
	int s = -1, ret;
	struct rec *r;

	if (t->nheld[c] >= 64)
		return;
	if (uffd) {
		s = stall_get();
		if (s >= 0)
			buf = stalls[s].page;
	}
	r = rec_new(K_HOLD, c, t->who);
	if (!r) {
		if (s >= 0)
			stall_put(s);
		return;
	}
	r->flags = s >= 0 ? F_UFFD : 0;
	h.buf = (uintptr_t)buf;
	h.len = BUFLEN;
	rec_begin(r);
	ret = ioctl(t->fd_hold[c], KCHAN_IOC_HOLD, &h);
	if (ret > 0 && s >= 0)
		memcpy(lbuf, buf, ret);
	got(r, lbuf, ret < 0 ? -1 : ret);
	if (s >= 0)
		stall_put(s);
	if (ret > 0) {
		r->aux2 = h.id;
		t->hid[c][t->nheld[c]] = h.id;
		t->hval[c][t->nheld[c]] = r->val;
		t->nheld[c]++;
	}
}

/* Record the values [from, to) of c's holds as acked/returned over [inv, resp]. */
static void give_recs(struct thr *t, int c, int kind, int from, int to,
		      uint64_t inv, uint64_t resp, int res, uint16_t flags)
{
	int i;

	for (i = from; i < to; i++) {
		struct rec *r = rec_new(kind, c, t->who);

		if (!r)
			return;
		r->val = t->hval[c][i];
		r->flags = flags;
		r->aux = to - from;
		r->inv = inv;
		r->res = res;
		r->resp = resp;
	}
}

static int do_ackret(struct thr *t, int c, bool ack, uint16_t flags)
{
	struct kchan_ack a = { .size = sizeof(a) };
	int n = t->nheld[c], k, ret;
	uint64_t inv, resp;

	if (!n)
		return 0;
	k = 1 + rn(&t->seed, n);	/* ack the oldest k, or return the newest k */
	a.id = ack ? t->hid[c][k - 1] : t->hid[c][n - k];
	inv = now_ns();
	ret = ioctl(t->fd_hold[c], ack ? KCHAN_IOC_ACK : KCHAN_IOC_RETURN, &a);
	resp = now_ns();
	if (ret) {
		give_recs(t, c, ack ? K_ACK : K_RET, ack ? 0 : n - k, ack ? k : n,
			  inv, resp, -errno, flags);
		return -1;
	}
	give_recs(t, c, ack ? K_ACK : K_RET, ack ? 0 : n - k, ack ? k : n,
		  inv, resp, a.count, flags);
	if (ack) {
		memmove(t->hid[c], t->hid[c] + k, (n - k) * 8);
		memmove(t->hval[c], t->hval[c] + k, (n - k) * 8);
	}
	t->nheld[c] = n - k;
	return 0;
}

static void do_release(struct thr *t, int c, uint16_t flags)
{
	uint64_t inv, resp;
	int n = t->nheld[c];

	inv = now_ns();
	close(t->fd_hold[c]);
	resp = now_ns();
	give_recs(t, c, K_RET, 0, n, inv, resp, n, flags | F_REL);
	t->nheld[c] = 0;
	t->fd_hold[c] = open_ch(c, O_RDONLY);
}

static void think(struct thr *t)
{
	if (sh->cfg.think_us)
		usleep(rn(&t->seed, sh->cfg.think_us));
}

static const int poll_ms[] = { 200, 1000, 4000, 8000 };

static void *general(void *arg)
{
	struct thr *t = arg;
	const struct cfg *g = &sh->cfg;
	uint32_t w[14] = { g->w_write, g->w_write_nb, g->w_read, g->w_read_nb, g->w_read_uffd,
			   g->w_poll_in, g->w_poll_out, g->w_probe, g->w_close, g->w_sbatch, g->w_rbatch,
			   g->w_select, g->w_once, g->w_sseq };

	if (!g->uffd_ok)
		w[4] = 0;
	while (!atomic_load(&sh->stop)) {
		int c = pick_ch(t), op = pick(&t->seed, w, 14);

		if ((!may_recv(t, c) && ((op >= 2 && op <= 4) || op == 10)) ||
		    (!may_send(t, c) && (op <= 1 || op == 9 || op == 12)))
			op = 7;	/* a probe instead */

		switch (op) {
		case 0: do_write(t, c, false); break;
		case 1: do_write(t, c, true); break;
		case 2: do_read(t, c, t->fd_rw[c], 0); break;
		case 3: do_read(t, c, t->fd_nb[c], F_NB); break;
		case 4: do_read(t, c, t->fd_rw[c], F_UFFD); break;
		case 5: do_poll(t, c, t->fd_ro[c], POLLIN, poll_ms[rn(&t->seed, 4)]); break;
		case 6: do_poll(t, c, t->fd_wo[c], POLLOUT, poll_ms[rn(&t->seed, 4)]); break;
		case 7: do_poll(t, c, t->fd_rw[c], POLLIN | POLLOUT, 0); break;
		case 8:
			if (now_ns() >= sh->close_from)
				do_close(t, c, 0);
			break;
		case 9: do_send_batch(t, c, rn(&t->seed, 2)); break;
		case 10: do_recv_batch(t, c, rn(&t->seed, 2)); break;
		case 11: do_select(t); break;
		case 12: do_once(t, c, rn(&t->seed, 2) == 0); break;
		case 13: do_sseq(t, c, rn(&t->seed, 8) == 0); break;
		default: usleep(1000); break;
		}
		think(t);
	}
	atomic_fetch_sub(&workers_live, 1);
	return NULL;
}

static void holder_finish(struct thr *t);
static void do_fork(struct thr *t);

/*
 * fork(2) while holding: the child shares every file, the holding ones
 * included, does a few O_NONBLOCK reads and writes and exits.  Its exit
 * closes its copies of the files, which must release nothing: the holds
 * belong to the open file, which the holder still has.
 */
static void do_fork(struct thr *t)
{
	pid_t pid;

	if (t->idx >= 8)
		return;
	t->seq += 4;	/* the child's values: who | 8, seqs after the last child's */
	pid = fork();
	if (pid == 0) {
		struct thr ch = *t;
		int n = 1 + rn(&ch.seed, 3), i, c;

		ch.seq -= 4;

		ch.who = t->who | 8;
		for (i = 0; i < n; i++) {
			c = pick_ch(&ch);
			if (rn(&ch.seed, 2) && may_send(&ch, c))
				do_write(&ch, c, true);
			else if (may_recv(&ch, c))
				do_read(&ch, c, ch.fd_nb[c], F_NB);
		}
		_exit(0);
	}
	if (pid > 0)
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
}

static void *holder(void *arg)
{
	struct thr *t = arg;
	const struct cfg *g = &sh->cfg;
	uint32_t w[7] = { g->w_hold, g->w_hold_uffd, g->w_ack, g->w_ret, g->w_rel, g->w_hprobe,
			  g->w_fork };
	int c;

	if (!g->uffd_ok)
		w[1] = 0;
	while (!atomic_load(&sh->stop)) {
		int op = pick(&t->seed, w, 7);

		c = pick_ch(t);
		switch (op) {
		case 0:
		case 1:
			do_hold(t, c, op == 1);
			if (t->nheld[c] && g->hold_ms) {
				/* a relay's latency: sleep, in small steps, holding */
				uint64_t until = now_ns() + (uint64_t)rn(&t->seed, g->hold_ms) * MS;

				while (!atomic_load(&sh->stop) && now_ns() < until) {
					usleep(5000);
					if (g->w_fork && !rn(&t->seed, 40))
						do_fork(t);	/* while holding */
				}
			}
			break;
		case 2: do_ackret(t, c, true, 0); break;
		case 3: do_ackret(t, c, false, 0); break;
		case 4: if (t->nheld[c]) do_release(t, c, 0); break;
		case 5: do_poll(t, c, t->fd_rw[c], POLLIN | POLLOUT, 0); break;
		case 6: do_fork(t); break;
		default: usleep(1000); break;
		}
		think(t);
	}
	holder_finish(t);
	atomic_fetch_sub(&workers_live, 1);
	return NULL;
}

/* End of round: everything held goes, one way or another. */
static void holder_finish(struct thr *t)
{
	int c;

	for (c = 0; c < NCH; c++) {
		if (!t->nheld[c])
			continue;
		switch (rn(&t->seed, 3)) {
		case 0: break;	/* acked below */
		case 1: do_release(t, c, F_END); break;
		default:
			while (t->nheld[c] && !do_ackret(t, c, false, F_END))
				;
			break;
		}
		while (t->nheld[c] && !do_ackret(t, c, true, F_END))
			;
		t->nheld[c] = 0;	/* a destroyed channel (ENODEV) freed them */
	}
}

/*
 * Scripted rounds ("scenario seeds"): the same operations, recorded and
 * checked the same way, in an order that visits a seam on purpose.  The
 * checker knows nothing of them.
 *  1. a relay holds the one message of a buffered channel, two readers
 *     wait, the channel is closed, the hold goes back (KCHAN_IOC_RETURN,
 *     close(2) of the holding fd, or its copy-out faults);
 *  2. holds fill capacity-1 channels; a poller waits for POLLIN and a
 *     writer blocks on one, a poller waits for POLLOUT and a reader blocks
 *     on the other; a prober polls both;
 *  3. a reader's copy of the last message stalls (userfaultfd), the
 *     channel is closed, a second reader reads, the copy faults, a third
 *     reader reads.
 */
static bool at(uint32_t ms)
{
	uint64_t until = sh->t0 + (uint64_t)ms * MS;

	while (now_ns() < until) {
		if (atomic_load(&sh->stop))
			return false;
		usleep(2000);
	}
	return true;
}

static void probe_until(struct thr *t, int c0, int c1, uint32_t ms)
{
	while (!atomic_load(&sh->stop) && now_ns() < sh->t0 + (uint64_t)ms * MS) {
		do_poll(t, c0, t->fd_rw[c0], POLLIN | POLLOUT, 0);
		if (c1 >= 0)
			do_poll(t, c1, t->fd_rw[c1], POLLIN | POLLOUT, 0);
		usleep(50000);
	}
}

/* Hold on c until something is held, or until ms into the round. */
static void hold_retry(struct thr *t, int c, bool uffd, uint32_t ms)
{
	do {
		do_hold(t, c, uffd);
		if (t->nheld[c])
			return;
		usleep(20000);
	} while (now_ns() < sh->t0 + (uint64_t)ms * MS && !atomic_load(&sh->stop));
}

static void *scripted(void *arg)
{
	struct thr *t = arg;
	uint32_t sc = sh->cfg.scenario, var = sh->cfg.variant, p = t->proc, i = t->idx;

	if (sc == 1) {
		if (p == 1 && i == 1 && at(0))
			do_write(t, 0, false);
		if (p == 1 && i == 0 && at(300)) {
			/* variant 2: the hold's copy stalls, then faults */
			hold_retry(t, 0, var == 2, 800);
			if (at(1800)) {
				if (var == 0)
					do_ackret(t, 0, false, 0);
				else if (var == 1)
					do_release(t, 0, 0);
			}
		}
		if (p == 2 && i >= 1 && i <= 2 && at(900))
			do_read(t, 0, t->fd_rw[0], 0);
		if (p == 3 && i == 1 && at(1300))
			do_close(t, 0, 0);
		if (p == 3 && i == 2)
			probe_until(t, 0, -1, 3000);
	} else if (sc == 2) {
		if (p == 1 && i == 1 && at(0))
			do_write(t, 0, false);
		if (p == 1 && i == 2 && at(0))
			do_write(t, 1, false);
		if (p == 1 && i == 0 && at(300)) {
			hold_retry(t, 0, false, 500);
			hold_retry(t, 1, false, 500);
			if (at(4500)) {
				do_ackret(t, 0, true, 0);
				do_ackret(t, 1, true, 0);
			}
		}
		if (p == 2 && i == 1 && at(600))
			do_poll(t, 0, t->fd_ro[0], POLLIN, 8000);
		if (p == 2 && i == 2 && at(600))
			do_poll(t, 1, t->fd_wo[1], POLLOUT, 8000);
		if (p == 2 && i == 3 && at(1000))
			do_write(t, 0, false);	/* blocks: the held message fills the channel */
		if (p == 3 && i == 1 && at(1000))
			do_read(t, 1, t->fd_rw[1], 0);	/* blocks: nothing queued */
		if (p == 3 && i == 2)
			probe_until(t, 0, 1, 5000);
	} else if (sc == 3) {
		if (p == 1 && i == 1 && at(0))
			do_write(t, 0, false);
		if (p == 2 && i == 1 && at(300))
			do_read(t, 0, t->fd_rw[0], F_UFFD);	/* stalls from ~300 ms to ~1500 ms, faults */
		if (p == 3 && i == 1 && at(700))
			do_close(t, 0, 0);
		if (p == 2 && i == 2 && at(900))
			do_read(t, 0, t->fd_rw[0], 0);
		if (p == 3 && i == 2 && at(2500))
			do_read(t, 0, t->fd_rw[0], 0);
		if (p == 3 && i == 3)
			probe_until(t, 0, -1, 3000);
	}
	while (!atomic_load(&sh->stop))
		usleep(5000);
	if (i == 0)
		holder_finish(t);
	atomic_fetch_sub(&workers_live, 1);
	return NULL;
}

/*
 * Signals: a thread of each worker process sends SIGUSR1 (a handler without
 * SA_RESTART: blocked calls fail with EINTR) or SIGUSR2 (SA_RESTART: they
 * restart) to the process's workload threads now and then.  The resolver
 * of stalled copies is never signalled.
 */
static pthread_t sig_tid[MAXTHR + 1];
static int sig_n;
static atomic_int sig_count;

static void on_sig(int sig)
{
	(void)sig;
	atomic_fetch_add(&sig_count, 1);
}

static void *signaler(void *arg)
{
	uint64_t seed = (uintptr_t)arg;

	while (!atomic_load(&sh->stop)) {
		int sig = sh->cfg.sig == 1 ? SIGUSR1 : sh->cfg.sig == 2 ? SIGUSR2 :
			  rn(&seed, 2) ? SIGUSR1 : SIGUSR2;

		usleep(5000 + rn(&seed, 150000));
		if (!atomic_load(&sh->stop))
			pthread_kill(sig_tid[rn(&seed, sig_n)], sig);
	}
	return NULL;
}

static void worker(uint32_t proc)
{
	struct sigaction sa = { .sa_handler = on_sig };
	pthread_t st;
	struct thr th[MAXTHR + 1];
	pthread_t tid[MAXTHR + 1], rt;
	uint32_t i, n = sh->cfg.threads + 1;
	int c;

	signal(SIGPIPE, SIG_IGN);
	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGUSR2, &sa, NULL);
	ctl_fd = open(KCHAN_CONTROL_PATH, O_RDWR | O_CLOEXEC);
	alarm(600);
	memset(th, 0, sizeof(th));
	atomic_store(&workers_live, n);
	for (i = 0; i < n; i++) {
		struct thr *t = &th[i];

		t->who = proc << 4 | i;
		t->proc = proc;
		t->idx = i;
		t->seed = sh->cfg.seed * 1000003 + t->who * 7919 + 1;
		for (c = 0; c < NCH; c++) {
			t->fd_rw[c] = open_ch(c, O_RDWR);
			t->fd_nb[c] = open_ch(c, O_RDWR | O_NONBLOCK);
			t->fd_ro[c] = open_ch(c, O_RDONLY);
			t->fd_wo[c] = open_ch(c, O_WRONLY);
			t->fd_hold[c] = open_ch(c, O_RDONLY);
		}
	}
	pthread_create(&rt, NULL, resolver, (void *)(uintptr_t)(sh->cfg.seed ^ proc));
	for (i = 0; i < n; i++)
		pthread_create(&tid[i], NULL, sh->cfg.scenario ? scripted :
			       i == 0 ? holder : general, &th[i]);
	memcpy(sig_tid, tid, sizeof(tid));
	sig_n = n;
	if (sh->cfg.sig)
		pthread_create(&st, NULL, signaler, (void *)(uintptr_t)(sh->cfg.seed * 31 + proc));
	if (sh->cfg.sig)
		pthread_join(st, NULL);
	for (i = 0; i < n; i++)
		pthread_join(tid[i], NULL);
	pthread_join(rt, NULL);
	_exit(0);
}

/* The end of a round: read every channel to end of file. */
static void drainer(void)
{
	struct thr t = { .who = 0xfe };
	int c;

	signal(SIGPIPE, SIG_IGN);
	alarm(600);
	for (c = 0; c < NCH; c++) {
		int fd = open_ch(c, O_RDONLY);

		if (fd < 0)	/* destroyed */
			continue;
		for (;;) {
			char buf[BUFLEN];
			struct rec *r = rec_new(K_RECV, c, t.who);
			ssize_t n;

			if (!r)
				break;
			r->flags = F_DRAIN;
			rec_begin(r);
			n = read(fd, buf, BUFLEN);
			got(r, buf, n);
			if (n <= 0)
				break;
		}
		close(fd);
	}
	_exit(0);
}

/* ----- the checker -------------------------------------------------------- */

struct vinfo {
	uint64_t val;
	int send;		/* record index, -1 none */
	int ntake, ngive, nconsume, ctake, cgive;
	int *take, *give;
	int consume;		/* RECV of it, or ACK of it; -1 */
};

static struct rec *H;		/* the round's records */
static unsigned int NH;
static struct vinfo *V;
static unsigned int VCAP, NV;
static int nviol, round_no;
static uint64_t g_seed;

static struct vinfo *vget(uint64_t val, bool add)
{
	unsigned int h = (unsigned int)((val * 0x9e3779b97f4a7c15ULL) >> 40) & (VCAP - 1);

	while (V[h].send != -2) {
		if (V[h].val == val)
			return &V[h];
		h = (h + 1) & (VCAP - 1);
	}
	if (!add)
		return NULL;
	V[h].val = val;
	V[h].send = -1;
	V[h].consume = -1;
	NV++;
	return &V[h];
}

static const char *vname(uint64_t v, char *b)
{
	uint32_t who = (v >> 32) & 0xffff;

	if (v == 0)
		return "-";
	sprintf(b, "p%u.t%u#%u", who >> 4, who & 15, (uint32_t)v);
	return b;
}

static const char *errname(int e)
{
	static char b[16];

	switch (e) {
	case EAGAIN: return "EAGAIN";
	case EPIPE: return "EPIPE";
	case EFAULT: return "EFAULT";
	case ENOBUFS: return "ENOBUFS";
	case ENODEV: return "ENODEV";
	case EINTR: return "EINTR";
	case EBADF: return "EBADF";
	case ECANCELED: return "not moved by the batch";
	case ETIMEDOUT: return "ETIMEDOUT";
	case ENOSPC: return "ENOSPC";
	case EALREADY: return "DUPLICATE (not sent)";
	case EMSGSIZE: return "EMSGSIZE";
	case ENOENT: return "ENOENT";
	default: snprintf(b, sizeof(b), "E%d", e); return b;
	}
}

static void describe(int i, char *out, size_t len)
{
	const struct rec *r = &H[i];
	char v[40], res[64], who[16], fl[40] = "", sel[160] = "";

	if (r->who == 0xff)
		strcpy(who, "parent");
	else if (r->who == 0xfe)
		strcpy(who, "drainer");
	else
		sprintf(who, "p%u.t%u", r->who >> 4, r->who & 15);
	if (r->flags & F_NB) strcat(fl, ",nonblock");
	if (r->flags & F_BATCH) strcat(fl, ",batch");
	if (r->flags & F_UFFD) strcat(fl, ",uffd");
	if (r->flags & F_REL) strcat(fl, ",fd-release");
	if (r->flags & F_END) strcat(fl, ",end");
	if (r->flags & F_SEL) {
		uint32_t ci = r->aux & 0xff, n = (r->aux >> 8) & 0xff, map = r->aux >> 16, k;
		size_t o;

		if (r->aux2 == INF)
			o = snprintf(sel, sizeof(sel), "select(for ever; ");
		else
			o = snprintf(sel, sizeof(sel), "select(timeout %" PRIu64 " ms; ", r->aux2);
		for (k = 0; k < n && k < NCASE && o < sizeof(sel); k++)
			o += snprintf(sel + o, sizeof(sel) - o, "%s%s ch%u%s", k ? ", " : "",
				      (map >> (4 * k + 2)) & 1 ? "send" : "recv", (map >> (4 * k)) & 3,
				      k == ci ? " <- this case" : "");
		if (o < sizeof(sel))
			snprintf(sel + o, sizeof(sel) - o, ")");
		if (r->resp && r->res == -ECANCELED) {
			strcpy(res, "another case won");
			goto named;
		}
	}
	if (!r->resp)
		strcpy(res, (r->flags & F_STUCK) ? "STUCK (never returned)" : "(never returned)");
	else if (r->kind == K_POLL)
		snprintf(res, sizeof(res), "%s%s%s%s%s", r->res < 0 ? errname(-r->res) : "",
			 r->res == 0 ? "timeout" : "", r->res > 0 && (r->res & POLLIN) ? "IN " : "",
			 r->res > 0 && (r->res & POLLOUT) ? "OUT " : "",
			 r->res > 0 && (r->res & (POLLHUP | POLLERR)) ? "HUP/ERR" : "");
	else if (r->res < 0)
		strcpy(res, errname(-r->res));
	else if ((r->kind == K_RECV || r->kind == K_HOLD) && r->res == 0)
		strcpy(res, "0 (EOF)");
	else if (r->kind == K_RECV || r->kind == K_HOLD)
		snprintf(res, sizeof(res), "%s%s", vname(r->val, v), r->flags & F_BAD ? " CORRUPT" : "");
	else if (r->kind == K_ACK || r->kind == K_RET)
		snprintf(res, sizeof(res), "count %d", r->res);
	else if (r->kind == K_SSEQ)
		snprintf(res, sizeof(res), "seq %" PRIu64, r->val);
	else
		strcpy(res, "ok");
named:
	if (r->flags & F_SEL) {
		if (r->kind == K_SEND)
			snprintf(out, len, "%-8s %s send(%s) -> %s", who, sel, vname(r->val, v), res);
		else
			snprintf(out, len, "%-8s %s recv -> %s%s", who, sel, res,
				 r->resp && r->res == 0 ? " (KCHAN_SELECT_CLOSED)" : "");
		return;
	}
	if (r->flags & F_ONCE) {
		snprintf(out, len, "%-8s send_once(stream %" PRIu64 ", seq %u, %s%s) -> %s", who,
			 r->aux2 & 0xff, r->aux, vname(r->val, v), (r->flags & F_NB) ? ",nonblock" : "", res);
		return;
	}
	switch (r->kind) {
	case K_SEND: snprintf(out, len, "%-8s write(%s%s) -> %s", who, vname(r->val, v), fl, res); break;
	case K_RECV: snprintf(out, len, "%-8s read(%s) -> %s", who, fl[0] ? fl + 1 : "", res); break;
	case K_HOLD: snprintf(out, len, "%-8s hold(%s) -> %s", who, fl[0] ? fl + 1 : "", res); break;
	case K_ACK: snprintf(out, len, "%-8s ack(%s%s) -> %s", who, vname(r->val, v), fl, res); break;
	case K_RET: snprintf(out, len, "%-8s return(%s%s) -> %s", who, vname(r->val, v), fl, res); break;
	case K_CLOSE: snprintf(out, len, "%-8s close(%s) -> %s", who, fl[0] ? fl + 1 : "", res); break;
	case K_SSEQ:
		snprintf(out, len, "%-8s stream_seq(stream %" PRIu64 "%s) -> %s", who, r->aux2 & 0xff,
			 (r->flags & F_FORGET) ? ", KCHAN_STREAM_FORGET" : "", res);
		break;
	case K_DESTROY: snprintf(out, len, "%-8s KCHAN_IOC_DESTROY -> %s", who, res); break;
	case K_POLL:
		snprintf(out, len, "%-8s poll(%s%s, %" PRIu64 "ms) -> %s", who,
			 (r->aux & POLLIN) ? "IN" : "", (r->aux & POLLOUT) ? "OUT" : "", r->aux2, res);
		break;
	}
}

static double rel(uint64_t t) { return t == INF ? -1 : (double)(t - sh->t0) / 1e6; }

/* Worth showing in a failing history: it changed something, or saw something. */
static bool informative(const struct rec *r)
{
	if (!r->resp)
		return true;
	if (r->kind == K_POLL)
		return r->aux2 > 0 && r->res != 0;
	if (r->kind == K_RECV || r->kind == K_HOLD || r->kind == K_SEND)
		return r->res != -EAGAIN && r->res != -ENOBUFS && r->res != -ECANCELED &&
		       r->res != -ETIMEDOUT;
	if (r->kind == K_SSEQ)
		return r->val || (r->flags & F_FORGET);
	return true;
}

/* Print a violation and the channel's operations that overlap the ones involved. */
static void violation(int c, const char *rule, const int *inv, int ninv, const char *fmt, ...)
{
	char line[512], msg[512];
	uint64_t lo = INF, hi = 0;
	int i, k, shown = 0, total = 0;
	va_list ap;

	nviol++;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (nviol > 6) {
		if (nviol == 7)
			printf("# (more violations in this round not shown)\n");
		return;
	}
	printf("# VIOLATION [%s] round %d, channel %d (capacity %u), seed %" PRIu64 ":\n#   %s\n",
	       rule, round_no, c, sh->cfg.cap[c], g_seed, msg);
	for (k = 0; k < ninv; k++) {
		if (H[inv[k]].inv < lo) lo = H[inv[k]].inv;
		if (H[inv[k]].resp && H[inv[k]].resp > hi) hi = H[inv[k]].resp;
		if (!H[inv[k]].resp && H[inv[k]].inv > hi) hi = H[inv[k]].inv;
	}
	for (i = 0; i < (int)NH; i++)
		if (H[i].ch == c && H[i].inv && H[i].inv <= hi && R(&H[i]) >= lo)
			total++;
	printf("#   the %d operations on channel %d overlapping [%.3f, %.3f] ms, without those that\n"
	       "#   changed nothing (EAGAIN, ENOBUFS, polls that saw nothing, probes), at most 40;\n"
	       "#   [invoked, returned] ms from the round's start, * = involved:\n",
	       total, c, rel(lo), rel(hi));
	for (i = 0; i < (int)NH; i++) {
		bool star = false;

		if (H[i].ch != c || !H[i].inv || H[i].inv > hi || R(&H[i]) < lo)
			continue;
		for (k = 0; k < ninv; k++)
			star |= inv[k] == i;
		if (!star && !dump && !informative(&H[i]))
			continue;
		if (!star && !dump && shown >= 40)
			continue;
		describe(i, line, sizeof(line));
		if (H[i].resp)
			printf("#   %c [%10.3f, %10.3f] %s\n", star ? '*' : ' ', rel(H[i].inv),
			       rel(H[i].resp), line);
		else
			printf("#   %c [%10.3f,      never] %s\n", star ? '*' : ' ', rel(H[i].inv), line);
		shown++;
	}
	if (total > shown)
		printf("#     (%d not shown)\n", total - shown);
	fflush(stdout);
}

static bool is_take(const struct rec *r)
{
	return (r->kind == K_RECV || r->kind == K_HOLD) && r->res == 1;
}

/* A receive that may have taken some message for a while without telling which. */
static bool ambiguous(const struct rec *r)
{
	return (r->kind == K_RECV || r->kind == K_HOLD) &&
	       (r->res == -EFAULT || !r->resp || ((r->flags & F_UFFD) && r->res == -EINTR));
}

/* Ending ops: what may end a readiness of the channel in a direction (0 in, 1 out). */
static bool ends(const struct rec *r, int dir)
{
	if (dir == 0) {
		if (r->kind == K_RECV || r->kind == K_HOLD)
			return r->res == 1 || r->res == -EFAULT || !r->resp;
		if (r->kind == K_CLOSE)
			return r->res == 0 || !r->resp;
		if (r->kind == K_SEND)
			return r->resp && r->res < 0 && r->res != -EAGAIN;
		return false;
	}
	if (r->kind == K_SEND)
		return !r->resp || r->res == 0;
	if (r->kind == K_RET)
		return true;
	if ((r->kind == K_RECV || r->kind == K_HOLD) && (r->flags & F_UFFD))
		return r->res == -EFAULT || !r->resp;
	/* a waiting receiver (unbuffered: what made it writable) that left:
	 * a signal, a select's timeout, a select that won elsewhere */
	if (r->kind == K_RECV)
		return r->resp && r->res < 0 && r->res != -EAGAIN;
	return false;
}

struct wit { uint64_t wi, wr, q1, q2; int arg, src, dir; };

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

struct iv { uint64_t a, b; int v, src; };
static int cmp_iv(const void *a, const void *b)
{
	const struct iv *x = a, *y = b;

	return x->a < y->a ? -1 : x->a > y->a;
}

/*
 * At-most-once sends (KCHAN_IOC_SEND_ONCE, KCHAN_IOC_STREAM_SEQ), per
 * stream of the channel.  A forget that may lie between two operations
 * (invoked before the later one returned, returned after the earlier one
 * was invoked) excuses whatever a forget explains.
 */
static bool forget_between(const int *ops, int nops, uint64_t stream, uint64_t from, uint64_t to)
{
	int k;

	for (k = 0; k < nops; k++) {
		const struct rec *f = &H[ops[k]];

		if (f->kind == K_SSEQ && (f->flags & F_FORGET) && f->aux2 == stream &&
		    !(f->resp && f->res < 0) && f->inv < to && R(f) > from)
			return true;
	}
	return false;
}

static bool is_once(const struct rec *r) { return r->kind == K_SEND && (r->flags & F_ONCE); }
static bool accepted(const struct rec *r) { return r->resp && r->res == 0; }

static void check_streams(int c, const int *ops, int nops, uint64_t tdestroy)
{
	uint32_t limit = sh->cfg.streams[c] ? sh->cfg.streams[c] : KCHAN_STREAMS_DEFAULT;
	int i, j, inv[3];

	for (i = 0; i < nops; i++) {
		const struct rec *a = &H[ops[i]];

		if (!is_once(a) && a->kind != K_SSEQ)
			continue;
		/* an accepted seq not above one accepted before it: delivered twice */
		if (is_once(a) && accepted(a)) {
			for (j = 0; j < nops; j++) {
				const struct rec *b = &H[ops[j]];

				if (j == i || !is_once(b) || !accepted(b) || b->aux2 != a->aux2 ||
				    b->aux > a->aux)
					continue;
				/* a before b for sure, or the same seq in either order */
				if (!(a->resp < b->inv || (a->aux == b->aux && i < j)))
					continue;
				if (forget_between(ops, nops, a->aux2, a->inv < b->inv ? a->inv : b->inv,
						   R(a) > R(b) ? R(a) : R(b)))
					continue;
				inv[0] = ops[i]; inv[1] = ops[j];
				violation(c, "send-once", inv, 2,
					  "stream %" PRIu64 ": seq %u was accepted after seq %u had been, with no forget between",
					  a->aux2 & 0xff, b->aux, a->aux);
				return;
			}
		}
		/* KCHAN_SEND_DUPLICATE: some seq at least as high was accepted (or may
		 * have been) before it returned */
		if (is_once(a) && a->resp && a->res == -EALREADY) {
			for (j = 0; j < nops; j++) {
				const struct rec *b = &H[ops[j]];

				if (j != i && is_once(b) && b->aux2 == a->aux2 && b->aux >= a->aux &&
				    (accepted(b) || !b->resp) && b->inv < a->resp)
					break;
			}
			if (j == nops) {
				inv[0] = ops[i];
				violation(c, "send-once-duplicate", inv, 1,
					  "stream %" PRIu64 ": seq %u came back KCHAN_SEND_DUPLICATE, but no seq as high was accepted before",
					  a->aux2 & 0xff, a->aux);
				return;
			}
		}
		/* ENOSPC: never for a stream the channel knows (no silent eviction),
		 * and only with the table full of other streams */
		if (is_once(a) && a->resp && a->res == -ENOSPC && a->inv < tdestroy) {
			uint32_t others = 0, seen = 0;

			for (j = 0; j < nops; j++) {
				const struct rec *b = &H[ops[j]];

				if (!is_once(b) || b->inv >= a->resp)
					continue;
				if (b->aux2 == a->aux2) {
					if (accepted(b) && b->resp < a->inv &&
					    !forget_between(ops, nops, a->aux2, b->inv, R(a))) {
						inv[0] = ops[i]; inv[1] = ops[j];
						violation(c, "send-once-evicted", inv, 2,
							  "stream %" PRIu64 ": ENOSPC though the stream's seq %u had been accepted and not forgotten",
							  a->aux2 & 0xff, b->aux);
						return;
					}
					continue;
				}
				if (!(seen & (1u << (b->aux2 & 0x1f)))) {
					seen |= 1u << (b->aux2 & 0x1f);
					others++;
				}
			}
			if (others < limit) {
				inv[0] = ops[i];
				violation(c, "send-once-enospc", inv, 1,
					  "stream %" PRIu64 ": ENOSPC though at most %u other streams (of %u) ever sent",
					  a->aux2 & 0xff, others, limit);
				return;
			}
		}
		/* KCHAN_IOC_STREAM_SEQ: a seq that was sent, and not below one
		 * accepted (or read) before it, unless forgotten between */
		if (a->kind == K_SSEQ && a->resp && a->res == 0 && a->inv < tdestroy) {
			bool found = !a->val;

			for (j = 0; j < nops; j++) {
				const struct rec *b = &H[ops[j]];

				if (j == i || b->aux2 != a->aux2)
					continue;
				if (is_once(b) && b->aux == a->val && (accepted(b) || !b->resp) &&
				    b->inv < a->resp)
					found = true;
				if (((is_once(b) && accepted(b) && b->aux > a->val) ||
				     (b->kind == K_SSEQ && b->resp && b->res == 0 && b->val > a->val)) &&
				    b->resp < a->inv && !forget_between(ops, nops, a->aux2, b->inv, R(a))) {
					inv[0] = ops[i]; inv[1] = ops[j];
					violation(c, "stream-seq", inv, 2,
						  "stream %" PRIu64 ": KCHAN_IOC_STREAM_SEQ said %" PRIu64 " after %s %" PRIu64 ", with no forget between",
						  a->aux2 & 0xff, a->val,
						  is_once(b) ? "the acceptance of seq" : "reading",
						  is_once(b) ? (uint64_t)b->aux : b->val);
					return;
				}
			}
			if (!found) {
				inv[0] = ops[i];
				violation(c, "stream-seq", inv, 1,
					  "stream %" PRIu64 ": KCHAN_IOC_STREAM_SEQ said %" PRIu64 ", a seq no send could have had accepted",
					  a->aux2 & 0xff, a->val);
				return;
			}
		}
	}
}

/*
 * Destroy: what was blocked wakes (ENODEV), nothing succeeds after it
 * (messages still buffered are dropped: the value rules need no change,
 * end of file never comes), and no later read or write says EAGAIN.
 */
static void check_destroy(int c, const int *ops, int nops, int d)
{
	const struct rec *D = &H[d];
	int k, inv[2] = { -1, d };

	if (!D->resp || D->res)
		return;
	for (k = 0; k < nops; k++) {
		const struct rec *r = &H[ops[k]];
		bool ok = false, wait = false;

		if (ops[k] == d)
			continue;
		inv[0] = ops[k];
		if (r->inv > D->resp && r->resp) {
			if (r->kind == K_SEND || r->kind == K_CLOSE)
				ok = r->res == 0;
			else if (r->kind == K_RECV || r->kind == K_HOLD)
				ok = r->res >= 0;
			if (ok) {
				violation(c, "after-destroy", inv, 2,
					  "an operation invoked after KCHAN_IOC_DESTROY returned succeeded");
				return;
			}
			if (r->res == -EAGAIN && !(r->flags & (F_SEL | F_BATCH | F_ONCE)) &&
			    (r->kind == K_SEND || r->kind == K_RECV)) {
				violation(c, "after-destroy", inv, 2,
					  "an O_NONBLOCK %s after KCHAN_IOC_DESTROY said EAGAIN, not ENODEV",
					  r->kind == K_SEND ? "write" : "read");
				return;
			}
			if (r->kind == K_POLL && r->res >= 0 && !(r->res & (POLLERR | POLLHUP))) {
				violation(c, "after-destroy", inv, 2,
					  "a poll after KCHAN_IOC_DESTROY did not report POLLERR|POLLHUP");
				return;
			}
		}
		/* blocked across the destroy: woken within the bound */
		if (r->kind == K_POLL)
			wait = r->aux2 > 0 && r->res >= 0;
		else if (r->kind == K_RECV || r->kind == K_SEND)
			wait = !(r->flags & (F_NB | F_UFFD));
		if (wait && r->inv < D->resp && R(r) > D->resp + bound_ns + 1000 * MS &&
		    (r->kind != K_POLL || r->inv + r->aux2 * MS > D->resp + bound_ns + 1000 * MS)) {
			violation(c, "destroy-not-woken", inv, 2,
				  "blocked from %.3f ms, not woken by KCHAN_IOC_DESTROY at %.3f ms (bound %" PRIu64 " ms + 1 s)",
				  rel(r->inv), rel(D->resp), (uint64_t)(bound_ns / MS));
			return;
		}
	}
}

static void check_channel(int c)
{
	uint32_t cap = sh->cfg.cap[c];
	int *ops, nops = 0, i, j, k;
	int first_close = -1, eof_first = -1, nclose_ok = 0, destroy = -1;
	uint64_t tdestroy = INF;
	struct vinfo *v;

	ops = malloc(sizeof(int) * NH);
	for (i = 0; i < (int)NH; i++)
		if (H[i].ch == c && H[i].inv)
			ops[nops++] = i;
	for (k = 0; k < nops; k++)
		if (H[ops[k]].kind == K_DESTROY && !(H[ops[k]].resp && H[ops[k]].res)) {
			destroy = ops[k];
			tdestroy = H[ops[k]].inv;
		}

	/* values */
	for (unsigned int h = 0; h < VCAP; h++) {
		if (V[h].send != -2) {
			free(V[h].take);
			free(V[h].give);
		}
		memset(&V[h], 0, sizeof(V[h]));
		V[h].send = -2;
	}
	NV = 0;
	for (k = 0; k < nops; k++) {
		struct rec *r = &H[ops[k]];

		if (r->kind == K_SEND) {
			v = vget(r->val, true);
			v->send = ops[k];
		}
	}
	for (k = 0; k < nops; k++) {
		struct rec *r = &H[ops[k]];
		int idx = ops[k];

		if (r->flags & F_BAD) {
			violation(c, "corrupt", &idx, 1, "a receive returned bytes that no write sent");
			continue;
		}
		if (is_take(r) || r->kind == K_ACK || r->kind == K_RET) {
			v = vget(r->val, true);
			if (is_take(r)) {
				if (v->ntake == v->ctake) {
					v->ctake = v->ctake ? 2 * v->ctake : 4;
					v->take = realloc(v->take, sizeof(int) * v->ctake);
				}
				v->take[v->ntake++] = idx;
			}
			if (r->kind == K_RET && r->res >= 0) {
				if (v->ngive == v->cgive) {
					v->cgive = v->cgive ? 2 * v->cgive : 4;
					v->give = realloc(v->give, sizeof(int) * v->cgive);
				}
				v->give[v->ngive++] = idx;
			}
			if ((r->kind == K_RECV && r->res == 1) || (r->kind == K_ACK && r->res >= 0)) {
				v->nconsume++;
				v->consume = idx;
			}
		}
		if ((r->kind == K_ACK || r->kind == K_RET) && r->resp && r->res >= 0 &&
		    (uint32_t)r->res != r->aux && R(r) < tdestroy)
			violation(c, "ack-count", &idx, 1,
				  "%s released %d messages, but this file held %u in that range",
				  r->kind == K_ACK ? "KCHAN_IOC_ACK" : "KCHAN_IOC_RETURN", r->res, r->aux);
		if (r->kind == K_CLOSE && r->res == 0) {
			nclose_ok++;
			if (first_close < 0 || r->inv < H[first_close].inv)
				first_close = idx;
			if (nclose_ok == 2)
				violation(c, "close", &idx, 1, "a second close succeeded");
		}
		if ((r->kind == K_RECV || r->kind == K_HOLD) && r->res == 0 && r->resp &&
		    (eof_first < 0 || r->resp < H[eof_first].resp))
			eof_first = idx;
	}
	/* sort each value's takes and gives by invocation */
	for (unsigned int h = 0; h < VCAP; h++) {
		v = &V[h];
		if (v->send == -2)
			continue;
		for (i = 1; i < v->ntake; i++)
			for (j = i; j > 0 && H[v->take[j]].inv < H[v->take[j - 1]].inv; j--) {
				int x = v->take[j]; v->take[j] = v->take[j - 1]; v->take[j - 1] = x;
			}
		for (i = 1; i < v->ngive; i++)
			for (j = i; j > 0 && H[v->give[j]].inv < H[v->give[j - 1]].inv; j--) {
				int x = v->give[j]; v->give[j] = v->give[j - 1]; v->give[j - 1] = x;
			}
	}

	/* Rules on single values: from a send that succeeded (or was in flight),
	 * after its send was invoked, at most once (a hold and its return aside). */
	for (unsigned int h = 0; h < VCAP; h++) {
		int inv[3];

		v = &V[h];
		if (v->send == -2 || (!v->ntake && !v->ngive))
			continue;
		if (v->send < 0 || (H[v->send].resp && H[v->send].res < 0)) {
			char b[40];

			inv[0] = v->ntake ? v->take[0] : v->give[0];
			inv[1] = v->send;
			violation(c, "phantom", inv, v->send < 0 ? 1 : 2,
				  "%s was received but %s", vname(v->val, b),
				  v->send < 0 ? "never sent" : "its write failed");
			continue;
		}
		if (v->ntake && R(&H[v->take[0]]) < H[v->send].inv) {
			inv[0] = v->send; inv[1] = v->take[0];
			violation(c, "receive-before-send", inv, 2,
				  "a receive returned a message before its write was invoked");
		}
		if (v->nconsume > 1 || v->ntake > v->ngive + 1) {
			inv[0] = v->send; inv[1] = v->take[0]; inv[2] = v->ntake > 1 ? v->take[1] : v->consume;
			violation(c, "duplicate", inv, 3,
				  "a message was received %d times (%d given back by holders)",
				  v->ntake, v->ngive);
		}
	}

	/* Close: writes accepted before it, EPIPE after it. */
	for (k = 0; k < nops; k++) {
		struct rec *r = &H[ops[k]];
		int inv[2] = { ops[k], first_close };

		if (r->kind == K_SEND && r->resp && r->res == 0 && first_close >= 0 &&
		    r->inv > H[first_close].resp)
			violation(c, "send-after-close", inv, 2,
				  "a write invoked after the close returned succeeded");
		if ((r->kind == K_SEND || r->kind == K_CLOSE) && r->resp && r->res == -EPIPE &&
		    (first_close < 0 || r->resp < H[first_close].inv))
			violation(c, "epipe-before-close", inv, first_close >= 0 ? 2 : 1,
				  "EPIPE before any close could have happened");
	}

	/* End of file: after the close, and after every accepted message was taken
	 * for good (held ones included). */
	if (eof_first >= 0) {
		struct rec *e = &H[eof_first];
		int inv[3];

		if (first_close < 0 || H[first_close].inv > e->resp) {
			inv[0] = eof_first;
			inv[1] = first_close;
			violation(c, "eof-before-close", inv, first_close < 0 ? 1 : 2,
				  "a read returned end of file before any close");
		}
		for (unsigned int h = 0; h < VCAP; h++) {
			char b[40];

			v = &V[h];
			if (v->send < 0 || !(H[v->send].resp ? H[v->send].res == 0 : v->ntake))
				continue;
			inv[0] = eof_first;
			inv[1] = v->send;
			if (v->consume < 0 && !v->ntake) {
				violation(c, "eof-lost", inv, 2,
					  "%s was accepted but never received, yet a read returned end of file",
					  vname(v->val, b));
				continue;
			}
			for (i = 0; i < v->ntake; i++)
				if (H[v->take[i]].inv > e->resp)
					break;
			if (i < v->ntake) {
				inv[2] = v->take[i];
				violation(c, "eof-before-drained", inv, 3,
					  "%s was received by a %s invoked after a read had returned end of file",
					  vname(v->val, b), H[v->take[i]].kind == K_HOLD ? "hold" : "read");
				continue;
			}
			if (v->consume < 0 || H[v->consume].inv > e->resp) {
				inv[2] = v->consume >= 0 ? v->consume : v->take[v->ntake - 1];
				violation(c, "eof-before-drained", inv, 3,
					  "%s was still %s when a read returned end of file",
					  vname(v->val, b), v->consume < 0 ? "unconsumed" : "held");
			}
		}
	}

	/* FIFO: if a's write returned before b's was invoked, b's first receive
	 * cannot return before a's was invoked, unless some receive that failed
	 * (EFAULT) or never returned may have had a for a while. */
	{
		struct iv *s = malloc(sizeof(*s) * (NV + 1));
		int ns = 0, nb = 0;
		uint64_t *pm;
		int *pa;
		struct iv *bs = malloc(sizeof(*bs) * (NV + 1));

		for (unsigned int h = 0; h < VCAP; h++) {
			v = &V[h];
			if (v->send < 0 || !v->ntake || !H[v->send].resp || H[v->send].res)
				continue;
			s[ns++] = (struct iv){ H[v->send].resp, H[v->take[0]].inv, (int)h, 0 };
			bs[nb++] = (struct iv){ H[v->send].inv, R(&H[v->take[0]]), (int)h, 0 };
		}
		qsort(s, ns, sizeof(*s), cmp_iv);	/* by send response */
		qsort(bs, nb, sizeof(*bs), cmp_iv);	/* by send invocation */
		pm = malloc(8 * (ns + 1));
		pa = malloc(sizeof(int) * (ns + 1));
		for (i = 0; i < ns; i++) {
			pm[i] = i && pm[i - 1] > s[i].b ? pm[i - 1] : s[i].b;
			pa[i] = i && pm[i - 1] > s[i].b ? pa[i - 1] : i;
		}
		for (j = 0, i = 0; j < nb; j++) {
			int reported = 0;

			while (i < ns && s[i].a < bs[j].a)
				i++;
			if (!i || pm[i - 1] <= bs[j].b)
				continue;
			/* a candidate: look for an a that nothing excuses */
			for (k = 0; k < i && !reported; k++) {
				struct vinfo *va = &V[s[k].v], *vb = &V[bs[j].v];
				bool excused = false;
				int m, inv[4];

				if (s[k].b <= bs[j].b)
					continue;
				for (m = 0; m < nops && !excused; m++)
					excused = ambiguous(&H[ops[m]]) && H[ops[m]].inv < bs[j].b &&
						  R(&H[ops[m]]) > H[va->send].inv;
				if (excused)
					continue;
				inv[0] = va->send; inv[1] = vb->send; inv[2] = va->take[0]; inv[3] = vb->take[0];
				violation(c, "fifo", inv, 4,
					  "write(a) returned before write(b) began, but b was received before a's receive began");
				reported = 1;
			}
			if (reported)
				break;
		}
		free(s); free(bs); free(pm); free(pa);
	}

	/* Unbuffered: a write returns only after a receiver took its message. */
	if (!cap) {
		for (unsigned int h = 0; h < VCAP; h++) {
			bool excused = false;
			int inv[2];

			v = &V[h];
			if (v->send < 0 || !v->ntake || !H[v->send].resp || H[v->send].res)
				continue;
			if (H[v->take[0]].inv <= H[v->send].resp)
				continue;
			for (k = 0; k < nops && !excused; k++)
				excused = ambiguous(&H[ops[k]]) && H[ops[k]].inv < H[v->send].resp;
			if (excused)
				continue;
			inv[0] = v->send; inv[1] = v->take[0];
			violation(c, "unbuffered", inv, 2,
				  "a write to an unbuffered channel returned before any receive of its message began");
			break;
		}
	}

	/* Capacity: messages certainly in the channel (accepted: write returned;
	 * not yet certainly gone: its final read or ack not yet invoked) <= cap. */
	if (cap) {
		struct iv *e = malloc(sizeof(*e) * 2 * (NV + 1));
		int ne = 0, sum = 0, carried = 0;

		for (unsigned int h = 0; h < VCAP; h++) {
			v = &V[h];
			if (v->send < 0 || !H[v->send].resp || H[v->send].res)
				continue;
			e[ne++] = (struct iv){ H[v->send].resp, 1, (int)h, 1 };
			if (v->consume >= 0)
				e[ne++] = (struct iv){ H[v->consume].inv, 0, (int)h, -1 };
		}
		qsort(e, ne, sizeof(*e), cmp_iv);
		for (i = 0; i < ne; i++) {
			int excused = 0, x;

			/* at equal times count the departures first */
			for (j = i; j < ne && e[j].a == e[i].a; j++)
				if (e[j].src < 0)
					sum--;
			if (carried > sum - (int)cap)
				carried = sum > (int)cap ? sum - (int)cap : 0;
			for (j = i; j < ne && e[j].a == e[i].a; j++)
				if (e[j].src > 0)
					sum++;
			/*
			 * A receive that took a blocked writer's message (the
			 * writer returns) and then faulted puts it back above
			 * capacity: kchan(7) says the message goes back, not
			 * where its slot is.  Unless --strict-capacity, an
			 * overrun is excused by receives that failed with
			 * EFAULT (or never returned) and were in flight.
			 */
			if (!strict_capacity && sum > (int)cap)
				for (x = 0; x < nops; x++)
					excused += ambiguous(&H[ops[x]]) && H[ops[x]].inv < e[i].a &&
						   R(&H[ops[x]]) >= e[i].a;
			if (sum > (int)cap && sum - (int)cap <= carried + excused) {
				carried = sum - (int)cap;
				i = j - 1;
				continue;
			}
			if (sum > (int)cap) {
				int inv[8], n = 0;

				for (k = i; k >= 0 && n < 8; k--)
					if (e[k].src > 0)
						inv[n++] = V[e[k].v].send;
				violation(c, "capacity", inv, n,
					  "%d messages were in the channel at %.3f ms (accepted, not yet received or acked)",
					  sum, rel(e[i].a));
				break;
			}
			i = j - 1;
		}
		free(e);
	}

	/* EAGAIN (O_NONBLOCK read, hold): a message was certainly queued throughout. */
	{
		size_t niv = 1;
		struct iv *a;

		for (unsigned int h = 0; h < VCAP; h++)
			if (V[h].send != -2)
				niv += V[h].ngive + 1;
		a = malloc(sizeof(*a) * niv);
		uint64_t *pm;
		int *pa, na = 0;

		for (unsigned int h = 0; h < VCAP; h++) {
			int t = 0;
			uint64_t from;

			v = &V[h];
			if (v->send < 0 || !H[v->send].resp || H[v->send].res)
				continue;
			/* in the queue from the write's (or a give-back's) response
			 * until the next receive is invoked */
			from = H[v->send].resp;
			for (i = 0; i <= v->ngive; i++) {
				/* takes and give-backs alternate: the i-th take follows
				 * the write (i = 0) or the i-th give-back */
				uint64_t to = i < v->ntake ? H[v->take[i]].inv : INF;

				(void)t;
				if (v->consume >= 0 && H[v->consume].kind == K_ACK && H[v->consume].inv < from)
					break;
				if (to > from)
					a[na++] = (struct iv){ from, to, (int)h, 0 };
				if (i < v->ngive)
					from = R(&H[v->give[i]]);
				if (from == INF)
					break;
			}
		}
		qsort(a, na, sizeof(*a), cmp_iv);
		pm = malloc(8 * (na + 1));
		pa = malloc(sizeof(int) * (na + 1));
		for (i = 0; i < na; i++) {
			pm[i] = i && pm[i - 1] > a[i].b ? pm[i - 1] : a[i].b;
			pa[i] = i && pm[i - 1] > a[i].b ? pa[i - 1] : i;
		}
		for (k = 0; k < nops; k++) {
			struct rec *r = &H[ops[k]];
			int lo = 0, hi = na, m;

			if (!((r->kind == K_RECV || r->kind == K_HOLD) && r->res == -EAGAIN) ||
			    R(r) > tdestroy)
				continue;
			while (lo < hi) {	/* intervals that began before r */
				int mid = (lo + hi) / 2;

				if (a[mid].a < r->inv)
					lo = mid + 1;
				else
					hi = mid;
			}
			if (!lo || pm[lo - 1] <= r->resp)
				continue;
			for (m = 0; m < lo; m++) {
				bool excused = false;
				int x, inv[2];

				if (a[m].b <= r->resp)
					continue;
				for (x = 0; x < nops && !excused; x++)
					excused = ambiguous(&H[ops[x]]) && H[ops[x]].inv < r->resp &&
						  R(&H[ops[x]]) > a[m].a;
				if (excused)
					continue;
				inv[0] = ops[k];
				inv[1] = V[a[m].v].send;
				violation(c, "eagain", inv, 2,
					  "%s said EAGAIN though a message was queued throughout",
					  r->kind == K_HOLD ? "a hold" : "an O_NONBLOCK read");
				goto eagain_done;
			}
		}
eagain_done:
		free(a); free(pm); free(pa);
	}

	/* EAGAIN (O_NONBLOCK write, buffered): room certainly free throughout. */
	if (cap) {
		uint64_t *si = malloc(8 * (NV + 1)), *cr = malloc(8 * (NV + 1));
		int nsi = 0, ncr = 0;

		for (unsigned int h = 0; h < VCAP; h++) {
			v = &V[h];
			if (v->send < 0 || (H[v->send].resp && H[v->send].res))
				continue;
			si[nsi++] = H[v->send].inv;
			if (v->consume >= 0 && H[v->consume].resp)
				cr[ncr++] = H[v->consume].resp;
		}
		qsort(si, nsi, 8, cmp_u64);
		qsort(cr, ncr, 8, cmp_u64);
		for (k = 0; k < nops; k++) {
			struct rec *r = &H[ops[k]];
			int in = 0, out = 0, inv[1] = { ops[k] };

			if (r->kind != K_SEND || r->res != -EAGAIN || !r->resp || R(r) > tdestroy)
				continue;
			if (first_close >= 0 && H[first_close].inv < r->resp)
				continue;
			while (in < nsi && si[in] <= r->resp)
				in++;
			while (out < ncr && cr[out] < r->inv)
				out++;
			if (in - out < (int)cap) {
				violation(c, "eagain", inv, 1,
					  "an O_NONBLOCK write said EAGAIN though at most %d of %u slots can have been taken",
					  in - out, cap);
				break;
			}
		}
		free(si); free(cr);
	}

	/* Liveness.  Witnesses: times the channel was certainly ready in a
	 * direction (a poll said so; a buffered write returned; end of file was
	 * certain); a witness lasts until an operation that can end that
	 * readiness begins.  A poll, blocking read or blocking write waiting
	 * in that direction must return within the bound. */
	{
		struct wit *w = malloc(sizeof(*w) * (2 * nops + 2));
		int nw = 0, m;
		bool eof_ok = first_close >= 0 && H[first_close].resp;
		uint64_t teof = eof_ok ? H[first_close].resp : 0;
		int teof_arg = first_close;

		for (k = 0; k < nops; k++) {
			struct rec *r = &H[ops[k]];

			if (r->kind == K_POLL && r->resp && r->res > 0) {
				if (r->res & (POLLIN | POLLHUP))
					w[nw++] = (struct wit){ r->inv, r->resp, INF, INF, -1, ops[k], 0 };
				if (r->res & (POLLOUT | POLLERR))
					w[nw++] = (struct wit){ r->inv, r->resp, INF, INF, -1, ops[k], 1 };
			}
			if (cap && r->kind == K_SEND && r->resp && r->res == 0)
				w[nw++] = (struct wit){ r->inv, r->resp, INF, INF, -1, ops[k], 0 };
			if (r->kind == K_SEND && !r->resp) {
				v = vget(r->val, false);
				if (!v || !v->ntake)
					eof_ok = false;
			}
		}
		/* end of file certain: closed, every accepted message consumed */
		for (unsigned int h = 0; h < VCAP && eof_ok; h++) {
			v = &V[h];
			if (v->send < 0 || !(H[v->send].resp ? H[v->send].res == 0 : v->ntake))
				continue;
			if (v->consume < 0 || !H[v->consume].resp)
				eof_ok = false;
			else if (H[v->consume].resp > teof) {
				teof = H[v->consume].resp;
				teof_arg = v->consume;
			}
		}
		if (eof_ok)
			w[nw++] = (struct wit){ teof, teof, INF, INF, -1, -1, 0 };
		for (i = 0; i < nw; i++) {
			for (k = 0; k < nops; k++) {
				struct rec *r = &H[ops[k]];
				uint64_t t;

				if (w[i].src < 0)
					break;	/* end of file is for good */
				if (!ends(r, w[i].dir) || R(r) < w[i].wi || ops[k] == w[i].src)
					continue;
				t = r->inv > w[i].wi ? r->inv : w[i].wi;
				if (t < w[i].q1) {
					w[i].q2 = w[i].q1;
					w[i].q1 = t;
					w[i].arg = ops[k];
				} else if (t < w[i].q2) {
					w[i].q2 = t;
				}
			}
		}
		for (k = 0; k < nops; k++) {
			struct rec *r = &H[ops[k]];
			int dir;

			if (r->kind == K_POLL && r->aux2 > 0 && r->res >= 0)
				dir = (r->aux & POLLIN) ? 0 : 1;
			else if (r->res == -ECANCELED)
				continue;
			else if ((r->flags & F_SEL) && r->res == -ETIMEDOUT)
				dir = r->kind == K_SEND;
			else if (r->flags & F_SEL && r->resp && r->res < 0)
				continue;
			else if (r->kind == K_RECV && !(r->flags & (F_NB | F_UFFD)))
				dir = 0;
			else if (r->kind == K_SEND && !(r->flags & F_NB))
				dir = 1;
			else
				continue;
			if (R(r) - r->inv <= bound_ns)
				continue;
			for (m = 0; m < nw; m++) {
				uint64_t x, q = w[m].arg == ops[k] ? w[m].q2 : w[m].q1;
				int inv[4] = { ops[k], w[m].src, w[m].arg, first_close }, ni;

				if (w[m].dir != dir || q <= w[m].wr)
					continue;	/* not ready for sure at wr */
				x = r->inv > w[m].wr ? r->inv : w[m].wr;
				if (w[m].src < 0) {	/* end of file: the close and the last receive */
					inv[1] = teof_arg;
					inv[2] = first_close;
					ni = 3;
				} else {
					ni = w[m].arg >= 0 ? 3 : 2;
				}
				if (r->kind == K_POLL && r->res == 0 && w[m].wr <= r->inv + r->aux2 * MS &&
				    q >= R(r)) {
					violation(c, "poll-timeout", inv, ni,
						  "poll(%s) timed out though the channel was %s from %.3f ms on%s",
						  dir ? "POLLOUT" : "POLLIN", dir ? "writable" : "readable",
						  rel(w[m].wr), w[m].src < 0 ? " (end of file)" : "");
					goto live_done;
				}
				if ((r->flags & F_SEL) && r->res == -ETIMEDOUT) {
					/* ready from a bound before its deadline to its return */
					if (w[m].wr + bound_ns <= r->inv + r->aux2 * MS && q >= R(r)) {
						violation(c, "select-timeout", inv, ni,
							  "a select timed out though its %s case's channel was %s from %.3f ms on%s",
							  dir ? "send" : "receive", dir ? "writable" : "readable",
							  rel(w[m].wr), w[m].src < 0 ? " (end of file)" : "");
						goto live_done;
					}
					continue;
				}
				if (R(r) > x + bound_ns && q > x + bound_ns) {
					char until[48];

					snprintf(until, sizeof(until), "until %.3f ms", rel(q));
					violation(c, "not-woken", inv, ni,
						  "%s waited from %.3f ms to %s while the channel was %s from %.3f ms%s %s (bound %" PRIu64 " ms)",
						  r->kind == K_POLL ? (dir ? "poll(POLLOUT)" : "poll(POLLIN)") :
						  r->kind == K_RECV ? "a blocking read" : "a blocking write",
						  rel(r->inv), r->resp ? "its return" : "the end",
						  dir ? "writable" : "readable", rel(w[m].wr),
						  w[m].src < 0 ? " (end of file)" : "",
						  q == INF ? "for good" : until,
						  (uint64_t)(bound_ns / MS));
					goto live_done;
				}
			}
		}
live_done:
		free(w);
	}

	check_streams(c, ops, nops, tdestroy);
	for (k = 0; k < nops; k++) {
		int inv[2] = { ops[k], destroy };

		if (H[ops[k]].resp && H[ops[k]].res == -ENODEV && H[ops[k]].resp < tdestroy) {
			violation(c, "enodev-before-destroy", inv, destroy >= 0 ? 2 : 1,
				  "ENODEV though the channel was not destroyed before it returned");
			break;
		}
	}
	if (destroy >= 0)
		check_destroy(c, ops, nops, destroy);

	/* Stuck: still blocked long after the end-of-round close, with nothing held. */
	for (k = 0; k < nops; k++) {
		int inv[2] = { ops[k], first_close };

		if (H[ops[k]].flags & F_STUCK) {
			violation(c, "stuck", inv, first_close >= 0 ? 2 : 1,
				  "still blocked %" PRIu64 " ms after the channel was closed, every hold given back and every stalled copy resolved",
				  grace_ns / MS);
			break;
		}
	}
	free(ops);
}

/* ----- rounds -------------------------------------------------------------- */

static void make_cfg(struct cfg *g, uint64_t seed, uint32_t procs, uint32_t threads, int uffd_ok)
{
	uint64_t s = seed;
	uint32_t p, t, c;
	static const uint32_t caps[] = { 0, 1, 1, 2, 3, 4 };

#define W(pct) (rn(&s, 100) < (pct) ? 1 + rn(&s, 8) : 0)
	memset(g, 0, sizeof(*g));
	g->seed = seed;
	for (c = 0; c < NCH; c++) {
		g->cap[c] = caps[rn(&s, 6)];
		switch (rn(&s, 8)) {
		case 0: case 1: case 2: g->noread[c] = 1; break;	/* only holds take */
		case 3: g->nowrite[c] = 1; break;
		}
	}
	if (!g->cap[0] && !g->cap[1] && !g->cap[2])
		g->cap[rn(&s, NCH)] = 1 + rn(&s, 4);
	/* Three shapes of workload, each with its kinds switched on or off at
	 * random: everything at once; relays (holds with acks, returns and fd
	 * releases, pollers, few readers); stalled copies (uffd reads and holds
	 * near closes). */
	g->profile = rn(&s, 3);
	switch (g->profile) {
	case 0:
		g->w_write = W(90); g->w_write_nb = W(60); g->w_read = W(90); g->w_read_nb = W(60);
		g->w_read_uffd = W(60); g->w_poll_in = W(80); g->w_poll_out = W(80);
		g->w_probe = 2 * W(80); g->w_close = rn(&s, 2);
		g->w_hold = W(80); g->w_hold_uffd = W(40); g->w_ack = W(80); g->w_ret = W(70);
		g->w_rel = W(50); g->w_hprobe = W(50);
		break;
	case 1:
		g->w_write = 1 + rn(&s, 8); g->w_write_nb = W(50); g->w_read = W(70);
		g->w_read_nb = W(30); g->w_read_uffd = W(30); g->w_poll_in = 2 + rn(&s, 8);
		g->w_poll_out = 2 + rn(&s, 8); g->w_probe = 4 + rn(&s, 12); g->w_close = rn(&s, 2);
		g->w_hold = 4 + rn(&s, 8); g->w_hold_uffd = W(40); g->w_ack = 1 + rn(&s, 4);
		g->w_ret = 1 + rn(&s, 4); g->w_rel = 1 + rn(&s, 4); g->w_hprobe = W(50);
		break;
	default:
		g->w_write = 1 + rn(&s, 8); g->w_write_nb = W(50); g->w_read = W(80);
		g->w_read_nb = W(40); g->w_read_uffd = 4 + rn(&s, 8); g->w_poll_in = W(50);
		g->w_poll_out = W(50); g->w_probe = W(80); g->w_close = 1;
		g->w_hold = W(60); g->w_hold_uffd = 2 + rn(&s, 6); g->w_ack = 1 + rn(&s, 4);
		g->w_ret = 1 + rn(&s, 4); g->w_rel = W(60); g->w_hprobe = W(50);
		break;
	}
	g->w_sbatch = W(40);
	g->w_rbatch = W(40);
	g->w_fork = W(40);
	g->w_select = 2 * W(75);
	g->w_once = 3 * W(65);
	g->w_sseq = g->w_once ? W(70) : 0;
	for (c = 0; c < NCH; c++)
		g->streams[c] = rn(&s, 2) ? 0 : 2 + rn(&s, 4);	/* small tables: ENOSPC */
	g->sig = rn(&s, 2) ? 1 + rn(&s, 3) : 0;
	g->destroy_ch = rn(&s, 4) ? -1 : (int32_t)rn(&s, NCH);
	g->destroy_ms = 40 + rn(&s, 50);	/* percent of the round */
	g->tail = rn(&s, 3);
	g->hold_ms = rn(&s, 3) ? 3000 + rn(&s, 2000) : 30;
	g->think_us = 200 + rn(&s, 3000);
	g->stall_ms = 50 + rn(&s, 800);
	g->fault_pct = 50;
	g->procs = procs;
	g->threads = threads;
	g->uffd_ok = uffd_ok;
	for (p = 0; p < procs; p++)
		for (t = 0; t <= threads; t++)
			for (c = 0; c < NCH; c++)
				g->aff[p][t][c] = rn(&s, 4) ? rn(&s, 4) : 0;
#undef W
}

static int uffd_probe(void)
{
	int i = stall_get();

	if (i < 0)
		return 0;
	stall_put(i);
	close(stalls[i].uffd);
	munmap(stalls[i].page, pagesz);
	stalls[i].used = 0;
	return 1;
}

static int ctl_name(int ctl, unsigned long cmd, const char *name)
{
	struct kchan_name n = { .size = sizeof(n) };

	strncpy(n.name, name, sizeof(n.name) - 1);
	return ioctl(ctl, cmd, &n) ? -errno : 0;
}

/* One round; returns the number of violations, or -1 if it could not run. */
static int run_round(int ctl, uint64_t seed, uint32_t scenario, uint32_t round_ms, uint32_t procs,
		     uint32_t threads, int uffd_ok, uint32_t ops, unsigned int *nops)
{
	pid_t pids[MAXPROC + 1];
	int c, fds[NCH], live, i, np = 0;
	uint64_t t_end, t_grace;
	bool stuck = false, destroyed = false;

	memset(sh, 0, offsetof(struct shared, recs));
	make_cfg(&sh->cfg, seed, procs, threads, uffd_ok);
	if (scenario) {
		struct cfg *g = &sh->cfg;
		uint64_t s = seed ^ 0x5ce7a;

		g->scenario = scenario;
		g->variant = (uint32_t)((g_seed + round_no / 2) % (uffd_ok ? 3 : 2));
		g->noread[0] = g->nowrite[0] = g->noread[1] = g->nowrite[1] = 0;
		g->sig = 0;
		g->destroy_ch = -1;
		g->fault_pct = 100;
		g->stall_min_ms = 1200;
		g->stall_ms = scenario == 1 ? 300 : 0;
		if (scenario == 1) {
			g->cap[0] = 2 + rn(&s, 3);
			round_ms = 3500;
		} else if (scenario == 2) {
			g->cap[0] = g->cap[1] = 1;
			round_ms = 5500;
		} else {
			g->cap[0] = 1 + rn(&s, 4);
			round_ms = 3500;
		}
	}
	sh->maxops = ops && ops < MAXREC - 4096 ? ops : MAXREC - 4096;
	for (c = 0; c < NCH; c++) {
		struct kchan_create cr = { .size = sizeof(cr), .capacity = sh->cfg.cap[c],
					   .msg_max = BUFLEN, .mode = 0600,
					   .streams = sh->cfg.streams[c] };

		snprintf(sh->cfg.name[c], KCHAN_NAME_MAX, "lincheck-%d-%d-%d", getpid(), round_no, c);
		memcpy(cr.name, sh->cfg.name[c], strlen(sh->cfg.name[c]));
		if (ioctl(ctl, KCHAN_IOC_CREATE, &cr)) {
			printf("# create %s: %s\n", sh->cfg.name[c], strerror(errno));
			return -1;
		}
	}
	sh->t0 = now_ns();
	t_end = sh->t0 + (uint64_t)round_ms * MS;
	sh->close_from = sh->t0 + (uint64_t)round_ms * MS * 7 / 10;
	sh->tail_from = sh->t0 + (uint64_t)round_ms * MS * 5 / 10;
	for (i = 0; i < (int)procs; i++) {
		pids[np] = fork();
		if (!pids[np])
			worker(i + 1);
		np++;
	}
	for (c = 0; c < NCH; c++)
		fds[c] = open(
			({ static char p[128]; snprintf(p, sizeof(p), KCHAN_DEV_DIR "/%s", sh->cfg.name[c]); p; }),
			O_RDWR | O_CLOEXEC);
	while (now_ns() < t_end) {
		usleep(10000);
		if (sh->cfg.destroy_ch >= 0 && !destroyed &&
		    now_ns() >= sh->t0 + (uint64_t)round_ms * MS * sh->cfg.destroy_ms / 100) {
			struct rec *r = rec_new(K_DESTROY, sh->cfg.destroy_ch, 0xff);

			destroyed = true;
			atomic_store(&sh->gone[sh->cfg.destroy_ch], 1);
			if (r) {
				rec_begin(r);
				rec_end(r, ctl_name(ctl, KCHAN_IOC_DESTROY,
						    sh->cfg.name[sh->cfg.destroy_ch]));
			}
		}
	}
	atomic_store(&sh->stop, 1);
	/* End of round: close every channel (in a random order), drain. */
	{
		uint64_t s = seed ^ 0xc105e;
		int order[NCH] = { 0, 1, 2 };

		for (c = NCH - 1; c > 0; c--) {
			int j = rn(&s, c + 1), x = order[c];

			order[c] = order[j];
			order[j] = x;
		}
		for (c = 0; c < NCH; c++) {
			struct rec *r = rec_new(K_CLOSE, order[c], 0xff);

			usleep(rn(&s, 50000));
			if (!r)
				break;
			r->flags = F_END;
			rec_begin(r);
			rec_end(r, ioctl(fds[order[c]], KCHAN_IOC_CLOSE) ? -errno : 0);
		}
	}
	pids[np] = fork();
	if (!pids[np])
		drainer();
	np++;
	t_grace = now_ns() + grace_ns;
	for (;;) {
		live = 0;
		for (i = 0; i < np; i++) {
			if (pids[i] > 0 && waitpid(pids[i], NULL, WNOHANG) == pids[i])
				pids[i] = 0;
			live += pids[i] > 0;
		}
		if (!live || now_ns() > t_grace)
			break;
		usleep(20000);
	}
	*nops = atomic_load(&sh->nrec);
	if (*nops > sh->maxops)
		*nops = sh->maxops;
	if (live) {
		stuck = true;
		for (i = 0; i < (int)*nops; i++)
			if (sh->recs[i].inv && !sh->recs[i].resp)
				sh->recs[i].flags |= F_STUCK;
	}
	for (c = 0; c < NCH; c++) {
		close(fds[c]);
		ctl_name(ctl, KCHAN_IOC_DESTROY, sh->cfg.name[c]);
	}
	if (stuck) {
		usleep(2000000);
		for (i = 0; i < np; i++)
			if (pids[i] > 0)
				kill(pids[i], SIGKILL);
		for (i = 0; i < np; i++)
			if (pids[i] > 0)
				waitpid(pids[i], NULL, 0);
		/* what returned after the destroy (ENODEV) stays stuck: forget its result */
		for (i = 0; i < (int)*nops; i++)
			if (sh->recs[i].flags & F_STUCK)
				sh->recs[i].resp = 0;
	}
	H = sh->recs;
	NH = *nops;
	nviol = 0;
	for (c = 0; c < NCH; c++)
		check_channel(c);
	return nviol;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: chan_lincheck [--seed S] [--duration SEC] [--rounds N] [--round-ms MS]\n"
		"                     [--ops N] [--procs N] [--threads N] [--bound-ms MS]\n"
		"                     [--grace-ms MS] [--no-scenarios] [--strict-capacity] [--verbose]\n"
		"Odd rounds are scripted (a relay's hold returned after a close; holds\n"
		"filling a channel under pollers; a stalled copy across a close), even\n"
		"rounds random; --no-scenarios makes them all random, --scenario N\n"
		"(1..3) all that scenario.\n"
		"Random concurrent workloads on kchan channels, each round's history checked\n"
		"for linearizability against kchan(7)'s model and for lost wake-ups.\n"
		"Environment: KCHAN_LINCHECK_DURATION, KCHAN_LINCHECK_SEED.\n");
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "seed", 1, 0, 's' }, { "duration", 1, 0, 'd' }, { "rounds", 1, 0, 'n' },
		{ "round-ms", 1, 0, 'r' }, { "ops", 1, 0, 'o' }, { "procs", 1, 0, 'p' },
		{ "threads", 1, 0, 't' }, { "bound-ms", 1, 0, 'b' }, { "grace-ms", 1, 0, 'g' },
		{ "verbose", 0, 0, 'v' }, { "no-scenarios", 0, 0, 'S' },
		{ "strict-capacity", 0, 0, 'C' }, { "scenario", 1, 0, 'Z' }, { "help", 0, 0, 'h' }, { 0 }
	};
	uint64_t seed;
	double duration = 52;
	uint32_t rounds = 0, round_ms = 4000, procs = 3, threads = 3, ops = 0;
	int opt, ctl, uffd_ok, failed = 0, scenarios = 1, only_scenario = 0;
	uint32_t r;
	const char *e;

	seed = now_ns() ^ ((uint64_t)getpid() << 32);
	if ((e = getenv("KCHAN_LINCHECK_SEED")))
		seed = strtoull(e, NULL, 0);
	dump = getenv("KCHAN_LINCHECK_DUMP") != NULL;
	if ((e = getenv("KCHAN_LINCHECK_DURATION")))
		duration = strtod(e, NULL);
	while ((opt = getopt_long(argc, argv, "s:d:n:r:o:p:t:b:g:vSCZ:h", lo, NULL)) != -1) {
		switch (opt) {
		case 's': seed = strtoull(optarg, NULL, 0); break;
		case 'd': duration = strtod(optarg, NULL); break;
		case 'n': rounds = strtoul(optarg, NULL, 0); break;
		case 'r': round_ms = strtoul(optarg, NULL, 0); break;
		case 'o': ops = strtoul(optarg, NULL, 0); break;
		case 'p': procs = strtoul(optarg, NULL, 0); break;
		case 't': threads = strtoul(optarg, NULL, 0); break;
		case 'b': bound_ns = strtoull(optarg, NULL, 0) * MS; break;
		case 'g': grace_ns = strtoull(optarg, NULL, 0) * MS; break;
		case 'v': verbose = 1; break;
		case 'S': scenarios = 0; break;
		case 'C': strict_capacity = 1; break;
		case 'Z': only_scenario = strtoul(optarg, NULL, 0) % 4; break;
		case 'h': usage(); return 0;
		default: usage(); return 2;
		}
	}
	if (procs < 1 || procs > MAXPROC || threads < 1 || threads > MAXTHR) {
		usage();
		return 2;
	}
	if (!rounds)
		rounds = duration * 1000 / (round_ms + 2500) > 1 ? duration * 1000 / (round_ms + 2500) : 1;
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	printf("TAP version 13\n1..%u\n", rounds);
	printf("# chan_lincheck --seed %" PRIu64 " --rounds %u --round-ms %u --procs %u --threads %u --bound-ms %" PRIu64 "\n",
	       seed, rounds, round_ms, procs, threads, (uint64_t)(bound_ns / MS));
	ctl = open(KCHAN_CONTROL_PATH, O_RDWR | O_CLOEXEC);
	if (ctl < 0) {
		for (r = 1; r <= rounds; r++)
			printf("ok %u # SKIP %s: %s\n", r, KCHAN_CONTROL_PATH, strerror(errno));
		return 0;
	}
	pagesz = sysconf(_SC_PAGESIZE);
	zpage = mmap(NULL, pagesz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED || zpage == MAP_FAILED) {
		printf("Bail out! mmap: %s\n", strerror(errno));
		return 1;
	}
	V = NULL;
	VCAP = 1u << 19;
	V = calloc(VCAP, sizeof(*V));
	for (unsigned int h = 0; h < VCAP; h++)
		V[h].send = -2;
	uffd_ok = uffd_probe();
	if (!uffd_ok)
		printf("# userfaultfd unavailable (%s): no stalled copies\n", strerror(errno));
	for (r = 1; r <= rounds; r++) {
		uint64_t rs = seed + r * 0x100000001ULL, t = now_ns();
		unsigned int nops = 0;
		int n;

		g_seed = seed;
		round_no = r;
		uint32_t sc = scenarios && procs >= 3 && threads >= 3 && r % 2 ? 1 + (r / 2) % 3 : 0;

		if (only_scenario)
			sc = only_scenario;

		if (sc == 3 && !uffd_ok)
			sc = 1;
		n = run_round(ctl, rs, sc, round_ms, procs, threads, uffd_ok, ops, &nops);
		if (verbose || n) {
			const struct cfg *g = &sh->cfg;

			printf("# round %u: %s %u, caps %u%s/%u%s/%u%s, tail %s, %u ops, %.1f s; weights w%u/%u r%u/%u/u%u p%u/%u/%u c%u h%u/u%u a%u r%u rel%u, hold %u ms, stall %u ms\n",
			       r, g->scenario ? "scenario" : "profile", g->scenario ? g->scenario * 10 + g->variant : g->profile, g->cap[0], g->noread[0] ? "(no reads)" : g->nowrite[0] ? "(no writes)" : "",
			       g->cap[1], g->noread[1] ? "(no reads)" : g->nowrite[1] ? "(no writes)" : "",
			       g->cap[2], g->noread[2] ? "(no reads)" : g->nowrite[2] ? "(no writes)" : "",
			       g->tail == 1 ? "no writes" : g->tail == 2 ? "no reads" : "-", nops, (now_ns() - t) / 1e9,
			       g->w_write, g->w_write_nb, g->w_read, g->w_read_nb, g->w_read_uffd,
			       g->w_poll_in, g->w_poll_out, g->w_probe, g->w_close, g->w_hold,
			       g->w_hold_uffd, g->w_ack, g->w_ret, g->w_rel, g->hold_ms, g->stall_ms);
			printf("# round %u: select %u, send_once %u, stream_seq %u, streams %u/%u/%u, signals %s, destroy ch%d at %u%% (-1: none)\n",
			       r, g->w_select, g->w_once, g->w_sseq, g->streams[0], g->streams[1], g->streams[2],
			       g->sig == 1 ? "SIGUSR1 (EINTR)" : g->sig == 2 ? "SIGUSR2 (SA_RESTART)" : g->sig ? "both" : "none",
			       g->destroy_ch, g->destroy_ms);
			{
				unsigned int st[12] = { 0 }, x;
				uint32_t forks = 0;

				for (x = 0; x < nops; x++) {
					const struct rec *q = &sh->recs[x];

					if (!q->resp)
						continue;
					if ((q->flags & F_SEL) && (q->aux & 0xff) == 0) {
						st[0]++;
						st[1] += q->res == -EAGAIN;
						st[2] += q->res == -ETIMEDOUT;
						st[3] += q->res == -EINTR;
					}
					if ((q->flags & F_SEL) && q->kind == K_RECV && q->res == 0)
						st[4]++;
					if (q->flags & F_ONCE) {
						st[5] += q->res == 0;
						st[6] += q->res == -EALREADY;
						st[7] += q->res == -ENOSPC;
					}
					st[8] += q->kind == K_SSEQ && q->val;
					st[9] += !(q->flags & F_SEL) && q->res == -EINTR;
					st[10] += q->res == -ENODEV;
					forks += q->who < 0xfe && (q->who & 8);
				}
				printf("# round %u: %u selects (EAGAIN %u, ETIMEDOUT %u, EINTR %u, CLOSED %u); send_once accepted %u, duplicate %u, ENOSPC %u; stream_seq nonzero %u; other EINTR %u; ENODEV %u; by forked children %u\n",
				       r, st[0], st[1], st[2], st[3], st[4], st[5], st[6], st[7], st[8], st[9], st[10], forks);
			}
		}
		if (n < 0) {
			printf("not ok %u round %u could not run\n", r, r);
			failed++;
		} else if (n) {
			printf("# seed %" PRIu64 " round %u: %d violation(s); replay: chan_lincheck --seed %" PRIu64 " --rounds %u (the schedule differs, the workload is the same)\n",
			       seed, r, n, seed, r);
			printf("not ok %u round %u seed %" PRIu64 "\n", r, r, seed);
			failed++;
		} else {
			printf("ok %u round %u: %u operations linearizable, no lost wake-up\n", r, r, nops);
		}
	}
	printf("# %d of %u rounds failed\n", failed, rounds);
	return failed ? 1 : 0;
}
