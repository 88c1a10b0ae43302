// SPDX-License-Identifier: GPL-2.0
/*
 * The source half of a stream: hold messages from the local channel
 * (KCHAN_IOC_HOLD, so a message stays the channel's until the far side has
 * committed it), send them within the far side's credit, and acknowledge
 * them (KCHAN_IOC_ACK) when it says it committed them.
 */
#include <assert.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "kch.h"
#include "log.h"

/*
 * The far side committed everything up to seq: release those holds for good.
 * KCHAN_IOC_ACK is cumulative over this file's holds (every id <= the one
 * given), so it must only be given the id of a message whose every earlier
 * hold was sent and is covered by seq.  That holds by construction: held is
 * in hold order and in increasing seq (src_pump refuses a seq not above
 * every one held before), and DATA goes out in held order (src_next), so the
 * messages sent are a prefix of held, and those with seq <= the ack a prefix
 * of that.  The check after the loop is the assertion of it.
 */
static void src_ack(struct stream *s, uint64_t seq)
{
	struct msg *m = s->held, *last = NULL, *head;
	size_t bytes = 0;
	int n = 0, err;

	while (m && m->seq <= seq && m->sent_us) {
		last = m;
		bytes += m->len;
		n++;
		m = m->next;
	}
	if (m && m->seq <= seq) {
		/* Unsent, yet covered: the ack would release a message never delivered. */
		logmsg("conn %d %s: channel %s: BUG: ACK %llu covers unsent seq %llu",
		       s->c->id, s->c->peer, s->name, (unsigned long long)seq,
		       (unsigned long long)m->seq);
		stream_fail(s, EPROTO, "ACK covers an unsent message", 1);
		return;
	}
	if (!last)
		return;
	int64_t r = now_us() - last->sent_us;

	s->st->rtt_us = s->st->rtt_us ? (7 * s->st->rtt_us + r) / 8 : r;
	err = kch_ack(s->fd, last->hold_id);
	if (err < 0) {
		stream_fail(s, -err, "KCHAN_IOC_ACK", 1);
		return;
	}
	s->st->acked += n;
	s->nobufs = 0;
	head = s->held;
	s->held = last->next;
	if (!s->held)
		s->held_tail = NULL;
	last->next = NULL;
	msgs_free(head);
	s->nheld -= n;
	s->c->nheld -= n;
	s->c->held_bytes -= bytes;
}

/* The largest message the far side takes: its channel's msg_max and the connection's. */
static uint32_t src_len_max(const struct stream *s)
{
	uint32_t max = s->c->max_msg;

	return s->far_msg_max && s->far_msg_max < max ? s->far_msg_max : max;
}

/* Keep a held message until it is acked; 0, or -errno (the stream failed). */
static int src_keep(struct stream *s, const uint8_t *data, int len, uint64_t id, uint64_t seq)
{
	struct msg *m;

	if ((uint32_t)len > src_len_max(s)) {
		/* Only this stream: the others on the connection keep flowing. */
		stream_fail(s, EMSGSIZE, "message larger than the far channel takes", 1);
		return -EMSGSIZE;
	}
	m = malloc(sizeof(*m) + len);
	if (!m) {
		stream_fail(s, ENOMEM, "hold", 1);
		return -ENOMEM;
	}
	m->next = NULL;
	m->seq = seq;
	m->hold_id = id;
	m->held_ms = now_ms();
	m->sent_us = 0;
	m->len = (uint32_t)len;
	memcpy(m->data, data, len);
	if (s->held_tail)
		s->held_tail->next = m;
	else
		s->held = m;
	s->held_tail = m;
	s->nheld++;
	s->unsent++;
	s->last_seq = seq;
	s->c->nheld++;
	s->c->held_bytes += (size_t)len;
	return 0;
}

/*
 * A hold gave a seq not above one already held in this session: the channel
 * had it back from another holder (RETURN, or a holder's file released),
 * and sending it now would go below what the far side already has, where its
 * at-most-once filter drops it as a duplicate and the ack loses it.  Give
 * everything back and stop: on the server the importer retries later
 * (CB_ERR_BUSY), on the importer the connection starts again.
 */
static void src_other_holder(struct stream *s, uint64_t seq)
{
	struct conn *c = s->c;
	char what[CB_TEXT_MAX];

	snprintf(what, sizeof(what), "held seq %llu after %llu: another file holds from %s",
		 (unsigned long long)seq, (unsigned long long)s->max_held, s->name);
	if (c->b->server) {
		stream_fail(s, CB_ERR_BUSY, what, 1);
		return;
	}
	stream_release(s);
	c->busy = 1;
	conn_kill(c, 0, "%s", what);
}

/*
 * Give every hold back.  Those not sent in this session (a suffix of held,
 * DATA going out in held order, and a hold src_pump() did not keep) go with
 * KCHAN_RETURN_UNSENT, so the next holder still hears deliveries 1 of them
 * (src_pump()); the sent ones count as possibly delivered.  A module
 * without the flag refuses it (EINVAL): the plain return takes them all.
 */
void src_return(struct stream *s)
{
	uint64_t from = 0;	/* 0: every hold of the file */
	struct msg *m;

	for (m = s->held; m && m->sent_us; m = m->next)
		from = m->hold_id + 1;
	if (m)
		from = m->hold_id;
	kch_return_unsent(s->fd, from);
	kch_return_all(s->fd);
}

/*
 * RESUME covers a seq held with deliveries 1: no one, this process or any
 * other holder before it (a crashed bridge's holds came back counted), was
 * ever given it, so no one sent it and the far side cannot have it.  An
 * honest far side's RESUME is a seq some source sent, and every seq below
 * it that is still in the channel was handed out before it (FIFO) and came
 * back counted, unless two holders took from the channel at once (see
 * src_other_holder()).  Ack none of it; the holds go back, this one unsent.
 * Not final: the importer may reconnect, and hears the same.
 */
static void src_resume_lie(struct stream *s, uint64_t seq)
{
	conn_kill(s->c, CB_ERR_PROTO,
		  "RESUME %llu for channel %u covers seq %llu, which no one was ever sent",
		  (unsigned long long)s->resume, s->id, (unsigned long long)seq);
}

/* Whether the connection may hold more: CB_HOLD_BUDGET and CB_HOLD_BYTES. */
static int src_budget(const struct conn *c)
{
	return c->nheld < CB_HOLD_BUDGET && c->held_bytes < CB_HOLD_BYTES;
}

/* Hold as many messages as the credit allows, and owe CLOSE once drained. */
void src_pump(struct stream *s)
{
	struct bridge *b = s->c->b;
	uint64_t id, seq;
	uint32_t deliveries;
	int rc;

	if (s->state != S_RUN || !s->resumed)
		return;
	while (!s->eof && !s->nobufs && (uint64_t)s->unsent < s->credit - s->sent_frames &&
	       src_budget(s->c)) {
		rc = kch_hold(s->fd, b->scratch, CB_MSG_HARD_MAX, &id, &seq, &deliveries);
		if (rc == -ENOBUFS) {
			/* The channel's hold limit: wait for acks, not for POLLIN. */
			s->nobufs = 1;
			break;
		}
		if (rc == -EAGAIN)
			break;
		if (rc == -EMSGSIZE) {
			stream_fail(s, EMSGSIZE, "message larger than the far channel takes", 1);
			return;
		}
		if (rc < 0) {
			stream_fail(s, -rc, "KCHAN_IOC_HOLD", 1);
			return;
		}
		if (rc == 0) {
			s->eof = 1;
			break;
		}
		if (seq <= s->max_held) {
			src_other_holder(s, seq);
			return;
		}
		s->max_held = seq;
		if (seq <= s->resume) {
			/*
			 * Sent by this process (max_seq) or possibly by an
			 * earlier holder (deliveries > 1; 0: a module that does
			 * not tell), and committed before a reconnect: the far
			 * side has it.  The ack is cumulative, but nothing is kept
			 * yet: a kept seq is above resume, and max_held refused
			 * anything below it.
			 */
			if (deliveries == 1 && seq > s->st->max_seq) {
				src_resume_lie(s, seq);
				return;
			}
			rc = kch_ack(s->fd, id);
			if (rc < 0) {
				stream_fail(s, -rc, "KCHAN_IOC_ACK", 1);
				return;
			}
			s->st->acked++;
			continue;
		}
		if (src_keep(s, b->scratch, rc, id, seq) < 0)
			return;
	}
	if (s->eof && s->nheld == 0 && !(s->owed & P_CLOSE) && s->state == S_RUN)
		s->owed |= P_CLOSE;
}

/* The next message to send: the first one held but not sent in this session. */
struct msg *src_next(struct stream *s)
{
	struct msg *m = s->held;

	while (m && m->sent_us)
		m = m->next;
	return m;
}

/* m went out as DATA. */
void src_sent(struct stream *s, struct msg *m)
{
	/* Held in increasing seq, sent in held order: never below one sent. */
	assert(m->seq > s->max_sent);
	m->sent_us = now_us();
	s->unsent--;
	s->sent_frames++;
	s->max_sent = m->seq;
	s->st->sent++;
	if (m->seq <= s->st->max_seq)
		s->st->retrans++;
	else
		s->st->max_seq = m->seq;
}

uint32_t src_wants(const struct stream *s)
{
	return s->resumed && !s->eof && !s->nobufs && src_budget(s->c) &&
		(uint64_t)s->unsent < s->credit - s->sent_frames ? POLLIN : 0;
}

/*
 * A peer that grants credit and then never acks (or never reads, while its
 * PINGs keep the connection alive) would keep messages held for ever,
 * invisible to every other reader.  Held longer than CB_PROGRESS_KEEPALIVES
 * keepalive intervals: kill the connection, which returns the holds.
 */
int src_stalled(struct conn *c, int64_t now)
{
	int64_t limit = CB_PROGRESS_KEEPALIVES * (int64_t)c->b->keepalive_ms;

	for (int i = 0; i < c->nstreams; i++) {
		struct stream *s = c->streams[i];

		if (s->role != ROLE_SRC || !s->held || now - s->held->held_ms < limit)
			continue;
		conn_kill(c, CB_ERR_LIMIT, "channel %s: seq %llu held %lld ms without an ack: "
			  "no progress", s->name, (unsigned long long)s->held->seq,
			  (long long)(now - s->held->held_ms));
		return 1;
	}
	return 0;
}

void src_on_resume(struct conn *c, const struct cb_frame *f)
{
	struct stream *s = stream_need(c, f, ROLE_SRC);

	if (!s)
		return;
	if (s->resumed || s->state != S_RUN) {
		conn_kill(c, CB_ERR_PROTO, "RESUME twice for channel %u", f->chan);
		return;
	}
	s->resumed = 1;
	s->resume = f->seq;
}

void src_on_credit(struct conn *c, const struct cb_frame *f)
{
	struct stream *s = stream_need(c, f, ROLE_SRC);

	if (!s)
		return;
	if (f->seq < s->credit || f->seq - s->sent_frames > CB_WINDOW_MAX) {
		conn_kill(c, CB_ERR_PROTO, "CREDIT %llu for channel %u out of range",
			  (unsigned long long)f->seq, f->chan);
		return;
	}
	s->credit = f->seq;
}

void src_on_ack(struct conn *c, const struct cb_frame *f)
{
	struct stream *s = stream_need(c, f, ROLE_SRC);

	if (!s)
		return;
	if (f->seq > s->max_sent) {
		conn_kill(c, CB_ERR_PROTO, "ACK of seq %llu, never sent on channel %u",
			  (unsigned long long)f->seq, f->chan);
		return;
	}
	src_ack(s, f->seq);
}

void src_on_close_ack(struct conn *c, const struct cb_frame *f)
{
	struct stream *s = stream_need(c, f, ROLE_SRC);

	if (!s)
		return;
	if (!s->eof || s->nheld) {
		conn_kill(c, CB_ERR_PROTO, "CLOSE_ACK for channel %u before CLOSE", f->chan);
		return;
	}
	logmsg("conn %d %s: channel %s: close delivered", c->id, c->peer, s->name);
	s->state = S_DONE;
	stream_ended(s);
}
