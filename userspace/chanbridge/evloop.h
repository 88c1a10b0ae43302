/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The event loop's one small interface, over io_uring (IORING_OP_POLL_ADD,
 * re-armed as needed) or epoll: level-triggered readiness of file
 * descriptors, each with an opaque tag.
 */
#ifndef CHANBRIDGE_EVLOOP_H
#define CHANBRIDGE_EVLOOP_H

#include <stdint.h>

enum ev_kind { EV_URING, EV_EPOLL };

struct ev_event {
	void *tag;
	uint32_t events;	/* POLLIN, POLLOUT, POLLERR, POLLHUP */
};

struct evloop;

/* A loop of the kind wanted; io_uring falls back to epoll (logged). */
struct evloop *ev_new(enum ev_kind want);
enum ev_kind ev_kind(const struct evloop *l);
const char *ev_name(const struct evloop *l);
/* Watch fd for events (POLLIN|POLLOUT), replacing what was watched; 0 stops. */
int ev_watch(struct evloop *l, int fd, uint32_t events, void *tag);
/* Forget fd before closing it. */
void ev_forget(struct evloop *l, int fd);
/* Wait up to timeout_ms (-1: for ever); returns events filled, or -errno. */
int ev_wait(struct evloop *l, struct ev_event *ev, int max, int timeout_ms);
void ev_free(struct evloop *l);
/* A descriptor that polls readable when events wait (epoll's, or the ring's):
 * for a caller that runs several loops from one poll (tests/scenario_test.c). */
int ev_fd(const struct evloop *l);

#endif
