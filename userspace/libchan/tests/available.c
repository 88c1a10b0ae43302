// SPDX-License-Identifier: GPL-2.0
/*
 * libchan: chan_available(), which tells "kchan is not loaded" apart from
 * "no such channel", where the verbs by name say ENOENT to both.
 */
#include <sched.h>
#include <sys/mount.h>

#include "libchan_test.h"

TEST(available_when_loaded)
{
	errno = 0;
	EXPECT_EQ(0, chan_available());
	EXPECT_EQ(0, errno);
}

/*
 * Under an empty /dev (a mount namespace of its own) kchan looks unloaded:
 * chan_available() says ENOENT, in its return value and in errno.
 */
TEST(unavailable_without_control_device)
{
	int status;
	pid_t pid;

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		alarm(LT_GUARD);
		if (unshare(CLONE_NEWNS) ||
		    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
		    mount("none", "/dev", "tmpfs", 0, NULL))
			_exit(77);
		errno = 0;
		if (chan_available() != -ENOENT || errno != ENOENT)
			_exit(1);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	if (WEXITSTATUS(status) == 77)
		SKIP(return, "cannot mount a private /dev (needs root)");
	EXPECT_EQ(0, WEXITSTATUS(status));
}

TEST_HARNESS_MAIN
