/* SPDX-License-Identifier: GPL-2.0 */
/* Log lines on stderr: "chanbridge[PID]: HH:MM:SS.mmm message". */
#ifndef CHANBRIDGE_LOG_H
#define CHANBRIDGE_LOG_H

#include <stdint.h>

void logmsg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/*
 * A line of a class that a peer can make us repeat (a refusal, a connection
 * closed before its handshake): at most 10 at once and 1 a second per key,
 * the rest counted in a later "N similar messages suppressed (KEY)" line.
 * KEY is a string literal naming the class.
 */
void logmsg_rl(const char *key, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Write the summaries of classes that have gone quiet (once a loop turn). */
void log_rl_flush(void);
/* CLOCK_MONOTONIC in milliseconds and microseconds. */
int64_t now_ms(void);
int64_t now_us(void);

#endif
