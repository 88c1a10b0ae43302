/* SPDX-License-Identifier: GPL-2.0 */
/*
 * An in-process TCP relay on loopback between an importer and a serve
 * (tests/scenario_test.c): it relays, cuts links, makes the first link
 * half-dead, stops a direction, and on TLS links flips a byte, injects
 * bytes and replays a record at record boundaries.  Single-threaded,
 * non-blocking: proxy_step() does what can be done now.  Every byte either
 * side sent is kept in a capture.
 */
#ifndef CHANBRIDGE_SCEN_PROXY_H
#define CHANBRIDGE_SCEN_PROXY_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>

enum { P_I2S, P_S2I };	/* the directions: importer -> server, server -> importer */

#define PROXY_LINKS	8
#define PROXY_BUF	(256 * 1024)
#define PROXY_REC_MAX	(5 + 16384 + 256)	/* a TLS record, header and all */

struct plink {
	int fd[2];		/* the importer's side, the server's side; -1 once closed */
	int id;			/* 1, 2, ...: in the order accepted */
	uint8_t *in[2];		/* read in direction d, not yet relayed */
	size_t in_len[2];
	uint8_t *out[2];	/* relayed in direction d, not yet written */
	size_t out_len[2];
	uint8_t last[2][PROXY_REC_MAX];	/* the last record relayed: for a replay */
	size_t last_len[2];
	uint64_t relayed[2];	/* bytes written on, per direction */
	int halfdead;		/* dropping server -> importer bytes from now on */
	int keep_server;	/* the importer's side closed: the server's stays open */
};

struct proxy {
	int lfd;
	uint16_t port;		/* where importers connect */
	uint16_t up_port;	/* the serve's port (change it after a restart) */
	int tls;		/* links carry TLS records: act at their boundaries */
	uint64_t halfdead_after;	/* link 1: server -> importer bytes relayed, then
					 * dropped; 0: never */
	int hold[2];		/* relay nothing in this direction (buffered) */
	/* one-shot actions on the newest link, at its next record boundary */
	int flip[2], replay[2];
	uint8_t inject[2][512];
	size_t inject_len[2];
	struct plink *links[PROXY_LINKS];
	int accepted, closed;	/* links so far, and links closed on both sides */
	uint8_t *cap;		/* the capture: every byte read from either side */
	size_t cap_len, cap_cap;
};

int proxy_init(struct proxy *p, uint16_t up_port, int tls);
void proxy_free(struct proxy *p);
void proxy_step(struct proxy *p);
/* The descriptors to poll, up to max: how many. */
int proxy_pollfds(const struct proxy *p, struct pollfd *fds, int max);
/* Close both sides of every link now, nothing flushed. */
void proxy_cut(struct proxy *p);
/* Links open on at least one side. */
int proxy_live(const struct proxy *p);
/* Whether the capture holds the bytes s. */
int proxy_captured(const struct proxy *p, const char *s);

#endif
