/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The scenarios' world (tests/scenario_test.c): serve and import bridges
 * in one process on the kernel model (model/kch_model.h), a relay between
 * them (scen_proxy.h), a producer writing numbered messages into a source
 * channel and closing it, a consumer reading a destination to its end, all
 * turned by one loop.
 */
#ifndef CHANBRIDGE_SCEN_HARNESS_H
#define CHANBRIDGE_SCEN_HARNESS_H

#include <stdint.h>

#include "../bridge.h"
#include "scen_proxy.h"

/* In every message: absent from a capture of an encrypted link. */
#define SCEN_MARK	"PLAINTEXT-MARKER-7f3a"
#define SCEN_BRIDGES	4

struct producer {
	int fd;			/* the source channel, -1 once closed */
	uint32_t next, n;	/* the next seq to write, the last */
};

struct consumer {
	char name[CB_NAME_MAX + 1];
	int fd;
	uint32_t *seqs;		/* what was read, in order */
	uint32_t got, cap;
	uint32_t pause_at;	/* stop reading at this many (0: never) */
	int eof, bad;		/* end of file read; a message not ours */
};

struct world {
	struct bridge *b[SCEN_BRIDGES];	/* NULL: not running */
	struct proxy px;
	int have_px;
	struct producer pr;
	struct consumer co;
	const char *psk;	/* the key file: TLS PSK mode; NULL: plain TCP */
	enum ev_kind io;	/* the bridges' event loop */
	int srv_keepalive_ms, imp_keepalive_ms;
	uint32_t window;
};

/* A serve of the exports ("NAME:recv"...) on 127.0.0.1, a port of its own. */
struct bridge *scen_serve(struct world *w, const char *const *exports, int n);
uint16_t scen_port(const struct bridge *b);
/* An importer of remote (dir CB_DIR_*) as local, to 127.0.0.1:port. */
struct bridge *scen_import(struct world *w, uint16_t port, const char *remote, int dir,
			   const char *local);
/* A clean stop (run_loop's end), everything freed. */
void scen_stop(struct bridge *b);
/* A kill: every fd closed at once, nothing flushed, memory freed; the model
 * returns the holds of the channel files as the kernel does at release. */
void scen_kill(struct bridge *b);

void producer_start(struct producer *p, const char *chan, uint32_t n);
void consumer_start(struct consumer *c, const char *chan);
/* "" if the consumer read 1..n once each, in order, then end of file; else why. */
const char *consumer_verdict(const struct consumer *c, uint32_t n, char *buf, size_t len);

/* Turn everything until cond(w, arg) holds: 0, or -1 after limit_ms. */
typedef int scen_cond(struct world *w, long arg);
int scen_run(struct world *w, scen_cond *cond, long arg, int limit_ms);
scen_cond got_at_least, consumer_eof, accepted_at_least, importers_stopped;
/* Stop and free everything; the model reset. */
void scen_end(struct world *w);

#endif
