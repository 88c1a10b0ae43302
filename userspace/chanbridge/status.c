// SPDX-License-Identifier: GPL-2.0
/*
 * The status socket: a UNIX stream socket (mode 0600) where the daemon
 * answers one request line, "text" or "json", with its counters, and
 * `chanbridge status` that asks.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "bridge.h"
#include "cli.h"
#include "log.h"

static int sock_addr(const char *path, struct sockaddr_un *sun)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun->sun_path))
		return -1;
	strcpy(sun->sun_path, path);
	return 0;
}

int status_listen(struct bridge *b)
{
	struct sockaddr_un sun;
	int fd;
	mode_t old;

	if (sock_addr(b->status_path, &sun))
		return -1;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	/* A socket file nobody answers on is stale: replace it. */
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
		logmsg("status socket %s is in use by another bridge: no status", b->status_path);
		close(fd);
		return -1;
	}
	close(fd);
	unlink(b->status_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	old = umask(0177);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 || listen(fd, 8) < 0) {
		umask(old);
		logmsg("status socket %s: %s: no status", b->status_path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	umask(old);
	b->status_fd = fd;
	b->stag.kind = T_STATUS;
	return 0;
}

struct out {
	char *buf;
	size_t len, cap;
};

static void pr(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void pr(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
		va_end(ap);
		if (n < 0)
			return;
		if (o->len + (size_t)n < o->cap) {
			o->len += (size_t)n;
			return;
		}
		char *nb = realloc(o->buf, o->cap * 2 + (size_t)n);

		if (!nb)
			return;
		o->buf = nb;
		o->cap = o->cap * 2 + (size_t)n;
	}
}

static const char *const cstates[] = { "connecting", "tls", "hello", "ready", "dead" };
static const char *const sstates[] = { "opening", "open", "closed", "failed" };

static void one_chan(struct out *o, int json, const char *name, const char *local,
		     const char *dir, const struct chstat *st, const char *state, int first)
{
	if (json)
		pr(o, "%s{\"name\":\"%s\",\"local\":\"%s\",\"dir\":\"%s\",\"state\":\"%s\","
		   "\"sent\":%llu,\"acked\":%llu,\"retransmitted\":%llu,\"duplicates\":%llu,"
		   "\"window\":%u,\"rtt_us\":%lld}", first ? "" : ",", name, local, dir, state,
		   (unsigned long long)st->sent, (unsigned long long)st->acked,
		   (unsigned long long)st->retrans, (unsigned long long)st->dups, st->window,
		   (long long)st->rtt_us);
	else
		pr(o, "channel %-20s %-20s %-5s %-8s sent %llu acked %llu retransmitted %llu "
		   "duplicates %llu window %u rtt_us %lld\n", name, local, dir, state,
		   (unsigned long long)st->sent, (unsigned long long)st->acked,
		   (unsigned long long)st->retrans, (unsigned long long)st->dups, st->window,
		   (long long)st->rtt_us);
}

static void one_conn(struct out *o, int json, const struct conn *c, int first)
{
	struct conn_tls_info t;

	conn_tls_info(c, &t);
	if (json) {
		pr(o, "%s{\"id\":%d,\"peer\":\"%s\",\"state\":\"%s\",\"rtt_us\":%lld,",
		   first ? "" : ",", c->id, c->peer, cstates[c->state], (long long)c->rtt_us);
		if (t.version)
			pr(o, "\"tls\":{\"mode\":\"%s\",\"version\":\"%s\",\"cipher\":\"%s\","
			   "\"ktls_send\":%s,\"ktls_recv\":%s},", t.mode, t.version, t.cipher,
			   t.ktls_send ? "true" : "false", t.ktls_recv ? "true" : "false");
		pr(o, "\"principal\":\"%s\",\"streams\":[", t.principal);
		for (int i = 0; i < c->nstreams; i++) {
			const struct stream *s = c->streams[i];

			pr(o, "%s{\"chan\":%u,\"name\":\"%s\",\"role\":\"%s\",\"state\":\"%s\","
			   "\"held\":%d,\"pending\":%d,\"credit\":%llu,\"granted\":%llu}",
			   i ? "," : "", s->id, s->name, s->role == ROLE_SRC ? "source" : "destination",
			   sstates[s->state], s->nheld, s->nto_commit,
			   (unsigned long long)(s->credit - s->sent_frames),
			   (unsigned long long)(s->granted - s->received));
		}
		pr(o, "]}");
		return;
	}
	pr(o, "conn %d %s %s rtt_us %lld", c->id, c->peer, cstates[c->state],
	   (long long)c->rtt_us);
	if (t.version)
		pr(o, " tls %s %s %s ktls_send %s ktls_recv %s principal %s", t.mode, t.version,
		   t.cipher, t.ktls_send ? "on" : "off", t.ktls_recv ? "on" : "off", t.principal);
	else
		pr(o, " tls %s", c->tls ? "handshake" : "off");
	pr(o, "\n");
	for (int i = 0; i < c->nstreams; i++) {
		const struct stream *s = c->streams[i];

		pr(o, "  stream %u %s %s %s held %d pending %d credit %llu granted %llu\n", s->id,
		   s->name, s->role == ROLE_SRC ? "source" : "destination", sstates[s->state],
		   s->nheld, s->nto_commit, (unsigned long long)(s->credit - s->sent_frames),
		   (unsigned long long)(s->granted - s->received));
	}
}

static void report(struct bridge *b, struct out *o, int json)
{
	int i;

	if (json)
		pr(o, "{\"mode\":\"%s\",\"pid\":%d,\"io\":\"%s\",\"channels\":[",
		   b->server ? "serve" : "import", (int)getpid(), ev_name(b->ev));
	else
		pr(o, "chanbridge %s pid %d io %s\n", b->server ? "serve" : "import",
		   (int)getpid(), ev_name(b->ev));
	if (b->server) {
		for (i = 0; i < b->nexports; i++) {
			const struct export *e = &b->exports[i];

			one_chan(o, json, e->name, e->name,
				 e->allow == (CB_DIR_SEND | CB_DIR_RECV) ? "both" :
				 e->allow == CB_DIR_SEND ? "send" : "recv", &e->st, "exported", !i);
		}
	} else {
		for (i = 0; i < b->nimports; i++) {
			const struct impch *ic = &b->imports[i];

			one_chan(o, json, ic->remote, ic->local,
				 ic->dir == CB_DIR_SEND ? "send" : "recv", &ic->st,
				 ic->done ? "closed" : ic->failed ? "failed" : "open", !i);
		}
	}
	pr(o, json ? "],\"connections\":[" : "");
	if (b->server)
		for (i = 0; i < b->nconns; i++)
			one_conn(o, json, b->conns[i], !i);
	else if (b->conn)
		one_conn(o, json, b->conn, 1);
	pr(o, json ? "]}\n" : "");
}

void status_serve(struct bridge *b)
{
	struct timeval tv = { .tv_sec = 1 };
	struct out o = { .cap = 4096 };
	char req[16] = "";
	ssize_t n;
	int fd = accept4(b->status_fd, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0)
		return;
	/* A local, root-only socket: a short blocking exchange is fine. */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	n = read(fd, req, sizeof(req) - 1);
	o.buf = malloc(o.cap);
	if (n > 0 && o.buf) {
		req[n] = 0;
		report(b, &o, !strncmp(req, "json", 4));
		for (size_t off = 0; off < o.len;) {
			ssize_t w = write(fd, o.buf + off, o.len - off);

			if (w <= 0)
				break;
			off += (size_t)w;
		}
	}
	free(o.buf);
	close(fd);
}

int cmd_status(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "status-socket", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	const char *path = "/run/chanbridge.sock";
	struct sockaddr_un sun;
	int json = 0, o, fd;
	char buf[4096];
	ssize_t n;

	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (o) {
		case 's': path = optarg; break;
		case 'j': json = 1; break;
		case 'h': fputs(USAGE_STATUS, stdout); return 0;
		default: fputs(USAGE_STATUS, stderr); return 2;
		}
	}
	if (optind != argc)
		return usage_err("status", "unexpected argument %s", argv[optind]);
	if (sock_addr(path, &sun))
		return usage_err("status", "--status-socket path too long");
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		fprintf(stderr, "chanbridge status: %s: %s\n", path, strerror(errno));
		return 1;
	}
	if (write(fd, json ? "json\n" : "text\n", 5) != 5) {
		fprintf(stderr, "chanbridge status: %s: %s\n", path, strerror(errno));
		return 1;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		fwrite(buf, 1, (size_t)n, stdout);
	close(fd);
	return 0;
}
