// SPDX-License-Identifier: GPL-2.0
/*
 * Host test of tls.c and keyfile.c: both ends of a TLS link in one process,
 * over loopback TCP (so kernel TLS can engage where the tls module is
 * loaded), through a relay that captures every byte on the wire.  The
 * handshake matrix asserts who fails and why; the relay also plays an
 * attacker who flips, injects and replays.  The certificates, an expired one
 * among them, are made here with the X509 API.  Prints TAP.
 *
 *   tls_test [DIR]      DIR: where to put keys and certificates (default: mkdtemp)
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "keyfile.h"
#include "tls.h"

#define ALPN "kchanbridge/2"
#define MARKER "PLAINTEXT-MARKER-7f3a9c"
#define CAPTURE_MAX (4 << 20)

static int ntests, nfailed;
static char dir[256];

static void ok(int cond, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void ok(int cond, const char *fmt, ...)
{
	va_list ap;

	ntests++;
	if (!cond)
		nfailed++;
	printf("%sok %d - ", cond ? "" : "not ", ntests);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static void diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void diag(const char *fmt, ...)
{
	va_list ap;

	fputs("# ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

/* DIR/name, kept for the run (options hold on to the paths). */
static const char *path(const char *name)
{
	char *p;

	if (asprintf(&p, "%s/%s", dir, name) < 0)
		exit(1);
	return p;
}

static void die(const char *what)
{
	printf("Bail out! %s: %s\n", what, strerror(errno));
	exit(1);
}

/* --- certificates ------------------------------------------------------------ */

struct pki {
	X509 *crt;
	EVP_PKEY *key;
};

static void write_pem(const char *name, X509 *x, EVP_PKEY *k)
{
	FILE *f;
	int fd;

	f = fopen(path(name), "w");
	if (!f || !PEM_write_X509(f, x) || fclose(f))
		die(name);
	{
		char kn[300];

		snprintf(kn, sizeof(kn), "%.*s.key", (int)(strlen(name) - 4), name);
		unlink(path(kn));
		fd = open(path(kn), O_WRONLY | O_CREAT | O_EXCL, 0600);
		f = fd >= 0 ? fdopen(fd, "w") : NULL;
		if (!f || !PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL) || fclose(f))
			die(kn);
	}
}

static void add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX v3;
	X509_EXTENSION *e;

	X509V3_set_ctx(&v3, issuer ? issuer : x, x, NULL, NULL, 0);
	e = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
	if (!e || !X509_add_ext(x, e, -1))
		die("extension");
	X509_EXTENSION_free(e);
}

/*
 * A certificate valid from `from` to `to` days from now (negative: in the
 * past), signed by ca (NULL: self-signed, a CA).  Written as NAME.crt and
 * NAME.key.
 */
static struct pki mkcert(const char *name, const char *cn, const char *san,
			 const struct pki *ca, long from, long to)
{
	static long serial = 1;
	struct pki p = { X509_new(), EVP_EC_gen("P-256") };
	X509_NAME *subj = X509_NAME_new();
	char file[300];

	if (!p.crt || !p.key || !subj)
		die("mkcert");
	X509_set_version(p.crt, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(p.crt), serial++);
	X509_gmtime_adj(X509_getm_notBefore(p.crt), from * 86400);
	X509_gmtime_adj(X509_getm_notAfter(p.crt), to * 86400);
	X509_NAME_add_entry_by_txt(subj, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(p.crt, subj);
	X509_set_issuer_name(p.crt, ca ? X509_get_subject_name(ca->crt) : subj);
	X509_set_pubkey(p.crt, p.key);
	if (!ca) {
		add_ext(p.crt, NULL, NID_basic_constraints, "critical,CA:TRUE");
		add_ext(p.crt, NULL, NID_key_usage, "critical,keyCertSign,cRLSign");
	} else {
		add_ext(p.crt, ca->crt, NID_basic_constraints, "critical,CA:FALSE");
		add_ext(p.crt, ca->crt, NID_ext_key_usage, "serverAuth,clientAuth");
		if (san)
			add_ext(p.crt, ca->crt, NID_subject_alt_name, san);
	}
	if (!X509_sign(p.crt, ca ? ca->key : p.key, EVP_sha256()))
		die("sign");
	X509_NAME_free(subj);
	snprintf(file, sizeof(file), "%s.crt", name);
	write_pem(file, p.crt, p.key);
	return p;
}

static void make_pki(void)
{
	struct pki ca = mkcert("ca", "kchan test CA", NULL, NULL, -1, 30);
	struct pki other = mkcert("otherca", "another CA", NULL, NULL, -1, 30);

	mkcert("server", "server.test", "DNS:server.test,IP:127.0.0.1", &ca, -1, 30);
	mkcert("client", "importer1", "DNS:importer1.test", &ca, -1, 30);
	mkcert("rogue", "importer1", "DNS:importer1.test", &other, -1, 30);
	mkcert("rogueserver", "server.test", "DNS:server.test", &other, -1, 30);
	mkcert("expired", "importer1", "DNS:importer1.test", &ca, -30, -1);
}

/* --- key files ------------------------------------------------------------------ */

static void write_file(const char *p, const char *text, mode_t mode)
{
	int fd;

	unlink(p);
	fd = open(p, O_WRONLY | O_CREAT | O_EXCL, mode);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text) ||
	    fchmod(fd, mode) < 0 || close(fd) < 0)
		die(p);
}

#define KEY_A "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
#define KEY_B "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100"

static void make_keys(void)
{
	write_file(path("server.psk"), "# the importers\nalice " KEY_A "\n\nbob " KEY_B "\n", 0600);
	write_file(path("alice.psk"), "alice " KEY_A "\n", 0600);
	write_file(path("alice-wrong.psk"), "alice " KEY_B "\n", 0600);
	write_file(path("carol.psk"), "carol " KEY_A "\n", 0600);
	write_file(path("open.psk"), "alice " KEY_A "\n", 0644);
	write_file(path("group.psk"), "alice " KEY_A "\n", 0640);
	write_file(path("short.psk"), "alice 0011\n", 0600);
	unlink(path("link.psk"));
	if (symlink(path("alice.psk"), path("link.psk")))
		die("symlink");
}

/* --- a link ------------------------------------------------------------------------ */

static int tcp_listen(int *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 4) ||
	    getsockname(fd, (struct sockaddr *)&a, &len))
		die("listen");
	*port = ntohs(a.sin_port);
	return fd;
}

/* A connected pair of non-blocking TCP sockets over loopback. */
static void tcp_pair(int fds[2])
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int port, one = 1, l = tcp_listen(&port);

	a.sin_port = htons((uint16_t)port);
	fds[0] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fds[0] < 0 || connect(fds[0], (struct sockaddr *)&a, sizeof(a)))
		die("connect");
	fds[1] = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	if (fds[1] < 0)
		die("accept");
	close(l);
	for (int i = 0; i < 2; i++) {
		setsockopt(fds[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		fcntl(fds[i], F_SETFL, O_NONBLOCK);
	}
}

/*
 * client <-> [c0 c1] relay [s0 s1] <-> server.  The relay copies bytes both
 * ways and keeps everything the client sent: what an on-path observer sees.
 */
struct link {
	int cfd, sfd;		/* the TLS ends */
	int rc, rs;		/* the relay's ends */
	struct tls_conn *c, *s;
	int crc, src;		/* handshake results */
	uint8_t *cap;
	size_t ncap;
	size_t flip_at;		/* > 0: flip this byte of the client's stream */
};

static void relay(struct link *l)
{
	uint8_t buf[65536];
	ssize_t k;

	while ((k = read(l->rc, buf, sizeof(buf))) > 0) {
		if (l->flip_at && l->flip_at >= l->ncap && l->flip_at < l->ncap + (size_t)k)
			buf[l->flip_at - l->ncap] ^= 0x01;
		if (l->ncap + (size_t)k <= CAPTURE_MAX) {
			memcpy(l->cap + l->ncap, buf, (size_t)k);
			l->ncap += (size_t)k;
		}
		if (write(l->rs, buf, (size_t)k) != k)
			die("relay write");
	}
	if (k == 0)
		shutdown(l->rs, SHUT_WR);
	while ((k = read(l->rs, buf, sizeof(buf))) > 0)
		if (write(l->rc, buf, (size_t)k) != k)
			die("relay write");
	if (k == 0)
		shutdown(l->rc, SHUT_WR);
}

static short ev_of(int rc)
{
	return rc == TLS_WANT_WRITE ? POLLOUT : POLLIN;
}

/* Wait for what the ends want, then run the relay. */
static void wait_link(struct link *l, int crc, int src)
{
	struct pollfd p[4] = {
		{ l->cfd, ev_of(crc), 0 }, { l->sfd, ev_of(src), 0 },
		{ l->rc, POLLIN, 0 }, { l->rs, POLLIN, 0 },
	};

	poll(p, 4, 100);
	relay(l);
}

static int link_open(struct link *l, const struct tls_opts *so, const struct tls_opts *co,
		     char *err, size_t errlen, struct tls_ctx **sctx, struct tls_ctx **cctx)
{
	int a[2], b[2];

	memset(l, 0, sizeof(*l));
	*sctx = tls_ctx_new(so, err, errlen);
	if (!*sctx)
		return -1;
	*cctx = tls_ctx_new(co, err, errlen);
	if (!*cctx) {
		tls_ctx_free(*sctx);
		return -2;
	}
	tcp_pair(a);
	tcp_pair(b);
	l->cfd = a[0];
	l->rc = a[1];
	l->rs = b[0];
	l->sfd = b[1];
	l->cap = malloc(CAPTURE_MAX);
	l->s = tls_conn_new(*sctx, l->sfd);
	l->c = tls_conn_new(*cctx, l->cfd);
	if (!l->cap || !l->s || !l->c)
		die("link");
	return 0;
}

/* Both handshakes to their end: each done or failed, or 5 s gone. */
static void link_handshake(struct link *l)
{
	time_t end = time(NULL) + 5;

	l->crc = l->src = TLS_WANT_READ;
	while (time(NULL) < end) {
		int cdone = l->crc == TLS_DONE || l->crc == TLS_FAILED;
		int sdone = l->src == TLS_DONE || l->src == TLS_FAILED;

		if (!cdone)
			l->crc = tls_handshake(l->c);
		if (!sdone)
			l->src = tls_handshake(l->s);
		if (cdone && sdone)
			break;
		/* One side failed: the other learns it from the alert or the close. */
		if (l->crc == TLS_FAILED && l->cfd >= 0) {
			close(l->cfd);
			l->cfd = -1;
		}
		if (l->src == TLS_FAILED && l->sfd >= 0) {
			close(l->sfd);
			l->sfd = -1;
		}
		wait_link(l, l->crc, l->src);
	}
}

static void link_close(struct link *l, struct tls_ctx *sctx, struct tls_ctx *cctx)
{
	tls_conn_free(l->c);
	tls_conn_free(l->s);
	for (int *fd = &l->cfd; fd <= &l->rs; fd++)
		if (*fd >= 0)
			close(*fd);
	free(l->cap);
	tls_ctx_free(sctx);
	tls_ctx_free(cctx);
}

/* --- the matrix --------------------------------------------------------------------- */

struct want {
	int server_ok, client_ok;
	const char *server_err, *client_err;	/* substrings, NULL: any */
	const char *server_principal, *client_principal;
};

static struct tls_opts psk_server(const char *file)
{
	return (struct tls_opts){ .server = 1, .psk_file = path(file), .alpn = ALPN };
}

static struct tls_opts psk_client(const char *file, const char *id)
{
	return (struct tls_opts){ .psk_file = path(file), .identity = id, .alpn = ALPN };
}

static struct tls_opts cert_opts(int server, const char *name, const char *ca, const char *host)
{
	char c[64], k[64];

	snprintf(c, sizeof(c), "%s.crt", name);
	snprintf(k, sizeof(k), "%s.key", name);
	return (struct tls_opts){ .server = server, .cert = path(c), .key = path(k),
				  .ca = path(ca), .host = host, .alpn = ALPN };
}

static int has(const char *s, const char *sub)
{
	return !sub || strstr(s, sub);
}

static void check(const char *what, const struct tls_opts *so, const struct tls_opts *co,
		  const struct want *w)
{
	struct tls_ctx *sctx, *cctx;
	struct link l;
	char err[512];
	int good;

	if (link_open(&l, so, co, err, sizeof(err), &sctx, &cctx)) {
		ok(0, "%s: setup: %s", what, err);
		return;
	}
	link_handshake(&l);
	/*
	 * In TLS 1.3 the client finishes first: a server that then refuses its
	 * certificate tells it with an alert, which its first read gets.
	 */
	if (l.crc == TLS_DONE && l.src == TLS_FAILED) {
		uint8_t b[64];

		for (int i = 0; i < 50 && l.crc == TLS_DONE; i++) {
			ssize_t k = tls_read(l.c, b, sizeof(b));

			if (k == TLS_FAILED || k == TLS_CLOSED)
				l.crc = TLS_FAILED;
			else
				wait_link(&l, TLS_WANT_READ, TLS_WANT_READ);
		}
	}
	good = (l.src == TLS_DONE) == w->server_ok && (l.crc == TLS_DONE) == w->client_ok;
	if (!w->server_ok)
		good = good && has(tls_error(l.s), w->server_err);
	if (!w->client_ok)
		good = good && has(tls_error(l.c), w->client_err);
	if (w->server_ok && w->server_principal)
		good = good && !strcmp(tls_principal(l.s), w->server_principal);
	if (w->client_ok && w->client_principal)
		good = good && !strcmp(tls_principal(l.c), w->client_principal);
	/* A principal only after a completed handshake. */
	if (l.src != TLS_DONE)
		good = good && !*tls_principal(l.s);
	ok(good, "%s", what);
	if (!good || getenv("TLS_TEST_VERBOSE"))
		diag("server %s [%s] principal \"%s\"; client %s [%s] principal \"%s\"",
		     l.src == TLS_DONE ? "done" : "failed", l.src == TLS_DONE ? "" : tls_error(l.s),
		     tls_principal(l.s), l.crc == TLS_DONE ? "done" : "failed",
		     l.crc == TLS_DONE ? "" : tls_error(l.c), tls_principal(l.c));
	link_close(&l, sctx, cctx);
}

/*
 * A client that sends no certificate: tls.c will not make one (certificate
 * mode needs --cert), so this is plain OpenSSL against our server.
 */
static void no_client_cert(const struct tls_opts *so)
{
	struct tls_ctx *sctx = tls_ctx_new(so, (char[256]){ 0 }, 256);
	SSL_CTX *cc = SSL_CTX_new(TLS_client_method());
	int fds[2], src = TLS_WANT_READ, crc = 0;
	struct tls_conn *s;
	time_t end = time(NULL) + 5;
	SSL *c;

	tcp_pair(fds);
	SSL_CTX_set_min_proto_version(cc, TLS1_3_VERSION);
	SSL_CTX_load_verify_file(cc, path("ca.crt"));
	SSL_CTX_set_verify(cc, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_alpn_protos(cc, (const unsigned char *)"\x0d" ALPN, 14);
	c = SSL_new(cc);
	SSL_set_fd(c, fds[0]);
	SSL_set1_host(c, "server.test");
	SSL_set_connect_state(c);
	s = tls_conn_new(sctx, fds[1]);
	while (time(NULL) < end && (src == TLS_WANT_READ || src == TLS_WANT_WRITE)) {
		struct pollfd p[2] = { { fds[0], POLLIN, 0 }, { fds[1], POLLIN, 0 } };
		char b;

		if (crc != 1) {
			crc = SSL_do_handshake(c);
		} else {
			/* TLS 1.3: the client is done first; the refusal comes after. */
			SSL_read(c, &b, 1);
		}
		src = tls_handshake(s);
		poll(p, 2, 100);
	}
	ok(src == TLS_FAILED && has(tls_error(s), "did not return a certificate"),
	   "certificates: a client without a certificate is refused");
	if (getenv("TLS_TEST_VERBOSE") || src != TLS_FAILED)
		diag("server: %s", tls_error(s));
	tls_conn_free(s);
	SSL_free(c);
	SSL_CTX_free(cc);
	tls_ctx_free(sctx);
	close(fds[0]);
	close(fds[1]);
}

static void matrix(void)
{
	struct tls_opts s = psk_server("server.psk"), c;

	c = psk_client("alice.psk", NULL);
	check("PSK: the right key: both done, principal alice", &s, &c,
	      &(struct want){ 1, 1, NULL, NULL, "alice", "alice" });
	c = psk_client("server.psk", "bob");
	check("PSK: --identity picks the second line", &s, &c,
	      &(struct want){ 1, 1, NULL, NULL, "bob", "bob" });
	c = psk_client("alice-wrong.psk", NULL);
	check("PSK: a wrong key fails both ends (binder)", &s, &c,
	      &(struct want){ 0, 0, "wrong key for PSK identity \"alice\"", "the peer refused", NULL,
			      NULL });
	c = psk_client("carol.psk", NULL);
	check("PSK: an unknown identity fails both ends", &s, &c,
	      &(struct want){ 0, 0, "unknown PSK identity \"carol\"", "the peer refused", NULL, NULL });
	c = cert_opts(0, "client", "ca.crt", "server.test");
	check("PSK server, certificate client: refused", &s, &c,
	      &(struct want){ 0, 0, "the peer offered no PSK", NULL, NULL, NULL });
	c = psk_client("alice.psk", NULL);
	c.alpn = "kchanbridge/1";
	check("PSK: ALPN mismatch fails, and says so", &s, &c,
	      &(struct want){ 0, 0, "ALPN mismatch: the peer speaks kchanbridge/1, we speak "
			      "kchanbridge/2", "no application protocol", NULL, NULL });

	s = cert_opts(1, "server", "ca.crt", NULL);
	c = cert_opts(0, "client", "ca.crt", "server.test");
	check("certificates: both verified, principals are the CNs", &s, &c,
	      &(struct want){ 1, 1, NULL, NULL, "importer1", "server.test" });
	c = cert_opts(0, "client", "ca.crt", "127.0.0.1");
	check("certificates: an IP address checked against the IP SAN", &s, &c,
	      &(struct want){ 1, 1, NULL, NULL, "importer1", "server.test" });
	c = cert_opts(0, "rogue", "ca.crt", "server.test");
	check("certificates: a client certificate from another CA is refused", &s, &c,
	      &(struct want){ 0, 0, "certificate verify failed", "the peer refused", NULL, NULL });
	c = cert_opts(0, "client", "ca.crt", "server.test");
	{
		struct tls_opts rs = cert_opts(1, "rogueserver", "ca.crt", NULL);

		check("certificates: a server certificate from another CA is refused", &rs, &c,
		      &(struct want){ 0, 0, NULL, "certificate verify failed: unable to get local "
				      "issuer certificate", NULL, NULL });
	}
	no_client_cert(&s);
	c = cert_opts(0, "expired", "ca.crt", "server.test");
	check("certificates: an expired client certificate is refused", &s, &c,
	      &(struct want){ 0, 0, "certificate verify failed: certificate has expired",
			      "the peer refused", NULL, NULL });
	c = cert_opts(0, "client", "ca.crt", "other.test");
	check("certificates: a host name mismatch fails the importer", &s, &c,
	      &(struct want){ 0, 0, NULL, "certificate verify failed: hostname mismatch", NULL,
			      NULL });
	c = cert_opts(0, "client", "ca.crt", "server.test");
	c.alpn = "kchanbridge/1";
	check("certificates: ALPN mismatch fails", &s, &c,
	      &(struct want){ 0, 0, "ALPN mismatch", "no application protocol", NULL, NULL });
}

/* --- key files ---------------------------------------------------------------------- */

static void refused(const char *what, const struct tls_opts *o, const char *want)
{
	char err[512] = "";
	struct tls_ctx *ctx = tls_ctx_new(o, err, sizeof(err));

	ok(!ctx && strstr(err, want), "%s", what);
	if (ctx || !strstr(err, want) || getenv("TLS_TEST_VERBOSE"))
		diag("error: %s", err);
	tls_ctx_free(ctx);
}

static void keyfiles(void)
{
	struct tls_opts o;

	o = psk_server("open.psk");
	refused("a key file others can read (0644) is refused", &o, "mode 0644");
	o = psk_client("group.psk", NULL);
	refused("a key file the group can read (0640) is refused", &o, "mode 0640");
	o = psk_server("link.psk");
	refused("a symlinked key file is refused", &o, "symbolic link");
	mkdir(path("dir.psk"), 0700);
	o = psk_server("dir.psk");
	refused("a directory as key file is refused", &o, "not a regular file");
	unlink(path("fifo.psk"));
	if (mkfifo(path("fifo.psk"), 0600))
		die("mkfifo");
	o = psk_server("fifo.psk");
	refused("a FIFO as key file is refused, without hanging", &o, "not a regular file");
	o = psk_client("short.psk", NULL);
	refused("a short key is refused", &o, "64 hex digits");
	o = psk_client("alice.psk", "bob");
	refused("an identity not in the file is refused", &o, "no identity \"bob\"");
	o = psk_server("missing.psk");
	refused("a missing key file is refused", &o, "No such file");
	o = cert_opts(1, "server", "ca.crt", NULL);
	chmod(path("server.key"), 0644);
	refused("a private key others can read is refused", &o, "mode 0644");
	chmod(path("server.key"), 0600);
}

static void genkey(void)
{
	char err[256], buf[256], id[KF_ID_MAX + 1];
	uint8_t k1[KF_KEY_LEN], k2[KF_KEY_LEN];
	struct stat st;
	int fd, rc;
	ssize_t len;

	unlink(path("gen1.psk"));
	unlink(path("gen2.psk"));
	umask(0);	/* genkey must not depend on the umask */
	rc = keyfile_genkey(path("gen1.psk"), "host-a", err, sizeof(err));
	umask(022);
	ok(rc == 0 && stat(path("gen1.psk"), &st) == 0 && (st.st_mode & 07777) == 0600,
	   "genkey writes a 0600 file, whatever the umask");
	fd = open(path("gen1.psk"), O_RDONLY);
	len = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	if (fd >= 0)
		close(fd);
	buf[len > 0 ? len : 0] = 0;
	ok(len == 7 + 64 + 1 && !strncmp(buf, "host-a ", 7) && buf[len - 1] == '\n',
	   "genkey writes one line: identity, 64 hex digits");
	rc = keyfile_genkey(path("gen1.psk"), "host-a", err, sizeof(err));
	ok(rc < 0 && strstr(err, "File exists"), "genkey does not overwrite a file");
	unlink(path("gen-link.psk"));
	if (symlink(path("gen-target.psk"), path("gen-link.psk")))
		die("symlink");
	rc = keyfile_genkey(path("gen-link.psk"), "x", err, sizeof(err));
	ok(rc < 0 && access(path("gen-target.psk"), F_OK) < 0,
	   "genkey does not follow a dangling symlink");
	ok(keyfile_genkey(path("gen2.psk"), "bad id", err, sizeof(err)) < 0,
	   "genkey refuses an identity with a space");
	keyfile_genkey(path("gen2.psk"), "host-b", err, sizeof(err));
	ok(keyfile_lookup(path("gen1.psk"), NULL, 0, k1, id, err, sizeof(err)) == 1 &&
	   !strcmp(id, "host-a") &&
	   keyfile_lookup(path("gen2.psk"), "host-b", 6, k2, NULL, err, sizeof(err)) == 1 &&
	   memcmp(k1, k2, sizeof(k1)), "two generated keys load, and differ");
	{
		struct tls_opts s = psk_server("gen1.psk"), c = psk_client("gen1.psk", NULL);

		check("a generated key file works at both ends", &s, &c,
		      &(struct want){ 1, 1, NULL, NULL, "host-a", "host-a" });
	}
}

/* Removing a line from the server's key file refuses that peer's next handshake. */
static void revocation(void)
{
	struct tls_opts s = psk_server("revoke.psk"), c = psk_client("alice.psk", NULL);

	write_file(path("revoke.psk"), "alice " KEY_A "\nbob " KEY_B "\n", 0600);
	check("revocation: alice connects while listed", &s, &c,
	      &(struct want){ 1, 1, NULL, NULL, "alice", NULL });
	{
		struct tls_ctx *sctx, *cctx;
		struct link l;
		char err[512];

		if (link_open(&l, &s, &c, err, sizeof(err), &sctx, &cctx)) {
			ok(0, "revocation: setup: %s", err);
			return;
		}
		/* The line goes after the server's context was made, as in a running serve. */
		write_file(path("revoke.psk"), "bob " KEY_B "\n", 0600);
		link_handshake(&l);
		ok(l.src == TLS_FAILED && has(tls_error(l.s), "unknown PSK identity \"alice\""),
		   "revocation: alice is refused once her line is gone, without a restart");
		link_close(&l, sctx, cctx);
	}
}

/* --- data ------------------------------------------------------------------------------ */

/* Write all of buf through t, reading the other end as needed. */
static int pump(struct link *l, struct tls_conn *from, struct tls_conn *to,
		const uint8_t *buf, size_t len, uint8_t *out)
{
	size_t sent = 0, got = 0;
	time_t end = time(NULL) + 10;

	while (got < len && time(NULL) < end) {
		ssize_t k;

		if (sent < len) {
			k = tls_write(from, buf + sent, len - sent);
			if (k > 0)
				sent += (size_t)k;
			else if (k == TLS_FAILED)
				return -1;
		}
		/* Read until OpenSSL has nothing buffered, not only until poll says. */
		do {
			k = tls_read(to, out + got, len - got);
			if (k > 0)
				got += (size_t)k;
			else if (k == TLS_FAILED || k == TLS_CLOSED)
				return -1;
		} while (k > 0 && got < len);
		wait_link(l, TLS_WANT_WRITE, TLS_WANT_READ);
	}
	return got == len && !memcmp(buf, out, len) ? 0 : -1;
}

static int contains(const uint8_t *hay, size_t n, const void *needle, size_t m)
{
	for (size_t i = 0; i + m <= n; i++)
		if (!memcmp(hay + i, needle, m))
			return 1;
	return 0;
}

static void data(const char *mode, const struct tls_opts *so, const struct tls_opts *co)
{
	struct tls_ctx *sctx, *cctx;
	struct tls_info ci, si;
	struct link l;
	char err[512];
	size_t len = 300000, i;
	uint8_t *buf = malloc(len), *out = malloc(len);

	if (!buf || !out || link_open(&l, so, co, err, sizeof(err), &sctx, &cctx)) {
		ok(0, "%s data: setup", mode);
		return;
	}
	link_handshake(&l);
	for (i = 0; i + sizeof(MARKER) <= len; i += sizeof(MARKER))
		memcpy(buf + i, MARKER "\n", sizeof(MARKER));
	memset(buf + i, '.', len - i);
	ok(l.crc == TLS_DONE && l.src == TLS_DONE, "%s data: handshake", mode);
	tls_get_info(l.c, &ci);
	tls_get_info(l.s, &si);
	{
		/* Whether OpenSSL got as far as the kernel: the socket's upper layer. */
		char ulp[16] = "none";
		socklen_t ulen = sizeof(ulp);

		getsockopt(l.cfd, IPPROTO_TCP, TCP_ULP, ulp, &ulen);
		diag("%s: client %s %s, kTLS send %s recv %s (TCP_ULP %s); server kTLS send %s "
		     "recv %s", mode, ci.version, ci.cipher, ci.ktls_send ? "on" : "off",
		     ci.ktls_recv ? "on" : "off", ulp, si.ktls_send ? "on" : "off",
		     si.ktls_recv ? "on" : "off");
	}
	ok(!strcmp(ci.version, "TLSv1.3") && !strcmp(si.version, "TLSv1.3"),
	   "%s data: TLS 1.3 (%s)", mode, ci.cipher);
	ok(pump(&l, l.c, l.s, buf, len, out) == 0, "%s data: %zu bytes client to server", mode, len);
	ok(pump(&l, l.s, l.c, buf, len, out) == 0, "%s data: %zu bytes server to client", mode, len);
	/* The PSK identity is in the clear (ClientHello); the key never is. */
	ok(l.ncap > len && !contains(l.cap, l.ncap, MARKER, strlen(MARKER)) &&
	   !contains(l.cap, l.ncap, KEY_A, 16) &&
	   !contains(l.cap, l.ncap, "\x00\x11\x22\x33\x44\x55\x66\x77", 8),
	   "%s data: the capture (%zu bytes) has no plaintext marker and no key", mode, l.ncap);
	{
		/* One record, read in small pieces: the rest waits in OpenSSL, not the socket. */
		uint8_t small[100];
		struct pollfd p = { l.cfd, POLLIN, 0 };
		ssize_t k;

		k = tls_write(l.s, buf, 10000);
		for (int t = 0; t < 20 && k > 0; t++) {
			wait_link(&l, TLS_WANT_READ, TLS_WANT_READ);
			if (tls_read(l.c, small, sizeof(small)) > 0)
				break;
		}
		ok(k == 10000 && tls_pending(l.c) && poll(&p, 1, 50) == 0,
		   "%s data: a partly read record is pending with the socket empty", mode);
	}
	link_close(&l, sctx, cctx);
	free(buf);
	free(out);
}

/* --- an active attacker on the path ------------------------------------------------ */

/* Read at the server until something comes or it fails: the bytes read, or a tls_rc. */
static ssize_t server_gets(struct link *l, uint8_t *buf, size_t len)
{
	for (int i = 0; i < 50; i++) {
		ssize_t k = tls_read(l->s, buf, len);

		if (k != TLS_WANT_READ && k != TLS_WANT_WRITE)
			return k;
		wait_link(l, TLS_WANT_READ, TLS_WANT_READ);
	}
	return TLS_WANT_READ;
}

/*
 * What the on-path attacker tried on the plain protocol: change a
 * frame, inject one, replay one.  Each must end the connection without a
 * byte of it delivered.
 */
static void attacker(const char *mode, const struct tls_opts *so, const struct tls_opts *co)
{
	/* An ACK frame of seq 2^64-1 for channel 1, as the plain protocol has it. */
	static const uint8_t ack[] = { 0, 0, 0, 13, 8, 0, 0, 0, 1,
				       0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	static const char *const what[] = { "a flipped bit", "an injected plaintext ACK",
					    "a replayed record" };
	struct tls_ctx *sctx, *cctx;
	uint8_t buf[256], rec[256];
	char err[512];

	for (int a = 0; a < 3; a++) {
		struct link l;
		size_t mark, nrec = 0;
		ssize_t k = 0;

		if (link_open(&l, so, co, err, sizeof(err), &sctx, &cctx)) {
			ok(0, "%s: %s: setup: %s", mode, what[a], err);
			continue;
		}
		link_handshake(&l);
		mark = l.ncap;
		if (a == 0)
			l.flip_at = mark + 5 + 3;	/* past the record header */
		if (tls_write(l.c, MARKER, sizeof(MARKER) - 1) != sizeof(MARKER) - 1)
			k = -100;
		if (a == 2) {
			/* Delivered once; then the same record again. */
			k = server_gets(&l, buf, sizeof(buf));
			nrec = l.ncap - mark < sizeof(rec) ? l.ncap - mark : 0;
			memcpy(rec, l.cap + mark, nrec);
			if (k != sizeof(MARKER) - 1 || !nrec || write(l.rs, rec, nrec) != (ssize_t)nrec)
				k = -100;
		}
		if (a == 1 && write(l.rs, ack, sizeof(ack)) != sizeof(ack))
			k = -100;
		if (k != -100)
			k = server_gets(&l, buf, sizeof(buf));
		/* The reason must be about the record, not a leftover of the handshake. */
		ok(k == TLS_FAILED && !strstr(tls_error(l.s), "certificate"),
		   "%s: %s: the server's read fails, nothing delivered", mode, what[a]);
		diag("%s: %s: %s", mode, what[a], k == TLS_FAILED ? tls_error(l.s) : "not failed");
		link_close(&l, sctx, cctx);
	}
}

int main(int argc, char **argv)
{
	struct tls_opts s, c;

	if (argc > 1) {
		snprintf(dir, sizeof(dir), "%s", argv[1]);
	} else {
		snprintf(dir, sizeof(dir), "/tmp/tls_test.XXXXXX");
		if (!mkdtemp(dir))
			die("mkdtemp");
	}
	printf("TAP version 13\n");
	make_pki();
	make_keys();
	matrix();
	keyfiles();
	genkey();
	revocation();
	s = psk_server("server.psk");
	c = psk_client("alice.psk", NULL);
	data("PSK", &s, &c);
	s.no_ktls = c.no_ktls = 1;
	data("PSK without kTLS", &s, &c);
	s = cert_opts(1, "server", "ca.crt", NULL);
	c = cert_opts(0, "client", "ca.crt", "server.test");
	data("certificates", &s, &c);
	attacker("certificates", &s, &c);
	s = psk_server("server.psk");
	c = psk_client("alice.psk", NULL);
	attacker("PSK", &s, &c);
	printf("1..%d\n", ntests);
	return nfailed ? 1 : 0;
}
