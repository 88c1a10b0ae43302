// SPDX-License-Identifier: GPL-2.0
/*
 * Memory accounting: each buffered message is charged to the writer's
 * memory cgroup (GFP_KERNEL_ACCOUNT), as pipe buffers are, and uncharged
 * when it is read.  Needs root and cgroup v2 with the memory controller.
 */
#include "chan_test.h"

#include <sys/mount.h>

#define MSG_SIZE	(64 * 1024)
#define NMSGS		64			/* 4 MiB in all */
#define TOTAL		((long)MSG_SIZE * NMSGS)
/* memcg charges in per-cpu batches: allow a quarter of the total as slack. */
#define SLACK		(TOTAL / 4)

FIXTURE(memcg) {
	struct chan_env env;
	char cg[PATH_MAX];		/* our cgroup's directory, or "" */
};

/* The cgroup v2 mount point, mounting one on /sys/fs/cgroup if needed. */
static int cgroup2_root(char *buf, size_t len)
{
	char line[1024];
	FILE *f = fopen("/proc/self/mountinfo", "r");

	if (f) {
		while (fgets(line, sizeof(line), f)) {
			char mnt[256], *dash = strstr(line, " - cgroup2 ");

			if (dash && sscanf(line, "%*s %*s %*s %*s %255s", mnt) == 1) {
				snprintf(buf, len, "%s", mnt);
				fclose(f);
				return 0;
			}
		}
		fclose(f);
	}
	if (mount("cgroup2", "/sys/fs/cgroup", "cgroup2", 0, NULL))
		return -errno;
	snprintf(buf, len, "/sys/fs/cgroup");
	return 0;
}

static long cg_read_long(const char *cg, const char *file)
{
	char path[PATH_MAX], buf[64];

	if (snprintf(path, sizeof(path), "%s/%s", cg, file) >= (int)sizeof(path))
		return -1;
	if (chan_read_file(path, buf, sizeof(buf)) < 0)
		return -1;
	return strtol(buf, NULL, 10);
}

static int cg_write(const char *cg, const char *file, const char *s)
{
	char path[PATH_MAX];

	if (snprintf(path, sizeof(path), "%s/%s", cg, file) >= (int)sizeof(path))
		return -1;
	return chan_write_file(path, s) < 0 ? -1 : 0;
}

FIXTURE_SETUP(memcg)
{
	char root[256], ctl[256];

	self->cg[0] = '\0';
	chan_env_setup(&self->env, NMSGS, MSG_SIZE, 0);
	if (geteuid())
		SKIP(return, "needs root");
	if (cgroup2_root(root, sizeof(root)))
		SKIP(return, "no cgroup v2");
	if (chan_read_file(strcat(strcpy(ctl, root), "/cgroup.controllers"), ctl, sizeof(ctl)) < 0 ||
	    !strstr(ctl, "memory"))
		SKIP(return, "no memory controller");
	/* Harmless if it is already on. */
	cg_write(root, "cgroup.subtree_control", "+memory");
	snprintf(self->cg, sizeof(self->cg), "%s/kchan-test-%d", root, (int)getpid());
	ASSERT_EQ(0, mkdir(self->cg, 0755)) TH_LOG("mkdir %s: %m", self->cg);
	ASSERT_LE(0, cg_read_long(self->cg, "memory.current")) TH_LOG("no memory.current in %s", self->cg);
}

FIXTURE_TEARDOWN(memcg)
{
	chan_env_teardown(&self->env);
	if (self->cg[0])
		rmdir(self->cg);
}

TEST_F_TIMEOUT(memcg, messages_charged_to_writer_cgroup, CHAN_TIMEOUT)
{
	long before, queued, drained;
	char *msg = malloc(MSG_SIZE);
	int i, pipefd[2];
	pid_t pid;

	ASSERT_NE(NULL, msg);
	memset(msg, 'm', MSG_SIZE);
	ASSERT_EQ(0, pipe(pipefd));

	/* The writer joins the cgroup; the test (the reader) stays outside. */
	pid = chan_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		char c;

		close(pipefd[1]);
		if (cg_write(self->cg, "cgroup.procs", "0"))
			_exit(1);
		/* Wait for the parent's "before" reading. */
		if (read(pipefd[0], &c, 1) != 1)
			_exit(2);
		for (i = 0; i < NMSGS; i++)
			if (write(self->env.nb, msg, MSG_SIZE) != MSG_SIZE)
				_exit(3);
		_exit(0);
	}
	close(pipefd[0]);
	/* Wait until the writer is in the cgroup. */
	for (i = 0; i < CHAN_WAIT_MS && cg_read_long(self->cg, "cgroup.procs") != pid; i++)
		usleep(1000);
	ASSERT_EQ(pid, cg_read_long(self->cg, "cgroup.procs"));
	before = cg_read_long(self->cg, "memory.current");
	ASSERT_EQ(1, write(pipefd[1], "g", 1));
	ASSERT_EQ(0, chan_reap(pid));
	close(pipefd[1]);

	ASSERT_EQ(NMSGS, chan_len(self->env.fd));
	queued = cg_read_long(self->cg, "memory.current");
	EXPECT_LE(TOTAL - SLACK, queued - before)
		TH_LOG("%d messages of %d bytes: the writer's cgroup grew by %ld bytes",
		       NMSGS, MSG_SIZE, queued - before);

	/* Reading frees the messages and uncharges the writer's cgroup. */
	for (i = 0; i < NMSGS; i++)
		ASSERT_EQ(MSG_SIZE, read(self->env.nb, msg, MSG_SIZE));
	drained = cg_read_long(self->cg, "memory.current");
	EXPECT_LE(TOTAL - SLACK, queued - drained)
		TH_LOG("reading everything uncharged only %ld bytes", queued - drained);
	free(msg);
}

TEST_HARNESS_MAIN
