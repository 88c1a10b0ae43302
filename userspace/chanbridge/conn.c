// SPDX-License-Identifier: GPL-2.0
/*
 * The protocol engine of one connection: handshake, frame dispatch, the
 * source and destination halves of each stream, and the output scheduler.
 * Every check of what the peer sent ends in conn_kill() with a reason:
 * nothing a peer sends can do more than close its own connection.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bridge.h"
#include "kch.h"
#include "log.h"

#define PRE_BODY_MAX	64	/* before the handshake: HELLO and AUTH only */

static void conn_flush(struct conn *c);

struct conn *conn_new(struct bridge *b, int fd, const char *peer, enum cstate st)
{
	struct conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->tag.kind = T_CONN;
	c->b = b;
	c->fd = fd;
	c->id = ++b->next_id;
	c->state = st;
	snprintf(c->peer, sizeof(c->peer), "%s", peer);
	c->rcap = CB_HDR + PRE_BODY_MAX;
	c->wcap = CB_CTL_RESERVE;
	c->rbuf = malloc(c->rcap);
	c->wbuf = malloc(c->wcap);
	if (!c->rbuf || !c->wbuf || conn_tls_new(c)) {
		free(c->rbuf);
		free(c->wbuf);
		free(c);
		return NULL;
	}
	c->hs_deadline = now_ms() + b->hs_timeout_ms;
	c->last_rx = c->last_ping = now_ms();
	return c;
}

/* Queue a frame; 0 if it does not fit now. */
static int put(struct conn *c, const struct cb_frame *f)
{
	size_t n = cb_encode(c->wbuf + c->wlen, c->wcap - c->wlen, f);

	c->wlen += n;
	return n != 0;
}

static void put_error(struct conn *c, uint32_t chan, int code, const char *text)
{
	struct cb_frame f = { .type = CB_ERROR, .chan = chan, .u32 = (uint32_t)code };

	f.data = (const uint8_t *)text;
	f.len = (uint32_t)strlen(text);
	put(c, &f);
}

static const char *role_name(const struct stream *s)
{
	return s->role == ROLE_SRC ? "source" : "destination";
}

static void msgs_free(struct msg *m)
{
	while (m) {
		struct msg *n = m->next;

		free(m);
		m = n;
	}
}

static void stream_free(struct stream *s)
{
	struct bridge *b = s->c->b;

	if (s->fd >= 0) {
		ev_forget(b->ev, s->fd);
		if (s->own_fd)
			close(s->fd);	/* held messages go back by themselves */
		else if (s->role == ROLE_SRC && s->nfl)
			kch_return_all(s->fd);
	}
	msgs_free(s->fl);
	msgs_free(s->pq);
	free(s);
}

void conn_free(struct conn *c)
{
	for (int i = 0; i < c->ns; i++)
		stream_free(c->s[i]);
	conn_tls_free(c);
	if (c->fd >= 0) {
		ev_forget(c->b->ev, c->fd);
		close(c->fd);
	}
	free(c->rbuf);
	free(c->wbuf);
	free(c);
}

void conn_kill(struct conn *c, int code, const char *fmt, ...)
{
	char why[256];
	va_list ap;

	if (c->state == C_DEAD)
		return;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	logmsg("conn %d %s: closing: %s", c->id, c->peer, why);
	/* Not in C_TLS: frames go through TLS or not at all. */
	if (code && c->fd >= 0 && c->state != C_TLS && c->state != C_CONNECTING) {
		/* Best effort: tell the peer why, without waiting for it. */
		if (c->wcap - c->wlen < CB_HDR + 9 + CB_TEXT_MAX)
			c->wlen = 0;
		put_error(c, 0, code, why);
		c->state = C_DEAD;	/* a failing TLS write must not recurse */
		if (conn_io_write(c, c->wbuf, c->wlen) < 0)
			c->wlen = 0;
	}
	c->state = C_DEAD;
}

static struct stream *find(struct conn *c, uint32_t chan)
{
	for (int i = 0; i < c->ns; i++)
		if (c->s[i]->id == chan)
			return c->s[i];
	return NULL;
}

static void stream_fail(struct stream *s, int err, const char *what, int tell)
{
	logmsg("conn %d %s: channel %s (%s): %s: %s", s->c->id, s->c->peer, s->name,
	       role_name(s), what, strerror(err));
	if (tell)
		put_error(s->c, s->id, err, what);
	s->state = S_FAILED;
	if (s->role == ROLE_SRC && s->nfl && s->fd >= 0)
		kch_return_all(s->fd);
	msgs_free(s->fl);
	msgs_free(s->pq);
	s->fl = s->fl_tail = s->pq = s->pq_tail = NULL;
	s->nfl = s->unsent = s->npq = 0;
	if (!s->c->b->server)
		import_stream_end(s->c->b, s);
}

/* --- handshake ------------------------------------------------------------ */

static void send_hello(struct conn *c)
{
	/* The nonce is unused: TLS authenticates, and HELLO keeps its layout. */
	struct cb_frame f = {
		.type = CB_HELLO, .magic = CB_MAGIC, .version = CB_VERSION,
		.u32 = c->max_msg ? c->max_msg : c->b->max_msg,
	};

	put(c, &f);
}

/* Import: connected.  The TLS handshake first, when there is TLS. */
void conn_start(struct conn *c)
{
	logmsg("conn %d %s: connected", c->id, c->peer);
	c->hs_deadline = now_ms() + c->b->hs_timeout_ms;
	if (c->tls) {
		c->state = C_TLS;
		conn_tls_step(c);
		return;
	}
	conn_hello(c);
}

/* The transport is up (and authenticated, with TLS): HELLO, the importer first. */
void conn_hello(struct conn *c)
{
	c->state = C_HELLO;
	if (!c->b->server)
		send_hello(c);
	conn_update(c);
}

static void ready(struct conn *c)
{
	size_t rcap = CB_HDR + c->max_msg + CB_OVERHEAD + 256;
	uint8_t *r = realloc(c->rbuf, rcap);
	uint8_t *w = r ? realloc(c->wbuf, CB_CTL_RESERVE + 2 * rcap) : NULL;

	if (r)
		c->rbuf = r;
	if (!r || !w) {
		conn_kill(c, 0, "out of memory");
		return;
	}
	c->rcap = rcap;
	c->wbuf = w;
	c->wcap = CB_CTL_RESERVE + 2 * rcap;
	c->state = C_READY;
	if (c->tls)
		logmsg("conn %d %s: ready (protocol %d, max message %u bytes, TLS, peer \"%s\")",
		       c->id, c->peer, CB_VERSION, c->max_msg, conn_principal(c));
	else
		logmsg("conn %d %s: ready (protocol %d, max message %u bytes, no TLS)", c->id,
		       c->peer, CB_VERSION, c->max_msg);
	if (!c->b->server) {
		c->b->backoff_ms = 0;
		for (int i = 0; i < c->ns; i++)
			c->s[i]->pend |= P_OPEN;
	}
}

static void on_hello(struct conn *c, const struct cb_frame *f)
{
	struct bridge *b = c->b;

	if (f->magic != CB_MAGIC)
		return conn_kill(c, CB_ERR_PROTO, "bad magic 0x%08x: not a chanbridge peer", f->magic);
	if (f->version != CB_VERSION)
		return conn_kill(c, CB_ERR_VERSION, "peer speaks protocol %u, we speak %d",
				 f->version, CB_VERSION);
	if (f->flags & CB_HELLO_PSK)
		return conn_kill(c, CB_ERR_AUTH, "peer wants the old HMAC exchange: use TLS");
	if (f->u32 == 0)
		return conn_kill(c, CB_ERR_PROTO, "max message 0");
	c->max_msg = f->u32 < b->max_msg ? f->u32 : b->max_msg;
	if (b->server)
		send_hello(c);
	ready(c);
}

/* --- source: hold, send, ack ------------------------------------------------ */

/* The far side committed everything up to seq: release those holds for good. */
static void src_ack(struct stream *s, uint64_t seq)
{
	struct msg *m = s->fl, *last = NULL, *head;
	int n = 0, err;

	while (m && m->seq <= seq && m->sent_us) {
		last = m;
		n++;
		m = m->next;
	}
	if (!last)
		return;
	int64_t r = now_us() - last->sent_us;

	s->st->rtt_us = s->st->rtt_us ? (7 * s->st->rtt_us + r) / 8 : r;
	/* Holds are acked in the order they were made: one ioctl for all. */
	err = kch_ack(s->fd, last->hold_id);
	if (err < 0)
		return stream_fail(s, -err, "KCHAN_IOC_ACK", 1);
	s->st->acked += n;
	s->nobufs = 0;
	head = s->fl;
	s->fl = last->next;
	if (!s->fl)
		s->fl_tail = NULL;
	last->next = NULL;
	msgs_free(head);
	s->nfl -= n;
}

static void src_pump(struct stream *s)
{
	struct bridge *b = s->c->b;
	uint64_t id, seq;
	int rc;

	if (s->state != S_RUN || !s->resumed)
		return;
	while (!s->eof && !s->nobufs && (uint64_t)s->unsent < s->credit - s->sent_frames) {
		rc = kch_hold(s->fd, b->scratch, CB_MSG_HARD_MAX, &id, &seq);
		if (rc == -ENOBUFS) {
			/* The channel's hold limit: wait for acks, not for POLLIN. */
			s->nobufs = 1;
			break;
		}
		if (rc == -EAGAIN)
			break;
		if (rc < 0) {
			if (rc == -EMSGSIZE)
				return stream_fail(s, EMSGSIZE, "message larger than the far channel takes", 1);
			return stream_fail(s, -rc, "KCHAN_IOC_HOLD", 1);
		}
		if (rc == 0) {
			s->eof = 1;
			break;
		}
		if (seq <= s->resume) {
			/* Committed before a reconnect: the far side has it. */
			rc = kch_ack(s->fd, id);
			if (rc < 0)
				return stream_fail(s, -rc, "KCHAN_IOC_ACK", 1);
			s->st->acked++;
			continue;
		}
		if ((uint32_t)rc > s->c->max_msg) {
			kch_return_all(s->fd);
			return stream_fail(s, EMSGSIZE, "message larger than the connection's maximum", 1);
		}
		struct msg *m = malloc(sizeof(*m) + rc);

		if (!m) {
			kch_return_all(s->fd);
			return stream_fail(s, ENOMEM, "hold", 1);
		}
		m->next = NULL;
		m->seq = seq;
		m->hold_id = id;
		m->sent_us = 0;
		m->len = (uint32_t)rc;
		memcpy(m->data, b->scratch, rc);
		if (s->fl_tail)
			s->fl_tail->next = m;
		else
			s->fl = m;
		s->fl_tail = m;
		s->nfl++;
		s->unsent++;
		s->last_seq = seq;
	}
	if (s->eof && s->nfl == 0 && !(s->pend & P_CLOSE) && s->state == S_RUN)
		s->pend |= P_CLOSE;
}

/* The next message to send: the first one held but not sent in this session. */
static struct msg *src_next(struct stream *s)
{
	struct msg *m = s->fl;

	while (m && m->sent_us)
		m = m->next;
	return m;
}

/* --- destination: commit, grant ------------------------------------------- */

/* How many more messages the channel can take now. */
static uint64_t dst_room(struct stream *s)
{
	struct kchan_info info;

	if (s->capacity == 0) {
		struct pollfd p = { .fd = s->fd, .events = POLLOUT };

		return poll(&p, 1, 0) == 1 && (p.revents & POLLOUT) ? 1 : 0;
	}
	if (kch_info(s->fd, &info) < 0)
		return 0;
	if (info.length + info.held >= info.capacity)
		return 0;
	return info.capacity - info.length - info.held;
}

static void dst_pump(struct stream *s)
{
	if (s->state != S_RUN)
		return;
	while (s->pq) {
		struct msg *m = s->pq;
		int rc = kch_send_once(s->fd, m->data, m->len, s->stream, m->seq);

		if (rc == -EAGAIN)
			break;
		if (rc < 0)
			return stream_fail(s, -rc, "KCHAN_IOC_SEND_ONCE", 1);
		if (rc == 1)
			s->st->dups++;
		else
			s->st->sent++;
		/* Test hook: die between a commit and its ACK, the window SEND_ONCE closes. */
		if (rc == 0 && s->c->b->crash_after &&
		    ++s->c->b->commits == s->c->b->crash_after) {
			logmsg("CHANBRIDGE_CRASH_AFTER_COMMIT: exiting after %llu commits, unacked",
			       (unsigned long long)s->c->b->commits);
			_exit(99);
		}
		s->committed = m->seq;
		s->pend |= P_ACK;
		s->pq = m->next;
		if (!s->pq)
			s->pq_tail = NULL;
		s->npq--;
		free(m);
	}
	if (s->close_rcvd && !s->pq) {
		int rc = kch_close(s->fd);

		if (rc < 0 && rc != -EPIPE)
			return stream_fail(s, -rc, "KCHAN_IOC_CLOSE", 1);
		logmsg("conn %d %s: channel %s: closed after seq %llu, as its source was",
		       s->c->id, s->c->peer, s->name, (unsigned long long)s->committed);
		s->pend |= P_CLOSE_ACK;
		s->state = S_DONE;
		if (!s->c->b->server)
			import_stream_end(s->c->b, s);
		return;
	}
	/* Grant credit for what the channel has room for, up to the window. */
	uint64_t out = s->granted - s->received;

	if (out + s->npq < s->window && !s->close_rcvd) {
		uint64_t room = dst_room(s), g;

		g = room > out + s->npq ? room - out - s->npq : 0;
		if (g > s->window - out - s->npq)
			g = s->window - out - s->npq;
		if (g) {
			s->granted += g;
			s->pend |= P_CREDIT;
		}
	}
}

static uint32_t stream_wants(const struct stream *s)
{
	if (s->state != S_RUN || s->fd < 0)
		return 0;
	if (s->role == ROLE_SRC)
		return s->resumed && !s->eof && !s->nobufs &&
			(uint64_t)s->unsent < s->credit - s->sent_frames ? POLLIN : 0;
	/* Wait for room to commit, or for room to grant credit when none is out. */
	if (s->pq || (!s->close_rcvd && s->granted == s->received))
		return POLLOUT;
	return 0;
}

void stream_event(struct stream *s, uint32_t events)
{
	(void)events;
	conn_update(s->c);
}

/* --- frames ------------------------------------------------------------------ */

static struct stream *need(struct conn *c, const struct cb_frame *f, enum role r)
{
	struct stream *s = find(c, f->chan);

	if (!s) {
		conn_kill(c, CB_ERR_PROTO, "%s for unknown channel %u", cb_typename(f->type), f->chan);
		return NULL;
	}
	if (s->role != r) {
		conn_kill(c, CB_ERR_PROTO, "%s for channel %u, whose %s is here",
			  cb_typename(f->type), f->chan, role_name(s));
		return NULL;
	}
	if (s->state == S_FAILED || s->state == S_DONE)
		return NULL;	/* in flight when it ended: ignored */
	return s;
}

static void on_frame(struct conn *c, const struct cb_frame *f)
{
	struct stream *s;

	if (c->state == C_HELLO) {
		if (f->type == CB_ERROR)
			goto error;
		if (f->type != CB_HELLO)
			return conn_kill(c, CB_ERR_PROTO, "%s before HELLO", cb_typename(f->type));
		return on_hello(c, f);
	}
	switch (f->type) {
	case CB_HELLO: case CB_AUTH:
		return conn_kill(c, CB_ERR_PROTO, "%s after the handshake", cb_typename(f->type));
	case CB_PING:
		c->need_pong = 1;
		c->pong_token = f->seq;
		return;
	case CB_PONG: {
		int64_t r = now_us() - (int64_t)f->seq;

		if (r >= 0 && r < 3600LL * 1000000)
			c->rtt_us = r;
		return;
	}
	case CB_OPEN:
		if (!c->b->server)
			return conn_kill(c, CB_ERR_PROTO, "OPEN sent to an importer");
		if (find(c, f->chan))
			return conn_kill(c, CB_ERR_PROTO, "OPEN of channel %u twice", f->chan);
		if (c->ns >= CB_MAX_CHANS)
			return conn_kill(c, CB_ERR_LIMIT, "more than %d channels", CB_MAX_CHANS);
		serve_open(c, f);
		return;
	case CB_OPENED:
		if (c->b->server || !(s = find(c, f->chan)) || s->state != S_OPENING)
			return conn_kill(c, CB_ERR_PROTO, "unexpected OPENED for channel %u", f->chan);
		if (f->u32 == 0 || f->u32 > c->max_msg)
			return conn_kill(c, CB_ERR_PROTO, "OPENED with msg_max %u", f->u32);
		if (s->role == ROLE_DST && f->stream == 0)
			return conn_kill(c, CB_ERR_PROTO, "OPENED without a stream");
		import_opened(c, s, f);
		return;
	case CB_STREAM:
		if (!(s = need(c, f, ROLE_DST)))
			return;
		if (!c->b->server || s->stream)
			return conn_kill(c, CB_ERR_PROTO, "unexpected STREAM for channel %u", f->chan);
		s->stream = f->stream;
		{
			int rc = kch_stream_seq(s->fd, s->stream, &s->committed);

			if (rc < 0)
				return stream_fail(s, -rc, "KCHAN_IOC_STREAM_SEQ", 1);
		}
		s->last_rx = s->committed;
		s->state = S_RUN;
		s->pend |= P_RESUME;
		logmsg("conn %d %s: channel %s: stream %016llx resumes after seq %llu", c->id,
		       c->peer, s->name, (unsigned long long)s->stream,
		       (unsigned long long)s->committed);
		return;
	case CB_RESUME:
		if (!(s = need(c, f, ROLE_SRC)))
			return;
		if (s->resumed || s->state != S_RUN)
			return conn_kill(c, CB_ERR_PROTO, "RESUME twice for channel %u", f->chan);
		s->resumed = 1;
		s->resume = f->seq;
		return;
	case CB_CREDIT:
		if (!(s = need(c, f, ROLE_SRC)))
			return;
		if (f->seq < s->credit || f->seq - s->sent_frames > CB_WINDOW_MAX)
			return conn_kill(c, CB_ERR_PROTO, "CREDIT %llu for channel %u out of range",
					 (unsigned long long)f->seq, f->chan);
		s->credit = f->seq;
		return;
	case CB_DATA:
		if (!(s = need(c, f, ROLE_DST)))
			return;
		if (s->state != S_RUN || s->close_rcvd)
			return conn_kill(c, CB_ERR_PROTO, "DATA for channel %u when not open", f->chan);
		if (s->received >= s->granted)
			return conn_kill(c, CB_ERR_PROTO, "DATA for channel %u beyond its credit",
					 f->chan);
		if (f->seq <= s->last_rx && s->received)
			return conn_kill(c, CB_ERR_PROTO, "DATA seq %llu after %llu on channel %u",
					 (unsigned long long)f->seq,
					 (unsigned long long)s->last_rx, f->chan);
		if (f->len > s->msg_max)
			return conn_kill(c, CB_ERR_PROTO, "DATA of %u bytes, above msg_max %u",
					 f->len, s->msg_max);
		s->received++;
		s->last_rx = f->seq;
		{
			struct msg *m = malloc(sizeof(*m) + f->len);

			if (!m)
				return conn_kill(c, 0, "out of memory");
			m->next = NULL;
			m->seq = f->seq;
			m->len = f->len;
			memcpy(m->data, f->data, f->len);
			if (s->pq_tail)
				s->pq_tail->next = m;
			else
				s->pq = m;
			s->pq_tail = m;
			s->npq++;
		}
		return;
	case CB_ACK:
		if (!(s = need(c, f, ROLE_SRC)))
			return;
		if (f->seq > s->max_sent)
			return conn_kill(c, CB_ERR_PROTO, "ACK of seq %llu, never sent on channel %u",
					 (unsigned long long)f->seq, f->chan);
		src_ack(s, f->seq);
		return;
	case CB_CLOSE:
		if (!(s = need(c, f, ROLE_DST)))
			return;
		if (s->close_rcvd || s->state != S_RUN)
			return conn_kill(c, CB_ERR_PROTO, "CLOSE twice for channel %u", f->chan);
		s->close_rcvd = 1;
		s->close_seq = f->seq;
		return;
	case CB_CLOSE_ACK:
		if (!(s = need(c, f, ROLE_SRC)))
			return;
		if (!s->eof || s->nfl)
			return conn_kill(c, CB_ERR_PROTO, "CLOSE_ACK for channel %u before CLOSE", f->chan);
		logmsg("conn %d %s: channel %s: close delivered", c->id, c->peer, s->name);
		s->state = S_DONE;
		if (!c->b->server)
			import_stream_end(c->b, s);
		return;
	case CB_ERROR:
		goto error;
	}
	return;
error:
	{
		char text[CB_TEXT_MAX + 1];
		int n = (int)f->len, i;

		for (i = 0; i < n; i++)
			text[i] = f->data[i] >= 0x20 && f->data[i] < 0x7f ? (char)f->data[i] : '?';
		text[n] = 0;
		if (f->chan == 0) {
			/* Final only from a peer TLS authenticated: anyone can say no. */
			if (c->tls && (f->u32 == CB_ERR_AUTH || f->u32 == CB_ERR_VERSION))
				c->fatal = 1;
			return conn_kill(c, 0, "peer reports error %u: %s", f->u32, text);
		}
		s = find(c, f->chan);
		if (!s)
			return conn_kill(c, CB_ERR_PROTO, "ERROR for unknown channel %u", f->chan);
		if (s->state == S_FAILED || s->state == S_DONE)
			return;
		logmsg("conn %d %s: channel %s: far side reports error %u: %s", c->id, c->peer,
		       s->name, f->u32, text);
		if (f->u32 < CB_ERR_PROTO)
			stream_fail(s, (int)f->u32, "far side failed", 0);
		else
			stream_fail(s, EPERM, "far side refused", 0);
	}
}

/* --- I/O ---------------------------------------------------------------------- */

static void conn_read(struct conn *c)
{
	for (;;) {
		ssize_t n;
		size_t off = 0;

		if (c->rlen == c->rcap)
			return conn_kill(c, CB_ERR_PROTO, "frame does not fit the buffer");
		n = conn_io_read(c, c->rbuf + c->rlen, c->rcap - c->rlen);
		if (n == 0)
			return conn_kill(c, 0, "peer closed the connection");
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			return conn_kill(c, 0, "read: %s", strerror(errno));
		}
		c->rlen += (size_t)n;
		/* A TLS record (handshake, TLS 1.x) where a HELLO should be. */
		if (c->state == C_HELLO && !c->tls && c->rlen >= 3 && c->rbuf[0] == 0x16 &&
		    c->rbuf[1] == 3)
			return conn_kill(c, 0, "the peer speaks TLS, and we do not "
					 "(give us --psk-file or --cert)");
		while (c->state != C_DEAD) {
			struct cb_frame f;
			size_t max_body = c->state == C_READY ? c->rcap - CB_HDR : PRE_BODY_MAX;
			int rc = cb_decode(c->rbuf + off, c->rlen - off, max_body, &f);

			if (rc == 0)
				break;
			if (rc < 0)
				return conn_kill(c, CB_ERR_PROTO, "bad frame: %s", cb_strerror(rc));
			off += (size_t)rc;
			c->last_rx = now_ms();
			on_frame(c, &f);
		}
		if (c->state == C_DEAD)
			return;
		memmove(c->rbuf, c->rbuf + off, c->rlen - off);
		c->rlen -= off;
		/* Let the streams take what arrived before reading more. */
		if (c->state == C_READY)
			return;
	}
}

static void put_stream_ctl(struct conn *c, struct stream *s)
{
	struct cb_frame f = { .chan = s->id };

	if (s->pend & P_OPEN) {
		f.type = CB_OPEN;
		f.dir = s->role == ROLE_SRC ? CB_DIR_SEND : CB_DIR_RECV;
		f.u32 = s->window;
		snprintf(f.name, sizeof(f.name), "%s", s->name);
		if (put(c, &f))
			s->pend &= ~P_OPEN;
	}
	if (s->pend & P_OPENED) {
		f.type = CB_OPENED;
		f.stream = s->role == ROLE_SRC ? s->stream : 0;
		f.u32 = s->msg_max;
		f.capacity = s->capacity;
		if (put(c, &f))
			s->pend &= ~P_OPENED;
	}
	if (s->pend & P_STREAM) {
		f.type = CB_STREAM;
		f.stream = s->stream;
		if (put(c, &f))
			s->pend &= ~P_STREAM;
	}
	if (s->pend & P_RESUME) {
		f.type = CB_RESUME;
		f.seq = s->committed;
		if (put(c, &f))
			s->pend &= ~P_RESUME;
	}
	if (s->pend & P_ACK) {
		f.type = CB_ACK;
		f.seq = s->committed;
		if (put(c, &f))
			s->pend &= ~P_ACK;
	}
	if (s->pend & P_CREDIT) {
		f.type = CB_CREDIT;
		f.seq = s->granted;
		if (put(c, &f))
			s->pend &= ~P_CREDIT;
	}
	if (s->pend & P_CLOSE) {
		f.type = CB_CLOSE;
		f.seq = s->last_seq;
		if (put(c, &f)) {
			s->pend &= ~P_CLOSE;
			logmsg("conn %d %s: channel %s: closed and drained, CLOSE after seq %llu",
			       c->id, c->peer, s->name, (unsigned long long)s->last_seq);
		}
	}
	if (s->pend & P_CLOSE_ACK) {
		f.type = CB_CLOSE_ACK;
		f.seq = s->committed;
		if (put(c, &f))
			s->pend &= ~P_CLOSE_ACK;
	}
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
	put(c, &f);
	m->sent_us = now_us();
	s->unsent--;
	s->sent_frames++;
	s->max_sent = m->seq;
	s->st->sent++;
	if (m->seq <= s->st->max_seq)
		s->st->retrans++;
	else
		s->st->max_seq = m->seq;
	return 1;
}

/* Control frames first; then DATA, one frame per stream per round (fair). */
static void fill(struct conn *c)
{
	int i, progress;

	if (c->need_pong) {
		struct cb_frame f = { .type = CB_PONG, .seq = c->pong_token };

		if (put(c, &f))
			c->need_pong = 0;
	}
	for (i = 0; i < c->ns; i++)
		if (c->s[i]->pend)
			put_stream_ctl(c, c->s[i]);
	if (c->state != C_READY || !c->ns)
		return;
	do {
		progress = 0;
		for (i = 0; i < c->ns; i++) {
			struct stream *s = c->s[(c->rr + i) % c->ns];

			progress |= put_data(c, s);
		}
		c->rr++;
	} while (progress);
}

static void conn_flush(struct conn *c)
{
	while (c->wlen) {
		ssize_t n = conn_io_write(c, c->wbuf, c->wlen);

		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			return conn_kill(c, 0, "write: %s", strerror(errno));
		}
		memmove(c->wbuf, c->wbuf + n, c->wlen - (size_t)n);
		c->wlen -= (size_t)n;
	}
}

void conn_update(struct conn *c)
{
	struct bridge *b = c->b;
	int i, rounds;

	if (c->state == C_DEAD || c->state == C_CONNECTING || c->state == C_TLS)
		goto out;
	/* Streams and output feed each other: a few rounds until quiet. */
	for (rounds = 0; rounds < 4 && c->state != C_DEAD; rounds++) {
		size_t before = c->wlen;

		for (i = 0; i < c->ns; i++) {
			struct stream *s = c->s[i];

			if (s->role == ROLE_SRC)
				src_pump(s);
			else
				dst_pump(s);
		}
		fill(c);
		conn_flush(c);
		if (c->wlen == before && c->wlen == 0)
			break;
	}
out:
	if (c->state == C_DEAD)
		return;
	for (i = 0; i < c->ns; i++) {
		struct stream *s = c->s[i];
		uint32_t w = stream_wants(s);

		if (s->fd >= 0 && w != s->watched) {
			ev_watch(b->ev, s->fd, w, s);
			s->watched = w;
		}
	}
	{
		uint32_t w = POLLIN;

		if (c->state == C_TLS)
			w = c->tls_wants;
		else if (c->wlen || c->state == C_CONNECTING)
			w |= POLLOUT;
		w |= conn_io_wants(c);
		if (w != c->watched) {
			ev_watch(b->ev, c->fd, w, c);
			c->watched = w;
		}
	}
}

void conn_event(struct conn *c, uint32_t events)
{
	if (c->state == C_DEAD)
		return;
	if (c->state == C_CONNECTING) {
		int err = 0;
		socklen_t len = sizeof(err);

		if (!(events & (POLLOUT | POLLERR | POLLHUP)))
			return;
		getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
		if (err)
			return conn_kill(c, 0, "connect: %s", strerror(err));
		conn_start(c);
		return;
	}
	if (c->state == C_TLS) {
		conn_tls_step(c);
		return;
	}
	if (events & (POLLIN | POLLERR | POLLHUP) || conn_io_pending(c))
		conn_read(c);
	conn_update(c);
}

void conn_timers(struct conn *c, int64_t now)
{
	struct bridge *b = c->b;

	if (c->state == C_DEAD)
		return;
	if (c->state != C_READY && now >= c->hs_deadline)
		return conn_kill(c, CB_ERR_PROTO, "handshake not done within %d ms",
				 b->hs_timeout_ms);
	/* Records OpenSSL decrypted and holds: poll will not report them. */
	if (conn_io_pending(c)) {
		conn_read(c);
		conn_update(c);
		if (c->state == C_DEAD)
			return;
	}
	if (c->state != C_READY)
		return;
	/* A hold limit reached by other holders: no ack of ours will lift it. */
	for (int i = 0; i < c->ns; i++)
		if (c->s[i]->nobufs && !c->s[i]->nfl) {
			c->s[i]->nobufs = 0;
			conn_update(c);
		}
	if (now - c->last_rx >= 4LL * b->keepalive_ms)
		return conn_kill(c, CB_ERR_PROTO, "no complete frame for %lld ms: peer dead",
				 (long long)(now - c->last_rx));
	if (now - c->last_ping >= b->keepalive_ms) {
		struct cb_frame f = { .type = CB_PING, .seq = (uint64_t)now_us() };

		c->last_ping = now;
		put(c, &f);
		conn_update(c);
	}
}

int64_t conn_next_timer(const struct conn *c)
{
	const struct bridge *b = c->b;
	int64_t t;

	if (conn_io_pending(c))
		return now_ms();
	if (c->state != C_READY)
		return c->hs_deadline;
	t = c->last_ping + b->keepalive_ms;
	for (int i = 0; i < c->ns; i++)
		if (c->s[i]->nobufs && !c->s[i]->nfl && now_ms() + 100 < t)
			t = now_ms() + 100;
	if (c->last_rx + 4LL * b->keepalive_ms < t)
		t = c->last_rx + 4LL * b->keepalive_ms;
	return t;
}
