// SPDX-License-Identifier: GPL-2.0
/*
 * The source half of a stream: hold messages from the local channel
 * (KCHAN_IOC_HOLD, so a message stays the channel's until the far side has
 * committed it), send them within the far side's credit, and acknowledge
 * them (KCHAN_IOC_ACK) when it says it committed them.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "kch.h"
#include "log.h"

/* The far side committed everything up to seq: release those holds for good. */
static void src_ack(struct stream *s, uint64_t seq)
{
	struct msg *m = s->held, *last = NULL, *head;
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
}

/* Keep a held message until it is acked; 0, or -errno (the hold is returned). */
static int src_keep(struct stream *s, const uint8_t *data, int len, uint64_t id, uint64_t seq)
{
	struct msg *m;

	if ((uint32_t)len > s->c->max_msg) {
		kch_return_all(s->fd);
		stream_fail(s, EMSGSIZE, "message larger than the connection's maximum", 1);
		return -EMSGSIZE;
	}
	m = malloc(sizeof(*m) + len);
	if (!m) {
		kch_return_all(s->fd);
		stream_fail(s, ENOMEM, "hold", 1);
		return -ENOMEM;
	}
	m->next = NULL;
	m->seq = seq;
	m->hold_id = id;
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
	return 0;
}

/* Hold as many messages as the credit allows, and owe CLOSE once drained. */
void src_pump(struct stream *s)
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
		if (seq <= s->resume) {
			/* Committed before a reconnect: the far side has it. */
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
	return s->resumed && !s->eof && !s->nobufs &&
		(uint64_t)s->unsent < s->credit - s->sent_frames ? POLLIN : 0;
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
	if (!c->b->server)
		import_stream_end(c->b, s);
}
