// SPDX-License-Identifier: GPL-2.0
/*
 * TLS 1.3 links (tls.h): OpenSSL contexts for PSK or certificate mode, and
 * the non-blocking handshake, read and write of one connection.  Every
 * failure leaves a reason in the connection for the log; nothing here logs.
 */
#include <arpa/inet.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "keyfile.h"
#include "tls.h"

#define ALPN_MAX	64
#define NAME_MAX_LEN	255

struct tls_ctx {
	SSL_CTX *ssl;
	int server, psk;
	char *psk_file;			/* server: read at each handshake */
	char identity[NAME_MAX_LEN + 1];	/* client PSK identity, or our CN */
	uint8_t key[KF_KEY_LEN];	/* client PSK */
	char *host;
	unsigned char alpn[ALPN_MAX + 1];	/* wire form: length, name */
};

struct tls_conn {
	struct tls_ctx *ctx;
	SSL *ssl;
	int done, failed, psk_offered;
	char principal[NAME_MAX_LEN + 1];
	char why[300];			/* set by our callbacks: the real reason */
	char err[400];
};

static void say(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void say(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

/* OpenSSL's first queued error as text, with the queue cleared. */
static void ssl_errstr(char *buf, size_t len, const char *what)
{
	unsigned long e = ERR_get_error();
	const char *r = e ? ERR_reason_error_string(e) : NULL;

	if (r)
		say(buf, len, "%s: %s", what, r);
	else if (e)
		say(buf, len, "%s: error %08lx", what, e);
	else
		say(buf, len, "%s: failed", what);
	ERR_clear_error();
}

/* --- the principal -------------------------------------------------------- */

/* A name usable as a principal: printable ASCII without quotes or backslashes. */
static int copy_name(char *out, size_t outlen, const unsigned char *s, int len)
{
	if (len <= 0 || (size_t)len >= outlen)
		return -1;
	for (int i = 0; i < len; i++)
		if (s[i] < 0x20 || s[i] >= 0x7f || s[i] == '"' || s[i] == '\\')
			return -1;
	memcpy(out, s, (size_t)len);
	out[len] = 0;
	return 0;
}

static int cert_cn(X509 *x, char *out, size_t outlen)
{
	X509_NAME *subj = X509_get_subject_name(x);
	int i = X509_NAME_get_index_by_NID(subj, NID_commonName, -1);
	unsigned char *utf8 = NULL;
	int len, rc;

	if (i < 0)
		return -1;
	len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, i)));
	if (len < 0)
		return -1;
	rc = copy_name(out, outlen, utf8, len);
	OPENSSL_free(utf8);
	return rc;
}

static int cert_dns(X509 *x, char *out, size_t outlen)
{
	GENERAL_NAMES *sans = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	int rc = -1;

	for (int i = 0; sans && i < sk_GENERAL_NAME_num(sans) && rc; i++) {
		GENERAL_NAME *g = sk_GENERAL_NAME_value(sans, i);

		if (g->type == GEN_DNS)
			rc = copy_name(out, outlen, ASN1_STRING_get0_data(g->d.dNSName),
				       ASN1_STRING_length(g->d.dNSName));
	}
	GENERAL_NAMES_free(sans);
	return rc;
}

/* A certificate's principal: its CN, else its first DNS name. */
static int cert_name(X509 *x, char *out, size_t outlen)
{
	if (cert_cn(x, out, outlen) == 0)
		return 0;
	return cert_dns(x, out, outlen);
}

/* --- PSK ------------------------------------------------------------------ */

/* A session holding an external PSK; only its cipher's digest matters. */
static SSL_SESSION *psk_session(SSL *ssl, const uint8_t key[KF_KEY_LEN])
{
	const SSL_CIPHER *c = SSL_CIPHER_find(ssl, (const unsigned char *)"\x13\x01");
	SSL_SESSION *s = c ? SSL_SESSION_new() : NULL;

	if (!s)
		return NULL;
	if (!SSL_SESSION_set1_master_key(s, key, KF_KEY_LEN) || !SSL_SESSION_set_cipher(s, c) ||
	    !SSL_SESSION_set_protocol_version(s, TLS1_3_VERSION)) {
		SSL_SESSION_free(s);
		return NULL;
	}
	return s;
}

/* Server: the identity the client offers, looked up in the key file now. */
static int psk_find(SSL *ssl, const unsigned char *id, size_t len, SSL_SESSION **sess)
{
	struct tls_conn *t = SSL_get_app_data(ssl);
	char err[256], shown[KF_ID_MAX + 1];
	uint8_t key[KF_KEY_LEN];
	int rc;

	*sess = NULL;
	t->psk_offered = 1;
	if (!keyfile_id_ok((const char *)id, len)) {
		say(t->why, sizeof(t->why), "the peer offers a malformed PSK identity");
		return 0;
	}
	memcpy(shown, id, len);
	shown[len] = 0;
	rc = keyfile_lookup(t->ctx->psk_file, (const char *)id, len, key, NULL, err, sizeof(err));
	if (rc < 0) {
		say(t->why, sizeof(t->why), "key file: %s", err);
		return 0;
	}
	if (rc == 0) {
		say(t->why, sizeof(t->why), "unknown PSK identity \"%s\"", shown);
		return 0;
	}
	*sess = psk_session(ssl, key);
	OPENSSL_cleanse(key, sizeof(key));
	if (!*sess) {
		say(t->why, sizeof(t->why), "cannot make a PSK session");
		return 0;
	}
	/* Valid once the handshake completes: the binder proves the key. */
	snprintf(t->principal, sizeof(t->principal), "%s", shown);
	return 1;
}

/* Client: our one identity.  Every suite we offer hashes with SHA-256. */
static int psk_use(SSL *ssl, const EVP_MD *md, const unsigned char **id, size_t *idlen,
		   SSL_SESSION **sess)
{
	struct tls_conn *t = SSL_get_app_data(ssl);

	*sess = NULL;
	if (md && md != EVP_sha256())
		return 1;
	*sess = psk_session(ssl, t->ctx->key);
	if (!*sess) {
		say(t->why, sizeof(t->why), "cannot make a PSK session");
		return 0;
	}
	*id = (const unsigned char *)t->ctx->identity;
	*idlen = strlen(t->ctx->identity);
	return 1;
}

/* --- ALPN ------------------------------------------------------------------- */

/* The peer's offer as text for the log ("a, b"), unprintable bytes as '?'. */
static void alpn_text(char *out, size_t outlen, const unsigned char *in, unsigned int inlen)
{
	size_t o = 0;

	for (unsigned int i = 0; i < inlen && o + 4 < outlen; ) {
		unsigned int l = in[i++];

		if (o)
			out[o++] = ',', out[o++] = ' ';
		for (; l && i < inlen && o + 1 < outlen; l--, i++)
			out[o++] = in[i] >= 0x20 && in[i] < 0x7f ? (char)in[i] : '?';
	}
	out[o] = 0;
}

static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
		       const unsigned char *in, unsigned int inlen, void *arg)
{
	struct tls_ctx *ctx = arg;
	struct tls_conn *t = SSL_get_app_data(ssl);
	unsigned int mine = ctx->alpn[0], i = 0;
	char offer[128];

	while (i < inlen) {
		unsigned int l = in[i];

		if (i + 1 + l > inlen)
			break;
		if (l == mine && !memcmp(in + i + 1, ctx->alpn + 1, l)) {
			*out = in + i + 1;
			*outlen = (unsigned char)l;
			return SSL_TLSEXT_ERR_OK;
		}
		i += 1 + l;
	}
	alpn_text(offer, sizeof(offer), in, inlen);
	say(t->why, sizeof(t->why), "ALPN mismatch: the peer speaks %s, we speak %.*s",
	    offer, (int)mine, (const char *)ctx->alpn + 1);
	return SSL_TLSEXT_ERR_ALERT_FATAL;
}

/* --- contexts ----------------------------------------------------------------- */

/* A daemon has no terminal to ask for a passphrase: an encrypted key just fails. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf, (void)size, (void)rwflag, (void)u;
	return -1;
}

static int load_key(SSL_CTX *ssl, const char *path, char *err, size_t errlen)
{
	int fd = secret_open(path, err, errlen);
	BIO *bio;
	EVP_PKEY *pk;

	if (fd < 0)
		return -1;
	bio = BIO_new_fd(fd, BIO_CLOSE);
	if (!bio) {
		close(fd);
		ssl_errstr(err, errlen, path);
		return -1;
	}
	pk = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
	BIO_free(bio);
	if (!pk || SSL_CTX_use_PrivateKey(ssl, pk) != 1) {
		EVP_PKEY_free(pk);
		ssl_errstr(err, errlen, path);
		return -1;
	}
	EVP_PKEY_free(pk);
	return 0;
}

static int setup_cert(struct tls_ctx *ctx, const struct tls_opts *o, char *err, size_t errlen)
{
	if (!o->cert || !o->key || !o->ca) {
		say(err, errlen, "certificate mode wants --cert, --key and --ca");
		return -1;
	}
	if (SSL_CTX_use_certificate_chain_file(ctx->ssl, o->cert) != 1) {
		ssl_errstr(err, errlen, o->cert);
		return -1;
	}
	if (load_key(ctx->ssl, o->key, err, errlen))
		return -1;
	if (SSL_CTX_check_private_key(ctx->ssl) != 1) {
		ssl_errstr(err, errlen, "--key does not match --cert");
		return -1;
	}
	if (SSL_CTX_load_verify_file(ctx->ssl, o->ca) != 1) {
		ssl_errstr(err, errlen, o->ca);
		return -1;
	}
	if (cert_name(SSL_CTX_get0_certificate(ctx->ssl), ctx->identity, sizeof(ctx->identity))) {
		say(err, errlen, "%s: no printable CN or DNS name", o->cert);
		return -1;
	}
	if (!o->server) {
		if (!o->host || !*o->host) {
			say(err, errlen, "certificate mode: no host name to check");
			return -1;
		}
		ctx->host = strdup(o->host);
		if (!ctx->host) {
			say(err, errlen, "out of memory");
			return -1;
		}
	}
	/* The server requires a certificate; both verify the peer's against the CA. */
	SSL_CTX_set_verify(ctx->ssl, o->server ?
			   SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT : SSL_VERIFY_PEER, NULL);
	return 0;
}

static int setup_psk(struct tls_ctx *ctx, const struct tls_opts *o, char *err, size_t errlen)
{
	int rc;

	if (o->cert || o->key || o->ca) {
		say(err, errlen, "a PSK file and certificates: choose one");
		return -1;
	}
	/* Only SHA-256 suites: the PSK's hash is fixed. */
	if (SSL_CTX_set_ciphersuites(ctx->ssl,
				     "TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256") != 1) {
		ssl_errstr(err, errlen, "ciphersuites");
		return -1;
	}
	if (o->server) {
		/* Checked now so a bad file fails at start, then read per handshake. */
		uint8_t key[KF_KEY_LEN];

		rc = keyfile_lookup(o->psk_file, NULL, 0, key, NULL, err, errlen);
		OPENSSL_cleanse(key, sizeof(key));
		if (rc < 0)
			return -1;
		ctx->psk_file = strdup(o->psk_file);
		if (!ctx->psk_file) {
			say(err, errlen, "out of memory");
			return -1;
		}
		SSL_CTX_set_psk_find_session_callback(ctx->ssl, psk_find);
		return 0;
	}
	if (o->identity && !keyfile_id_ok(o->identity, strlen(o->identity))) {
		say(err, errlen, "bad identity \"%s\"", o->identity);
		return -1;
	}
	rc = keyfile_lookup(o->psk_file, o->identity, o->identity ? strlen(o->identity) : 0,
			    ctx->key, ctx->identity, err, errlen);
	if (rc == 0)
		say(err, errlen, "%s: no identity \"%s\"", o->psk_file, o->identity);
	if (rc <= 0)
		return -1;
	SSL_CTX_set_psk_use_session_callback(ctx->ssl, psk_use);
	/* No certificate is wanted; one offered instead of the PSK must not pass. */
	SSL_CTX_set_verify(ctx->ssl, SSL_VERIFY_PEER, NULL);
	return 0;
}

static int setup_common(struct tls_ctx *ctx, const struct tls_opts *o, char *err, size_t errlen)
{
	size_t n = o->alpn ? strlen(o->alpn) : 0;
	uint64_t opts = SSL_OP_NO_TICKET | SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION;

	if (n == 0 || n > ALPN_MAX - 1) {
		say(err, errlen, "bad ALPN protocol name");
		return -1;
	}
	ctx->alpn[0] = (unsigned char)n;
	memcpy(ctx->alpn + 1, o->alpn, n);
	if (!o->no_ktls)
		opts |= SSL_OP_ENABLE_KTLS;
	SSL_CTX_set_options(ctx->ssl, opts);
	if (SSL_CTX_set_min_proto_version(ctx->ssl, TLS1_3_VERSION) != 1 ||
	    SSL_CTX_set_max_proto_version(ctx->ssl, TLS1_3_VERSION) != 1) {
		ssl_errstr(err, errlen, "TLS 1.3");
		return -1;
	}
	/* No resumption: no tickets (not even stateful ones), no cache. */
	SSL_CTX_set_num_tickets(ctx->ssl, 0);
	SSL_CTX_set_session_cache_mode(ctx->ssl, SSL_SESS_CACHE_OFF);
	/* The caller's buffer moves (memmove after a partial write) and grows. */
	SSL_CTX_set_mode(ctx->ssl, SSL_MODE_ENABLE_PARTIAL_WRITE |
			 SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	if (o->server)
		SSL_CTX_set_alpn_select_cb(ctx->ssl, alpn_select, ctx);
	else if (SSL_CTX_set_alpn_protos(ctx->ssl, ctx->alpn, (unsigned int)n + 1) != 0) {
		/* 0 is success here, unlike the rest of OpenSSL. */
		ssl_errstr(err, errlen, "ALPN");
		return -1;
	}
	return 0;
}

struct tls_ctx *tls_ctx_new(const struct tls_opts *o, char *err, size_t errlen)
{
	struct tls_ctx *ctx = calloc(1, sizeof(*ctx));

	if (!ctx) {
		say(err, errlen, "out of memory");
		return NULL;
	}
	ctx->server = o->server;
	ctx->psk = o->psk_file != NULL;
	ctx->ssl = SSL_CTX_new(o->server ? TLS_server_method() : TLS_client_method());
	if (!ctx->ssl) {
		ssl_errstr(err, errlen, "SSL_CTX_new");
		goto bad;
	}
	if (setup_common(ctx, o, err, errlen))
		goto bad;
	if (ctx->psk ? setup_psk(ctx, o, err, errlen) : setup_cert(ctx, o, err, errlen))
		goto bad;
	return ctx;
bad:
	tls_ctx_free(ctx);
	return NULL;
}

void tls_ctx_free(struct tls_ctx *ctx)
{
	if (!ctx)
		return;
	SSL_CTX_free(ctx->ssl);
	OPENSSL_cleanse(ctx->key, sizeof(ctx->key));
	free(ctx->psk_file);
	free(ctx->host);
	free(ctx);
}

const char *tls_ctx_mode(const struct tls_ctx *ctx)
{
	return ctx->psk ? "psk" : "cert";
}

const char *tls_ctx_identity(const struct tls_ctx *ctx)
{
	return ctx->server && ctx->psk ? "" : ctx->identity;
}

/* --- connections ---------------------------------------------------------------- */

static int set_host(SSL *ssl, const char *host)
{
	unsigned char ip[16];

	/* An address is checked against the certificate's IP names, not DNS names. */
	if (inet_pton(AF_INET, host, ip) == 1 || inet_pton(AF_INET6, host, ip) == 1)
		return X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host) == 1 ? 0 : -1;
	return SSL_set1_host(ssl, host) == 1 ? 0 : -1;
}

struct tls_conn *tls_conn_new(struct tls_ctx *ctx, int fd)
{
	struct tls_conn *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->ctx = ctx;
	t->ssl = SSL_new(ctx->ssl);
	if (!t->ssl || SSL_set_fd(t->ssl, fd) != 1 || SSL_set_app_data(t->ssl, t) != 1 ||
	    (ctx->host && set_host(t->ssl, ctx->host))) {
		ERR_clear_error();
		SSL_free(t->ssl);
		free(t);
		return NULL;
	}
	if (ctx->server)
		SSL_set_accept_state(t->ssl);
	else
		SSL_set_connect_state(t->ssl);
	return t;
}

void tls_conn_free(struct tls_conn *t)
{
	if (!t)
		return;
	SSL_free(t->ssl);	/* the fd is the caller's (BIO_NOCLOSE) */
	free(t);
}

/* A failed call: the reason, most specific first, and no more I/O. */
static int failed(struct tls_conn *t, int sslerr, int hs)
{
	int saved = errno;	/* first: the error queue may change it */
	unsigned long e = ERR_get_error();
	long v = SSL_get_verify_result(t->ssl);
	const char *r = e ? ERR_reason_error_string(e) : NULL;

	t->failed = 1;
	if (hs && t->why[0])
		say(t->err, sizeof(t->err), "%s", t->why);
	else if (e && ERR_GET_REASON(e) == SSL_R_BINDER_DOES_NOT_VERIFY && t->principal[0])
		say(t->err, sizeof(t->err), "wrong key for PSK identity \"%s\"", t->principal);
	else if (hs && !t->ctx->psk && v != X509_V_OK)	/* a PSK session says 1, not 0 */
		say(t->err, sizeof(t->err), "certificate verify failed: %s",
		    X509_verify_cert_error_string(v));
	else if (e && ERR_GET_REASON(e) >= SSL_AD_REASON_OFFSET && r)
		say(t->err, sizeof(t->err), "the peer refused: %s", r);
	else if (hs && e && t->ctx->server && t->ctx->psk && !t->psk_offered)
		say(t->err, sizeof(t->err), "the peer offered no PSK (%s)", r ? r : "?");
	else if (r)
		say(t->err, sizeof(t->err), "%s", r);
	else if (e)
		say(t->err, sizeof(t->err), "TLS error %08lx", e);
	else if (sslerr == SSL_ERROR_SYSCALL && saved)
		say(t->err, sizeof(t->err), "%s", strerror(saved));
	else if (sslerr == SSL_ERROR_SYSCALL)
		say(t->err, sizeof(t->err), "the peer closed the connection");
	else
		say(t->err, sizeof(t->err), "TLS error %d", sslerr);
	ERR_clear_error();
	return TLS_FAILED;
}

static int want(int sslerr)
{
	if (sslerr == SSL_ERROR_WANT_READ)
		return TLS_WANT_READ;
	if (sslerr == SSL_ERROR_WANT_WRITE)
		return TLS_WANT_WRITE;
	return 0;
}

/* After the handshake: what OpenSSL does not check for us. */
static int established(struct tls_conn *t)
{
	const unsigned char *p;
	unsigned int len;

	SSL_get0_alpn_selected(t->ssl, &p, &len);
	if (len != t->ctx->alpn[0] || memcmp(p, t->ctx->alpn + 1, len)) {
		say(t->err, sizeof(t->err), "ALPN mismatch: the peer %s, we speak %.*s",
		    t->ctx->server ? "offered no protocol" : "chose none of ours",
		    (int)t->ctx->alpn[0], (const char *)t->ctx->alpn + 1);
		t->failed = 1;
		return TLS_FAILED;
	}
	if (t->ctx->psk) {
		if (!SSL_session_reused(t->ssl)) {
			say(t->err, sizeof(t->err), "handshake without the PSK");
			t->failed = 1;
			return TLS_FAILED;
		}
		if (!t->ctx->server)
			snprintf(t->principal, sizeof(t->principal), "%s", t->ctx->identity);
	} else {
		X509 *x = SSL_get0_peer_certificate(t->ssl);

		if (!x || cert_name(x, t->principal, sizeof(t->principal))) {
			say(t->err, sizeof(t->err), "the peer's certificate has no usable name");
			t->failed = 1;
			return TLS_FAILED;
		}
	}
	t->why[0] = 0;
	t->done = 1;
	return TLS_DONE;
}

int tls_handshake(struct tls_conn *t)
{
	int n, e;

	if (t->failed)
		return TLS_FAILED;
	if (t->done)
		return TLS_DONE;
	ERR_clear_error();
	n = SSL_do_handshake(t->ssl);
	if (n == 1)
		return established(t);
	e = SSL_get_error(t->ssl, n);
	if (want(e))
		return want(e);
	return failed(t, e, 1);
}

ssize_t tls_read(struct tls_conn *t, void *buf, size_t len)
{
	int n, e;

	if (t->failed)
		return TLS_FAILED;
	ERR_clear_error();
	n = SSL_read(t->ssl, buf, len > INT_MAX ? INT_MAX : (int)len);
	if (n > 0)
		return n;
	e = SSL_get_error(t->ssl, n);
	if (want(e))
		return want(e);
	if (e == SSL_ERROR_ZERO_RETURN ||
	    (e == SSL_ERROR_SSL && ERR_GET_REASON(ERR_peek_error()) ==
	     SSL_R_UNEXPECTED_EOF_WHILE_READING) ||
	    (e == SSL_ERROR_SYSCALL && !ERR_peek_error() && errno == 0)) {
		/* Frames are self-delimiting: a cut stream is just a closed link. */
		ERR_clear_error();
		t->failed = 1;
		say(t->err, sizeof(t->err), "the peer closed the connection");
		return TLS_CLOSED;
	}
	return failed(t, e, 0);
}

ssize_t tls_write(struct tls_conn *t, const void *buf, size_t len)
{
	int n, e;

	if (t->failed)
		return TLS_FAILED;
	if (len == 0)
		return 0;
	ERR_clear_error();
	n = SSL_write(t->ssl, buf, len > INT_MAX ? INT_MAX : (int)len);
	if (n > 0)
		return n;
	e = SSL_get_error(t->ssl, n);
	if (want(e))
		return want(e);
	return failed(t, e, 0);
}

int tls_pending(const struct tls_conn *t)
{
	/*
	 * Decrypted bytes not yet taken.  Without read-ahead OpenSSL reads one
	 * record at a time, so whole records it has not read are still in the
	 * socket and poll sees them.
	 */
	return !t->failed && SSL_pending(t->ssl) > 0;
}

void tls_close(struct tls_conn *t)
{
	/* After a fatal error OpenSSL forbids SSL_shutdown. */
	if (t->done && !t->failed) {
		ERR_clear_error();
		SSL_shutdown(t->ssl);
		ERR_clear_error();
	}
}

const char *tls_error(const struct tls_conn *t)
{
	return t->err[0] ? t->err : "no error";
}

void tls_get_info(const struct tls_conn *t, struct tls_info *info)
{
	const SSL_CIPHER *c = SSL_get_current_cipher(t->ssl);

	info->version = SSL_get_version(t->ssl);
	info->cipher = c ? SSL_CIPHER_get_name(c) : "none";
	info->mode = tls_ctx_mode(t->ctx);
	info->ktls_send = BIO_get_ktls_send(SSL_get_wbio(t->ssl)) ? 1 : 0;
	info->ktls_recv = BIO_get_ktls_recv(SSL_get_rbio(t->ssl)) ? 1 : 0;
	info->principal = tls_principal(t);
}

const char *tls_principal(const struct tls_conn *t)
{
	return t->done ? t->principal : "";
}
