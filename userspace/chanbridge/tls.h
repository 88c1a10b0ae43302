/* SPDX-License-Identifier: GPL-2.0 */
/*
 * TLS 1.3 for chanbridge links (OpenSSL 3), over a non-blocking socket.
 *
 * Two ways to authenticate, both mutual:
 *   - PSK: an external pre-shared key per identity, from a key file of
 *     "IDENTITY HEXKEY" lines, with (EC)DHE (psk_dhe_ke) for forward secrecy.
 *     The server looks the identity up at each handshake; the client uses
 *     one identity.  No certificates.
 *   - certificates: a private CA verifies both ends; the client checks the
 *     server's host name; the server requires a client certificate.
 * The principal of a connection is the PSK identity, or the peer
 * certificate's CN (its first DNS name when it has no CN).
 *
 * ALPN names the bridge protocol version; no session tickets; TLS 1.3 only.
 * Kernel TLS is asked for; OpenSSL 3.0 offloads TLS 1.3 sending only, and
 * only where the kernel's tls module is there: tls_get_info() says.
 */
#ifndef CHANBRIDGE_TLS_H
#define CHANBRIDGE_TLS_H

#include <stddef.h>
#include <sys/types.h>

struct tls_opts {
	int server;
	const char *psk_file;		/* PSK mode: the key file */
	const char *identity;		/* client, PSK: the line to use (NULL: the first) */
	const char *cert, *key, *ca;	/* certificate mode: all three */
	const char *host;		/* client, certificates: the name to check */
	const char *alpn;		/* the protocol, e.g. "kchanbridge/2" */
	int no_ktls;			/* do not ask for kernel TLS */
};

/* Results of tls_handshake(), and negative results of tls_read/tls_write. */
enum tls_rc {
	TLS_DONE = 0,
	TLS_WANT_READ = -1,	/* call again when the socket is readable */
	TLS_WANT_WRITE = -2,	/* ... writable */
	TLS_FAILED = -3,	/* tls_error() says why; no more I/O */
	TLS_CLOSED = -4,	/* tls_read: the peer closed (close_notify or EOF) */
};

struct tls_info {
	const char *version;	/* "TLSv1.3" */
	const char *cipher;	/* "TLS_AES_128_GCM_SHA256" */
	const char *mode;	/* "psk" or "cert" */
	int ktls_send, ktls_recv;	/* kernel TLS per direction */
	const char *principal;	/* the peer's identity or certificate name */
};

struct tls_ctx;
struct tls_conn;

/* A context from options; NULL with err set on a configuration error. */
struct tls_ctx *tls_ctx_new(const struct tls_opts *o, char *err, size_t errlen);
void tls_ctx_free(struct tls_ctx *ctx);
/* "psk" or "cert"; the principal we present (PSK identity or our CN). */
const char *tls_ctx_mode(const struct tls_ctx *ctx);
const char *tls_ctx_identity(const struct tls_ctx *ctx);

/* Wrap a connected non-blocking socket (not closed by tls_conn_free). */
struct tls_conn *tls_conn_new(struct tls_ctx *ctx, int fd);
void tls_conn_free(struct tls_conn *t);

/* One step of the handshake: TLS_DONE, TLS_WANT_*, or TLS_FAILED. */
int tls_handshake(struct tls_conn *t);
/* Bytes read (> 0) or written (> 0, maybe fewer than len), or a negative tls_rc. */
ssize_t tls_read(struct tls_conn *t, void *buf, size_t len);
ssize_t tls_write(struct tls_conn *t, const void *buf, size_t len);
/* Decrypted bytes or records OpenSSL holds: read them before waiting for POLLIN. */
int tls_pending(const struct tls_conn *t);
/* Send close_notify, best effort (no waiting). */
void tls_close(struct tls_conn *t);

/* Why the last call failed, for the log. */
const char *tls_error(const struct tls_conn *t);
/* After the handshake. */
void tls_get_info(const struct tls_conn *t, struct tls_info *info);
const char *tls_principal(const struct tls_conn *t);

#endif
