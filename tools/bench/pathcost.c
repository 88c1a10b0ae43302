// SPDX-License-Identifier: GPL-2.0
/*
 * pathcost: the kernel's per-message cost of a buffered kchan against a
 * pipe, in one process that sends each message and receives it back: no
 * wake-up and no context switch, only the system calls and copies.
 *
 * A loaded host stretches a 200 ms round by whatever else ran, so this
 * takes the fastest of many short trials (640 messages each), kchan and
 * pipe alternating: the least disturbed run of each path.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include <linux/kchan.h>

#define BATCH	32
#define MSG	64
#define OPS	640		/* messages per trial, a multiple of BATCH */
#define NAME	"pathcost"

enum mode { ONE, BURST, BATCHED, NMODES };

static const char *const mode_name[NMODES] = {
	"1 send, 1 receive",
	"32 sends, 32 receives",
	"batch of 32 (pipe: writev)",
};

static char buf[BATCH][MSG];

static double now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e9 + t.tv_nsec;
}

static void fail(const char *what)
{
	fprintf(stderr, "pathcost: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* A fresh buffered channel, opened for reading and writing. */
static int chan_make(int ctl)
{
	struct kchan_create c = { .size = sizeof(c), .capacity = 128, .msg_max = MSG };
	struct kchan_name n = { .size = sizeof(n) };
	int i, fd;

	strcpy(n.name, NAME);
	ioctl(ctl, KCHAN_IOC_DESTROY, &n);	/* a leftover of an earlier run */
	strcpy(c.name, NAME);
	if (ioctl(ctl, KCHAN_IOC_CREATE, &c))
		fail("create " NAME);
	for (i = 0; i < 200; i++) {	/* devtmpfs makes the node asynchronously */
		fd = open("/dev/chan/" NAME, O_RDWR);
		if (fd >= 0)
			return fd;
		usleep(10000);
	}
	fail("/dev/chan/" NAME);
	return -1;
}

static void xfer(ssize_t got, ssize_t want, const char *what)
{
	if (got != want)
		fail(what);
}

/* ns per message of one trial; @kchan: wfd == rfd is a channel. */
static double trial(enum mode m, int wfd, int rfd, int kchan)
{
	struct kchan_msgvec v[BATCH];
	struct kchan_batch b = { .size = sizeof(b), .count = BATCH,
				 .msgs = (unsigned long)v };
	struct iovec iov[BATCH];
	double t0 = now_ns();
	int n, i;

	for (n = 0; n < OPS; n += m == ONE ? 1 : BATCH) {
		switch (m) {
		case ONE:
			xfer(write(wfd, buf[0], MSG), MSG, "write");
			xfer(read(rfd, buf[1], MSG), MSG, "read");
			break;
		case BURST:
			for (i = 0; i < BATCH; i++)
				xfer(write(wfd, buf[i], MSG), MSG, "write");
			for (i = 0; i < BATCH; i++)
				xfer(read(rfd, buf[i], MSG), MSG, "read");
			break;
		default:
			if (!kchan) {
				for (i = 0; i < BATCH; i++)
					iov[i] = (struct iovec){ buf[i], MSG };
				xfer(writev(wfd, iov, BATCH), MSG * BATCH, "writev");
				xfer(read(rfd, buf, sizeof(buf)), MSG * BATCH, "read");
				break;
			}
			for (i = 0; i < BATCH; i++)
				v[i] = (struct kchan_msgvec){ (unsigned long)buf[i], MSG, 0 };
			xfer(ioctl(wfd, KCHAN_IOC_SEND_BATCH, &b), BATCH, "send batch");
			for (i = 0; i < BATCH; i++)
				v[i].len = MSG;
			xfer(ioctl(rfd, KCHAN_IOC_RECV_BATCH, &b), BATCH, "receive batch");
		}
	}
	return (now_ns() - t0) / OPS;
}

int main(int argc, char **argv)
{
	int trials = argc > 1 ? atoi(argv[1]) : 40;
	struct kchan_name n = { .size = sizeof(n) };
	int ctl, ch, p[2], t;
	enum mode m;

	if (trials < 1 || argc > 2) {
		fprintf(stderr, "usage: pathcost [TRIALS]   (default 40)\n");
		return 2;
	}
	ctl = open(KCHAN_CONTROL_PATH, O_RDWR);
	if (ctl < 0)
		fail(KCHAN_CONTROL_PATH);
	ch = chan_make(ctl);
	if (pipe(p))
		fail("pipe");

	printf("kernel path, 64 B, one process (no wake-up, no context switch): fastest of %d trials of %d messages\n",
	       trials, OPS);
	printf("  %-28s %12s %12s %8s\n", "", "kchan ns/msg", "pipe ns/msg", "vs pipe");
	for (m = ONE; m < NMODES; m++) {
		double bk = 1e18, bp = 1e18, k, q;

		trial(m, ch, ch, 1);	/* warm up both */
		trial(m, p[1], p[0], 0);
		for (t = 0; t < trials; t++) {
			k = trial(m, ch, ch, 1);
			q = trial(m, p[1], p[0], 0);
			bk = k < bk ? k : bk;
			bp = q < bp ? q : bp;
		}
		printf("  %-28s %12.0f %12.0f %7.2fx\n", mode_name[m], bk, bp, bk / bp);
	}
	close(ch);
	strcpy(n.name, NAME);
	ioctl(ctl, KCHAN_IOC_DESTROY, &n);
	return 0;
}
