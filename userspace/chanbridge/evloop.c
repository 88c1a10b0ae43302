// SPDX-License-Identifier: GPL-2.0
/*
 * evloop.h over io_uring or epoll.  Both keep a table indexed by fd of what
 * is watched.  io_uring's POLL_ADD is one-shot: a watched fd is armed before
 * each wait and disarmed by its completion; a change of interest removes
 * the armed poll.  Completions carry (generation, fd), so one that belongs
 * to an older interest or an earlier file with the same number is ignored.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>
#include <liburing.h>

#include "evloop.h"
#include "log.h"

struct watch {
	void *tag;
	uint32_t events;	/* wanted; 0 = not watched */
	uint32_t armed;		/* io_uring: events of the armed poll, 0 if none */
	uint32_t gen;		/* io_uring: generation of the armed poll */
};

struct evloop {
	enum ev_kind kind;
	int epfd;
	struct io_uring ring;
	struct watch *w;
	int nw;
	uint32_t gen;
};

static int grow(struct evloop *l, int fd)
{
	struct watch *nw;
	int n = l->nw ? l->nw : 64;

	if (fd < l->nw)
		return 0;
	while (n <= fd)
		n *= 2;
	nw = realloc(l->w, sizeof(*nw) * n);
	if (!nw)
		return -ENOMEM;
	memset(nw + l->nw, 0, sizeof(*nw) * (n - l->nw));
	l->w = nw;
	l->nw = n;
	return 0;
}

struct evloop *ev_new(enum ev_kind want)
{
	struct evloop *l = calloc(1, sizeof(*l));
	int err;

	if (!l)
		return NULL;
	l->epfd = -1;
	if (want == EV_URING) {
		err = io_uring_queue_init(256, &l->ring, 0);
		if (err == 0) {
			l->kind = EV_URING;
			return l;
		}
		logmsg("io_uring unavailable (%s): falling back to epoll", strerror(-err));
	}
	l->kind = EV_EPOLL;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0) {
		free(l);
		return NULL;
	}
	return l;
}

enum ev_kind ev_kind(const struct evloop *l) { return l->kind; }
int ev_fd(const struct evloop *l) { return l->kind == EV_EPOLL ? l->epfd : l->ring.ring_fd; }
const char *ev_name(const struct evloop *l) { return l->kind == EV_URING ? "io_uring" : "epoll"; }

static uint64_t udata(uint32_t gen, int fd) { return (uint64_t)gen << 32 | (uint32_t)fd; }

static struct io_uring_sqe *sqe_get(struct evloop *l)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&l->ring);

	if (!sqe) {
		io_uring_submit(&l->ring);
		sqe = io_uring_get_sqe(&l->ring);
	}
	return sqe;
}

/* io_uring: drop the armed poll of fd, if any. */
static void disarm(struct evloop *l, int fd)
{
	struct watch *w = &l->w[fd];
	struct io_uring_sqe *sqe;

	if (!w->armed)
		return;
	sqe = sqe_get(l);
	if (sqe) {
		io_uring_prep_poll_remove(sqe, udata(w->gen, fd));
		io_uring_sqe_set_data64(sqe, 0);	/* its own completion: ignored */
	}
	w->armed = 0;
}

int ev_watch(struct evloop *l, int fd, uint32_t events, void *tag)
{
	struct watch *w;
	int err = grow(l, fd);

	if (err)
		return err;
	w = &l->w[fd];
	if (l->kind == EV_EPOLL) {
		struct epoll_event ee = { .events = events, .data.fd = fd };
		int op = !w->events ? EPOLL_CTL_ADD : events ? EPOLL_CTL_MOD : EPOLL_CTL_DEL;

		if (w->events == events && events) {
			w->tag = tag;
			return 0;
		}
		if (!w->events && !events)
			return 0;
		if (epoll_ctl(l->epfd, op, fd, &ee) < 0)
			return -errno;
	} else if (w->armed && w->armed != events) {
		disarm(l, fd);
	}
	w->events = events;
	w->tag = tag;
	return 0;
}

void ev_forget(struct evloop *l, int fd)
{
	if (fd < 0 || fd >= l->nw)
		return;
	if (l->kind == EV_EPOLL && l->w[fd].events)
		epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
	if (l->kind == EV_URING)
		disarm(l, fd);
	memset(&l->w[fd], 0, sizeof(l->w[fd]));
}

static int wait_epoll(struct evloop *l, struct ev_event *ev, int max, int timeout_ms)
{
	struct epoll_event ee[64];
	int n, i, k = 0;

	if (max > 64)
		max = 64;
	n = epoll_wait(l->epfd, ee, max, timeout_ms);
	if (n < 0)
		return -errno;
	for (i = 0; i < n; i++) {
		int fd = ee[i].data.fd;

		if (fd < l->nw && l->w[fd].events) {
			ev[k].tag = l->w[fd].tag;
			ev[k++].events = ee[i].events;
		}
	}
	return k;
}

static int wait_uring(struct evloop *l, struct ev_event *ev, int max, int timeout_ms)
{
	struct io_uring_cqe *cqe;
	struct __kernel_timespec ts;
	unsigned int head, seen = 0;
	int fd, k = 0, err;

	for (fd = 0; fd < l->nw; fd++) {
		struct watch *w = &l->w[fd];
		struct io_uring_sqe *sqe;

		if (!w->events || w->armed)
			continue;
		sqe = sqe_get(l);
		if (!sqe)
			return -EBUSY;
		w->gen = ++l->gen;
		w->armed = w->events;
		io_uring_prep_poll_add(sqe, fd, w->events);
		io_uring_sqe_set_data64(sqe, udata(w->gen, fd));
	}
	ts.tv_sec = timeout_ms / 1000;
	ts.tv_nsec = (long long)(timeout_ms % 1000) * 1000000;
	err = io_uring_submit_and_wait_timeout(&l->ring, &cqe, 1,
					       timeout_ms < 0 ? NULL : &ts, NULL);
	if (err < 0 && err != -ETIME)
		return err;
	io_uring_for_each_cqe(&l->ring, head, cqe) {
		uint64_t u = io_uring_cqe_get_data64(cqe);

		seen++;
		if (u == 0)
			continue;
		fd = (int)(uint32_t)u;
		if (fd >= l->nw || l->w[fd].gen != (uint32_t)(u >> 32) || !l->w[fd].armed)
			continue;
		l->w[fd].armed = 0;
		/* Cancelled, or no room: level-triggered, so re-armed and seen again. */
		if (cqe->res < 0 || k >= max)
			continue;
		ev[k].tag = l->w[fd].tag;
		ev[k++].events = (uint32_t)cqe->res;
	}
	io_uring_cq_advance(&l->ring, seen);
	return k;
}

int ev_wait(struct evloop *l, struct ev_event *ev, int max, int timeout_ms)
{
	return l->kind == EV_EPOLL ? wait_epoll(l, ev, max, timeout_ms)
				   : wait_uring(l, ev, max, timeout_ms);
}

void ev_free(struct evloop *l)
{
	if (l->kind == EV_EPOLL)
		close(l->epfd);
	else
		io_uring_queue_exit(&l->ring);
	free(l->w);
	free(l);
}
