// SPDX-License-Identifier: GPL-2.0
/*
 * libchan: the verbs are thread-safe (no global state).  Threads of one
 * process send and receive on shared fds, through every verb at once, and
 * every message arrives exactly once.
 */
#include <pthread.h>

#include "libchan_test.h"

#define NTHREADS	4
#define PER_THREAD	300
#define TOTAL		(NTHREADS * PER_THREAD)

struct shared {
	int fd;			/* one fd, shared by all threads */
	int unbuffered_fd;
	unsigned char seen[TOTAL];
	pthread_mutex_t lock;
	int errors;
};

struct thread_arg {
	struct shared *sh;
	int id;
};

/* Thread i sends its messages alternately by chan_send, timed send and select. */
static void *sender(void *p)
{
	struct thread_arg *a = p;
	char msg[16];
	int i, len, ret;

	for (i = 0; i < PER_THREAD; i++) {
		int fd = i % 2 ? a->sh->fd : a->sh->unbuffered_fd;
		struct chan_case c;

		len = snprintf(msg, sizeof(msg), "%d", a->id * PER_THREAD + i);
		switch (i % 3) {
		case 0:
			ret = chan_send(fd, msg, len);
			break;
		case 1:
			ret = chan_send_timeout(fd, msg, len, 20 * NSEC);
			break;
		default:
			c = CHAN_CASE_SEND(fd, msg, len);
			ret = chan_select(&c, 1, 20 * NSEC);
			break;
		}
		if (ret) {
			__atomic_add_fetch(&a->sh->errors, 1, __ATOMIC_RELAXED);
			break;
		}
	}
	return NULL;
}

/*
 * Receivers select over both channels until both are closed (main closes
 * them once every sender is done) and drained.
 */
static void *receiver(void *p)
{
	struct shared *sh = p;
	int fds[2] = { sh->fd, sh->unbuffered_fd };
	bool open[2] = { true, true };
	char bufs[2][16];

	while (open[0] || open[1]) {
		struct chan_case c[2];
		unsigned int n = 0, idx[2];
		int k;
		long v;

		for (k = 0; k < 2; k++) {
			if (!open[k])
				continue;
			idx[n] = k;
			c[n++] = CHAN_CASE_RECV(fds[k], bufs[k], sizeof(bufs[k]) - 1);
		}
		k = chan_select(c, n, 60 * NSEC);
		if (k < 0) {
			__atomic_add_fetch(&sh->errors, 1, __ATOMIC_RELAXED);
			return NULL;
		}
		if (c[k].result == 0) {
			open[idx[k]] = false;	/* closed and drained */
			continue;
		}
		bufs[idx[k]][c[k].result] = '\0';
		v = strtol(bufs[idx[k]], NULL, 10);
		pthread_mutex_lock(&sh->lock);
		if (v < 0 || v >= TOTAL || sh->seen[v]++)
			sh->errors++;
		pthread_mutex_unlock(&sh->lock);
	}
	return NULL;
}

LT_FIXTURE();

TEST_F_TIMEOUT(lt, many_threads, 300)
{
	static struct shared sh;
	struct thread_arg args[NTHREADS];
	pthread_t snd[NTHREADS], rcv[NTHREADS];
	int i, missing = 0;

	memset(&sh, 0, sizeof(sh));
	pthread_mutex_init(&sh.lock, NULL);
	sh.fd = lt_make(&self->env, 8, 16, O_RDWR);
	sh.unbuffered_fd = lt_make(&self->env, 0, 16, O_RDWR);
	for (i = 0; i < NTHREADS; i++)
		ASSERT_EQ(0, pthread_create(&rcv[i], NULL, receiver, &sh));
	for (i = 0; i < NTHREADS; i++) {
		args[i].sh = &sh;
		args[i].id = i;
		ASSERT_EQ(0, pthread_create(&snd[i], NULL, sender, &args[i]));
	}
	for (i = 0; i < NTHREADS; i++)
		pthread_join(snd[i], NULL);
	/* Go's close: receivers drain, then see end of file and return. */
	EXPECT_EQ(0, chan_close_fd(sh.fd));
	EXPECT_EQ(0, chan_close_fd(sh.unbuffered_fd));
	for (i = 0; i < NTHREADS; i++)
		pthread_join(rcv[i], NULL);
	for (i = 0; i < TOTAL; i++)
		missing += !sh.seen[i];
	EXPECT_EQ(0, sh.errors);
	EXPECT_EQ(0, missing);
	close(sh.fd);
	close(sh.unbuffered_fd);
}

TEST_HARNESS_MAIN
