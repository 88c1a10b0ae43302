// SPDX-License-Identifier: GPL-2.0
/*
 * A connection's byte stream: TLS 1.3 (tls.c) when the bridge has a key or
 * certificates, else plain TCP (loopback only).  The TLS handshake runs in
 * state C_TLS, before HELLO; from then on the engine reads and writes
 * through conn_io_read() and conn_io_write() only, with the semantics of
 * read(2) and write(2) on a non-blocking socket (-1 with errno EAGAIN when
 * it would block, 0 from read at end of stream).  The peer's principal is
 * known once the handshake is done.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "conn.h"
#include "cli.h"
#include "log.h"
#include "tls.h"

#define STR_(x) #x
#define STR(x) STR_(x)
/* ALPN names the protocol version: a peer of another version fails the handshake. */
#define CB_ALPN "kchanbridge/" STR(CB_VERSION)

int bridge_tls_init(struct bridge *b, const struct bridge_tls_opts *o, int loopback,
		    const char *host)
{
	struct tls_opts t = {
		.server = b->server, .psk_file = o->psk_file, .identity = o->identity,
		.cert = o->cert, .key = o->key, .ca = o->ca,
		.host = o->server_name ? o->server_name : host, .alpn = CB_ALPN,
		.no_ktls = o->no_ktls,
	};
	int certs = o->cert || o->key || o->ca;
	char err[512];

	if (o->no_tls) {
		if (o->psk_file || certs) {
			logmsg("--no-tls with --psk-file or certificates: choose one");
			return 2;
		}
		if (!loopback) {
			logmsg("--no-tls is for loopback only: off it, anyone on the path could "
			       "read and change the traffic");
			return 2;
		}
	}
	if (o->identity && !o->psk_file) {
		logmsg("--identity names a line of --psk-file, and there is none");
		return 2;
	}
	if (!o->psk_file && !certs) {
		if (!loopback) {
			logmsg("no --psk-file and no --cert/--key/--ca: refusing plain TCP off "
			       "loopback (chanbridge genkey FILE makes a key file)");
			return 2;
		}
		logmsg("no TLS: plain TCP on loopback");
		return 0;
	}
	b->tls = tls_ctx_new(&t, err, sizeof(err));
	if (!b->tls) {
		logmsg("TLS: %s", err);
		return 1;
	}
	if (o->psk_file)
		logmsg("TLS 1.3 with PSK (%s%s%s), ALPN %s", o->psk_file,
		       b->server ? "" : ", identity ", b->server ? "" : tls_ctx_identity(b->tls),
		       CB_ALPN);
	else
		logmsg("TLS 1.3 with certificates (we are \"%s\", CA %s%s%s), ALPN %s",
		       tls_ctx_identity(b->tls), o->ca, b->server ? "" : ", checking host ",
		       b->server ? "" : t.host, CB_ALPN);
	return 0;
}

int bridge_tls_getopt(int o, const char *arg, struct bridge_tls_opts *t)
{
	switch (o) {
	case 'k': t->psk_file = arg; return 1;
	case OPT_IDENTITY: t->identity = arg; return 1;
	case OPT_CERT: t->cert = arg; return 1;
	case OPT_KEY: t->key = arg; return 1;
	case OPT_CA: t->ca = arg; return 1;
	case OPT_SERVER_NAME: t->server_name = arg; return 1;
	case OPT_NO_TLS: t->no_tls = 1; return 1;
	case OPT_NO_KTLS: t->no_ktls = 1; return 1;
	}
	return 0;
}

const char *bridge_tls_mode(const struct bridge *b)
{
	return b->tls ? (strcmp(tls_ctx_mode(b->tls), "psk") ? "TLS, certificates" : "TLS, PSK")
		: "no TLS";
}

int conn_tls_new(struct conn *c)
{
	if (!c->b->tls)
		return 0;
	c->tls = tls_conn_new(c->b->tls, c->fd);
	c->tls_wants = POLLIN;
	return c->tls ? 0 : -1;
}

void conn_tls_free(struct conn *c)
{
	if (!c->tls)
		return;
	tls_close(c->tls);	/* close_notify, when the link is still good */
	tls_conn_free(c->tls);
	c->tls = NULL;
}

/*
 * Without TLS the principal is where serve saw the peer come from: "uid N"
 * on a UNIX socket (SO_PEERCRED), so that one local user cannot pre-empt
 * or share another's streams; the address on insecure loopback TCP; "" on
 * the import side.
 */
const char *conn_principal(const struct conn *c)
{
	return c->tls ? tls_principal(c->tls) : c->src;
}

static void log_established(struct conn *c)
{
	char ulp[16] = "";
	socklen_t len = sizeof(ulp);
	struct tls_info i;

	tls_get_info(c->tls, &i);
	/* OpenSSL set the socket up for kernel TLS, and the kernel refused the keys. */
	if (!i.ktls_send && getsockopt(c->fd, IPPROTO_TCP, TCP_ULP, ulp, &len) == 0 &&
	    !strcmp(ulp, "tls"))
		logmsg("conn %d %s: the kernel took TLS but not %s keys (a crypto module missing? "
		       "modprobe gcm ghash_generic)", c->id, c->peer, i.cipher);
	logmsg("conn %d %s: %s %s, %s \"%s\", kernel TLS send %s, receive %s", c->id, c->peer,
	       i.version, i.cipher, strcmp(i.mode, "psk") ? "certificate" : "PSK identity",
	       i.principal, i.ktls_send ? "on" : "off (user space)",
	       i.ktls_recv ? "on" : "off (user space)");
}

/*
 * One step of the handshake, on each event in C_TLS.  A failure closes
 * just this connection: an importer retries with backoff, as for any
 * connection that did not authenticate (never "for good").
 */
/* A plain chanbridge HELLO where a ClientHello should be: say what is wrong. */
static int plain_hello(struct conn *c)
{
	uint8_t h[CB_HDR + 5];	/* length, type, magic */
	ssize_t n = recv(c->fd, h, sizeof(h), MSG_PEEK | MSG_DONTWAIT);

	return n == (ssize_t)sizeof(h) && h[CB_HDR] == CB_HELLO &&
		((uint32_t)h[CB_HDR + 1] << 24 | (uint32_t)h[CB_HDR + 2] << 16 |
		 (uint32_t)h[CB_HDR + 3] << 8 | h[CB_HDR + 4]) == CB_MAGIC;
}

void conn_tls_step(struct conn *c)
{
	int rc;

	if (c->b->server && !c->tls_started && plain_hello(c)) {
		conn_kill(c, 0, "TLS handshake failed: the peer speaks chanbridge without TLS "
			  "(give it --psk-file or --cert)");
		return;
	}
	c->tls_started = 1;
	rc = tls_handshake(c->tls);

	if (rc == TLS_WANT_READ || rc == TLS_WANT_WRITE) {
		c->tls_wants = rc == TLS_WANT_WRITE ? POLLOUT : POLLIN;
		conn_update(c);
		return;
	}
	c->tls_wants = 0;
	if (rc != TLS_DONE) {
		conn_kill(c, 0, "TLS handshake failed: %s", tls_error(c->tls));
		return;
	}
	log_established(c);
	conn_hello(c);
}

void conn_tls_info(const struct conn *c, struct conn_tls_info *info)
{
	struct tls_info i;

	memset(info, 0, sizeof(*info));
	info->mode = "none";
	info->principal = "";
	if (!c->tls || c->state == C_TLS || c->state == C_CONNECTING)
		return;
	tls_get_info(c->tls, &i);
	info->mode = i.mode;
	info->version = i.version;
	info->cipher = i.cipher;
	info->ktls_send = i.ktls_send;
	info->ktls_recv = i.ktls_recv;
	info->principal = i.principal;
}

int conn_io_pending(const struct conn *c)
{
	return c->tls && c->state != C_TLS && c->state != C_DEAD && tls_pending(c->tls);
}

/* The events the transport needs on c->fd besides POLLIN. */
uint32_t conn_io_wants(const struct conn *c)
{
	return c->tls ? (c->tls_wants & POLLOUT) : 0;
}
