/* SPDX-License-Identifier: GPL-2.0 */
/* Command-line helpers and the usage texts (chanbridge(1) repeats them). */
#ifndef CHANBRIDGE_CLI_H
#define CHANBRIDGE_CLI_H

#include "bridge.h"

#define USAGE_SERVE \
"usage: chanbridge serve [--listen ADDR:PORT] [--psk-file FILE] --export NAME[:send|:recv] ...\n" \
"                        [--status-socket PATH] [--io uring|epoll] [--max-conns N] [--max-msg BYTES]\n" \
"                        [--keepalive SECONDS] [--handshake-timeout SECONDS]\n" \
"  default --listen 127.0.0.1:7070; a non-loopback address without --psk-file is refused.\n" \
"  NAME:recv = importers may only receive from NAME; NAME:send = only send into it;\n" \
"  plain NAME = both.  ADDR may be an IPv4 address, `::`, or `[fe80::1%eth0]`.\n" \
"  Defaults: --status-socket /run/chanbridge.sock, --io uring, --max-conns 64,\n" \
"  --max-msg 65536, --keepalive 5 (dead after 4 silent intervals), --handshake-timeout 10.\n" \
"  One importer at a time receives from an export.  A connection holds at most 4096\n" \
"  messages (64 MiB); one held unacked for 12 keepalive intervals closes it.\n"

#define USAGE_IMPORT \
"usage: chanbridge import ADDR:PORT NAME (--send|--recv) [--as LOCAL] [--window N] [--capacity N]\n" \
"                         [--psk-file FILE] [--status-socket PATH] [--io uring|epoll]\n" \
"                         [--channel NAME:send|recv[:LOCAL]] ...\n" \
"                         [--keepalive SECONDS] [--handshake-timeout SECONDS]\n" \
"  creates /dev/chan/LOCAL (default NAME; capacity default = window, default window 64;\n" \
"  an existing channel of that name is reused, which is what makes a restarted importer resume;\n" \
"  its id is the importer's identity: a reconnect pre-empts its own stale connection)\n" \
"  --send: local writes go to the remote channel; --recv: remote messages appear locally.\n" \
"  Extra --channel options import more channels over the same connection.\n" \
"  A source another importer holds is refused as busy: retried with backoff, as is a\n" \
"  refused handshake (wrong key).\n" \
"  Default --status-socket /run/chanbridge-import.sock.\n"

#define USAGE_STATUS \
"usage: chanbridge status [--status-socket PATH] [--json]\n" \
"  default socket /run/chanbridge.sock (a serve); per-channel counters.\n"

int usage_err(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int parse_num(const char *s, int min, int max, int *out);
int parse_io(const char *s, enum ev_kind *io);
struct bridge *bridge_new(int server);
int bridge_setup(struct bridge *b);
void serve_events(struct bridge *b);
void serve_reap(struct bridge *b);
void import_tick(struct bridge *b, int64_t now, int64_t *next);

#endif
