// SPDX-License-Identifier: GPL-2.0
/*
 * Module unload and reload: rmmod is refused while /dev/chan is mounted,
 * and while a channel file is open even once the instance is unmounted
 * (detached, as the guest runner does it); it succeeds once none is (the
 * unmount destroyed the channels still existing), and the module loads
 * again, /dev/chan mounted again, with a working control node.
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

/* insmod, then mount /dev/chan (chan_test.h) */
static int load(const char *ko)
{
	return chan_module_load(ko, "");
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
	/* Leave it loaded and mounted for the next program, whatever happened. */
	if (self->ko && !chan_module_loaded())
		load(self->ko);
	else if (self->ko && !chan_fs_mounted(KCHAN_DEV_DIR))
		chan_fs_mount(KCHAN_DEV_DIR, NULL);
}

TEST_F_TIMEOUT(module, reload_cycles, 240)
{
	char name[KCHAN_NAME_MAX], path[PATH_MAX];
	int i, ctl, fd, ret;

	for (i = 0; i < self->cycles; i++) {
		ctl = chan_ctl_open();
		ASSERT_LE(0, ctl);
		chan_make_name(name);
		ASSERT_EQ(0, chan_create(ctl, name, 4, 64, 0600, 0));
		close(ctl);
		fd = chan_open(name, O_RDWR);
		ASSERT_LE(0, fd);
		ASSERT_EQ(3, write(fd, "hi\n", 3));

		/* The mount pins the module... */
		EXPECT_EQ(-EAGAIN, chan_module_delete()) TH_LOG("cycle %d: rmmod while mounted", i);
		/* ...and so does an open channel file, unmounted. */
		ASSERT_EQ(1, chan_fs_umount_all()) TH_LOG("cycle %d: umount", i);
		chan_path(path, sizeof(path), name);
		EXPECT_NE(0, access(path, F_OK)) TH_LOG("%s outlived the unmount", path);
		EXPECT_EQ(-EAGAIN, chan_module_delete()) TH_LOG("cycle %d: rmmod with a channel open", i);
		EXPECT_EQ(1, chan_len(fd));
		close(fd);

		/* The channel, one message queued, went with the instance. */
		ret = chan_module_delete();
		ASSERT_EQ(0, ret) TH_LOG("cycle %d: rmmod with no file open: %s", i, strerror(-ret));
		ASSERT_FALSE(chan_module_loaded());
		sleep(self->wait_s);
		ret = load(self->ko);
		ASSERT_EQ(0, ret) TH_LOG("cycle %d: insmod %s and mount: %s", i, self->ko, strerror(-ret));
		ASSERT_TRUE(chan_fs_mounted(KCHAN_DEV_DIR));
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
