/* SPDX-License-Identifier: GPL-2.0 */
/* Command-line helpers and the usage texts (chanbridge(1) repeats them). */
#ifndef CHANBRIDGE_CLI_H
#define CHANBRIDGE_CLI_H

#include "bridge.h"

#define USAGE_SERVE \
"usage: chanbridge serve [--listen ADDR:PORT|unix:PATH] --export NAME[:send|:recv] ...\n" \
"                        [--psk-file FILE | --cert FILE --key FILE --ca FILE | --no-tls]\n" \
"                        [--no-ktls] [--status-socket PATH] [--io uring|epoll] [--max-conns N]\n" \
"                        [--max-msg BYTES] [--keepalive SECONDS] [--handshake-timeout SECONDS]\n" \
"                        [--max-handshakes N] [--max-per-addr N] [--insecure-loopback]\n" \
"  default --listen 127.0.0.1:7070.  TLS 1.3 with --psk-file (lines `IDENTITY HEXKEY`, one per\n" \
"  importer: chanbridge genkey) or with certificates of a private CA (--cert/--key/--ca; the\n" \
"  importer must show one too).  The importer's identity or certificate name is its principal.\n" \
"  TCP without TLS is refused, loopback too (unless --insecure-loopback: any local user gets\n" \
"  our rights).  --listen unix:PATH checks each OPEN against the peer's uid and groups and\n" \
"  the channel node's mode.\n" \
"  NAME:recv = importers may only receive from NAME; NAME:send = only send into it;\n" \
"  plain NAME = both.  ADDR may be an IPv4 address, `::`, or `[fe80::1%eth0]`.\n" \
"  Defaults: --status-socket /run/chanbridge.sock, --io uring, --max-conns 64,\n" \
"  --max-msg 65536, --keepalive 5 (dead after 4 silent intervals), --handshake-timeout 10.\n" \
"  --max-conns counts authenticated connections; those in their handshake count against\n" \
"  --max-handshakes 16 (at it, the oldest is dropped) and --max-per-addr 4 (past it,\n" \
"  refused).  One importer at a time receives from an export.  A connection holds at\n" \
"  most 4096 messages (64 MiB); one held unacked for 12 keepalive intervals closes it.\n"

#define USAGE_IMPORT \
"usage: chanbridge import ADDR:PORT NAME (--send|--recv) [--as LOCAL] [--window N] [--capacity N]\n" \
"                         [--psk-file FILE [--identity ID] | --cert FILE --key FILE --ca FILE\n" \
"                          [--server-name NAME] | --no-tls] [--no-ktls]\n" \
"                         [--status-socket PATH] [--io uring|epoll]\n" \
"                         [--channel NAME:send|recv[:LOCAL]] ...\n" \
"                         [--keepalive SECONDS] [--handshake-timeout SECONDS]\n" \
"  creates /dev/chan/LOCAL (default NAME; capacity default = window, default window 64;\n" \
"  an existing channel of that name is reused, which is what makes a restarted importer resume;\n" \
"  its id is the importer's identity: a reconnect pre-empts its own stale connection)\n" \
"  --send: local writes go to the remote channel; --recv: remote messages appear locally.\n" \
"  Extra --channel options import more channels over the same connection.\n" \
"  ADDR:PORT may be unix:PATH, a serve's UNIX socket.\n" \
"  TLS as for serve; --identity picks the key file's line (default: the first); with\n" \
"  certificates the server's must name ADDR (or --server-name).  A failed handshake is\n" \
"  retried with backoff, as is a source another importer holds (refused as busy).\n" \
"  Default --status-socket /run/chanbridge-import.sock.\n"

#define USAGE_STATUS \
"usage: chanbridge status [--status-socket PATH] [--json]\n" \
"  default socket /run/chanbridge.sock (a serve); per-channel counters, and per connection\n" \
"  its TLS (version, cipher, kernel TLS per direction) and the peer's principal.\n"

#define USAGE_GENKEY \
"usage: chanbridge genkey [--identity NAME] FILE\n" \
"  writes FILE (new, mode 0600) with one line `NAME HEXKEY`: a random 32-byte key\n" \
"  (default NAME: the short host name).  Import with --psk-file FILE; add the line to the\n" \
"  server's --psk-file.\n"

/* The TLS options serve and import share (bridge_tls_getopt()). */
#define OPT_IDENTITY	0x100
#define OPT_CERT	0x101
#define OPT_KEY		0x102
#define OPT_CA		0x103
#define OPT_SERVER_NAME	0x104
#define OPT_NO_TLS	0x105
#define OPT_NO_KTLS	0x106
#define TLS_LONGOPTS \
	{ "psk-file", required_argument, NULL, 'k' }, \
	{ "identity", required_argument, NULL, OPT_IDENTITY }, \
	{ "cert", required_argument, NULL, OPT_CERT }, \
	{ "key", required_argument, NULL, OPT_KEY }, \
	{ "ca", required_argument, NULL, OPT_CA }, \
	{ "server-name", required_argument, NULL, OPT_SERVER_NAME }, \
	{ "no-tls", no_argument, NULL, OPT_NO_TLS }, \
	{ "no-ktls", no_argument, NULL, OPT_NO_KTLS }
/* 1 if o was a TLS option (stored in t), else 0. */
int bridge_tls_getopt(int o, const char *arg, struct bridge_tls_opts *t);

int usage_err(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int parse_num(const char *s, int min, int max, int *out);
int parse_io(const char *s, enum ev_kind *io);
struct bridge *bridge_new(int server);
int bridge_setup(struct bridge *b);
int bridge_setup_loop(struct bridge *b);
void bridge_turn(struct bridge *b, int wait_ms);
void bridge_shutdown(struct bridge *b);
/* The setup cmd_serve and cmd_import do after their options, which tests
 * running bridges in one process share: 0, or a usage error's status (2). */
int serve_add_export(struct bridge *b, const char *spec);
int serve_start(struct bridge *b, const char *listen_at);	/* after bridge_setup*() */
int import_add_channel(struct bridge *b, const char *remote, size_t rl, int dir,
		       const char *local, size_t ll);
void serve_events(struct bridge *b);
void serve_reap(struct bridge *b);
void serve_tick(struct bridge *b, int64_t now, int64_t *next);
void import_tick(struct bridge *b, int64_t now, int64_t *next);

#endif
