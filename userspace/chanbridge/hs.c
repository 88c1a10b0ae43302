// SPDX-License-Identifier: GPL-2.0
/*
 * The handshake: both sides send HELLO (magic, version, PSK flag, max
 * message, nonce); with a PSK the importer then proves the key over both
 * nonces (AUTH), and the server proves it back.  Until it is done only
 * HELLO, AUTH and ERROR are read, with bodies of at most PRE_BODY_MAX.
 */
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "log.h"

static void send_hello(struct conn *c)
{
	struct cb_frame f = {
		.type = CB_HELLO, .magic = CB_MAGIC, .version = CB_VERSION,
		.flags = c->b->psk_len ? CB_HELLO_PSK : 0, .u32 = c->max_msg ? c->max_msg : c->b->max_msg,
	};

	memcpy(f.bytes, c->nonce, CB_NONCE);
	out_put(c, &f);
}

void conn_start(struct conn *c)
{
	logmsg("conn %d %s: connected", c->id, c->peer);
	c->state = C_HELLO;
	c->hs_deadline = now_ms() + c->b->hs_timeout_ms;
	send_hello(c);
	conn_update(c);
}

/* Authenticated: buffers sized for the negotiated max message, streams may open. */
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
	logmsg("conn %d %s: ready (protocol %d, max message %u bytes, %s)", c->id, c->peer,
	       CB_VERSION, c->max_msg, c->b->psk_len ? "PSK verified both ways" : "no PSK");
	if (!c->b->server)
		import_ready(c);
}

/* 1 if the peer's HELLO is refused: the connection is killed, saying why. */
static int hello_refused(struct conn *c, const struct cb_frame *f)
{
	int mine = c->b->psk_len != 0, theirs = !!(f->flags & CB_HELLO_PSK);

	if (f->magic != CB_MAGIC)
		conn_kill(c, CB_ERR_PROTO, "bad magic 0x%08x: not a chanbridge peer", f->magic);
	else if (f->version != CB_VERSION)
		conn_kill(c, CB_ERR_VERSION, "peer speaks protocol %u, we speak %d",
			  f->version, CB_VERSION);
	else if (mine && !theirs)
		conn_kill(c, CB_ERR_AUTH, "peer has no PSK, and we require one");
	else if (!mine && theirs)
		conn_kill(c, CB_ERR_AUTH, "peer wants a PSK, and we have none");
	else if (f->u32 == 0)
		conn_kill(c, CB_ERR_PROTO, "max message 0");
	else
		return 0;
	return 1;
}

static void on_hello(struct conn *c, const struct cb_frame *f)
{
	struct bridge *b = c->b;

	if (hello_refused(c, f))
		return;
	c->max_msg = f->u32 < b->max_msg ? f->u32 : b->max_msg;
	memcpy(c->peer_nonce, f->bytes, CB_NONCE);
	if (b->server)
		send_hello(c);
	if (!b->psk_len) {
		ready(c);
		return;
	}
	c->state = C_AUTH;
	if (!b->server) {
		struct cb_frame a = { .type = CB_AUTH };

		psk_mac(b, 0, c->nonce, c->peer_nonce, a.bytes);
		out_put(c, &a);
	}
}

static void on_auth(struct conn *c, const struct cb_frame *f)
{
	struct bridge *b = c->b;
	struct cb_frame a = { .type = CB_AUTH };

	if (b->server) {
		if (!psk_check(b, 0, c->peer_nonce, c->nonce, f->bytes)) {
			conn_kill(c, CB_ERR_AUTH, "authentication failed: wrong key");
			return;
		}
		psk_mac(b, 1, c->peer_nonce, c->nonce, a.bytes);
		out_put(c, &a);
	} else if (!psk_check(b, 1, c->nonce, c->peer_nonce, f->bytes)) {
		/* Not final: a forged AUTH must not make the importer give up. */
		conn_kill(c, CB_ERR_AUTH, "the server failed to prove the key");
		return;
	}
	ready(c);
}

/* A frame before the handshake is done (ERROR is dispatched before this). */
void hs_frame(struct conn *c, const struct cb_frame *f)
{
	uint8_t want = c->state == C_HELLO ? CB_HELLO : CB_AUTH;

	if (f->type != want) {
		conn_kill(c, CB_ERR_PROTO, "%s before %s", cb_typename(f->type), cb_typename(want));
		return;
	}
	if (want == CB_HELLO)
		on_hello(c, f);
	else
		on_auth(c, f);
}
