// SPDX-License-Identifier: GPL-2.0
/*
 * The HELLO exchange, after the TLS handshake (io.c) when there is TLS:
 * both sides send HELLO (magic, version, flags, max message; the nonce
 * field is unused), the importer first, and both keep the smaller maximum.
 * TLS authenticated the peer already: there is no AUTH frame any more.
 * Until HELLO is done only HELLO and ERROR are read, with bodies of at
 * most PRE_BODY_MAX.
 */
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "log.h"

static void send_hello(struct conn *c)
{
	struct cb_frame f = {
		.type = CB_HELLO, .magic = CB_MAGIC, .version = CB_VERSION,
		.u32 = c->max_msg ? c->max_msg : c->b->max_msg,
	};

	out_put(c, &f);
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

void conn_hello(struct conn *c)
{
	c->state = C_HELLO;
	if (!c->b->server)
		send_hello(c);
	conn_update(c);
}

/* HELLO done: buffers sized for the negotiated max message, streams may open. */
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
	serve_conn_ready(c->b, c);	/* now it counts against --max-conns */
	if (!c->b->server)
		import_ready(c);
}

/* 1 if the peer's HELLO is refused: the connection is killed, saying why. */
static int hello_refused(struct conn *c, const struct cb_frame *f)
{
	if (f->magic != CB_MAGIC)
		conn_kill(c, CB_ERR_PROTO, "bad magic 0x%08x: not a chanbridge peer", f->magic);
	else if (f->version != CB_VERSION)
		conn_kill(c, CB_ERR_VERSION, "peer speaks protocol %u, we speak %d",
			  f->version, CB_VERSION);
	else if (f->flags & CB_HELLO_PSK)
		conn_kill(c, CB_ERR_AUTH, "peer wants the old HMAC exchange: use TLS");
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
	if (b->server)
		send_hello(c);
	ready(c);
}

/* A frame before HELLO is done (ERROR is dispatched before this). */
void hs_frame(struct conn *c, const struct cb_frame *f)
{
	if (f->type != CB_HELLO) {
		conn_kill(c, CB_ERR_PROTO, "%s before HELLO", cb_typename(f->type));
		return;
	}
	on_hello(c, f);
}
