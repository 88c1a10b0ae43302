// SPDX-License-Identifier: GPL-2.0
/*
 * Module unload and reload: rmmod is refused while a channel file is open,
 * succeeds once none is (channels still existing are destroyed by module
 * exit), and the module loads again with a working control device.
 *
 * The debug kernel's CONFIG_DEBUG_KOBJECT_RELEASE delays every final
 * kobject release by 1 to 4 s, so a release that touches module memory
 * (a static struct class, a release callback) runs after the module is
 * gone and KASAN reports it.  There each cycle waits 5 s after rmmod, so
 * that every delayed release of the unloaded module runs while nothing is
 * loaded at its old address.  The delays are random and a late release
 * shows only when it comes after the module's own (also delayed) teardown,
 * so four cycles catch a static struct class now and then, as the fuzzer's
 * rmmods do (chan_fuzz), not every time.
 * Needs root and the runner's KCHAN_KO (tools/vm/run sets it).
 */
#include "chan_test.h"

#include <sys/utsname.h>

/* 1 to 4 s (lib/kobject.c), and the module's own kobject first. */
#define RELEASE_WAIT_S	5

FIXTURE(module) {
	const char *ko;
	int cycles;
	unsigned int wait_s;
};

/* The debug kernels of tools/debug-kernel/build delay kobject releases. */
static bool delays_releases(void)
{
	struct utsname u;

	return !uname(&u) && strstr(u.release, "-kchan-debug");
}

static int load(const char *ko)
{
	int fd = open(ko, O_RDONLY | O_CLOEXEC), ret;

	if (fd < 0)
		return -errno;
	ret = syscall(SYS_finit_module, fd, "", 0) ? -errno : 0;
	close(fd);
	return ret;
}

static int unload(void)
{
	return syscall(SYS_delete_module, "kchan", O_NONBLOCK) ? -errno : 0;
}

FIXTURE_SETUP(module)
{
	self->ko = getenv("KCHAN_KO");
	CHAN_SKIP_IF_ABSENT();
	if (geteuid())
		SKIP(return, "needs root");
	if (!self->ko || !*self->ko)
		SKIP(return, "no KCHAN_KO: the module's path (tools/vm/run sets it)");
	if (delays_releases()) {
		self->cycles = 4;
		self->wait_s = RELEASE_WAIT_S;
	} else {
		self->cycles = 3;
		self->wait_s = 0;
	}
}

FIXTURE_TEARDOWN(module)
{
	/* Leave it loaded for the next program, whatever happened. */
	if (self->ko && access("/sys/module/kchan", F_OK))
		load(self->ko);
}

TEST_F_TIMEOUT(module, reload_cycles, 240)
{
	char name[KCHAN_NAME_MAX], path[PATH_MAX];
	int i, ctl, fd;

	for (i = 0; i < self->cycles; i++) {
		ctl = chan_ctl_open();
		ASSERT_LE(0, ctl);
		chan_make_name(name);
		ASSERT_EQ(0, chan_create(ctl, name, 4, 64, 0600, 0));
		close(ctl);
		fd = chan_open(name, O_RDWR);
		ASSERT_LE(0, fd);
		ASSERT_EQ(3, write(fd, "hi\n", 3));

		/* An open channel file pins the module. */
		EXPECT_EQ(-EAGAIN, unload()) TH_LOG("cycle %d: rmmod with a channel open", i);
		close(fd);

		/* The channel, one message queued, goes with the module. */
		ASSERT_EQ(0, unload()) TH_LOG("cycle %d: rmmod with no file open", i);
		ASSERT_NE(0, access("/sys/module/kchan", F_OK));
		chan_path(path, sizeof(path), name);
		EXPECT_NE(0, access(path, F_OK)) TH_LOG("%s outlived the module", path);
		sleep(self->wait_s);
		ASSERT_EQ(0, load(self->ko)) TH_LOG("cycle %d: insmod %s", i, self->ko);
	}
	/* The reloaded module works. */
	ctl = chan_ctl_open();
	ASSERT_LE(0, ctl);
	chan_make_name(name);
	ASSERT_EQ(0, chan_create(ctl, name, 1, 16, 0600, 0));
	fd = chan_open(name, O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(2, write(fd, "ok", 2));
	EXPECT_EQ(1, chan_len(fd));
	close(fd);
	EXPECT_EQ(0, chan_destroy(ctl, name));
	close(ctl);
}

TEST_HARNESS_MAIN
