// SPDX-License-Identifier: GPL-2.0
/*
 * The control node (KCHAN_CONTROL_PATH): creating and destroying channels,
 * the ioctl ABI (struct sizes, flags, reserved fields, bad pointers),
 * names, limits (the module's parameters, the instance's mount options),
 * ownership, the node in /dev/chan and the counters in fdinfo.
 */
#include "chan_test.h"

#include <dirent.h>
#include <grp.h>
#include <sys/fsuid.h>
#include <termios.h>

#define MAX_EXTRA	8

FIXTURE(control) {
	int ctl;
	char name[KCHAN_NAME_MAX];	/* made in setup, created by the test */
	char extra[MAX_EXTRA][KCHAN_NAME_MAX];	/* more names to destroy */
	int nextra;
	unsigned long saved_max_capacity;
	unsigned long saved_max_msg_size;
	struct chan_limits saved_limits;	/* /dev/chan's mount options */
	bool params_saved;
};

FIXTURE_SETUP(control)
{
	self->ctl = -1;
	self->nextra = 0;
	self->params_saved = false;
	CHAN_SKIP_IF_ABSENT();
	chan_ignore(SIGPIPE);
	chan_leaks_begin();
	self->ctl = chan_ctl_open();
	ASSERT_LE(0, self->ctl) TH_LOG("open " KCHAN_CONTROL_PATH ": %m");
	chan_make_name(self->name);
	if (!chan_param_get("max_capacity", &self->saved_max_capacity) &&
	    !chan_param_get("max_msg_size", &self->saved_max_msg_size) &&
	    !chan_limits_get(&self->saved_limits))
		self->params_saved = true;
}

FIXTURE_TEARDOWN(control)
{
	int i;

	if (self->ctl < 0)
		return;
	chan_destroy(self->ctl, self->name);
	for (i = 0; i < self->nextra; i++)
		chan_destroy(self->ctl, self->extra[i]);
	if (self->params_saved) {
		chan_param_set("max_capacity", self->saved_max_capacity);
		chan_param_set("max_msg_size", self->saved_max_msg_size);
		chan_limits_set(&self->saved_limits);
	}
	close(self->ctl);
	chan_leaks_end();
}

/* A second name for this test, destroyed in teardown. */
static const char *extra_name(FIXTURE_DATA(control) *self)
{
	char *name = self->extra[self->nextra++];

	chan_make_name(name);
	return name;
}

static bool node_exists(const char *name)
{
	char path[PATH_MAX];
	struct stat st;

	chan_path(path, sizeof(path), name);
	return stat(path, &st) == 0;
}

static int node_stat(const char *name, struct stat *st)
{
	char path[PATH_MAX];

	chan_path(path, sizeof(path), name);
	return stat(path, st) ? -errno : 0;
}

/*
 * Drops to uid/gid with no capabilities and opens the control node
 * again as that user; in a helper only.  Returns the new control fd.
 */
static int drop_to(uid_t uid, gid_t gid)
{
	if (setgroups(0, NULL) || setresgid(gid, gid, gid) ||
	    setresuid(uid, uid, uid))
		return -1;
	return chan_ctl_open();
}

/* ---------------------------------------------------------------------- */

TEST_F(control, control_node_is_0666_char_device)
{
	struct stat st;

	ASSERT_EQ(0, stat(KCHAN_CONTROL_PATH, &st));
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	EXPECT_EQ(0666, st.st_mode & 07777);
}

TEST_F(control, create_defaults)
{
	struct kchan_info info;
	struct stat st;
	int fd;

	ASSERT_EQ(0, chan_create(self->ctl, self->name, 0, 0, 0, 0));
	ASSERT_EQ(0, node_stat(self->name, &st));
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	EXPECT_EQ(0600, st.st_mode & 07777);
	EXPECT_EQ(geteuid(), st.st_uid);
	EXPECT_EQ(getegid(), st.st_gid);

	fd = chan_open(self->name, O_RDONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, chan_info(fd, &info));
	EXPECT_EQ(0, info.state);
	EXPECT_EQ(0, info.capacity);
	EXPECT_EQ(0, info.length);
	EXPECT_EQ(KCHAN_MSG_MAX_DEFAULT, info.msg_max);
	EXPECT_EQ(1, info.readers);
	EXPECT_EQ(0, info.writers);
	EXPECT_EQ(0, info.reserved0);
	EXPECT_EQ(0, info.sent);
	EXPECT_EQ(0, info.received);
	close(fd);
}

TEST_F(control, create_sets_capacity_msg_max_mode_autoclose)
{
	struct kchan_info info;
	struct stat st;
	int fd;

	ASSERT_EQ(0, chan_create(self->ctl, self->name, 7, 100, 0640,
				 KCHAN_CREATE_AUTOCLOSE));
	ASSERT_EQ(0, node_stat(self->name, &st));
	EXPECT_EQ(0640, st.st_mode & 07777);
	fd = chan_open(self->name, O_RDONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, chan_info(fd, &info));
	EXPECT_EQ(KCHAN_STATE_AUTOCLOSE, info.state);
	EXPECT_EQ(7, info.capacity);
	EXPECT_EQ(100, info.msg_max);
	close(fd);
}

TEST_F(control, mode_0777_is_not_masked_by_umask)
{
	struct stat st;

	umask(077);
	ASSERT_EQ(0, chan_create(self->ctl, self->name, 0, 0, 0777, 0));
	ASSERT_EQ(0, node_stat(self->name, &st));
	EXPECT_EQ(0777, st.st_mode & 07777);
}

TEST_F(control, mode_bits_outside_0777_einval)
{
	static const __u32 bad[] = { 01000, 02000, 04000, 010000, 0100644,
				     0x80000000u };
	unsigned int i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		EXPECT_EQ(-EINVAL, chan_create(self->ctl, self->name, 0, 0, bad[i], 0))
			TH_LOG("mode %#o", bad[i]);
		EXPECT_FALSE(node_exists(self->name));
	}
}

TEST_F(control, node_owned_by_creator_fsuid_fsgid)
{
	struct stat st;
	pid_t pid;

	pid = chan_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int ctl;

		setfsgid(5678);
		setfsuid(1234);
		ctl = chan_ctl_open();
		if (ctl < 0)
			_exit(100);
		_exit(-chan_create(ctl, self->name, 0, 0, 0, 0));
	}
	ASSERT_EQ(0, chan_reap(pid));
	ASSERT_EQ(0, node_stat(self->name, &st));
	EXPECT_EQ(1234, st.st_uid);
	EXPECT_EQ(5678, st.st_gid);
	EXPECT_EQ(0600, st.st_mode & 07777);
}

TEST_F(control, valid_names)
{
	static const char *const names[] = {
		"a", "Z", "0", "-", "_", "a.b", "a-b", "a_b", "a.", "x..y",
		"ABCdef-123_.456",
		/* 63 bytes, the longest */
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-",
	};
	unsigned int i;

	ASSERT_EQ(63, strlen(names[sizeof(names) / sizeof(names[0]) - 1]));
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const char *n = names[i];

		/* Leftovers of an aborted earlier run would make this EEXIST. */
		chan_destroy(self->ctl, n);
		EXPECT_EQ(0, chan_create(self->ctl, n, 0, 0, 0, 0)) TH_LOG("name '%s'", n);
		EXPECT_TRUE(node_exists(n)) TH_LOG("name '%s'", n);
		EXPECT_TRUE(chan_listed(n)) TH_LOG("name '%s'", n);
		EXPECT_EQ(0, chan_destroy(self->ctl, n)) TH_LOG("name '%s'", n);
		EXPECT_FALSE(node_exists(n)) TH_LOG("name '%s'", n);
		EXPECT_FALSE(chan_listed(n)) TH_LOG("name '%s'", n);
	}
}

TEST_F(control, invalid_names_einval)
{
	static const char *const names[] = {
		"", ".", "..", ".a", ".hidden", "a/b", "/a", "a/", "a!b", "!",
		"a b", " a", "a ", "a\tb", "a\nb", "a:b", "a\\b", "a*", "a@b",
		"a+b", "a,b", "a=b", "\xc3\xa9", "a\x7f", "a\x01",
		/* Latin-1 letters: isalnum() in the kernel says yes, the spec no. */
		"\xe9", "caf\xe9", "\xc0", "a\xff", "\xdf",
	};
	unsigned int i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		int ret = chan_create(self->ctl, names[i], 0, 0, 0, 0);
		char shown[64 * 4 + 1];
		size_t j;

		for (j = 0; names[i][j] && j < 64; j++)
			sprintf(shown + 4 * j, "\\x%02x", (unsigned char)names[i][j]);
		shown[4 * j] = '\0';
		EXPECT_EQ(-EINVAL, ret) TH_LOG("name #%u \"%s\"", i, shown);
		if (!ret)	/* don't leave it behind */
			chan_destroy(self->ctl, names[i]);
	}
	EXPECT_FALSE(node_exists("a"));
	EXPECT_FALSE(node_exists("b"));
}

TEST_F(control, name_of_64_bytes_without_nul_einval)
{
	struct kchan_create req;

	chan_req_init(&req, "", 0, 0, 0, 0);
	memset(req.name, 'a', sizeof(req.name));
	EXPECT_EQ(-EINVAL, chan_ioctl(self->ctl, KCHAN_IOC_CREATE, &req));
	/* Neither the 63-byte prefix nor anything else was created. */
	req.name[63] = '\0';
	EXPECT_FALSE(node_exists(req.name));
}

TEST_F(control, create_existing_name_eexist)
{
	struct kchan_info info;
	int fd;

	ASSERT_EQ(0, chan_create(self->ctl, self->name, 3, 10, 0, 0));
	EXPECT_EQ(-EEXIST, chan_create(self->ctl, self->name, 5, 20, 0644, 0));
	EXPECT_EQ(-EEXIST, chan_create(self->ctl, self->name, 3, 10, 0, 0));
	/* The first channel is untouched. */
	fd = chan_open(self->name, O_RDONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, chan_info(fd, &info));
	EXPECT_EQ(3, info.capacity);
	EXPECT_EQ(10, info.msg_max);
	close(fd);
}

TEST_F(control, destroy_and_close_unknown_name_enoent)
{
	EXPECT_EQ(-ENOENT, chan_destroy(self->ctl, self->name));
	EXPECT_EQ(-ENOENT, chan_close_name(self->ctl, self->name));
	ASSERT_EQ(0, chan_create(self->ctl, self->name, 0, 0, 0, 0));
	ASSERT_EQ(0, chan_destroy(self->ctl, self->name));
	EXPECT_EQ(-ENOENT, chan_destroy(self->ctl, self->name));
	EXPECT_EQ(-ENOENT, chan_close_name(self->ctl, self->name));
}

/* README: names that break the rules are EINVAL, for every ioctl that takes one. */
TEST_F(control, destroy_and_close_invalid_name_einval)
{
	struct kchan_name req;

	EXPECT_EQ(-EINVAL, chan_destroy(self->ctl, ""));
	EXPECT_EQ(-EINVAL, chan_destroy(self->ctl, ".a"));
	EXPECT_EQ(-EINVAL, chan_destroy(self->ctl, "a/b"));
	EXPECT_EQ(-EINVAL, chan_close_name(self->ctl, ""));
	EXPECT_EQ(-EINVAL, chan_close_name(self->ctl, "a b"));
	memset(&req, 0, sizeof(req));
	req.size = sizeof(req);
	memset(req.name, 'a', sizeof(req.name));
	EXPECT_EQ(-EINVAL, chan_ioctl(self->ctl, KCHAN_IOC_DESTROY, &req));
	EXPECT_EQ(-EINVAL, chan_ioctl(self->ctl, KCHAN_IOC_CLOSE_NAME, &req));
}

TEST_F(control, create_struct_too_small_einval)
{
	static const __u32 sizes[] = { 0, 4, 8, KCHAN_CREATE_SIZE_VER0 - 1 };
	struct kchan_create req;
	unsigned int i;

	ASSERT_EQ(KCHAN_CREATE_SIZE_VER1, sizeof(req));
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		chan_req_init(&req, self->name, 0, 0, 0, 0);
		req.size = sizes[i];
		EXPECT_EQ(-EINVAL, chan_ioctl(self->ctl, KCHAN_IOC_CREATE, &req))
			TH_LOG("size %u", sizes[i]);
		EXPECT_FALSE(node_exists(self->name));
	}
}

/* A newer, larger struct whose extra bytes are zero is accepted. */
TEST_F(control, create_struct_larger_zero_tail_ok)
{
	struct {
		struct kchan_create req;
		char tail[40];
	} big;
	struct kchan_info info;
	int fd;

	memset(&big, 0, sizeof(big));
	chan_req_init(&big.req, self->name, 2, 50, 0, 0);
	big.req.size = sizeof(big);
	ASSERT_EQ(0, chan_ioctl(self->ctl, KCHAN_IOC_CREATE, &big));
	fd = chan_open(self->name, O_RDONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, chan_info(fd, &info));
	EXPECT_EQ(2, info.capacity);
	EXPECT_EQ(50, info.msg_max);
	close(fd);
}

TEST_F(control, create_struct_larger_nonzero_tail_e2big)
{
	struct {
		struct kchan_create req;
		char tail[40];
	} big;
	static const unsigned int pos[] = { 0, 17, 39 };
	unsigned int i;

	for (i = 0; i < sizeof(pos) / sizeof(pos[0]); i++) {
		memset(&big, 0, sizeof(big));
		chan_req_init(&big.req, self->name, 2, 50, 0, 0);
		big.req.size = sizeof(big);
		big.tail[pos[i]] = 1;
		EXPECT_EQ(-E2BIG, chan_ioctl(self->ctl, KCHAN_IOC_CREATE, &big))
			TH_LOG("tail byte %u", pos[i]);
		EXPECT_FALSE(node_exists(self->name));
	}
}

TEST_F(control, create_unknown_flags_einval)
{
	static const __u32 flags[] = { 1u << 3, 1u << 8, 1u << 31,
				       KCHAN_CREATE_AUTOCLOSE | (1u << 7) };
	unsigned int i;

	for (i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		EXPECT_EQ(-EINVAL, chan_create(self->ctl, self->name, 0, 0, 0, flags[i]))
			TH_LOG("flags %#x", flags[i]);
		EXPECT_FALSE(node_exists(self->name));
	}
}

TEST_F(control, create_reserved_nonzero_einval)
{
	struct kchan_create req;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(req.reserved); i++) {
		chan_req_init(&req, self->name, 0, 0, 0, 0);
		req.reserved[i] = 1u << (i * 8);
		EXPECT_EQ(-EINVAL, chan_ioctl(self->ctl, KCHAN_IOC_CREATE, &req))
			TH_LOG("reserved[%u]", i);
		EXPECT_FALSE(node_exists(self->name));
	}
}

TEST_F(control, create_streams_beyond_max_einval)
{
	struct kchan_create req;

	chan_req_init(&req, self->name, 0, 0, 0, 0);
	req.streams = KCHAN_STREAMS_MAX + 1;
	EXPECT_EQ(-EINVAL, chan_ioctl(self->ctl, KCHAN_IOC_CREATE, &req));
	EXPECT_FALSE(node_exists(self->name));
	req.streams = KCHAN_STREAMS_MAX;
	EXPECT_EQ(0, chan_ioctl(self->ctl, KCHAN_IOC_CREATE, &req));
	EXPECT_EQ(0, chan_destroy(self->ctl, self->name));
}

TEST_F(control, create_bad_pointer_efault)
{
	struct kchan_create req;
	char *g = chan_guard_pages();
	char *straddle;

	ASSERT_NE(NULL, g);
	EXPECT_EQ(-EFAULT, chan_ioctl(self->ctl, KCHAN_IOC_CREATE, NULL));
	EXPECT_EQ(-EFAULT, chan_ioctl(self->ctl, KCHAN_IOC_CREATE, (void *)1));
	EXPECT_EQ(-EFAULT, chan_ioctl(self->ctl, KCHAN_IOC_CREATE, chan_guard_end(g)));
	/* The size field is readable, the rest of the struct is not. */
	chan_req_init(&req, self->name, 0, 0, 0, 0);
	straddle = chan_guard_end(g) - 8;
	memcpy(straddle, &req, 8);
	EXPECT_EQ(-EFAULT, chan_ioctl(self->ctl, KCHAN_IOC_CREATE, straddle));
	EXPECT_FALSE(node_exists(self->name));
}

TEST_F(control, name_struct_size_flags_reserved)
{
	struct {
		struct kchan_name req;
		char tail[16];
	} big;
	struct kchan_info info;
	unsigned long cmds[] = { KCHAN_IOC_CLOSE_NAME, KCHAN_IOC_DESTROY };
	unsigned int i;
	int fd;

	ASSERT_EQ(KCHAN_NAME_SIZE_VER0, sizeof(big.req));
	ASSERT_EQ(0, chan_create(self->ctl, self->name, 1, 0, 0, 0));
	fd = chan_open(self->name, O_RDONLY);
	ASSERT_LE(0, fd);

	for (i = 0; i < 2; i++) {
		unsigned long cmd = cmds[i];

		memset(&big, 0, sizeof(big));
		strcpy(big.req.name, self->name);

		big.req.size = KCHAN_NAME_SIZE_VER0 - 1;
		EXPECT_EQ(-EINVAL, chan_ioctl(self->ctl, cmd, &big)) TH_LOG("cmd %u", i);
		big.req.size = 0;
		EXPECT_EQ(-EINVAL, chan_ioctl(self->ctl, cmd, &big)) TH_LOG("cmd %u", i);

		big.req.size = sizeof(big.req);
		big.req.flags = 1;
		EXPECT_EQ(-EINVAL, chan_ioctl(self->ctl, cmd, &big)) TH_LOG("cmd %u", i);
		big.req.flags = 0;
		big.req.reserved = 1ull << 40;
		EXPECT_EQ(-EINVAL, chan_ioctl(self->ctl, cmd, &big)) TH_LOG("cmd %u", i);
		big.req.reserved = 0;

		big.req.size = sizeof(big);
		big.tail[15] = 1;
		EXPECT_EQ(-E2BIG, chan_ioctl(self->ctl, cmd, &big)) TH_LOG("cmd %u", i);

		EXPECT_EQ(-EFAULT, chan_ioctl(self->ctl, cmd, NULL)) TH_LOG("cmd %u", i);

		/* None of the failures above closed or destroyed anything. */
		ASSERT_EQ(0, chan_info(fd, &info));
		EXPECT_EQ(i ? KCHAN_STATE_CLOSED : 0, info.state) TH_LOG("cmd %u", i);
		EXPECT_TRUE(node_exists(self->name));

		/* A larger struct with a zero tail works. */
		big.tail[15] = 0;
		EXPECT_EQ(0, chan_ioctl(self->ctl, cmd, &big)) TH_LOG("cmd %u", i);
	}
	ASSERT_EQ(0, chan_info(fd, &info));
	EXPECT_EQ(KCHAN_STATE_CLOSED | KCHAN_STATE_DESTROYED, info.state);
	EXPECT_FALSE(node_exists(self->name));
	close(fd);
}

TEST_F(control, unknown_ioctl_on_control_enotty)
{
	struct kchan_info info;
	int arg = 0;

	EXPECT_EQ(-ENOTTY, chan_ioctl(self->ctl, _IO(KCHAN_IOC_MAGIC, 0x7f), NULL));
	EXPECT_EQ(-ENOTTY, chan_ioctl(self->ctl, _IOW(KCHAN_IOC_MAGIC, 0x05, struct kchan_name), &arg));
	EXPECT_EQ(-ENOTTY, chan_ioctl(self->ctl, _IOW('x', 1, int), &arg));
	EXPECT_EQ(-ENOTTY, chan_ioctl(self->ctl, TCGETS, &arg));
	/* Channel ioctls mean nothing on the control node. */
	memset(&info, 0, sizeof(info));
	info.size = sizeof(info);
	EXPECT_EQ(-ENOTTY, chan_ioctl(self->ctl, KCHAN_IOC_INFO, &info));
	EXPECT_EQ(-ENOTTY, chan_ioctl(self->ctl, KCHAN_IOC_CLOSE, NULL));
}

TEST_F(control, unknown_ioctl_on_channel_enotty)
{
	struct kchan_create req;
	struct kchan_info info;
	int fd, arg = 0;

	ASSERT_EQ(0, chan_create(self->ctl, self->name, 1, 0, 0, 0));
	fd = chan_open(self->name, O_RDWR);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-ENOTTY, chan_ioctl(fd, _IO(KCHAN_IOC_MAGIC, 0x7f), NULL));
	EXPECT_EQ(-ENOTTY, chan_ioctl(fd, TCGETS, &arg));
	/* Control ioctls mean nothing on a channel. */
	chan_req_init(&req, self->name, 0, 0, 0, 0);
	EXPECT_EQ(-ENOTTY, chan_ioctl(fd, KCHAN_IOC_CREATE, &req));
	EXPECT_EQ(-ENOTTY, chan_name_ioctl(fd, KCHAN_IOC_DESTROY, self->name));
	chan_req_init(&req, "", 0, 0, 0, 0);
	EXPECT_EQ(-ENOTTY, chan_ioctl(fd, KCHAN_IOC_MAKE, &req));
	ASSERT_EQ(0, chan_info(fd, &info));
	EXPECT_EQ(0, info.state);
	close(fd);
}

TEST_F(control, info_struct_size)
{
	struct {
		struct kchan_info info;
		char tail[24];
	} big;
	struct kchan_info info;
	char zero[24];
	int fd;

	ASSERT_EQ(KCHAN_INFO_SIZE_VER2, sizeof(info));
	ASSERT_EQ(0, chan_create(self->ctl, self->name, 9, 33, 0, 0));
	fd = chan_open(self->name, O_WRONLY);
	ASSERT_LE(0, fd);

	memset(&info, 0, sizeof(info));
	info.size = KCHAN_INFO_SIZE_VER0 - 1;
	EXPECT_EQ(-EINVAL, chan_ioctl(fd, KCHAN_IOC_INFO, &info));
	info.size = 0;
	EXPECT_EQ(-EINVAL, chan_ioctl(fd, KCHAN_IOC_INFO, &info));
	EXPECT_EQ(-EFAULT, chan_ioctl(fd, KCHAN_IOC_INFO, NULL));

	/*
	 * A newer, larger struct: "the kernel fills that much", so fields it
	 * does not know come back zero, whatever was there.
	 */
	memset(&big, 0xaa, sizeof(big));
	memset(zero, 0, sizeof(zero));
	big.info.size = sizeof(big);
	ASSERT_EQ(0, chan_ioctl(fd, KCHAN_IOC_INFO, &big));
	EXPECT_EQ(9, big.info.capacity);
	EXPECT_EQ(33, big.info.msg_max);
	EXPECT_EQ(1, big.info.writers);
	EXPECT_EQ(0, big.info.readers);
	EXPECT_EQ(0, big.info.state);
	EXPECT_EQ(0, big.info.length);
	EXPECT_EQ(0, big.info.reserved0);
	EXPECT_EQ(0, big.info.sent);
	EXPECT_EQ(0, memcmp(big.tail, zero, sizeof(zero)));
	close(fd);
}

TEST_F(control, info_counts_open_files)
{
	struct kchan_info info;
	char buf[32], want[32];
	int r, w, rw, d;

	ASSERT_EQ(0, chan_create(self->ctl, self->name, 1, 0, 0, 0));
	r = chan_open(self->name, O_RDONLY);
	w = chan_open(self->name, O_WRONLY);
	rw = chan_open(self->name, O_RDWR);
	ASSERT_LE(0, r);
	ASSERT_LE(0, w);
	ASSERT_LE(0, rw);
	ASSERT_EQ(0, chan_info(r, &info));
	EXPECT_EQ(2, info.readers);
	EXPECT_EQ(2, info.writers);
	EXPECT_STREQ(chan_num(2, want, sizeof(want)), chan_attr(self->name, "readers", buf, sizeof(buf)));
	EXPECT_STREQ(chan_num(2, want, sizeof(want)), chan_attr(self->name, "writers", buf, sizeof(buf)));

	/* Counts are per open file: dup() shares the file. */
	d = dup(rw);
	ASSERT_LE(0, d);
	ASSERT_EQ(0, chan_info(d, &info));
	EXPECT_EQ(2, info.readers);
	EXPECT_EQ(2, info.writers);

	close(rw);	/* d still holds the file */
	ASSERT_EQ(0, chan_info(r, &info));
	EXPECT_EQ(2, info.readers);
	EXPECT_EQ(2, info.writers);
	close(d);
	ASSERT_EQ(0, chan_info(r, &info));
	EXPECT_EQ(1, info.readers);
	EXPECT_EQ(1, info.writers);
	close(w);
	ASSERT_EQ(0, chan_info(r, &info));
	EXPECT_EQ(1, info.readers);
	EXPECT_EQ(0, info.writers);
	EXPECT_STREQ(chan_num(1, want, sizeof(want)), chan_attr(self->name, "readers", buf, sizeof(buf)));
	EXPECT_STREQ(chan_num(0, want, sizeof(want)), chan_attr(self->name, "writers", buf, sizeof(buf)));
	close(r);
	EXPECT_STREQ(chan_num(0, want, sizeof(want)), chan_attr(self->name, "readers", buf, sizeof(buf)));
}

/* The counters in /proc/self/fdinfo/<fd>, after the generic lines. */
TEST_F(control, fdinfo_counters)
{
	static const char *const keys[] = { "pos", "flags", "mnt_id", "ino",
		"kchan-id", "capacity", "length", "msg_max", "readers", "writers",
		"sent", "received", "dropped", "held", "closed", "destroyed" };
	struct kchan_info info;
	char buf[64], want[64];
	unsigned int i;
	int fd;

	ASSERT_EQ(0, chan_create(self->ctl, self->name, 3, 100, 0, KCHAN_CREATE_AUTOCLOSE));
	EXPECT_STREQ("3\n", chan_attr(self->name, "capacity", buf, sizeof(buf)));
	EXPECT_STREQ("0\n", chan_attr(self->name, "length", buf, sizeof(buf)));
	EXPECT_STREQ("100\n", chan_attr(self->name, "msg_max", buf, sizeof(buf)));
	EXPECT_STREQ("0\n", chan_attr(self->name, "closed", buf, sizeof(buf)));
	EXPECT_STREQ("0\n", chan_attr(self->name, "destroyed", buf, sizeof(buf)));
	EXPECT_STREQ("1\n", chan_attr(self->name, "autoclose", buf, sizeof(buf)));
	EXPECT_STREQ("0\n", chan_attr(self->name, "readers", buf, sizeof(buf)));
	EXPECT_STREQ("0\n", chan_attr(self->name, "writers", buf, sizeof(buf)));
	EXPECT_STREQ("0\n", chan_attr(self->name, "sent", buf, sizeof(buf)));
	EXPECT_STREQ("0\n", chan_attr(self->name, "received", buf, sizeof(buf)));
	EXPECT_STREQ("0\n", chan_attr(self->name, "dropped", buf, sizeof(buf)));
	EXPECT_STREQ("0\n", chan_attr(self->name, "held", buf, sizeof(buf)));

	fd = chan_open(self->name, O_RDWR | O_NONBLOCK);
	ASSERT_LE(0, fd);
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		int ret = chan_fdinfo(fd, keys[i], buf, sizeof(buf));

		EXPECT_EQ(0, ret) TH_LOG("fdinfo: key %u (%s) missing", i, keys[i]);
	}
	ASSERT_EQ(0, chan_info(fd, &info));
	snprintf(want, sizeof(want), "%016llx\n", (unsigned long long)info.id);
	EXPECT_STREQ(want, chan_fd_attr(fd, "kchan-id", buf, sizeof(buf)));
	/* The fd's own file counts in its fdinfo. */
	EXPECT_STREQ("1\n", chan_fd_attr(fd, "readers", buf, sizeof(buf)));
	EXPECT_STREQ("1\n", chan_fd_attr(fd, "writers", buf, sizeof(buf)));
	ASSERT_EQ(1, write(fd, "a", 1));
	ASSERT_EQ(2, write(fd, "bb", 2));
	ASSERT_EQ(1, read(fd, buf, sizeof(buf)));
	EXPECT_STREQ("1\n", chan_attr(self->name, "length", buf, sizeof(buf)));
	EXPECT_STREQ("2\n", chan_attr(self->name, "sent", buf, sizeof(buf)));
	EXPECT_STREQ("1\n", chan_attr(self->name, "received", buf, sizeof(buf)));
	EXPECT_STREQ("1\n", chan_attr(self->name, "readers", buf, sizeof(buf)));
	EXPECT_STREQ("1\n", chan_attr(self->name, "writers", buf, sizeof(buf)));
	EXPECT_STREQ("1\n", chan_fd_attr(fd, "length", buf, sizeof(buf)));
	ASSERT_EQ(0, chan_ioctl(fd, KCHAN_IOC_CLOSE, NULL));
	EXPECT_STREQ("1\n", chan_attr(self->name, "closed", buf, sizeof(buf)));
	EXPECT_STREQ("1\n", chan_attr(self->name, "length", buf, sizeof(buf)));
	ASSERT_EQ(0, chan_destroy(self->ctl, self->name));
	EXPECT_STREQ("1\n", chan_fd_attr(fd, "destroyed", buf, sizeof(buf)));
	close(fd);
}

TEST_F(control, destroy_removes_node)
{
	ASSERT_EQ(0, chan_create(self->ctl, self->name, 1, 0, 0, 0));
	ASSERT_TRUE(node_exists(self->name));
	ASSERT_TRUE(chan_listed(self->name));
	ASSERT_EQ(0, chan_destroy(self->ctl, self->name));
	EXPECT_FALSE(node_exists(self->name));
	EXPECT_FALSE(chan_listed(self->name));
	EXPECT_EQ(-ENOENT, chan_open(self->name, O_RDWR));
	/* Nothing holds the name: it can be created again at once. */
	EXPECT_EQ(0, chan_create(self->ctl, self->name, 1, 0, 0, 0));
}

/*
 * A destroyed name is free at once, even while files of the old channel
 * are open: the new channel is another one (another id, its own messages),
 * and the old files keep failing with ENODEV.
 */
TEST_F(control, destroyed_name_free_while_open)
{
	struct kchan_info old, new;
	int fd1, fd2, fd3;
	char buf[16];

	ASSERT_EQ(0, chan_create(self->ctl, self->name, 1, 0, 0, 0));
	fd1 = chan_open(self->name, O_RDONLY | O_NONBLOCK);
	fd2 = chan_open(self->name, O_WRONLY | O_NONBLOCK);
	ASSERT_LE(0, fd1);
	ASSERT_LE(0, fd2);
	ASSERT_EQ(0, chan_info(fd1, &old));
	ASSERT_EQ(0, chan_destroy(self->ctl, self->name));
	EXPECT_FALSE(node_exists(self->name));
	EXPECT_EQ(0, chan_create(self->ctl, self->name, 2, 0, 0, 0));
	EXPECT_TRUE(node_exists(self->name));
	fd3 = chan_open(self->name, O_RDWR | O_NONBLOCK);
	ASSERT_LE(0, fd3);
	ASSERT_EQ(0, chan_info(fd3, &new));
	EXPECT_NE(old.id, new.id);
	EXPECT_EQ(2, new.capacity);
	EXPECT_EQ(0, new.state);
	EXPECT_EQ(1, new.readers);
	EXPECT_EQ(1, new.writers);

	/* The old files: destroyed, ENODEV, and nothing of the new channel. */
	ASSERT_EQ(0, chan_info(fd1, &old));
	EXPECT_EQ(KCHAN_STATE_DESTROYED, old.state);
	EXPECT_EQ(-1, write(fd2, "old", 3));
	EXPECT_EQ(ENODEV, errno);
	ASSERT_EQ(3, write(fd3, "new", 3));
	EXPECT_EQ(-1, read(fd1, buf, sizeof(buf)));
	EXPECT_EQ(ENODEV, errno);
	EXPECT_EQ(1, chan_len(fd3));
	ASSERT_EQ(0, chan_info(fd3, &new));
	EXPECT_EQ(1, new.sent);
	close(fd1);
	EXPECT_EQ(-1, write(fd2, "old", 3));
	EXPECT_EQ(ENODEV, errno);
	close(fd2);
	/* Closing the old files leaves the new channel alone. */
	EXPECT_TRUE(node_exists(self->name));
	EXPECT_EQ(3, read(fd3, buf, sizeof(buf)));
	EXPECT_EQ(0, memcmp(buf, "new", 3));
	close(fd3);
	EXPECT_EQ(-EEXIST, chan_create(self->ctl, self->name, 1, 0, 0, 0));
}

/* The module keeps only its global limits as parameters. */
TEST_F(control, param_files_root_writable)
{
	static const char *const params[] = { "max_capacity", "max_msg_size" };
	static const char *const gone[] = { "max_channels", "max_user_channels", "max_user_bytes" };
	unsigned int i;

	for (i = 0; i < sizeof(params) / sizeof(params[0]); i++) {
		char path[PATH_MAX];
		struct stat st;

		snprintf(path, sizeof(path), CHAN_PARAM_DIR "/%s", params[i]);
		ASSERT_EQ(0, stat(path, &st)) TH_LOG("%s: %m", path);
		EXPECT_EQ(S_IWUSR, st.st_mode & (S_IWUSR | S_IWGRP | S_IWOTH)) TH_LOG("%s", path);
		EXPECT_EQ(0, st.st_uid);
	}
	for (i = 0; i < sizeof(gone) / sizeof(gone[0]); i++) {
		char path[PATH_MAX];

		snprintf(path, sizeof(path), CHAN_PARAM_DIR "/%s", gone[i]);
		EXPECT_NE(0, access(path, F_OK)) TH_LOG("%s: a mount option now", path);
	}
}

/* The parameters' defaults, and a new instance's limits (its mount options). */
TEST_F(control, param_defaults)
{
	char dir[] = "/tmp/chan-defaults-XXXXXX";
	struct chan_limits l;
	unsigned long v;
	int ret;

	ASSERT_EQ(0, chan_param_get("max_capacity", &v));
	EXPECT_EQ(65536, v);
	ASSERT_EQ(0, chan_param_get("max_msg_size", &v));
	EXPECT_EQ(1048576, v);

	if (geteuid())
		SKIP(return, "mounting an instance needs root");
	ASSERT_NE(NULL, mkdtemp(dir));
	ret = chan_fs_mount(dir, NULL);
	ASSERT_EQ(0, ret) TH_LOG("mount -t kchan on %s: %s", dir, strerror(-ret));
	memset(&l, 0xff, sizeof(l));
	EXPECT_EQ(0, chan_mnt_limits_get(dir, &l));
	EXPECT_EQ(4096, l.max);
	EXPECT_EQ(1024, l.max_user);
	EXPECT_EQ(64ull << 20, l.max_user_bytes);
	/* A remount changes what it names and keeps the rest. */
	EXPECT_EQ(0, chan_mnt_remount(dir, "max_user=7"));
	EXPECT_EQ(0, chan_mnt_limits_get(dir, &l));
	EXPECT_EQ(4096, l.max);
	EXPECT_EQ(7, l.max_user);
	EXPECT_EQ(64ull << 20, l.max_user_bytes);
	EXPECT_EQ(0, umount2(dir, 0));
	rmdir(dir);
}

TEST_F(control, max_capacity_limit)
{
	const char *n2 = extra_name(self);

	ASSERT_TRUE(self->params_saved);
	/* msg_max 1: the largest capacity then stays within max_user_bytes */
	EXPECT_EQ(-EINVAL, chan_create(self->ctl, self->name, self->saved_max_capacity + 1, 1, 0, 0));
	EXPECT_EQ(0, chan_create(self->ctl, self->name, self->saved_max_capacity, 1, 0, 0));

	ASSERT_EQ(0, chan_param_set("max_capacity", 8));
	EXPECT_EQ(-EINVAL, chan_create(self->ctl, n2, 9, 0, 0, 0));
	EXPECT_FALSE(node_exists(n2));
	EXPECT_EQ(0, chan_create(self->ctl, n2, 8, 0, 0, 0));
}

TEST_F(control, max_msg_size_limit)
{
	const char *n2 = extra_name(self);

	ASSERT_TRUE(self->params_saved);
	EXPECT_EQ(-EINVAL, chan_create(self->ctl, self->name, 1, self->saved_max_msg_size + 1, 0, 0));
	EXPECT_EQ(0, chan_create(self->ctl, self->name, 1, self->saved_max_msg_size, 0, 0));

	ASSERT_EQ(0, chan_param_set("max_msg_size", 100));
	EXPECT_EQ(-EINVAL, chan_create(self->ctl, n2, 1, 101, 0, 0));
	EXPECT_FALSE(node_exists(n2));
	EXPECT_EQ(0, chan_create(self->ctl, n2, 1, 100, 0, 0));
}

TEST_F(control, max_option_limit_enospc)
{
	const char *n2 = extra_name(self);
	const char *n3 = extra_name(self);
	int existing = chan_count_all(NULL, NULL);

	ASSERT_TRUE(self->params_saved);
	ASSERT_EQ(0, chan_limit_set("max", existing + 1));
	EXPECT_EQ(0, chan_create(self->ctl, self->name, 0, 0, 0, 0));
	EXPECT_EQ(-ENOSPC, chan_create(self->ctl, n2, 0, 0, 0, 0));
	EXPECT_FALSE(node_exists(n2));
	/* Destroying one makes room again. */
	EXPECT_EQ(0, chan_destroy(self->ctl, self->name));
	EXPECT_EQ(0, chan_create(self->ctl, n2, 0, 0, 0, 0));
	EXPECT_EQ(-ENOSPC, chan_create(self->ctl, n3, 0, 0, 0, 0));
	/* Raising the limit takes effect at once. */
	ASSERT_EQ(0, chan_limit_set("max", existing + 2));
	EXPECT_EQ(0, chan_create(self->ctl, n3, 0, 0, 0, 0));
}

TEST_F(control, destroy_and_close_by_name_need_owner)
{
	struct kchan_info info;
	pid_t pid;
	int fd;

	ASSERT_EQ(0, chan_create(self->ctl, self->name, 1, 0, 0666, 0));
	pid = chan_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int ctl = drop_to(1000, 1000);

		if (ctl < 0)
			_exit(100);
		if (chan_destroy(ctl, self->name) != -EPERM)
			_exit(1);
		if (chan_close_name(ctl, self->name) != -EPERM)
			_exit(2);
		_exit(0);
	}
	EXPECT_EQ(0, chan_reap(pid));
	EXPECT_TRUE(node_exists(self->name));
	fd = chan_open(self->name, O_RDONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, chan_info(fd, &info));
	EXPECT_EQ(0, info.state);
	close(fd);
}

TEST_F(control, owner_without_caps_may_destroy_and_close)
{
	struct stat st;
	pid_t pid;

	pid = chan_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int ctl = drop_to(1000, 1000);

		if (ctl < 0)
			_exit(100);
		_exit(-chan_create(ctl, self->name, 1, 0, 0, 0));
	}
	ASSERT_EQ(0, chan_reap(pid));
	ASSERT_EQ(0, node_stat(self->name, &st));
	EXPECT_EQ(1000, st.st_uid);
	EXPECT_EQ(1000, st.st_gid);

	/* Another unprivileged user may not. */
	pid = chan_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int ctl = drop_to(1001, 1001);

		if (ctl < 0)
			_exit(100);
		if (chan_close_name(ctl, self->name) != -EPERM)
			_exit(1);
		_exit(chan_destroy(ctl, self->name) == -EPERM ? 0 : 2);
	}
	EXPECT_EQ(0, chan_reap(pid));

	/* The owner may. */
	pid = chan_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int ctl = drop_to(1000, 1000);

		if (ctl < 0)
			_exit(100);
		if (chan_close_name(ctl, self->name))
			_exit(1);
		_exit(-chan_destroy(ctl, self->name));
	}
	EXPECT_EQ(0, chan_reap(pid));
	EXPECT_FALSE(node_exists(self->name));
}

/* ---------------------------------------------------------------------- */
/* The ABI as it grows. */

/* An older struct (version 0, without period_ns) is still a valid create. */
TEST_F(control, create_struct_version0_accepted)
{
	struct kchan_create req;
	struct kchan_info info;
	int fd;

	chan_req_init(&req, self->name, 3, 30, 0640, KCHAN_CREATE_AUTOCLOSE);
	req.size = KCHAN_CREATE_SIZE_VER0;
	req.period_ns = 12345;	/* beyond the old struct: never read */
	ASSERT_EQ(0, chan_ioctl(self->ctl, KCHAN_IOC_CREATE, &req));
	fd = chan_open(self->name, O_RDONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, chan_info(fd, &info));
	EXPECT_EQ(3, info.capacity);
	EXPECT_EQ(30, info.msg_max);
	EXPECT_EQ(KCHAN_STATE_AUTOCLOSE, info.state);
	close(fd);
}

/* An older caller's struct kchan_info is filled, and not one byte more. */
TEST_F(control, info_version0_fills_only_its_size)
{
	unsigned char buf[sizeof(struct kchan_info) + 16];
	struct kchan_info info;
	unsigned int i;
	int fd;

	ASSERT_EQ(0, chan_create(self->ctl, self->name, 6, 60, 0, 0));
	fd = chan_open(self->name, O_RDWR);
	ASSERT_LE(0, fd);
	memset(buf, 0xa5, sizeof(buf));
	memset(&info, 0, sizeof(info));
	info.size = KCHAN_INFO_SIZE_VER0;
	memcpy(buf, &info, sizeof(info.size));
	ASSERT_EQ(0, chan_ioctl(fd, KCHAN_IOC_INFO, buf));
	memcpy(&info, buf, KCHAN_INFO_SIZE_VER0);
	EXPECT_EQ(6, info.capacity);
	EXPECT_EQ(60, info.msg_max);
	EXPECT_EQ(1, info.readers);
	EXPECT_EQ(1, info.writers);
	for (i = KCHAN_INFO_SIZE_VER0; i < sizeof(buf); i++)
		EXPECT_EQ(0xa5, buf[i]) TH_LOG("byte %u written past the caller's size", i);
	close(fd);
}

/* README: the size bits of the ioctl numbers are ignored. */
TEST_F(control, ioctl_size_bits_ignored)
{
	struct kchan_create req;
	struct kchan_info info;
	struct kchan_name nreq;
	static const unsigned int sizes[] = { 0, 1, 96, 200, 0x3fff };
	unsigned int i;
	int fd;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		unsigned int sz = sizes[i];

		chan_req_init(&req, self->name, 2, 0, 0, 0);
		EXPECT_EQ(0, chan_ioctl(self->ctl, _IOC(_IOC_WRITE, KCHAN_IOC_MAGIC, 0x01, sz), &req))
			TH_LOG("CREATE with size bits %u", sz);
		fd = chan_open(self->name, O_RDWR);
		EXPECT_LE(0, fd) TH_LOG("size bits %u", sz);
		if (fd >= 0) {
			memset(&info, 0, sizeof(info));
			info.size = sizeof(info);
			EXPECT_EQ(0, chan_ioctl(fd, _IOC(_IOC_READ | _IOC_WRITE, KCHAN_IOC_MAGIC,
							 0x11, sz), &info))
				TH_LOG("INFO with size bits %u", sz);
			EXPECT_EQ(2, info.capacity);
			close(fd);
		}
		memset(&nreq, 0, sizeof(nreq));
		nreq.size = sizeof(nreq);
		strcpy(nreq.name, self->name);
		EXPECT_EQ(0, chan_ioctl(self->ctl, _IOC(_IOC_WRITE, KCHAN_IOC_MAGIC, 0x02, sz), &nreq))
			TH_LOG("DESTROY with size bits %u", sz);
	}
}

/* ---------------------------------------------------------------------- */
/* Per-user quotas: the mount options max_user and max_user_bytes, EDQUOT beyond. */

/* In a helper: as uid, create name (capacity, msg_max); exits with -errno of it. */
static pid_t create_as(FIXTURE_DATA(control) *self, uid_t uid, const char *name,
		       __u32 capacity, __u32 msg_max)
{
	pid_t pid = chan_fork();

	(void)self;
	if (pid == 0) {
		int ctl = drop_to(uid, uid);

		if (ctl < 0)
			_exit(100);
		_exit(-chan_create(ctl, name, capacity, msg_max, 0, 0));
	}
	return pid;
}

/* The -errno a helper's create returned (0 on success), or 1000+ on trouble. */
static int created_as(FIXTURE_DATA(control) *self, uid_t uid, const char *name,
		      __u32 capacity, __u32 msg_max)
{
	int status = chan_reap(create_as(self, uid, name, capacity, msg_max));

	if (!WIFEXITED(status) || WEXITSTATUS(status) == 100)
		return 1000 + status;
	return -WEXITSTATUS(status);
}

TEST_F(control, user_channel_quota_edquot)
{
	const char *a = extra_name(self), *b = extra_name(self), *c = extra_name(self);
	const char *d = extra_name(self);

	ASSERT_TRUE(self->params_saved);
	ASSERT_EQ(0, chan_limit_set("max_user", 2));
	EXPECT_EQ(0, created_as(self, 1000, a, 1, 1));
	EXPECT_EQ(0, created_as(self, 1000, b, 1, 1));
	EXPECT_EQ(-EDQUOT, created_as(self, 1000, c, 1, 1));
	EXPECT_FALSE(node_exists(c));
	/* Another user has a quota of its own. */
	EXPECT_EQ(0, created_as(self, 1001, c, 1, 1));
	/* Destroying one of 1000's gives it room again. */
	ASSERT_EQ(0, chan_destroy(self->ctl, a));
	EXPECT_EQ(0, created_as(self, 1000, d, 1, 1));
}

TEST_F(control, user_byte_quota_edquot)
{
	const char *a = extra_name(self), *b = extra_name(self), *c = extra_name(self);

	ASSERT_TRUE(self->params_saved);
	ASSERT_EQ(0, chan_limit_set("max_user_bytes", 10000));
	/* capacity x msg_max, exactly the quota */
	EXPECT_EQ(0, created_as(self, 1000, a, 10, 1000));
	/* An unbuffered channel counts as one message: max(capacity, 1). */
	EXPECT_EQ(-EDQUOT, created_as(self, 1000, b, 0, 1));
	EXPECT_FALSE(node_exists(b));
	ASSERT_EQ(0, chan_destroy(self->ctl, a));
	EXPECT_EQ(0, created_as(self, 1000, b, 0, 10000));
	EXPECT_EQ(-EDQUOT, created_as(self, 1000, c, 1, 1));
	/* msg_max 0 means 4096 bytes, and is charged as such. */
	ASSERT_EQ(0, chan_destroy(self->ctl, b));
	ASSERT_EQ(0, chan_limit_set("max_user_bytes", 2 * KCHAN_MSG_MAX_DEFAULT - 1));
	EXPECT_EQ(0, created_as(self, 1000, b, 1, 0));
	EXPECT_EQ(-EDQUOT, created_as(self, 1000, c, 1, 0));
}

/* A destroyed channel buffers nothing: its charge goes back at once. */
TEST_F(control, destroyed_but_open_channel_is_uncharged)
{
	const char *a = extra_name(self), *b = extra_name(self), *c = extra_name(self);
	char buf[8];
	int fd;

	ASSERT_TRUE(self->params_saved);
	ASSERT_EQ(0, chan_limit_set("max_user", 1));
	ASSERT_EQ(0, created_as(self, 1000, a, 1, 1));
	fd = chan_open(a, O_RDONLY | O_NONBLOCK);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, chan_destroy(self->ctl, a));
	EXPECT_EQ(0, created_as(self, 1000, b, 1, 1));
	EXPECT_EQ(-EDQUOT, created_as(self, 1000, c, 1, 1));
	EXPECT_EQ(-1, read(fd, buf, sizeof(buf)));
	EXPECT_EQ(ENODEV, errno);
	close(fd);
	/* The last close gives nothing back twice. */
	EXPECT_EQ(-EDQUOT, created_as(self, 1000, c, 1, 1));
}

TEST_HARNESS_MAIN
