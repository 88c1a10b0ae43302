// SPDX-License-Identifier: GPL-2.0
/*
 * The scenarios' world (scen_harness.h).  The bridges are set up as
 * cmd_serve and cmd_import set them up (serve_add_export, serve_start,
 * import_add_channel, bridge_tls_init), minus the signals and the status
 * socket, and turned by bridge_turn() without waiting: one poll() over
 * their loops' descriptors, the relay's and the model files of the
 * producer and the consumer does the waiting for all of them.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>

#include "../cli.h"
#include "../conn.h"
#include "../kch.h"
#include "../log.h"
#include "../tls.h"
#include "../model/kch_model.h"
#include "scen_harness.h"

static int tls_setup(struct world *w, struct bridge *b)
{
	struct bridge_tls_opts t = { .psk_file = w->psk, .no_ktls = 1 };

	return bridge_tls_init(b, &t, 1, b->server ? NULL : "127.0.0.1");
}

struct bridge *scen_serve(struct world *w, const char *const *exports, int n)
{
	struct bridge *b = bridge_new(1);

	if (!b)
		abort();
	b->io = w->io;
	b->keepalive_ms = w->srv_keepalive_ms;
	b->hs_timeout_ms = 2000;
	b->insecure_loopback = !w->psk;
	for (int i = 0; i < n; i++)
		if (serve_add_export(b, exports[i]))
			abort();
	/* Port 0 (a port of its own), which --listen does not take. */
	*(struct sockaddr_in *)&b->addr = (struct sockaddr_in){
		.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	b->addrlen = sizeof(struct sockaddr_in);
	if (tls_setup(w, b) || bridge_setup_loop(b) || serve_start(b, "127.0.0.1:0"))
		abort();
	return b;
}

uint16_t scen_port(const struct bridge *b)
{
	return ntohs(((const struct sockaddr_in *)&b->addr)->sin_port);
}

struct bridge *scen_import(struct world *w, uint16_t port, const char *remote, int dir,
			   const char *local)
{
	struct bridge *b = bridge_new(0);
	char target[32];

	if (!b)
		abort();
	snprintf(target, sizeof(target), "127.0.0.1:%u", port);
	b->target = strdup(target);
	b->io = w->io;
	b->keepalive_ms = w->imp_keepalive_ms;
	b->hs_timeout_ms = 2000;
	b->window = w->window;
	if (!b->target || addr_parse(b->target, &b->addr, &b->addrlen) ||
	    import_add_channel(b, remote, strlen(remote), dir, local, strlen(local)) ||
	    tls_setup(w, b) || bridge_setup_loop(b))
		abort();
	return b;
}

/* What both ends share: the listener, the imported channels, the loop. */
static void bridge_free(struct bridge *b)
{
	if (b->lfd >= 0)
		close(b->lfd);
	for (int i = 0; i < b->nimports; i++)
		if (b->imports[i].fd >= 0)
			close(b->imports[i].fd);
	ev_free(b->ev);
	if (b->tls)
		tls_ctx_free(b->tls);
	free(b->scratch);
	free(b->conns);
	free(b->target);
	free(b);
}

void scen_stop(struct bridge *b)
{
	bridge_shutdown(b);
	bridge_free(b);
}

/* A connection gone with its process: no close_notify, no ERROR, no RETURN. */
static void conn_vanish(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	for (int i = 0; i < c->nstreams; i++) {
		struct stream *s = c->streams[i];

		if (s->fd >= 0 && s->own_fd)
			close(s->fd);	/* the model's release: the holds go back */
		msgs_free(s->held);
		msgs_free(s->to_commit);
		free(s);
	}
	if (c->tls)
		tls_conn_free(c->tls);
	free(c->rbuf);
	free(c->wbuf);
	free(c);
}

void scen_kill(struct bridge *b)
{
	for (int i = 0; i < b->nconns; i++)
		conn_vanish(b->conns[i]);
	b->nconns = 0;
	if (b->conn)
		conn_vanish(b->conn);
	b->conn = NULL;
	bridge_free(b);
}

/* ----- producer and consumer --------------------------------------------------- */

void producer_start(struct producer *p, const char *chan, uint32_t n)
{
	p->fd = kchm_open(chan, 1);
	if (p->fd < 0)
		abort();
	p->next = 1;
	p->n = n;
}

static void producer_step(struct producer *p)
{
	char msg[64];

	while (p->fd >= 0 && p->next <= p->n) {
		int len = snprintf(msg, sizeof(msg), "m %u " SCEN_MARK, p->next);

		if (kchm_write(p->fd, msg, (size_t)len) != len)
			return;	/* full: later */
		p->next++;
	}
	if (p->fd >= 0) {
		kchm_close(p->fd);	/* KCHAN_IOC_CLOSE: end of file after the last */
		kchm_release(p->fd);
		p->fd = -1;
	}
}

void consumer_start(struct consumer *c, const char *chan)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->name, sizeof(c->name), "%s", chan);
	c->fd = kchm_open(chan, 0);
	if (c->fd < 0)
		abort();
}

static void consumer_step(struct consumer *c)
{
	char msg[128];
	unsigned int seq;
	ssize_t n;

	while (c->fd >= 0 && !c->eof && (!c->pause_at || c->got < c->pause_at)) {
		n = kchm_read(c->fd, msg, sizeof(msg) - 1);
		if (n == 0)
			c->eof = 1;
		if (n <= 0)
			return;
		msg[n] = 0;
		if (sscanf(msg, "m %u ", &seq) != 1 || !strstr(msg, SCEN_MARK))
			c->bad++;
		if (c->got == c->cap) {
			c->cap = c->cap ? 2 * c->cap : 1024;
			c->seqs = realloc(c->seqs, c->cap * sizeof(*c->seqs));
			if (!c->seqs)
				abort();
		}
		c->seqs[c->got++] = seq;
	}
}

const char *consumer_verdict(const struct consumer *c, uint32_t n, char *buf, size_t len)
{
	uint32_t i;

	for (i = 0; i < c->got && i < n; i++)
		if (c->seqs[i] != i + 1)
			break;
	if (c->bad)
		snprintf(buf, len, "%d messages not of the producer's", c->bad);
	else if (i < c->got || c->got != n)
		snprintf(buf, len, "read %u messages, in order up to %u; then %u (want 1..%u)",
			 c->got, i, i < c->got ? c->seqs[i] : 0, n);
	else if (!c->eof)
		snprintf(buf, len, "read 1..%u, no end of file", n);
	else
		buf[0] = 0;
	return buf;
}

/* ----- the loop ------------------------------------------------------------------ */

/* Or the end: nothing more comes. */
int got_at_least(struct world *w, long arg) { return w->co.got >= (uint32_t)arg || w->co.eof; }
int consumer_eof(struct world *w, long arg) { (void)arg; return w->co.eof; }
int accepted_at_least(struct world *w, long arg) { return w->px.accepted >= arg; }

int importers_stopped(struct world *w, long arg)
{
	(void)arg;
	for (int i = 0; i < SCEN_BRIDGES; i++)
		if (w->b[i] && !w->b[i]->server && !w->b[i]->stop)
			return 0;
	return 1;
}

int scen_run(struct world *w, scen_cond *cond, long arg, int limit_ms)
{
	int64_t end = now_ms() + limit_ms;
	struct pollfd fds[64];

	for (;;) {
		int n = 0;

		for (int i = 0; i < SCEN_BRIDGES; i++) {
			if (!w->b[i])
				continue;
			if (!w->b[i]->stop)
				bridge_turn(w->b[i], 0);
			if (w->b[i]->stop)
				bridge_shutdown(w->b[i]);	/* as run_loop() ends; idempotent */
		}
		if (w->have_px)
			proxy_step(&w->px);
		producer_step(&w->pr);
		consumer_step(&w->co);
		if (cond(w, arg))
			return 0;
		if (now_ms() >= end)
			return -1;
		for (int i = 0; i < SCEN_BRIDGES; i++)
			if (w->b[i] && !w->b[i]->stop)
				fds[n++] = (struct pollfd){ .fd = ev_fd(w->b[i]->ev), .events = POLLIN };
		if (w->pr.fd >= 0)
			fds[n++] = (struct pollfd){ .fd = w->pr.fd, .events = POLLOUT };
		if (w->co.fd >= 0 && !w->co.eof && (!w->co.pause_at || w->co.got < w->co.pause_at))
			fds[n++] = (struct pollfd){ .fd = w->co.fd, .events = POLLIN };
		if (w->have_px)
			n += proxy_pollfds(&w->px, fds + n, (int)(sizeof(fds) / sizeof(fds[0])) - n);
		/* Short: io_uring posts poll completions from task work, which a
		 * poll() of the ring's fd does not always run at once. */
		poll(fds, (nfds_t)n, 1);
	}
}

void scen_end(struct world *w)
{
	for (int i = 0; i < SCEN_BRIDGES; i++) {
		if (w->b[i])
			scen_stop(w->b[i]);
		w->b[i] = NULL;
	}
	if (w->have_px)
		proxy_free(&w->px);
	w->have_px = 0;
	if (w->pr.fd >= 0)
		kchm_release(w->pr.fd);
	w->pr.fd = -1;
	if (w->co.fd >= 0)
		kchm_release(w->co.fd);
	free(w->co.seqs);
	memset(&w->co, 0, sizeof(w->co));
	w->co.fd = -1;
	kchm_reset();
}
