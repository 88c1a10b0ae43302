// SPDX-License-Identifier: GPL-2.0
/*
 * The destination half of a stream: take DATA within the credit granted,
 * commit it to the local channel at most once (KCHAN_IOC_SEND_ONCE keyed by
 * the stream and seq), acknowledge what was committed, and grant credit for
 * the room the channel has.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <openssl/evp.h>

#include "conn.h"
#include "kch.h"
#include "log.h"

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

/* Commit what was received, as far as the channel takes it; 0, or -1 if the stream failed. */
static int dst_commit(struct stream *s)
{
	struct bridge *b = s->c->b;

	while (s->to_commit) {
		struct msg *m = s->to_commit;
		int rc = kch_send_once(s->fd, m->data, m->len, s->stream, m->seq);

		if (rc == -EAGAIN)
			break;
		if (rc < 0) {
			stream_fail(s, -rc, "KCHAN_IOC_SEND_ONCE", 1);
			return -1;
		}
		if (rc == 1)
			s->st->dups++;
		else
			s->st->sent++;
		/* Test hook: die between a commit and its ACK, the window SEND_ONCE closes. */
		if (rc == 0 && b->crash_after && ++b->commits == b->crash_after) {
			logmsg("CHANBRIDGE_CRASH_AFTER_COMMIT: exiting after %llu commits, unacked",
			       (unsigned long long)b->commits);
			_exit(99);
		}
		s->committed = m->seq;
		s->owed |= P_ACK;
		s->to_commit = m->next;
		if (!s->to_commit)
			s->to_commit_tail = NULL;
		s->nto_commit--;
		free(m);
	}
	return 0;
}

/* The source closed and everything before its CLOSE is committed: close ours. */
static void dst_close(struct stream *s)
{
	int rc = kch_close(s->fd);

	if (rc < 0 && rc != -EPIPE) {
		stream_fail(s, -rc, "KCHAN_IOC_CLOSE", 1);
		return;
	}
	/*
	 * The source is done for good (it sends CLOSE only with nothing held):
	 * free its entry, or re-created sources fill the channel's stream table
	 * (ENOSPC).  A CLOSE sent again after a lost CLOSE_ACK finds the
	 * channel closed, which is fine.
	 */
	rc = kch_stream_forget(s->fd, s->stream);
	if (rc < 0)
		logmsg("conn %d %s: channel %s: KCHAN_STREAM_FORGET: %s", s->c->id, s->c->peer,
		       s->name, strerror(-rc));
	logmsg("conn %d %s: channel %s: closed after seq %llu, as its source was",
	       s->c->id, s->c->peer, s->name, (unsigned long long)s->committed);
	s->owed |= P_CLOSE_ACK;
	s->state = S_DONE;
	stream_ended(s);
}

/* Grant credit for what the channel has room for, up to the window. */
static void dst_grant(struct stream *s)
{
	uint64_t out = s->granted - s->received, room, g;

	if (out + s->nto_commit >= s->window || s->close_rcvd)
		return;
	room = dst_room(s);
	g = room > out + s->nto_commit ? room - out - s->nto_commit : 0;
	if (g > s->window - out - s->nto_commit)
		g = s->window - out - s->nto_commit;
	if (g) {
		s->granted += g;
		s->owed |= P_CREDIT;
	}
}

void dst_pump(struct stream *s)
{
	if (s->state != S_RUN)
		return;
	if (dst_commit(s) < 0)
		return;
	if (s->close_rcvd && !s->to_commit)
		dst_close(s);
	else
		dst_grant(s);
}

/* Wait for room to commit, or for room to grant credit when none is out. */
uint32_t dst_wants(const struct stream *s)
{
	if (s->to_commit || (!s->close_rcvd && s->granted == s->received))
		return POLLOUT;
	return 0;
}

/*
 * The key of the destination's at-most-once filter for a stream the peer
 * names: not the peer's choice alone, or one peer could name another's
 * stream and have its messages dropped as duplicates (or evict its entry).
 * SHA-256 over the authenticated principal and the peer's stream id; 0 only
 * if the digest failed.
 */
static uint64_t dst_stream_key(const char *principal, uint64_t peer_stream)
{
	static const char label[] = "chanbridge stream key";
	uint8_t md[EVP_MAX_MD_SIZE], id[8];
	unsigned int mdlen = 0;
	uint64_t key = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	for (int i = 0; i < 8; i++)
		id[i] = (uint8_t)(peer_stream >> (56 - 8 * i));
	if (!ctx || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) ||
	    !EVP_DigestUpdate(ctx, label, sizeof(label)) ||
	    !EVP_DigestUpdate(ctx, principal, strlen(principal) + 1) ||
	    !EVP_DigestUpdate(ctx, id, sizeof(id)) || !EVP_DigestFinal_ex(ctx, md, &mdlen))
		mdlen = 0;
	EVP_MD_CTX_free(ctx);
	if (mdlen < 8)
		return 0;
	for (int i = 0; i < 8; i++)
		key = key << 8 | md[i];
	return key ? key : 1;
}

void dst_on_stream(struct conn *c, const struct cb_frame *f)
{
	struct stream *s = stream_need(c, f, ROLE_DST);
	int rc;

	if (!s)
		return;
	if (!c->b->server || s->stream) {
		conn_kill(c, CB_ERR_PROTO, "unexpected STREAM for channel %u", f->chan);
		return;
	}
	s->stream = dst_stream_key(conn_principal(c), f->stream);
	if (!s->stream) {
		stream_fail(s, ENOMEM, "stream key", 1);
		return;
	}
	rc = kch_stream_seq(s->fd, s->stream, &s->committed);
	if (rc < 0) {
		stream_fail(s, -rc, "KCHAN_IOC_STREAM_SEQ", 1);
		return;
	}
	s->last_rx = s->committed;
	s->state = S_RUN;
	s->owed |= P_RESUME;
	logmsg("conn %d %s: channel %s: stream %016llx (key %016llx) resumes after seq %llu",
	       c->id, c->peer, s->name, (unsigned long long)f->stream, (unsigned long long)s->stream,
	       (unsigned long long)s->committed);
}

/* 1 if DATA f may be taken by s; else the connection is killed, saying why. */
static int data_ok(struct conn *c, struct stream *s, const struct cb_frame *f)
{
	if (s->state != S_RUN || s->close_rcvd)
		conn_kill(c, CB_ERR_PROTO, "DATA for channel %u when not open", f->chan);
	else if (s->received >= s->granted)
		conn_kill(c, CB_ERR_PROTO, "DATA for channel %u beyond its credit", f->chan);
	else if (f->seq <= s->last_rx && s->received)
		conn_kill(c, CB_ERR_PROTO, "DATA seq %llu after %llu on channel %u",
			  (unsigned long long)f->seq, (unsigned long long)s->last_rx, f->chan);
	else if (f->len > s->msg_max)
		/* The source knows msg_max from OPENED: only this stream fails. */
		stream_fail(s, EMSGSIZE, "DATA above the channel's msg_max", 1);
	else
		return 1;
	return 0;
}

void dst_on_data(struct conn *c, const struct cb_frame *f)
{
	struct stream *s = stream_need(c, f, ROLE_DST);
	struct msg *m;

	if (!s || !data_ok(c, s, f))
		return;
	s->received++;
	s->last_rx = f->seq;
	m = malloc(sizeof(*m) + f->len);
	if (!m) {
		conn_kill(c, 0, "out of memory");
		return;
	}
	m->next = NULL;
	m->seq = f->seq;
	m->len = f->len;
	memcpy(m->data, f->data, f->len);
	if (s->to_commit_tail)
		s->to_commit_tail->next = m;
	else
		s->to_commit = m;
	s->to_commit_tail = m;
	s->nto_commit++;
}

void dst_on_close(struct conn *c, const struct cb_frame *f)
{
	struct stream *s = stream_need(c, f, ROLE_DST);

	if (!s)
		return;
	if (s->close_rcvd || s->state != S_RUN) {
		conn_kill(c, CB_ERR_PROTO, "CLOSE twice for channel %u", f->chan);
		return;
	}
	s->close_rcvd = 1;
	s->close_seq = f->seq;
}
