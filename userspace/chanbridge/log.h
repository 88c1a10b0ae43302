/* SPDX-License-Identifier: GPL-2.0 */
/* Log lines on stderr: "chanbridge[PID]: HH:MM:SS.mmm message". */
#ifndef CHANBRIDGE_LOG_H
#define CHANBRIDGE_LOG_H

#include <stdint.h>

void logmsg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* CLOCK_MONOTONIC in milliseconds and microseconds. */
int64_t now_ms(void);
int64_t now_us(void);

#endif
