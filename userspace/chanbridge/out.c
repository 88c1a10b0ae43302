// SPDX-License-Identifier: GPL-2.0
/*
 * A connection's output: the frames owed (control first, they are small
 * and unblock the far side), then DATA one frame per stream per round so
 * that no channel starves another, then the flush to the socket.
 * CB_CTL_RESERVE bytes stay free of DATA so control frames always fit.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "conn.h"
#include "log.h"

int out_put(struct conn *c, const struct cb_frame *f)
{
	size_t n = cb_encode(c->wbuf + c->wlen, c->wcap - c->wlen, f);

	c->wlen += n;
	return n != 0;
}

void out_error(struct conn *c, uint32_t chan, int code, const char *text)
{
	struct cb_frame f = { .type = CB_ERROR, .chan = chan, .u32 = (uint32_t)code };

	f.data = (const uint8_t *)text;
	f.len = (uint32_t)strlen(text);
	out_put(c, &f);
}

/* Put the owed frame of type t with the fields set in *f; clear bit once it fits. */
static int owe_put(struct stream *s, unsigned int bit, struct cb_frame *f, uint8_t t)
{
	if (!(s->owed & bit))
		return 0;
	f->type = t;
	if (!out_put(s->c, f))
		return 0;
	s->owed &= ~bit;
	return 1;
}

static void put_owed(struct conn *c, struct stream *s)
{
	struct cb_frame f = { .chan = s->id };

	f.dir = s->role == ROLE_SRC ? CB_DIR_SEND : CB_DIR_RECV;
	f.u32 = s->window;
	f.stream = s->importer;
	snprintf(f.name, sizeof(f.name), "%s", s->name);
	owe_put(s, P_OPEN, &f, CB_OPEN);

	/* The exported channel's identity, so an importer sees it re-created. */
	f.stream = s->chan_id;
	f.u32 = s->msg_max;
	f.capacity = s->capacity;
	owe_put(s, P_OPENED, &f, CB_OPENED);

	f.stream = s->stream;
	owe_put(s, P_STREAM, &f, CB_STREAM);

	f.seq = s->committed;
	owe_put(s, P_RESUME, &f, CB_RESUME);
	owe_put(s, P_ACK, &f, CB_ACK);

	f.seq = s->granted;
	owe_put(s, P_CREDIT, &f, CB_CREDIT);

	f.seq = s->last_seq;
	if (owe_put(s, P_CLOSE, &f, CB_CLOSE))
		logmsg("conn %d %s: channel %s: closed and drained, CLOSE after seq %llu",
		       c->id, c->peer, s->name, (unsigned long long)s->last_seq);

	f.seq = s->committed;
	owe_put(s, P_CLOSE_ACK, &f, CB_CLOSE_ACK);
}

/* One DATA frame of s, if it has one, credit and room; 1 if sent. */
static int put_data(struct conn *c, struct stream *s)
{
	struct cb_frame f = { .type = CB_DATA, .chan = s->id };
	struct msg *m;

	if (s->role != ROLE_SRC || s->state != S_RUN || !s->unsent ||
	    s->sent_frames >= s->credit)
		return 0;
	m = src_next(s);
	if (!m)
		return 0;
	f.seq = m->seq;
	f.data = m->data;
	f.len = m->len;
	if (c->wlen + cb_size(&f) + CB_CTL_RESERVE > c->wcap)
		return 0;
	out_put(c, &f);
	src_sent(s, m);
	return 1;
}

void out_fill(struct conn *c)
{
	int i, progress;

	if (c->need_pong) {
		struct cb_frame f = { .type = CB_PONG, .seq = c->pong_token };

		if (out_put(c, &f))
			c->need_pong = 0;
	}
	for (i = 0; i < c->nstreams; i++)
		if (c->streams[i]->owed)
			put_owed(c, c->streams[i]);
	if (c->state != C_READY || !c->nstreams)
		return;
	do {
		progress = 0;
		for (i = 0; i < c->nstreams; i++) {
			struct stream *s = c->streams[(c->next_turn + i) % c->nstreams];

			progress |= put_data(c, s);
		}
		c->next_turn++;
	} while (progress);
}

void out_flush(struct conn *c)
{
	while (c->wlen) {
		ssize_t n = conn_io_write(c, c->wbuf, c->wlen);

		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			conn_kill(c, 0, "write: %s", strerror(errno));
			return;
		}
		memmove(c->wbuf, c->wbuf + n, c->wlen - (size_t)n);
		c->wlen -= (size_t)n;
	}
}
