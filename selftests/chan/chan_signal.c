// SPDX-License-Identifier: GPL-2.0
/*
 * Signals: blocked reads and writes are interruptible (EINTR, or a restart
 * under SA_RESTART); an interrupted write delivers nothing, a write whose
 * message was taken reports success, a reader that was handed a message
 * returns it even if a signal arrives at the same moment.
 */
#include "chan_test.h"

#define MAX	64
#define CAP	2
#define RACE_ROUNDS	100

FIXTURE(sig) {
	struct chan_env env;
};

FIXTURE_VARIANT(sig) {
	__u32 capacity;
};

FIXTURE_VARIANT_ADD(sig, buffered) { .capacity = CAP };
FIXTURE_VARIANT_ADD(sig, unbuffered) { .capacity = 0 };

FIXTURE_SETUP(sig)
{
	chan_env_setup(&self->env, variant->capacity, MAX, 0);
}

FIXTURE_TEARDOWN(sig)
{
	chan_env_teardown(&self->env);
}

/* Buffered: fill it so the next write blocks; unbuffered blocks anyway. */
static int fill_up(int nb, __u32 capacity)
{
	return chan_fill(nb, "f", capacity) == (int)capacity ? 0 : -1;
}

/* Reads everything buffered without blocking; how many equal want. */
static int drain_count(int nb, const char *want, int *total)
{
	char b[MAX + 1];
	ssize_t n;
	int hits = 0;

	*total = 0;
	while ((n = read(nb, b, MAX)) > 0) {
		b[n] = '\0';
		(*total)++;
		if (!strcmp(b, want))
			hits++;
	}
	return hits;
}

TEST_F_TIMEOUT(sig, blocked_read_eintr_without_sa_restart, CHAN_TIMEOUT)
{
	struct kchan_info info;
	struct chan_io *io;
	char b[MAX];
	pid_t pid;

	ASSERT_EQ(0, chan_catch(SIGUSR1, false));
	io = chan_blocked_reader(_metadata, self->env.fd, MAX, &pid);
	ASSERT_EQ(0, kill(pid, SIGUSR1));
	ASSERT_EQ(0, chan_reap(pid));
	EXPECT_EQ(-1, io->ret);
	EXPECT_EQ(EINTR, io->err);
	EXPECT_EQ(1, io->signals);
	ASSERT_EQ(0, chan_info(self->env.fd, &info));
	EXPECT_EQ(0, info.received);
	EXPECT_EQ(0, info.length);

	/* The interrupted reader is gone: it cannot take what comes next. */
	if (variant->capacity) {
		ASSERT_EQ(1, write(self->env.nb, "n", 1));
		ASSERT_EQ(1, read(self->env.nb, b, sizeof(b)));
	} else {
		EXPECT_EQ(-1, write(self->env.nb, "n", 1));
		EXPECT_EQ(EAGAIN, errno);
	}
}

TEST_F_TIMEOUT(sig, blocked_read_restarts_with_sa_restart, CHAN_TIMEOUT)
{
	struct chan_io *io;
	pid_t pid;

	ASSERT_EQ(0, chan_catch(SIGUSR1, true));
	io = chan_blocked_reader(_metadata, self->env.fd, MAX, &pid);
	ASSERT_EQ(0, kill(pid, SIGUSR1));
	ASSERT_EQ(0, chan_wait_count(&io->signals, 1));
	/* The handler ran; the read went back to sleep instead of failing. */
	ASSERT_EQ(0, chan_wait_blocked(pid, SYS_read));
	EXPECT_EQ(-2, io->ret);
	ASSERT_EQ(5, write(self->env.nb, "again", 5));
	ASSERT_EQ(0, chan_reap(pid));
	EXPECT_EQ(5, io->ret);
	EXPECT_EQ(0, memcmp(io->buf, "again", 5));
	EXPECT_EQ(1, io->signals);
}

TEST_F_TIMEOUT(sig, blocked_write_eintr_delivers_nothing, CHAN_TIMEOUT)
{
	struct kchan_info info;
	struct chan_io *io;
	int total;
	pid_t pid;

	ASSERT_EQ(0, chan_catch(SIGUSR1, false));
	ASSERT_EQ(0, fill_up(self->env.nb, variant->capacity));
	io = chan_blocked_writer(_metadata, self->env.fd, "late", &pid);
	ASSERT_EQ(0, kill(pid, SIGUSR1));
	ASSERT_EQ(0, chan_reap(pid));
	EXPECT_EQ(-1, io->ret);
	EXPECT_EQ(EINTR, io->err);
	EXPECT_EQ(1, io->signals);

	ASSERT_EQ(0, chan_info(self->env.fd, &info));
	EXPECT_EQ(variant->capacity, info.length);
	EXPECT_EQ(variant->capacity, info.sent);
	EXPECT_EQ(0, drain_count(self->env.nb, "late", &total));
	EXPECT_EQ((int)variant->capacity, total);
	EXPECT_EQ(0, chan_len(self->env.fd));
}

TEST_F_TIMEOUT(sig, blocked_write_restarts_with_sa_restart, CHAN_TIMEOUT)
{
	struct chan_io *io;
	int total;
	pid_t pid;

	ASSERT_EQ(0, chan_catch(SIGUSR1, true));
	ASSERT_EQ(0, fill_up(self->env.nb, variant->capacity));
	io = chan_blocked_writer(_metadata, self->env.fd, "late", &pid);
	ASSERT_EQ(0, kill(pid, SIGUSR1));
	ASSERT_EQ(0, chan_wait_count(&io->signals, 1));
	ASSERT_EQ(0, chan_wait_blocked(pid, SYS_write));
	EXPECT_EQ(-2, io->ret);
	EXPECT_EQ(variant->capacity, chan_len(self->env.fd));

	if (variant->capacity) {
		char b[MAX];

		/* Room for one: the restarted write fills it. */
		ASSERT_EQ(2, read(self->env.fd, b, sizeof(b)));
		ASSERT_EQ(0, chan_reap(pid));
		EXPECT_EQ(1, drain_count(self->env.nb, "late", &total));
		EXPECT_EQ((int)variant->capacity, total);
	} else {
		char b[MAX];

		ASSERT_EQ(4, read(self->env.fd, b, sizeof(b)));
		EXPECT_EQ(0, memcmp(b, "late", 4));
		ASSERT_EQ(0, chan_reap(pid));
	}
	EXPECT_EQ(4, io->ret);
	EXPECT_EQ(1, io->signals);
}

/* SIGSTOP/SIGCONT run no handler: the call must carry on, not fail with EINTR. */
TEST_F_TIMEOUT(sig, stop_and_continue_do_not_interrupt, CHAN_TIMEOUT)
{
	struct chan_io *rd, *wr;
	char b[MAX];
	pid_t pr, pw;

	rd = chan_blocked_reader(_metadata, self->env.fd, MAX, &pr);
	ASSERT_EQ(0, kill(pr, SIGSTOP));
	ASSERT_EQ(0, chan_wait_state(pr, 'T'));
	ASSERT_EQ(0, kill(pr, SIGCONT));
	ASSERT_EQ(0, chan_wait_blocked(pr, SYS_read));
	ASSERT_EQ(1, write(self->env.fd, "r", 1));
	ASSERT_EQ(0, chan_reap(pr));
	EXPECT_EQ(1, rd->ret);
	EXPECT_EQ('r', rd->buf[0]);

	ASSERT_EQ(0, fill_up(self->env.nb, variant->capacity));
	wr = chan_blocked_writer(_metadata, self->env.fd, "w", &pw);
	ASSERT_EQ(0, kill(pw, SIGSTOP));
	ASSERT_EQ(0, chan_wait_state(pw, 'T'));
	ASSERT_EQ(0, kill(pw, SIGCONT));
	ASSERT_EQ(0, chan_wait_blocked(pw, SYS_write));
	/* Buffered: this read takes a filler "f<n>" and makes room. */
	ASSERT_EQ(variant->capacity ? 2 : 1, read(self->env.fd, b, sizeof(b)));
	ASSERT_EQ(0, chan_reap(pw));
	EXPECT_EQ(1, wr->ret) TH_LOG("errno %d", wr->err);
}

TEST_F_TIMEOUT(sig, sigkill_blocked_writer_delivers_nothing, CHAN_TIMEOUT)
{
	struct kchan_info info;
	int status, total;
	pid_t pid;

	ASSERT_EQ(0, fill_up(self->env.nb, variant->capacity));
	chan_blocked_writer(_metadata, self->env.fd, "dead", &pid);
	ASSERT_EQ(0, kill(pid, SIGKILL));
	status = chan_reap(pid);
	EXPECT_TRUE(WIFSIGNALED(status));
	ASSERT_EQ(0, chan_info(self->env.fd, &info));
	EXPECT_EQ(variant->capacity, info.sent);
	EXPECT_EQ(0, drain_count(self->env.nb, "dead", &total));
	EXPECT_EQ((int)variant->capacity, total);
}

/*
 * A reader blocked in read() gets a message and a signal at (nearly) the
 * same time, in both orders, many times.  Every message written must end
 * up exactly once: returned by the reader, or still in the channel.  On an
 * unbuffered channel a successful O_NONBLOCK write means the reader took
 * the message, so the reader must return it rather than EINTR.
 */
TEST_F_TIMEOUT(sig, read_vs_signal_race_loses_nothing, 300)
{
	struct chan_io *io = chan_io_new();
	int got = 0, intr = 0, i;

	ASSERT_NE(NULL, io);
	ASSERT_EQ(0, chan_catch(SIGUSR1, false));
	for (i = 0; i < RACE_ROUNDS; i++) {
		char msg[16], b[MAX + 1];
		ssize_t w, n;
		int len = snprintf(msg, sizeof(msg), "r%d", i);
		int werr;
		pid_t pid;

		io->ret = -2;
		io->err = 0;
		io->signals = 0;
		pid = chan_spawn_read(self->env.fd, MAX, io);
		ASSERT_LE(0, pid);
		ASSERT_EQ(0, chan_wait_blocked(pid, SYS_read));
		if (i & 1) {
			kill(pid, SIGUSR1);
			w = write(self->env.nb, msg, len);
			werr = errno;
		} else {
			w = write(self->env.nb, msg, len);
			werr = errno;
			kill(pid, SIGUSR1);
		}
		ASSERT_EQ(0, chan_reap(pid));

		if (io->ret >= 0) {
			got++;
			ASSERT_EQ(len, w) TH_LOG("round %d: reader got a message never sent", i);
			ASSERT_EQ(len, io->ret) TH_LOG("round %d", i);
			ASSERT_EQ(0, memcmp(io->buf, msg, len)) TH_LOG("round %d", i);
		} else {
			intr++;
			ASSERT_EQ(EINTR, io->err) TH_LOG("round %d", i);
			if (variant->capacity) {
				/* The message must still be there. */
				ASSERT_EQ(len, w) TH_LOG("round %d: write %m", i);
				n = read(self->env.nb, b, MAX);
				ASSERT_EQ(len, n) TH_LOG("round %d: message lost", i);
				ASSERT_EQ(0, memcmp(b, msg, len)) TH_LOG("round %d", i);
			} else {
				ASSERT_EQ(-1, w) TH_LOG("round %d: write succeeded but the only reader got EINTR: message lost", i);
				ASSERT_EQ(EAGAIN, werr);
			}
		}
		ASSERT_EQ(-1, read(self->env.nb, b, MAX)) TH_LOG("round %d: leftover", i);
		ASSERT_EQ(EAGAIN, errno);
		/* Write first: the reader was blocked, so the message was its. */
		if (!(i & 1) && !variant->capacity)
			ASSERT_LE(0, io->ret) TH_LOG("round %d: handed a message, returned EINTR", i);
	}
	TH_LOG("%d rounds: %d returned the message, %d EINTR", RACE_ROUNDS, got, intr);
}

/*
 * A writer blocked in write() is released by a read and hit by a signal at
 * (nearly) the same time.  Its message must arrive exactly once if the
 * write reports success, and never if it fails with EINTR.
 */
TEST_F_TIMEOUT(sig, write_vs_signal_race_exactly_once, 300)
{
	struct chan_io *io = chan_io_new();
	int ok = 0, intr = 0, i;

	ASSERT_NE(NULL, io);
	ASSERT_EQ(0, chan_catch(SIGUSR1, false));
	for (i = 0; i < RACE_ROUNDS; i++) {
		char msg[16], b[MAX + 1];
		int len = snprintf(msg, sizeof(msg), "w%d", i);
		int hits, total, rerr;
		ssize_t n;
		pid_t pid;

		ASSERT_EQ(0, fill_up(self->env.nb, variant->capacity));
		io->ret = -2;
		io->err = 0;
		pid = chan_spawn_write(self->env.fd, msg, len, io);
		ASSERT_LE(0, pid);
		ASSERT_EQ(0, chan_wait_blocked(pid, SYS_write));
		if (i & 1) {
			kill(pid, SIGUSR1);
			n = read(self->env.nb, b, MAX);
			rerr = errno;
		} else {
			n = read(self->env.nb, b, MAX);
			rerr = errno;
			kill(pid, SIGUSR1);
		}
		ASSERT_EQ(0, chan_reap(pid));
		if (n > 0)
			b[n] = '\0';

		if (variant->capacity) {
			/* The read took a filler and made room. */
			ASSERT_EQ(2, n) TH_LOG("round %d: errno %d", i, rerr);
			hits = drain_count(self->env.nb, msg, &total);
		} else {
			hits = n == len && !memcmp(b, msg, len);
			if (n < 0)
				ASSERT_EQ(EAGAIN, rerr);
			ASSERT_EQ(-1, read(self->env.nb, b, MAX)) TH_LOG("round %d: leftover", i);
			ASSERT_EQ(EAGAIN, errno);
		}
		if (io->ret == len) {
			ok++;
			ASSERT_EQ(1, hits) TH_LOG("round %d: write succeeded, message seen %d times", i, hits);
		} else {
			intr++;
			ASSERT_EQ(-1, io->ret) TH_LOG("round %d", i);
			ASSERT_EQ(EINTR, io->err) TH_LOG("round %d", i);
			ASSERT_EQ(0, hits) TH_LOG("round %d: write failed with EINTR but its message arrived", i);
		}
		/* Read first on an unbuffered channel: the message was taken. */
		if (!(i & 1) && !variant->capacity)
			ASSERT_EQ(len, io->ret) TH_LOG("round %d: taken, yet the write failed", i);
		ASSERT_EQ(0, chan_len(self->env.fd));
	}
	TH_LOG("%d rounds: %d writes succeeded, %d EINTR", RACE_ROUNDS, ok, intr);
}

TEST_HARNESS_MAIN
