// SPDX-License-Identifier: GPL-2.0
/*
 * Whole exactly-once scenarios on the host (issue 13, "Test the protocol,
 * not only the codec"): a serve and one or two importers in this process,
 * on the kernel model, through an in-process relay (scen_harness.h,
 * scen_proxy.h).  In each, a producer writes 1..N into the source and
 * closes it, a consumer reads the destination to its end, and wants 1..N
 * once each, in order, then end of file:
 *
 *   clean-recv, clean-send  a clean relay, the importer receiving / sending;
 *   cuts            the link cut three times mid-stream;
 *   halfdead        the first link drops server -> importer bytes part-way,
 *                   and its server side stays open after the importer
 *                   gives up, past the reconnect (tests/guest-bridge-holders.sh 1);
 *   two-importers   two importers of one export into one destination, the
 *                   one holding killed part-way while the other retries, which
 *                   takes over; the killed one restarted (... 2);
 *   kills           the importer killed and restarted while stalled on a
 *                   full destination, then between its commits and their
 *                   ACKs (held back by the relay), then the serve killed
 *                   and restarted while it holds what the importer committed;
 *   mitm-tls        TLS 1.3 PSK; after the handshake the relay flips a byte,
 *                   injects plaintext ACK, CLOSE, DATA and ERROR frames and
 *                   replays a record: each closes the link, the importer
 *                   reconnects; no capture of the link shows the messages'
 *                   plaintext marker;
 *   storm           24 rounds of cuts and kills of either side at random
 *                   moments, the reader pausing (storm-send: the importer
 *                   sending; storm-tls: over TLS, run when named).
 *
 *   scenario_test [SCENARIO...]     (default: all but storm-tls; TAP on
 *                                    stdout, the bridges' log on stderr)
 * Built also with serve.c's one-holder check off (scenario_test-no-busy,
 * CB_MUTANT_NO_BUSY) and against broken models (scen-mutants/):
 * tests/host-bridge-scenarios.sh wants every scenario to fail under one of
 * them.  SCEN_N sets N (default 2000), SCEN_LIMIT the
 * milliseconds a step may take (default 15000), SCEN_IO the bridges' event
 * loop (epoll, the default, or uring).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../cli.h"
#include "../conn.h"
#include "../frame.h"
#include "../keyfile.h"
#include "../log.h"
#include "../model/kch_model.h"
#include "scen_harness.h"

#define WINDOW	16

static int ntests, nfailed;
static uint32_t N = 2000;
static int LIMIT = 15000;	/* ms a step of a scenario may take (SCEN_LIMIT) */

static int check(int cond, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int check(int cond, const char *fmt, ...)
{
	va_list ap;

	ntests++;
	nfailed += !cond;
	printf("%sok %d - ", cond ? "" : "not ", ntests);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	return cond;
}

static void diag(const char *what)
{
	if (what && *what)
		printf("# %s\n", what);
}

static enum ev_kind io = EV_EPOLL;

static void world_init(struct world *w, const char *psk)
{
	memset(w, 0, sizeof(*w));
	w->io = io;
	w->pr.fd = w->co.fd = -1;
	w->psk = psk;
	w->srv_keepalive_ms = 1000;
	w->imp_keepalive_ms = 200;
	w->window = WINDOW;
}

/*
 * A serve exporting one channel, the importer behind the proxy, a producer
 * on src and a consumer on dst: recv, the importer receives src (an export
 * on the serve) into dst; send, it sends src (its own) into dst, an export.
 */
static void link_setup(struct world *w, const char *src, const char *dst, int send)
{
	char ex[CB_NAME_MAX + 8];
	const char *exports[] = { ex };

	snprintf(ex, sizeof(ex), "%s:%s", send ? dst : src, send ? "send" : "recv");
	if (kchm_create(src, 64, 128) || kchm_create(dst, WINDOW, 128))
		abort();
	w->b[0] = scen_serve(w, exports, 1);
	if (proxy_init(&w->px, scen_port(w->b[0]), !!w->psk))
		abort();
	w->have_px = 1;
	w->b[1] = send ? scen_import(w, w->px.port, dst, CB_DIR_SEND, src) :
			 scen_import(w, w->px.port, src, CB_DIR_RECV, dst);
	producer_start(&w->pr, src, N);
	consumer_start(&w->co, dst);
}

static void recv_setup(struct world *w, const char *src, const char *dst)
{
	link_setup(w, src, dst, 0);
}

/* The common end: exactly once, in order, end of file; the importers exit 0. */
static void verdict(struct world *w, const char *name)
{
	char why[160];
	int rc = 0;

	scen_run(w, consumer_eof, 0, LIMIT);
	if (!check(!*consumer_verdict(&w->co, N, why, sizeof(why)),
		   "%s: 1..%u exactly once, in order, then end of file", name, N))
		diag(why);
	check(scen_run(w, importers_stopped, 0, LIMIT / 3) == 0, "%s: the importers exit", name);
	for (int i = 0; i < SCEN_BRIDGES; i++)
		if (w->b[i] && !w->b[i]->server)
			rc |= w->b[i]->rc;
	check(rc == 0, "%s: every importer's channels closed cleanly (status 0)", name);
}

/* Without kills: each message committed once by the destination, acked once to the source. */
static void counters(struct world *w, const char *name, int send)
{
	const struct chstat *ic = &w->b[1]->imports[0].st, *ex = &w->b[0]->exports[0].st;
	uint64_t commits = send ? ex->sent : ic->sent, acks = send ? ic->acked : ex->acked;

	check(commits == N && acks == N, "%s: the counters say %llu committed, %llu acked",
	      name, (unsigned long long)commits, (unsigned long long)acks);
}

static void scen_clean_recv(struct world *w)
{
	recv_setup(w, "cr-src", "cr-dst");
	verdict(w, "clean-recv");
	counters(w, "clean-recv", 0);
	/* The capture check below (mitm-tls) can see the marker at all. */
	check(proxy_captured(&w->px, SCEN_MARK), "clean-recv: a plain link's capture shows "
	      "the marker");
}

static void send_setup(struct world *w, const char *src, const char *dst)
{
	link_setup(w, src, dst, 1);
}

static void scen_clean_send(struct world *w)
{
	send_setup(w, "cs-src", "cs-dst");
	verdict(w, "clean-send");
	counters(w, "clean-send", 1);
}

static void scen_cuts(struct world *w)
{
	int ok = 1;

	recv_setup(w, "cut-src", "cut-dst");
	for (int k = 1; k <= 3; k++) {
		ok &= scen_run(w, got_at_least, (long)(k * N / 4), LIMIT) == 0;
		proxy_cut(&w->px);
		ok &= scen_run(w, accepted_at_least, k + 1, LIMIT) == 0;
	}
	check(ok, "cuts: the link cut at N/4, N/2 and 3N/4, the importer reconnected each time");
	verdict(w, "cuts");
	counters(w, "cuts", 0);
}

static int link1_alive(const struct world *w)
{
	for (int i = 0; i < PROXY_LINKS; i++)
		if (w->px.links[i] && w->px.links[i]->id == 1)
			return w->px.links[i]->halfdead && w->px.links[i]->fd[1] >= 0;
	return 0;
}

static void scen_halfdead(struct world *w)
{
	w->srv_keepalive_ms = 1000;	/* the server's side dies after 4 s */
	w->imp_keepalive_ms = 100;	/* the importer gives up after 0.4 s */
	recv_setup(w, "hd-src", "hd-dst");
	w->px.halfdead_after = 3000;	/* some 100 messages */
	check(scen_run(w, accepted_at_least, 2, LIMIT) == 0 && link1_alive(w),
	      "halfdead: the importer reconnected while the half-dead link's server side "
	      "was open");
	verdict(w, "halfdead");
	counters(w, "halfdead", 0);
}

/* Importer k's connection is up and its stream running: it holds the source. */
static int running(const struct world *w, long k)
{
	const struct conn *c = w->b[k] ? w->b[k]->conn : NULL;

	return c && c->state == C_READY && c->nstreams && c->streams[0]->state == S_RUN;
}

/* The (first) importer whose connection holds the source now, or -1. */
static int holding_importer(const struct world *w)
{
	for (int i = 1; i < SCEN_BRIDGES; i++)
		if (running(w, i))
			return i;
	return -1;
}

static int dst_full(struct world *w, long arg)
{
	struct kchan_info info;

	(void)arg;
	return kchm_info_name(w->co.name, &info) == 0 && info.length >= WINDOW;
}

static int second_running(struct world *w, long arg)
{
	(void)arg;
	return running(w, 2);
}

static int serve_sent_unacked(struct world *w, long arg);
static int unacked_commits(struct world *w, long arg);

static void scen_two_importers(struct world *w)
{
	int k, other, links;
	uint32_t g;

	recv_setup(w, "two-src", "two-dst");
	scen_run(w, got_at_least, N / 5, LIMIT);
	/* The second, of the same destination (so the same identity), pre-empts the first. */
	w->b[2] = scen_import(w, w->px.port, "two-src", CB_DIR_RECV, "two-dst");
	scen_run(w, second_running, 0, LIMIT);
	/* The reader pauses, the holder stalls, and the other, refused as busy,
	 * comes back to try again. */
	w->co.pause_at = w->co.got + 1;
	links = w->px.accepted;
	scen_run(w, accepted_at_least, links + 1, LIMIT);
	k = holding_importer(w);
	other = k == 1 ? 2 : 1;
	check(k > 0 && w->px.accepted > links && w->b[other]->busy,
	      "two-importers: one holds the source part-way, the other is refused as busy");
	if (k < 0)
		k = 2, other = 1;	/* (failed:) go on, for the verdict */
	/* The holder killed part-way, with messages in flight: the relay holds
	 * back the importers' ACKs until then. */
	w->co.pause_at = 0;
	scen_run(w, serve_sent_unacked, 0, LIMIT);
	w->px.hold[P_I2S] = 1;
	scen_run(w, unacked_commits, 0, LIMIT);
	scen_kill(w->b[k]);
	w->b[k] = NULL;
	w->px.hold[P_I2S] = 0;
	/* The other takes over, alone, before the killed one restarts. */
	g = w->co.got;
	check(scen_run(w, got_at_least, (long)g + 50, LIMIT) == 0 && holding_importer(w) == other,
	      "two-importers: the holder killed, the other takes over");
	w->b[k] = scen_import(w, w->px.port, "two-src", CB_DIR_RECV, "two-dst");
	verdict(w, "two-importers");
}

static int src_held(const char *src)
{
	struct kchan_info info;

	return kchm_info_name(src, &info) == 0 ? (int)info.held : -1;
}

/* The highest seq an importer committed (a killed one's is gone). */
static uint64_t committed(const struct world *w)
{
	uint64_t m = 0;

	for (int i = 1; i < SCEN_BRIDGES; i++) {
		const struct conn *c = w->b[i] ? w->b[i]->conn : NULL;

		if (c && c->nstreams && c->streams[0]->committed > m)
			m = c->streams[0]->committed;
	}
	return m;
}

/* The oldest seq the serve holds from its export, 0 if none. */
static uint64_t serve_oldest_held(const struct world *w)
{
	const struct bridge *b = w->b[0];

	for (int i = 0; b && i < b->nconns; i++)
		for (int j = 0; j < b->conns[i]->nstreams; j++)
			if (b->conns[i]->streams[j]->held)
				return b->conns[i]->streams[j]->held->seq;
	return 0;
}

/* The serve sent a message it holds: DATA in flight, or its ACK. */
static int serve_sent_unacked(struct world *w, long arg)
{
	const struct bridge *b = w->b[0];

	(void)arg;
	for (int i = 0; i < b->nconns; i++)
		for (int j = 0; j < b->conns[i]->nstreams; j++)
			if (b->conns[i]->streams[j]->held && b->conns[i]->streams[j]->held->sent_us)
				return 1;
	return 0;
}

/* The serve holds messages the importer committed: their ACKs did not reach it. */
static int unacked_commits(struct world *w, long arg)
{
	uint64_t h = serve_oldest_held(w);

	(void)arg;
	return h && committed(w) >= h;
}

/*
 * With DATA in flight, the importer's ACKs (and CREDIT) stop at the relay:
 * the importer commits what it gets, the serve still holds it.  0 if so.
 */
static int acks_held(struct world *w, const char *when)
{
	uint64_t c0;

	scen_run(w, serve_sent_unacked, 0, LIMIT);
	w->px.hold[P_I2S] = 1;
	scen_run(w, unacked_commits, 0, LIMIT);
	scen_run(w, got_at_least, N + 1, 100);	/* whatever else comes */
	c0 = serve_oldest_held(w);
	return !check(c0 && committed(w) >= c0, "kills: %s: the serve holds %d messages from "
		      "seq %llu, the importer committed up to %llu", when, src_held("kill-src"),
		      (unsigned long long)c0, (unsigned long long)committed(w));
}

static void importer_restart(struct world *w)
{
	scen_kill(w->b[1]);
	w->px.hold[P_I2S] = 0;
	w->b[1] = scen_import(w, w->px.port, "kill-src", CB_DIR_RECV, "kill-dst");
}

static void scen_kills(struct world *w)
{
	const char *exports[] = { "kill-src:recv" };

	recv_setup(w, "kill-src", "kill-dst");
	/* The reader pauses, the destination fills: the importer stalls. */
	w->co.pause_at = N / 4;
	check(scen_run(w, dst_full, 0, LIMIT) == 0 && w->co.got == N / 4,
	      "kills: the reader paused at N/4, the destination full (the serve holds %d)",
	      src_held("kill-src"));
	importer_restart(w);
	w->co.pause_at = 0;
	check(scen_run(w, got_at_least, 3 * N / 8, LIMIT) == 0,
	      "kills: the importer killed there and restarted, delivery goes on");
	/* Killed between its commits and their ACKs (SEND_ONCE's case). */
	if (acks_held(w, "importer"))
		goto out;
	importer_restart(w);
	check(scen_run(w, got_at_least, 5 * N / 8, LIMIT) == 0,
	      "kills: the importer killed there and restarted, delivery goes on");
	/* The serve killed holding what the importer committed. */
	if (acks_held(w, "serve"))
		goto out;
	scen_kill(w->b[0]);
	check(src_held("kill-src") == 0, "kills: the serve killed, its holds went back");
	w->b[0] = scen_serve(w, exports, 1);
	w->px.up_port = scen_port(w->b[0]);
	w->px.hold[P_I2S] = 0;
	proxy_cut(&w->px);
out:
	verdict(w, "kills");
}

/* The newest link carried some messages: its handshake is long done. */
static int fresh_link(struct world *w, int *id)
{
	uint32_t g;

	if (scen_run(w, accepted_at_least, *id + 1, LIMIT))
		return -1;
	*id = w->px.accepted;
	g = w->co.got;
	return scen_run(w, got_at_least, (long)g + 20, LIMIT);
}

static int link_gone(struct world *w, long id)
{
	for (int i = 0; i < PROXY_LINKS; i++)
		if (w->px.links[i] && w->px.links[i]->id == id)
			return 0;
	return 1;
}

static void inject(struct world *w, int d, const struct cb_frame *f)
{
	w->px.inject_len[d] = cb_encode(w->px.inject[d], sizeof(w->px.inject[d]), f);
	if (!w->px.inject_len[d])
		abort();
}

static void scen_mitm(struct world *w)
{
	static const uint8_t text[] = "injected";
	const struct cb_frame ack = { .type = CB_ACK, .chan = 1, .seq = 1000000 };
	const struct cb_frame close_ = { .type = CB_CLOSE, .chan = 1, .seq = 1 };
	const struct cb_frame data = { .type = CB_DATA, .chan = 1, .seq = 1000000,
				       .data = text, .len = sizeof(text) - 1 };
	const struct cb_frame err = { .type = CB_ERROR, .chan = 0, .u32 = CB_ERR_PROTO,
				      .data = text, .len = sizeof(text) - 1 };
	static const char *const what[] = {
		"a flipped byte (server -> importer)", "an injected ACK (importer -> server)",
		"an injected CLOSE (server -> importer)", "an injected DATA (server -> importer)",
		"an injected ERROR (importer -> server)", "a replayed record (importer -> server)",
	};
	int id = 0;

	N = N < 1200 ? N : 1200;	/* six reconnects of 20-odd messages and more */
	/* Slow keepalives: a link closed within 2 s was closed by what the relay did. */
	w->srv_keepalive_ms = w->imp_keepalive_ms = 2000;
	recv_setup(w, "tls-src", "tls-dst");
	for (int i = 0; i < 6; i++) {
		if (fresh_link(w, &id)) {
			check(0, "mitm-tls: link %d carries messages", id + 1);
			break;
		}
		switch (i) {
		case 0: w->px.flip[P_S2I] = 1; break;
		case 1: inject(w, P_I2S, &ack); break;
		case 2: inject(w, P_S2I, &close_); break;
		case 3: inject(w, P_S2I, &data); break;
		case 4: inject(w, P_I2S, &err); break;
		case 5: w->px.replay[P_I2S] = 1; break;
		}
		check(scen_run(w, link_gone, id, 2000) == 0, "mitm-tls: %s closes the link",
		      what[i]);
	}
	check(fresh_link(w, &id) == 0, "mitm-tls: the importer reconnects after the last");
	verdict(w, "mitm-tls");
	counters(w, "mitm-tls", 0);
	check(w->px.cap_len > (size_t)N * 20 && !proxy_captured(&w->px, SCEN_MARK),
	      "mitm-tls: the capture (%zu bytes) shows no plaintext marker", w->px.cap_len);
}

/*
 * Cuts and kills of either side at random moments (SCEN_SEED), some in
 * the middle of a handshake, some while the reader is paused.
 */
static void scen_storm(struct world *w, const char *name, int send)
{
	const char *exports[] = { send ? "st-dst:send" : "st-src:recv" };
	unsigned int seed0 = getenv("SCEN_SEED") ? (unsigned int)atoi(getenv("SCEN_SEED")) : 1;
	unsigned int seed = seed0;
	int k;

	if (send)
		send_setup(w, "st-src", "st-dst");
	else
		recv_setup(w, "st-src", "st-dst");
	for (k = 0; k < 24 && !w->co.eof; k++) {
		int act = rand_r(&seed) % 8;

		/* The reader takes some dozens (24 rounds before the end), and the
		 * blow comes while it pauses, the pipeline full, or mid-flow. */
		w->co.pause_at = w->co.got + 1 + (uint32_t)(rand_r(&seed) % (2 * N / 24));
		if (scen_run(w, got_at_least, w->co.pause_at, LIMIT))
			break;	/* stuck: the verdict says so */
		if (rand_r(&seed) % 2) {
			scen_run(w, consumer_eof, 0, 1 + rand_r(&seed) % 20);
		} else {
			w->co.pause_at = w->co.got + 1 + (uint32_t)(rand_r(&seed) % WINDOW);
			scen_run(w, consumer_eof, 0, rand_r(&seed) % 3);
		}
		switch (act) {
		case 0: case 1: case 2:
			proxy_cut(&w->px);
			break;
		case 3: case 4:
			scen_kill(w->b[1]);
			w->b[1] = send ? scen_import(w, w->px.port, "st-dst", CB_DIR_SEND, "st-src")
				       : scen_import(w, w->px.port, "st-src", CB_DIR_RECV, "st-dst");
			break;
		case 5: case 6:
			scen_kill(w->b[0]);
			w->b[0] = scen_serve(w, exports, 1);
			w->px.up_port = scen_port(w->b[0]);
			proxy_cut(&w->px);
			break;
		default:
			break;
		}
	}
	w->co.pause_at = 0;
	printf("# %s: %d rounds of cuts and kills at random (SCEN_SEED=%u)\n", name, k, seed0);
	verdict(w, name);
}

static void scen_storm_plain(struct world *w)
{
	scen_storm(w, "storm", 0);
}

/* The importer sending. */
static void scen_storm_send(struct world *w)
{
	scen_storm(w, "storm-send", 1);
}

/* The same over TLS: run when named. */
static void scen_storm_tls(struct world *w)
{
	scen_storm(w, "storm-tls", 0);
}

static const struct {
	const char *name;
	void (*fn)(struct world *w);
	int tls, named;		/* named: only when asked for */
} scenarios[] = {
	{ "clean-recv", scen_clean_recv, 0, 0 },
	{ "clean-send", scen_clean_send, 0, 0 },
	{ "cuts", scen_cuts, 0, 0 },
	{ "halfdead", scen_halfdead, 0, 0 },
	{ "two-importers", scen_two_importers, 0, 0 },
	{ "kills", scen_kills, 0, 0 },
	{ "mitm-tls", scen_mitm, 1, 0 },
	{ "storm", scen_storm_plain, 0, 0 },
	{ "storm-send", scen_storm_send, 0, 0 },
	{ "storm-tls", scen_storm_tls, 1, 1 },
};

static int wanted(const char *name, int named, int argc, char **argv)
{
	if (argc < 2)
		return !named;
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], name))
			return 1;
	return 0;
}

int main(int argc, char **argv)
{
	char dir[] = "/tmp/scenario_test.XXXXXX", psk[64], err[256];
	uint32_t n0;
	struct world w;

	if (getenv("SCEN_N"))
		N = (uint32_t)strtoul(getenv("SCEN_N"), NULL, 10);
	if (N < 100)
		N = 100;
	if (getenv("SCEN_IO") && parse_io(getenv("SCEN_IO"), &io)) {
		fprintf(stderr, "scenario_test: SCEN_IO wants uring or epoll\n");
		return 2;
	}
	if (getenv("SCEN_LIMIT"))
		LIMIT = atoi(getenv("SCEN_LIMIT"));
	if (LIMIT < 1000)
		LIMIT = 1000;
	n0 = N;
	if (!mkdtemp(dir))
		return 1;
	snprintf(psk, sizeof(psk), "%s/psk", dir);
	if (keyfile_genkey(psk, "scenario", err, sizeof(err))) {
		fprintf(stderr, "scenario_test: %s\n", err);
		return 1;
	}
	printf("TAP version 13\n");
	for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++) {
		int64_t t0 = now_ms();

		if (!wanted(scenarios[i].name, scenarios[i].named, argc, argv))
			continue;
		logmsg("scenario_test: ===== %s =====", scenarios[i].name);
		N = n0;
		world_init(&w, scenarios[i].tls ? psk : NULL);
		scenarios[i].fn(&w);
		scen_end(&w);
		printf("# %s: %lld ms\n", scenarios[i].name, (long long)(now_ms() - t0));
	}
	unlink(psk);
	rmdir(dir);
	printf("1..%d\n", ntests);
	return nfailed ? 1 : 0;
}
