// SPDX-License-Identifier: GPL-2.0
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static void logv(const char *fmt, va_list ap)
{
	char buf[512];
	struct timeval tv;
	struct tm tm;
	int n;

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	n = snprintf(buf, sizeof(buf), "chanbridge[%d]: %02d:%02d:%02d.%03d ", (int)getpid(),
		     tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(tv.tv_usec / 1000));
	n += vsnprintf(buf + n, sizeof(buf) - n - 1, fmt, ap);
	if (n > (int)sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	/* One write per line, so lines of concurrent bridges do not mix. */
	if (write(2, buf, n) < 0)
		return;
}

void logmsg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	logv(fmt, ap);
	va_end(ap);
}

/*
 * Rate-limited lines: one token bucket per class (the key), LOG_RL_BURST
 * lines at once and LOG_RL_PER_SEC a second after that, so a flood of
 * connections costs a bounded number of lines whatever its rate.  What a
 * bucket swallowed is summed up in one line when it has a token again
 * (log_rl_flush() sees to that once the flood is over).
 */
#define LOG_RL_KEYS	16
#define LOG_RL_BURST	10
#define LOG_RL_PER_SEC	1

struct log_rl {
	const char *key;	/* compared by content: callers pass literals */
	int64_t refill_ms;	/* when the bucket last gained its tokens */
	int tokens;
	unsigned long suppressed;
};

static struct log_rl rl[LOG_RL_KEYS];

static struct log_rl *rl_find(const char *key)
{
	int i;

	for (i = 0; i < LOG_RL_KEYS && rl[i].key; i++)
		if (!strcmp(rl[i].key, key))
			return &rl[i];
	if (i == LOG_RL_KEYS)
		return &rl[LOG_RL_KEYS - 1];	/* more classes than slots: share the last */
	rl[i].key = key;
	rl[i].tokens = LOG_RL_BURST;
	rl[i].refill_ms = now_ms();
	return &rl[i];
}

static void rl_refill(struct log_rl *r, int64_t now)
{
	int64_t gained = (now - r->refill_ms) * LOG_RL_PER_SEC / 1000;

	if (gained <= 0)
		return;
	r->refill_ms += gained * 1000 / LOG_RL_PER_SEC;
	r->tokens = gained >= LOG_RL_BURST - r->tokens ? LOG_RL_BURST : r->tokens + (int)gained;
}

/* Say what was swallowed, if there is a token for it: 0 if no token is left. */
static int rl_summary(struct log_rl *r)
{
	if (!r->tokens)
		return 0;
	if (r->suppressed) {
		r->tokens--;
		logmsg("%lu similar messages suppressed (%s)", r->suppressed, r->key);
		r->suppressed = 0;
	}
	return r->tokens;
}

void logmsg_rl(const char *key, const char *fmt, ...)
{
	struct log_rl *r = rl_find(key);
	va_list ap;

	rl_refill(r, now_ms());
	if (!rl_summary(r)) {
		r->suppressed++;
		return;
	}
	r->tokens--;
	va_start(ap, fmt);
	logv(fmt, ap);
	va_end(ap);
}

void log_rl_flush(void)
{
	int64_t now = now_ms();

	for (int i = 0; i < LOG_RL_KEYS && rl[i].key; i++) {
		if (!rl[i].suppressed)
			continue;
		rl_refill(&rl[i], now);
		rl_summary(&rl[i]);
	}
}

int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t now_ms(void) { return now_us() / 1000; }
