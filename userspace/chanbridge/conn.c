// SPDX-License-Identifier: GPL-2.0
/*
 * A connection's life: create, kill and free it, read and dispatch its
 * frames (one function per type, see conn.h for the files that hold them),
 * pump its streams, and run its timers.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conn.h"
#include "kch.h"
#include "log.h"

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

const char *role_name(const struct stream *s)
{
	return s->role == ROLE_SRC ? "source" : "destination";
}

void msgs_free(struct msg *m)
{
	while (m) {
		struct msg *n = m->next;

		free(m);
		m = n;
	}
}

/* Give back what the stream holds and received; nothing is committed or sent after this. */
static void msgs_drop(struct stream *s)
{
	struct conn *c = s->c;

	for (struct msg *m = s->held; m; m = m->next) {
		c->nheld--;
		c->held_bytes -= m->len;
	}
	msgs_free(s->held);
	msgs_free(s->to_commit);
	s->held = s->held_tail = s->to_commit = s->to_commit_tail = NULL;
	s->nheld = s->unsent = s->nto_commit = 0;
}

/*
 * The holds go back explicitly (KCHAN_IOC_RETURN, src_return()) before the
 * fd is closed: close(2) alone does not release the file while the event
 * loop's armed io_uring POLL_ADD still references it, and until it is
 * released the messages stay held, invisible to the next holder.
 */
void stream_release(struct stream *s)
{
	if (s->fd >= 0 && s->role == ROLE_SRC)
		src_return(s);
	msgs_drop(s);
	if (s->fd >= 0 && s->own_fd) {
		ev_forget(s->c->b->ev, s->fd);
		close(s->fd);
		s->fd = -1;
	}
}

static void stream_free(struct stream *s)
{
	struct bridge *b = s->c->b;

	if (s->fd >= 0)
		ev_forget(b->ev, s->fd);
	stream_release(s);
	if (b->server)
		serve_stream_end(s);
	free(s);
}

void conn_free(struct conn *c)
{
	for (int i = 0; i < c->nstreams; i++)
		stream_free(c->streams[i]);
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
	/* Before its handshake a peer can make us say this at will: rate-limited. */
	if (c->state == C_READY)
		logmsg("conn %d %s: closing: %s", c->id, c->peer, why);
	else
		logmsg_rl("closing", "conn %d %s: closing: %s", c->id, c->peer, why);
	/* Not in C_TLS: frames go through TLS or not at all. */
	if (code && c->fd >= 0 && c->state != C_TLS && c->state != C_CONNECTING) {
		/* Best effort: tell the peer why, without waiting for it. */
		if (c->wcap - c->wlen < CB_HDR + 9 + CB_TEXT_MAX)
			c->wlen = 0;
		out_error(c, 0, code, why);
		c->state = C_DEAD;	/* a failing TLS write must not come back here */
		if (conn_io_write(c, c->wbuf, c->wlen) < 0)
			c->wlen = 0;
	}
	c->state = C_DEAD;
	/* Now, not when it is freed: the next holder of a source may open it at once. */
	for (int i = 0; i < c->nstreams; i++)
		stream_release(c->streams[i]);
}

struct stream *stream_find(struct conn *c, uint32_t chan)
{
	for (int i = 0; i < c->nstreams; i++)
		if (c->streams[i]->id == chan)
			return c->streams[i];
	return NULL;
}

void stream_ended(struct stream *s)
{
	if (s->c->b->server)
		serve_stream_end(s);
	else
		import_stream_end(s->c->b, s);
}

/* err: an errno, or a CB_ERR_* code (>= CB_ERR_PROTO) for the peer. */
void stream_fail(struct stream *s, int err, const char *what, int tell)
{
	char code[24];

	snprintf(code, sizeof(code), "error %d", err);
	logmsg("conn %d %s: channel %s (%s): %s: %s", s->c->id, s->c->peer, s->name,
	       role_name(s), what, err < CB_ERR_PROTO ? strerror(err) : code);
	if (tell)
		out_error(s->c, s->id, err, what);
	s->state = S_FAILED;
	stream_release(s);
	stream_ended(s);
}

struct stream *stream_need(struct conn *c, const struct cb_frame *f, enum role r)
{
	struct stream *s = stream_find(c, f->chan);

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

static uint32_t stream_wants(const struct stream *s)
{
	if (s->state != S_RUN || s->fd < 0)
		return 0;
	return s->role == ROLE_SRC ? src_wants(s) : dst_wants(s);
}

void stream_event(struct stream *s, uint32_t events)
{
	(void)events;
	conn_update(s->c);
}

/* --- frames after the handshake, one function each ---------------------------- */

static void on_late_handshake(struct conn *c, const struct cb_frame *f)
{
	conn_kill(c, CB_ERR_PROTO, "%s after the handshake", cb_typename(f->type));
}

static void on_ping(struct conn *c, const struct cb_frame *f)
{
	c->need_pong = 1;
	c->pong_token = f->seq;
}

static void on_pong(struct conn *c, const struct cb_frame *f)
{
	int64_t r = now_us() - (int64_t)f->seq;

	if (r >= 0 && r < 3600LL * 1000000)
		c->rtt_us = r;
}

static void on_open(struct conn *c, const struct cb_frame *f)
{
	if (!c->b->server)
		conn_kill(c, CB_ERR_PROTO, "OPEN sent to an importer");
	else if (stream_find(c, f->chan))
		conn_kill(c, CB_ERR_PROTO, "OPEN of channel %u twice", f->chan);
	else if (c->nstreams >= CB_MAX_CHANS)
		conn_kill(c, CB_ERR_LIMIT, "more than %d channels", CB_MAX_CHANS);
	else
		serve_open(c, f);
}

static void on_opened(struct conn *c, const struct cb_frame *f)
{
	struct stream *s = c->b->server ? NULL : stream_find(c, f->chan);

	if (!s || s->state != S_OPENING)
		conn_kill(c, CB_ERR_PROTO, "unexpected OPENED for channel %u", f->chan);
	else if (f->u32 == 0 || f->u32 > c->max_msg)
		conn_kill(c, CB_ERR_PROTO, "OPENED with msg_max %u", f->u32);
	else if (s->role == ROLE_DST && f->stream == 0)
		conn_kill(c, CB_ERR_PROTO, "OPENED without a stream");
	else
		import_opened(c, s, f);
}

/*
 * An ERROR for one channel fails that stream; for channel 0, the connection.
 * Before the handshake is done the peer is nobody: nothing it says is final,
 * the importer tries again later.  CB_ERR_BUSY (another importer holds the
 * source) is not final either: the importer reconnects with backoff.
 */
static void on_error(struct conn *c, const struct cb_frame *f)
{
	char text[CB_TEXT_MAX + 1];
	struct stream *s;
	int n = (int)f->len, i;

	for (i = 0; i < n; i++)
		text[i] = f->data[i] >= 0x20 && f->data[i] < 0x7f ? (char)f->data[i] : '?';
	text[n] = 0;
	if (f->chan == 0 || c->state != C_READY) {
		conn_kill(c, 0, "peer reports error %u%s: %s", f->u32,
			  c->state == C_READY ? "" : " before the handshake finished", text);
		return;
	}
	s = stream_find(c, f->chan);
	if (!s) {
		conn_kill(c, CB_ERR_PROTO, "ERROR for unknown channel %u", f->chan);
		return;
	}
	if (s->state == S_FAILED || s->state == S_DONE)
		return;
	if (f->u32 == CB_ERR_BUSY && !c->b->server) {
		import_busy(c, s, text);
		return;
	}
	logmsg("conn %d %s: channel %s: far side reports error %u: %s", c->id, c->peer,
	       s->name, f->u32, text);
	if (f->u32 < CB_ERR_PROTO)
		stream_fail(s, (int)f->u32, "far side failed", 0);
	else
		stream_fail(s, EPERM, "far side refused", 0);
}

/* Indexed by frame type; cb_decode() returns only types 1..CB_TYPE_MAX. */
static frame_fn *const on_ready_frame[CB_TYPE_MAX + 1] = {
	[CB_HELLO] = on_late_handshake,
	[CB_AUTH] = on_late_handshake,
	[CB_OPEN] = on_open,
	[CB_OPENED] = on_opened,
	[CB_RESUME] = src_on_resume,
	[CB_CREDIT] = src_on_credit,
	[CB_DATA] = dst_on_data,
	[CB_ACK] = src_on_ack,
	[CB_CLOSE] = dst_on_close,
	[CB_CLOSE_ACK] = src_on_close_ack,
	[CB_PING] = on_ping,
	[CB_PONG] = on_pong,
	[CB_ERROR] = on_error,
	[CB_STREAM] = dst_on_stream,
};

static void on_frame(struct conn *c, const struct cb_frame *f)
{
	if (f->type == CB_ERROR)
		on_error(c, f);
	else if (c->state == C_HELLO)
		hs_frame(c, f);
	else
		on_ready_frame[f->type](c, f);
}

/* --- reading ------------------------------------------------------------------ */

/* Decode and dispatch the complete frames in rbuf, keeping a partial one. */
static void conn_decode(struct conn *c)
{
	size_t off = 0;

	while (c->state != C_DEAD) {
		struct cb_frame f;
		size_t max_body = c->state == C_READY ? c->rcap - CB_HDR : PRE_BODY_MAX;
		int rc = cb_decode(c->rbuf + off, c->rlen - off, max_body, &f);

		if (rc == 0)
			break;
		if (rc < 0) {
			conn_kill(c, CB_ERR_PROTO, "bad frame: %s", cb_strerror(rc));
			return;
		}
		off += (size_t)rc;
		c->last_rx = now_ms();
		on_frame(c, &f);
	}
	if (c->state == C_DEAD)
		return;
	memmove(c->rbuf, c->rbuf + off, c->rlen - off);
	c->rlen -= off;
}

static void conn_read(struct conn *c)
{
	for (;;) {
		ssize_t n;

		if (c->rlen == c->rcap) {
			conn_kill(c, CB_ERR_PROTO, "frame does not fit the buffer");
			return;
		}
		n = conn_io_read(c, c->rbuf + c->rlen, c->rcap - c->rlen);
		if (n == 0) {
			conn_kill(c, 0, "peer closed the connection");
			return;
		}
		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR)
				conn_kill(c, 0, "read: %s", strerror(errno));
			return;
		}
		c->rlen += (size_t)n;
		/* A TLS record (handshake, TLS 1.x) where a HELLO should be. */
		if (c->state == C_HELLO && !c->tls && c->rlen >= 3 && c->rbuf[0] == 0x16 &&
		    c->rbuf[1] == 3) {
			conn_kill(c, 0, "the peer speaks TLS, and we do not "
				  "(give us --psk-file or --cert)");
			return;
		}
		conn_decode(c);
		/* Let the streams take what arrived before reading more. */
		if (c->state == C_READY || c->state == C_DEAD)
			return;
	}
}

/* --- pumping ------------------------------------------------------------------ */

static void conn_watch(struct conn *c)
{
	uint32_t w = POLLIN;

	for (int i = 0; i < c->nstreams; i++) {
		struct stream *s = c->streams[i];
		uint32_t sw = stream_wants(s);

		if (s->fd >= 0 && sw != s->watched) {
			ev_watch(c->b->ev, s->fd, sw, s);
			s->watched = sw;
		}
	}
	if (c->state == C_TLS)
		w = c->tls_wants;
	else if (c->wlen || c->state == C_CONNECTING)
		w |= POLLOUT;
	w |= conn_io_wants(c);
	if (w != c->watched) {
		ev_watch(c->b->ev, c->fd, w, c);
		c->watched = w;
	}
}

void conn_update(struct conn *c)
{
	int i, rounds;

	if (c->state == C_DEAD)
		return;
	/* Streams and output feed each other: a few rounds until quiet. */
	for (rounds = 0; c->state != C_CONNECTING && c->state != C_TLS && rounds < 4 &&
	     c->state != C_DEAD; rounds++) {
		size_t before = c->wlen;

		for (i = 0; i < c->nstreams; i++) {
			struct stream *s = c->streams[i];

			if (s->role == ROLE_SRC)
				src_pump(s);
			else
				dst_pump(s);
		}
		out_fill(c);
		out_flush(c);
		if (c->wlen == before && c->wlen == 0)
			break;
	}
	if (c->state != C_DEAD)
		conn_watch(c);
}

/* The non-blocking connect() finished: handshake, or die with its error. */
static void conn_connected(struct conn *c, uint32_t events)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (!(events & (POLLOUT | POLLERR | POLLHUP)))
		return;
	getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
	if (err)
		conn_kill(c, 0, "connect: %s", strerror(err));
	else
		conn_start(c);
}

void conn_event(struct conn *c, uint32_t events)
{
	if (c->state == C_DEAD)
		return;
	if (c->state == C_CONNECTING) {
		conn_connected(c, events);
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

/* --- timers ------------------------------------------------------------------- */

void conn_timers(struct conn *c, int64_t now)
{
	struct bridge *b = c->b;

	if (c->state == C_DEAD)
		return;
	if (c->state != C_READY && now >= c->hs_deadline) {
		conn_kill(c, CB_ERR_PROTO, "handshake not done within %d ms", b->hs_timeout_ms);
		return;
	}
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
	for (int i = 0; i < c->nstreams; i++)
		if (c->streams[i]->nobufs && !c->streams[i]->nheld) {
			c->streams[i]->nobufs = 0;
			conn_update(c);
		}
	if (src_stalled(c, now))
		return;
	if (now - c->last_rx >= 4LL * b->keepalive_ms) {
		conn_kill(c, CB_ERR_PROTO, "no complete frame for %lld ms: peer dead",
			  (long long)(now - c->last_rx));
		return;
	}
	if (now - c->last_ping >= b->keepalive_ms) {
		struct cb_frame f = { .type = CB_PING, .seq = (uint64_t)now_us() };

		c->last_ping = now;
		out_put(c, &f);
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
	for (int i = 0; i < c->nstreams; i++)
		if (c->streams[i]->nobufs && !c->streams[i]->nheld && now_ms() + 100 < t)
			t = now_ms() + 100;
	if (c->last_rx + 4LL * b->keepalive_ms < t)
		t = c->last_rx + 4LL * b->keepalive_ms;
	for (int i = 0; i < c->nstreams; i++) {
		const struct stream *s = c->streams[i];

		if (s->role == ROLE_SRC && s->held &&
		    s->held->held_ms + CB_PROGRESS_KEEPALIVES * (int64_t)b->keepalive_ms < t)
			t = s->held->held_ms + CB_PROGRESS_KEEPALIVES * (int64_t)b->keepalive_ms;
	}
	return t;
}
