// SPDX-License-Identifier: GPL-2.0
/*
 * kchanfs, the kchan filesystem (issue 14): the root of an instance and its
 * control node, channels as character-device inodes (owner, group, mode,
 * readdir, unlink = destroy with the name free at once), what another user
 * can (not) learn of a 0600 channel, instances of their own (names, limits,
 * mount options, remount), a mount in a user namespace, an instance
 * unmounted under an open channel, what the root refuses (mknod, O_CREAT,
 * mkdir, link, rename), and the fdinfo lines of a channel fd.
 *
 * Every instance a test mounts is on a mkdtemp() directory under /tmp and
 * is unmounted (lazily, so that even a test that failed with fds open
 * leaves nothing) and removed by the fixture's teardown.  Needs root.
 */
#include "chan_test.h"

#include <grp.h>
#include <sys/fsuid.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <linux/capability.h>
#include <sched.h>

#define UID_A	2001	/* unprivileged users for the helpers */
#define GID_A	2101
#define UID_B	2002
#define GID_B	2102
#define UID_C	2003
#define GID_C	2103

/* The host uids a user namespace's 0..NS_RANGE-1 map to. */
#define NS_BASE		200000
#define NS_RANGE	65536

#define MNT_MAX		6

/* What the driver-model kchan had, and must be gone. */
#define OLD_SYSFS_DIR	"/sys/class/chan"
#define MOD_PARAM_DIR	"/sys/module/kchan/parameters"

/* ----- instances ------------------------------------------------------ */

FIXTURE(fs) {
	char dir[MNT_MAX][64];		/* mkdtemp()s, unmounted and removed at teardown */
	int ndir;
	char host[8][KCHAN_NAME_MAX];	/* channels made in /dev/chan, destroyed at teardown */
	int nhost;
};

FIXTURE_SETUP(fs)
{
	self->ndir = 0;
	self->nhost = 0;
	if (geteuid() != 0)
		SKIP(return, "needs root");
	CHAN_SKIP_IF_ABSENT();
	chan_ignore(SIGPIPE);
}

FIXTURE_TEARDOWN(fs)
{
	int i, ctl = open(KCHAN_CONTROL_PATH, O_RDWR | O_CLOEXEC);

	for (i = 0; i < self->nhost; i++)
		if (ctl >= 0)
			chan_destroy(ctl, self->host[i]);
	if (ctl >= 0)
		close(ctl);
	for (i = 0; i < self->ndir; i++) {
		int n = 0;

		/* Stacked mounts (a remount test) come off one by one. */
		while (!umount2(self->dir[i], MNT_DETACH) && n++ < 8)
			;
		rmdir(self->dir[i]);
	}
}

/* A new empty directory under /tmp, removed at teardown; its index. */
static int fs_tmpdir(struct __test_metadata *_metadata, FIXTURE_DATA(fs) *self)
{
	char *dir;

	ASSERT_GT(MNT_MAX, self->ndir);
	dir = self->dir[self->ndir];
	snprintf(dir, sizeof(self->dir[0]), "/tmp/kchanfs-XXXXXX");
	ASSERT_NE(NULL, mkdtemp(dir)) TH_LOG("mkdtemp: %m");
	return self->ndir++;
}

/* mount -t kchan -o opts kchan dir: 0 or -errno */
static int fs_mount_at(const char *dir, const char *opts)
{
	return mount("kchan", dir, KCHAN_FS_TYPE, 0, opts) ? -errno : 0;
}

/* A new instance with opts (NULL: defaults); its mount point. */
static const char *fs_mount(struct __test_metadata *_metadata,
			    FIXTURE_DATA(fs) *self, const char *opts)
{
	int i = fs_tmpdir(_metadata, self);
	int ret = fs_mount_at(self->dir[i], opts);

	ASSERT_EQ(0, ret) TH_LOG("mount -t kchan -o %s: %s", opts ? opts : "", strerror(-ret));
	return self->dir[i];
}

/* A channel name in /dev/chan for this test, destroyed at teardown. */
static const char *fs_host_name(FIXTURE_DATA(fs) *self)
{
	char *name = self->host[self->nhost++];

	chan_make_name(name);
	return name;
}

static const char *at(char *buf, size_t len, const char *dir, const char *name)
{
	snprintf(buf, len, "%s/%s", dir, name);
	return buf;
}

#define AT(dir, name)	at((char[PATH_MAX]){ 0 }, PATH_MAX, (dir), (name))

/* The control node of the instance on dir: fd or -errno. */
static int ctl_at(const char *dir)
{
	int fd = open(AT(dir, KCHAN_CONTROL_NAME), O_RDWR | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

/* Create name in the instance on dir: 0 or -errno. */
static int create_at(const char *dir, const char *name, __u32 capacity,
		     __u32 msg_max, __u32 mode)
{
	int ctl = ctl_at(dir), ret;

	if (ctl < 0)
		return ctl;
	ret = chan_create(ctl, name, capacity, msg_max, mode, 0);
	close(ctl);
	return ret;
}

static int name_ioctl_at(const char *dir, unsigned long cmd, const char *name)
{
	int ctl = ctl_at(dir), ret;

	if (ctl < 0)
		return ctl;
	ret = chan_name_ioctl(ctl, cmd, name);
	close(ctl);
	return ret;
}

static int open_at(const char *dir, const char *name, int flags)
{
	int fd = open(AT(dir, name), flags | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

/* 0 or -errno of a system call's return */
#define ERR(call)	({ long __r = (long)(call); __r < 0 ? -errno : 0; })

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * The entries of dir but . and .., sorted, comma-separated, into out
 * ("!" and the errno if it cannot be read); the number of entries.  A
 * channel's or the control node's entry must be DT_CHR; one that is not is
 * listed with a "?" after it.
 */
static int list_dir(const char *dir, char *out, size_t outlen)
{
	static char *names[32768];
	size_t used = 0;
	struct dirent *e;
	int n = 0, i;
	DIR *d;

	out[0] = '\0';
	d = opendir(dir);
	if (!d) {
		snprintf(out, outlen, "!%s", strerror(errno));
		return -1;
	}
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (n == (int)(sizeof(names) / sizeof(names[0])))
			break;
		if (asprintf(&names[n], "%s%s", e->d_name, e->d_type == DT_CHR ? "" : "?") < 0)
			break;
		n++;
	}
	closedir(d);
	qsort(names, n, sizeof(names[0]), cmp_str);
	for (i = 0; i < n; i++) {
		int w = snprintf(out + used, used < outlen ? outlen - used : 0, "%s%s",
				 i ? "," : "", names[i]);

		if (w > 0)
			used += w;
		free(names[i]);
	}
	return n;
}

/* The options of the mount on dir in /proc/mounts, into buf: 0 or -ENOENT. */
static int mount_opts(const char *dir, char *fstype, char *buf, size_t len)
{
	char line[1024], dev[256], mnt[PATH_MAX], type[64], opts[512];
	FILE *f = fopen("/proc/mounts", "re");
	int ret = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%255s %4095s %63s %511s", dev, mnt, type, opts) != 4)
			continue;
		if (strcmp(mnt, dir))
			continue;
		/* The last one listed is the one on top. */
		if (fstype)
			strcpy(fstype, type);
		snprintf(buf, len, "%s", opts);
		ret = 0;
	}
	fclose(f);
	return ret;
}

/*
 * The kchan options of a mount's option string: what follows the VFS's
 * (rw/ro, relatime...), i.e. from the first "max".
 */
static const char *kchan_opts(const char *opts)
{
	const char *p = strstr(opts, ",max=");

	return p ? p + 1 : opts;
}

/* ----- helper processes with other credentials ------------------------ */

#define KID_UNSET	(-100000)
#define KID_R		32

/* What a helper reports, in shared memory: r[i] as the helper set them. */
struct kid {
	volatile int r[KID_R];
	char msg[256];
};

enum kid_cred {
	KID_AS_IS,	/* root, as the test */
	KID_USER,	/* setresgid/setresuid: every capability gone */
	KID_FSUID,	/* setfsgid/setfsuid only: CAP_SYS_ADMIN kept, CAP_FOWNER gone */
	KID_NOCAPS,	/* uid 0, no capability at all */
};

struct kid_as {
	enum kid_cred cred;
	uid_t uid;
	gid_t gid;
};

typedef void (*kid_fn)(struct kid *k, const void *arg);

static struct kid *kid_new(void)
{
	struct kid *k = mmap(NULL, sizeof(*k), PROT_READ | PROT_WRITE,
			     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	int i;

	if (k == MAP_FAILED)
		return NULL;
	for (i = 0; i < KID_R; i++)
		k->r[i] = KID_UNSET;
	k->msg[0] = '\0';
	return k;
}

static int drop_all_caps(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];

	memset(d, 0, sizeof(d));
	return syscall(SYS_capset, &h, d);
}

static int kid_become(const struct kid_as *as)
{
	switch (as->cred) {
	case KID_AS_IS:
		return 0;
	case KID_USER:
		if (setgroups(0, NULL) || setresgid(as->gid, as->gid, as->gid) ||
		    setresuid(as->uid, as->uid, as->uid))
			return -1;
		return 0;
	case KID_FSUID:
		setfsgid(as->gid);
		setfsuid(as->uid);
		return (int)setfsuid(-1) == (int)as->uid && (int)setfsgid(-1) == (int)as->gid ? 0 : -1;
	case KID_NOCAPS:
		return drop_all_caps();
	}
	return -1;
}

/* Run fn(k, arg) in a child with the credentials of as; its exit status. */
static int kid_run(const struct kid_as *as, kid_fn fn, const void *arg, struct kid *k)
{
	pid_t pid = fork();
	int status;

	if (pid < 0)
		return -1;
	if (pid == 0) {
		alarm(CHAN_CHILD_GUARD);
		if (kid_become(as))
			_exit(100);
		fn(k, arg);
		_exit(0);
	}
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static const struct kid_as as_a = { KID_USER, UID_A, GID_A };
static const struct kid_as as_b = { KID_USER, UID_B, GID_B };

/* Arguments of most helpers: an instance and names in it. */
struct kid_arg {
	const char *dir;
	const char *name;
	const char *name2;
	__u32 mode;
	__u32 capacity;
	__u32 msg_max;
	int n;
};

/* ----- the root and the control node ---------------------------------- */

TEST_F(fs, root_dir)
{
	char type[64], opts[512];
	struct stat st;
	const char *dir;

	ASSERT_EQ(0, stat(KCHAN_DEV_DIR, &st));
	EXPECT_TRUE(S_ISDIR(st.st_mode)) TH_LOG("mode %o", st.st_mode);
	EXPECT_EQ(0777, st.st_mode & 07777);
	EXPECT_EQ(0, st.st_uid);
	EXPECT_EQ(0, st.st_gid);
	ASSERT_EQ(0, mount_opts(KCHAN_DEV_DIR, type, opts, sizeof(opts)))
		TH_LOG(KCHAN_DEV_DIR " is not in /proc/mounts");
	EXPECT_STREQ(KCHAN_FS_TYPE, type);

	/* A new instance's root too. */
	dir = fs_mount(_metadata, self, NULL);
	ASSERT_EQ(0, stat(dir, &st));
	EXPECT_TRUE(S_ISDIR(st.st_mode));
	EXPECT_EQ(0777, st.st_mode & 07777);
	EXPECT_EQ(0, st.st_uid);
	EXPECT_EQ(0, st.st_gid);
}

/* No driver-model device, no sysfs, no per-instance module parameter. */
TEST_F(fs, no_device_model)
{
	EXPECT_EQ(-1, access(OLD_SYSFS_DIR, F_OK));
	EXPECT_EQ(ENOENT, errno);
	EXPECT_EQ(-1, access("/dev/chan-control", F_OK));
	EXPECT_EQ(ENOENT, errno);
	EXPECT_EQ(-1, access(MOD_PARAM_DIR "/max_channels", F_OK));
	EXPECT_EQ(ENOENT, errno);
	EXPECT_EQ(-1, access(MOD_PARAM_DIR "/max_user_channels", F_OK));
	EXPECT_EQ(ENOENT, errno);
	EXPECT_EQ(-1, access(MOD_PARAM_DIR "/max_user_bytes", F_OK));
	EXPECT_EQ(ENOENT, errno);
	EXPECT_EQ(0, access(MOD_PARAM_DIR "/max_capacity", F_OK));
	EXPECT_EQ(0, access(MOD_PARAM_DIR "/max_msg_size", F_OK));
}

static void kid_unlink_control(struct kid *k, const void *varg)
{
	const struct kid_arg *a = varg;

	k->r[0] = ERR(unlink(AT(a->dir, KCHAN_CONTROL_NAME)));
	k->r[1] = ERR(rename(AT(a->dir, KCHAN_CONTROL_NAME), AT(a->dir, "ctl2")));
}

TEST_F(fs, control_node)
{
	const char *dir = fs_mount(_metadata, self, NULL);
	struct kid_arg arg = { .dir = dir };
	char list[256];
	struct stat st;
	struct kid *k;
	int ctl;

	ASSERT_EQ(0, lstat(KCHAN_CONTROL_PATH, &st));
	EXPECT_TRUE(S_ISCHR(st.st_mode)) TH_LOG("mode %o", st.st_mode);
	EXPECT_EQ(0666, st.st_mode & 07777);
	EXPECT_EQ(0, st.st_uid);
	EXPECT_EQ(0, st.st_gid);

	ASSERT_EQ(0, lstat(AT(dir, KCHAN_CONTROL_NAME), &st));
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	EXPECT_EQ(0666, st.st_mode & 07777);

	/* It cannot go, not even for root, and cannot be renamed or linked. */
	EXPECT_EQ(-EPERM, ERR(unlink(AT(dir, KCHAN_CONTROL_NAME))));
	EXPECT_EQ(-EPERM, ERR(unlink(KCHAN_CONTROL_PATH)));
	EXPECT_EQ(-EPERM, ERR(rename(AT(dir, KCHAN_CONTROL_NAME), AT(dir, "ctl2"))));
	EXPECT_EQ(-EPERM, ERR(link(AT(dir, KCHAN_CONTROL_NAME), AT(dir, "ctl2"))));
	k = kid_new();
	ASSERT_NE(NULL, k);
	ASSERT_EQ(0, kid_run(&as_a, kid_unlink_control, &arg, k));
	EXPECT_EQ(-EPERM, k->r[0]);
	EXPECT_EQ(-EPERM, k->r[1]);

	/* No channel can take its name, and the name ioctls do not reach it. */
	ctl = ctl_at(dir);
	ASSERT_LE(0, ctl);
	EXPECT_EQ(-EINVAL, chan_create(ctl, KCHAN_CONTROL_NAME, 1, 0, 0, 0));
	EXPECT_EQ(-EINVAL, chan_destroy(ctl, KCHAN_CONTROL_NAME));
	EXPECT_EQ(-EINVAL, chan_close_name(ctl, KCHAN_CONTROL_NAME));
	/* Still there and working. */
	EXPECT_EQ(0, chan_create(ctl, "a", 1, 0, 0, 0));
	close(ctl);
	EXPECT_EQ(2, list_dir(dir, list, sizeof(list)));
	EXPECT_STREQ(".control,a", list);
}

/* ----- channels as nodes ---------------------------------------------- */

static void kid_create(struct kid *k, const void *varg)
{
	const struct kid_arg *a = varg;

	k->r[0] = create_at(a->dir, a->name, a->capacity, a->msg_max, a->mode);
	if (a->name2)
		k->r[1] = create_at(a->dir, a->name2, a->capacity, a->msg_max, a->mode);
}

TEST_F(fs, create_makes_node)
{
	const char *dir = fs_mount(_metadata, self, NULL);
	struct kid_arg arg = { .dir = dir, .name = "usr", .mode = 0604 };
	struct kid_as as_fs = { KID_FSUID, UID_C, GID_C };
	struct stat st, st2;
	struct kid *k;

	ASSERT_EQ(0, create_at(dir, "dflt", 0, 0, 0));
	ASSERT_EQ(0, lstat(AT(dir, "dflt"), &st));
	EXPECT_TRUE(S_ISCHR(st.st_mode)) TH_LOG("mode %o", st.st_mode);
	EXPECT_EQ(0600, st.st_mode & 07777);
	EXPECT_EQ(0, st.st_uid);
	EXPECT_EQ(0, st.st_gid);
	EXPECT_EQ(0, st.st_size);

	/* The mode as asked, no umask applied. */
	umask(022);
	ASSERT_EQ(0, create_at(dir, "all", 4, 16, 0777));
	ASSERT_EQ(0, lstat(AT(dir, "all"), &st2));
	EXPECT_TRUE(S_ISCHR(st2.st_mode));
	EXPECT_EQ(0777, st2.st_mode & 07777);
	EXPECT_NE(st.st_rdev, st2.st_rdev);
	EXPECT_NE(st.st_ino, st2.st_ino);
	EXPECT_EQ(major(st.st_rdev), major(st2.st_rdev));

	/* Only permission bits, and a name once. */
	EXPECT_EQ(-EINVAL, create_at(dir, "sticky", 0, 0, 01600));
	EXPECT_EQ(-EINVAL, create_at(dir, "setuid", 0, 0, 04600));
	EXPECT_EQ(-EEXIST, create_at(dir, "all", 0, 0, 0));
	EXPECT_EQ(-ENOENT, ERR(lstat(AT(dir, "sticky"), &st)));

	/* Another user's channel is that user's: uid, gid, mode. */
	k = kid_new();
	ASSERT_NE(NULL, k);
	ASSERT_EQ(0, kid_run(&as_a, kid_create, &arg, k));
	ASSERT_EQ(0, k->r[0]);
	ASSERT_EQ(0, lstat(AT(dir, "usr"), &st));
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	EXPECT_EQ(0604, st.st_mode & 07777);
	EXPECT_EQ(UID_A, st.st_uid);
	EXPECT_EQ(GID_A, st.st_gid);

	/* The owner is the fsuid/fsgid, not the euid. */
	arg.name = "fsu";
	arg.mode = 0;
	ASSERT_EQ(0, kid_run(&as_fs, kid_create, &arg, k));
	ASSERT_EQ(0, k->r[0]);
	ASSERT_EQ(0, lstat(AT(dir, "fsu"), &st));
	EXPECT_EQ(0600, st.st_mode & 07777);
	EXPECT_EQ(UID_C, st.st_uid);
	EXPECT_EQ(GID_C, st.st_gid);
}

/*
 * The shell's promise: `echo hi > /dev/chan/x` is one message.  stdio
 * sizes its buffer by st_blksize; a node reporting 1 (a super block
 * without a block size) made every byte a message of its own.
 */
TEST_F(fs, stdio_write_is_one_message)
{
	const char *dir = fs_mount(_metadata, self, NULL);
	struct kchan_info info = { .size = sizeof(info) };
	char buf[64];
	struct stat st;
	FILE *f;
	int fd;

	ASSERT_EQ(0, create_at(dir, "sh", 4, 0, 0));
	ASSERT_EQ(0, stat(AT(dir, "sh"), &st));
	EXPECT_EQ(sysconf(_SC_PAGESIZE), st.st_blksize);
	fd = open_at(dir, "sh", O_RDONLY | O_NONBLOCK);
	ASSERT_LE(0, fd);
	f = fopen(AT(dir, "sh"), "w");
	ASSERT_NE(NULL, f);
	EXPECT_EQ(12, fprintf(f, "hello there\n"));
	EXPECT_EQ(0, fclose(f));
	ASSERT_EQ(0, chan_info(fd, &info));
	EXPECT_EQ(1, info.length);
	EXPECT_EQ(12, read(fd, buf, sizeof(buf)));
	EXPECT_EQ(0, memcmp(buf, "hello there\n", 12));
	close(fd);
}

TEST_F(fs, readdir_exact)
{
	const char *dir = fs_mount(_metadata, self, NULL);
	char list[512];
	int fd;

	EXPECT_EQ(1, list_dir(dir, list, sizeof(list)));
	EXPECT_STREQ(".control", list);

	ASSERT_EQ(0, create_at(dir, "e", 0, 0, 0));
	ASSERT_EQ(0, create_at(dir, "b", 1, 0, 0644));
	ASSERT_EQ(0, create_at(dir, "d.x-1_Y", 2, 64, 0));
	ASSERT_EQ(0, create_at(dir, "a", 0, 0, 0));
	ASSERT_EQ(0, create_at(dir, "c", 0, 0, 0));
	EXPECT_EQ(-EEXIST, create_at(dir, "c", 0, 0, 0));
	EXPECT_EQ(6, list_dir(dir, list, sizeof(list)));
	EXPECT_STREQ(".control,a,b,c,d.x-1_Y,e", list);

	/* Gone by ioctl, by unlink, and a destroyed one still open. */
	fd = open_at(dir, "b", O_RDWR);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, name_ioctl_at(dir, KCHAN_IOC_DESTROY, "e"));
	EXPECT_EQ(0, unlink(AT(dir, "a")));
	EXPECT_EQ(0, unlink(AT(dir, "b")));
	EXPECT_EQ(3, list_dir(dir, list, sizeof(list)));
	EXPECT_STREQ(".control,c,d.x-1_Y", list);
	close(fd);
	EXPECT_EQ(3, list_dir(dir, list, sizeof(list)));
	EXPECT_STREQ(".control,c,d.x-1_Y", list);

	/* Closed (Go's close()) is not destroyed: still listed. */
	EXPECT_EQ(0, name_ioctl_at(dir, KCHAN_IOC_CLOSE_NAME, "c"));
	EXPECT_EQ(3, list_dir(dir, list, sizeof(list)));
	EXPECT_STREQ(".control,c,d.x-1_Y", list);

	/* The host's /dev/chan does not list this instance's channels. */
	EXPECT_EQ(-1, access(KCHAN_DEV_DIR "/d.x-1_Y", F_OK));
}

TEST_F(fs, unlink_destroys)
{
	const char *dir = fs_mount(_metadata, self, NULL);
	struct kchan_info io, in;
	char buf[64];
	int old, ro, neu;

	ASSERT_EQ(0, create_at(dir, "a", 4, 0, 0));
	old = open_at(dir, "a", O_RDWR | O_NONBLOCK);
	ASSERT_LE(0, old);
	ro = open_at(dir, "a", O_RDONLY);
	ASSERT_LE(0, ro);
	ASSERT_EQ(3, write(old, "old", 3));
	ASSERT_EQ(4, write(old, "left", 4));
	ASSERT_EQ(3, read(old, buf, sizeof(buf)));

	ASSERT_EQ(0, unlink(AT(dir, "a")));
	EXPECT_EQ(-1, read(old, buf, sizeof(buf)));
	EXPECT_EQ(ENODEV, errno);
	EXPECT_EQ(-1, read(ro, buf, sizeof(buf)));	/* does not block */
	EXPECT_EQ(ENODEV, errno);
	EXPECT_EQ(-1, write(old, "x", 1));
	EXPECT_EQ(ENODEV, errno);
	ASSERT_EQ(0, chan_info(old, &io));
	EXPECT_TRUE(io.state & KCHAN_STATE_DESTROYED);
	EXPECT_EQ(0, io.length);	/* "left" went with it */
	EXPECT_EQ(-ENOENT, ERR(access(AT(dir, "a"), F_OK)));
	EXPECT_EQ(-ENOENT, name_ioctl_at(dir, KCHAN_IOC_DESTROY, "a"));
	EXPECT_EQ(-ENOENT, name_ioctl_at(dir, KCHAN_IOC_CLOSE_NAME, "a"));
	EXPECT_EQ(-ENOENT, ERR(unlink(AT(dir, "a"))));
	EXPECT_EQ(-ENODEV, chan_ioctl(old, KCHAN_IOC_CLOSE, NULL));

	/* The name is free at once, old fds open; the two never mix. */
	ASSERT_EQ(0, create_at(dir, "a", 4, 0, 0));
	neu = open_at(dir, "a", O_RDWR | O_NONBLOCK);
	ASSERT_LE(0, neu);
	ASSERT_EQ(0, chan_info(neu, &in));
	EXPECT_NE(io.id, in.id);
	EXPECT_EQ(0, in.state);
	EXPECT_EQ(0, in.sent);
	EXPECT_EQ(0, in.length);
	EXPECT_EQ(1, in.readers);	/* neu only: ro is the old one's */
	EXPECT_EQ(1, in.writers);
	ASSERT_EQ(3, write(neu, "new", 3));
	EXPECT_EQ(-1, read(old, buf, sizeof(buf)));
	EXPECT_EQ(ENODEV, errno);
	EXPECT_EQ(-1, read(ro, buf, sizeof(buf)));
	EXPECT_EQ(ENODEV, errno);
	memset(buf, 0, sizeof(buf));
	EXPECT_EQ(3, read(neu, buf, sizeof(buf)));
	EXPECT_STREQ("new", buf);
	ASSERT_EQ(0, chan_info(old, &io));
	EXPECT_EQ(0, io.length);
	EXPECT_EQ(2, io.sent);
	EXPECT_EQ(2, io.readers);
	ASSERT_EQ(0, chan_info(neu, &in));
	EXPECT_EQ(1, in.sent);
	EXPECT_EQ(1, in.received);
	/* And again, by the ioctl, with the second generation's fd open too. */
	ASSERT_EQ(0, name_ioctl_at(dir, KCHAN_IOC_DESTROY, "a"));
	ASSERT_EQ(0, create_at(dir, "a", 4, 0, 0));
	EXPECT_EQ(-1, write(neu, "x", 1));
	EXPECT_EQ(ENODEV, errno);
	close(old);
	close(ro);
	close(neu);
	EXPECT_EQ(0, access(AT(dir, "a"), F_OK));
}

TEST_F(fs, unlink_wakes_blocked)
{
	const char *dir = fs_mount(_metadata, self, NULL);
	struct chan_io *r, *w;
	pid_t rp, wp;
	int fd, fd0;

	ASSERT_EQ(0, create_at(dir, "rd", 1, 0, 0));
	ASSERT_EQ(0, create_at(dir, "wr", 0, 0, 0));
	fd = open_at(dir, "rd", O_RDWR);
	ASSERT_LE(0, fd);
	fd0 = open_at(dir, "wr", O_RDWR);
	ASSERT_LE(0, fd0);
	r = chan_blocked_reader(_metadata, fd, 64, &rp);
	w = chan_blocked_writer(_metadata, fd0, "msg", &wp);
	EXPECT_EQ(0, unlink(AT(dir, "rd")));
	EXPECT_EQ(0, unlink(AT(dir, "wr")));
	ASSERT_EQ(0, chan_reap(rp));
	ASSERT_EQ(0, chan_reap(wp));
	EXPECT_EQ(-1, r->ret);
	EXPECT_EQ(ENODEV, r->err);
	EXPECT_EQ(-1, w->ret);
	EXPECT_EQ(ENODEV, w->err);
	close(fd);
	close(fd0);
}

static void kid_destroy_ops(struct kid *k, const void *varg)
{
	const struct kid_arg *a = varg;

	k->r[0] = ERR(unlink(AT(a->dir, a->name)));
	k->r[1] = name_ioctl_at(a->dir, KCHAN_IOC_DESTROY, a->name);
	k->r[2] = name_ioctl_at(a->dir, KCHAN_IOC_CLOSE_NAME, a->name);
	k->r[3] = ERR(rename(AT(a->dir, a->name), AT(a->dir, "renamed")));
}

static void kid_unlink(struct kid *k, const void *varg)
{
	const struct kid_arg *a = varg;

	k->r[0] = ERR(unlink(AT(a->dir, a->name)));
}

static void kid_destroy(struct kid *k, const void *varg)
{
	const struct kid_arg *a = varg;

	k->r[0] = name_ioctl_at(a->dir, KCHAN_IOC_DESTROY, a->name);
}

TEST_F(fs, unlink_permissions)
{
	const char *dir = fs_mount(_metadata, self, NULL);
	struct kid_arg arg = { .dir = dir, .mode = 0666 };
	struct kchan_info info;
	struct kid *k = kid_new();
	int fd;

	ASSERT_NE(NULL, k);
	/* Root's channel, open to all: another user can use it, not remove it. */
	ASSERT_EQ(0, create_at(dir, "r", 1, 0, 0666));
	arg.name = "r";
	ASSERT_EQ(0, kid_run(&as_a, kid_destroy_ops, &arg, k));
	EXPECT_EQ(-EPERM, k->r[0]);
	EXPECT_EQ(-EPERM, k->r[1]);
	EXPECT_EQ(-EPERM, k->r[2]);
	EXPECT_EQ(-EPERM, k->r[3]);
	fd = open_at(dir, "r", O_RDWR | O_NONBLOCK);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, chan_info(fd, &info));
	EXPECT_EQ(0, info.state);	/* neither closed nor destroyed */
	close(fd);

	/* A's channel: B may not, A may. */
	arg.name = "u";
	ASSERT_EQ(0, kid_run(&as_a, kid_create, &arg, k));
	ASSERT_EQ(0, k->r[0]);
	ASSERT_EQ(0, kid_run(&as_b, kid_destroy_ops, &arg, k));
	EXPECT_EQ(-EPERM, k->r[0]);
	EXPECT_EQ(-EPERM, k->r[1]);
	EXPECT_EQ(-EPERM, k->r[2]);
	EXPECT_EQ(-EPERM, k->r[3]);
	EXPECT_EQ(0, access(AT(dir, "u"), F_OK));
	ASSERT_EQ(0, kid_run(&as_a, kid_unlink, &arg, k));
	EXPECT_EQ(0, k->r[0]);
	EXPECT_EQ(-1, access(AT(dir, "u"), F_OK));

	/* A by DESTROY, and CLOSE_NAME of its own. */
	arg.name = "u2";
	ASSERT_EQ(0, kid_run(&as_a, kid_create, &arg, k));
	ASSERT_EQ(0, k->r[0]);
	ASSERT_EQ(0, kid_run(&as_a, kid_destroy, &arg, k));
	EXPECT_EQ(0, k->r[0]);
	EXPECT_EQ(-1, access(AT(dir, "u2"), F_OK));

	/* Root may remove anybody's, both ways. */
	arg.name = "v";
	arg.name2 = "w";
	ASSERT_EQ(0, kid_run(&as_a, kid_create, &arg, k));
	ASSERT_EQ(0, k->r[0]);
	ASSERT_EQ(0, k->r[1]);
	EXPECT_EQ(0, unlink(AT(dir, "v")));
	EXPECT_EQ(0, name_ioctl_at(dir, KCHAN_IOC_DESTROY, "w"));
	EXPECT_EQ(-1, access(AT(dir, "v"), F_OK));
	EXPECT_EQ(-1, access(AT(dir, "w"), F_OK));

	/* The same in /dev/chan: another user cannot remove root's channel. */
	arg.dir = KCHAN_DEV_DIR;
	arg.name = fs_host_name(self);
	ASSERT_EQ(0, create_at(KCHAN_DEV_DIR, arg.name, 0, 0, 0666));
	ASSERT_EQ(0, kid_run(&as_b, kid_destroy_ops, &arg, k));
	EXPECT_EQ(-EPERM, k->r[0]);
	EXPECT_EQ(-EPERM, k->r[1]);
	EXPECT_EQ(-EPERM, k->r[2]);
	EXPECT_EQ(-EPERM, k->r[3]);
	EXPECT_EQ(0, unlink(AT(KCHAN_DEV_DIR, arg.name)));
}

/*
 * unlink() and KCHAN_IOC_DESTROY are the same destroy (kchan(7), the spec:
 * "owner, or CAP_SYS_ADMIN in the mount's user namespace; EPERM
 * otherwise"), so one credential gets the same answer from both: a
 * process with CAP_SYS_ADMIN but another fsuid (CAP_FOWNER gone) may do
 * both; uid 0 without any capability (the root directory's owner, but
 * neither the channel's owner nor CAP_SYS_ADMIN) may do neither.
 */
TEST_F(fs, unlink_same_rights_as_destroy)
{
	const char *dir = fs_mount(_metadata, self, NULL);
	struct kid_as as_fs = { KID_FSUID, UID_C, GID_C };
	struct kid_as as_nocaps = { KID_NOCAPS, 0, 0 };
	struct kid_arg arg = { .dir = dir, .name = "x1", .name2 = "x2" };
	struct kid *k = kid_new();
	int ru, rd;

	ASSERT_NE(NULL, k);
	ASSERT_EQ(0, kid_run(&as_a, kid_create, &arg, k));
	ASSERT_EQ(0, k->r[0]);
	ASSERT_EQ(0, k->r[1]);
	arg.name = "x1";
	ASSERT_EQ(0, kid_run(&as_fs, kid_unlink, &arg, k));
	ru = k->r[0];
	arg.name = "x2";
	ASSERT_EQ(0, kid_run(&as_fs, kid_destroy, &arg, k));
	rd = k->r[0];
	EXPECT_EQ(0, rd) TH_LOG("CAP_SYS_ADMIN, fsuid %d: DESTROY %s", UID_C, strerror(-rd));
	EXPECT_EQ(rd, ru) TH_LOG("CAP_SYS_ADMIN, fsuid %d: DESTROY %s but unlink %s",
				 UID_C, strerror(-rd), strerror(-ru));

	arg.name = "y1";
	arg.name2 = "y2";
	ASSERT_EQ(0, kid_run(&as_a, kid_create, &arg, k));
	ASSERT_EQ(0, k->r[0]);
	ASSERT_EQ(0, k->r[1]);
	arg.name = "y1";
	ASSERT_EQ(0, kid_run(&as_nocaps, kid_unlink, &arg, k));
	ru = k->r[0];
	arg.name = "y2";
	ASSERT_EQ(0, kid_run(&as_nocaps, kid_destroy, &arg, k));
	rd = k->r[0];
	EXPECT_EQ(-EPERM, rd) TH_LOG("uid 0 without capabilities: DESTROY %s", strerror(-rd));
	EXPECT_EQ(rd, ru) TH_LOG("uid 0 without capabilities: DESTROY %s but unlink %s",
				 strerror(-rd), strerror(-ru));
}

/* ----- what another user learns of a 0600 channel --------------------- */

struct kid_peek {
	const char *path;
	pid_t owner;
	int owner_fd;
};

static void kid_peek(struct kid *k, const void *varg)
{
	const struct kid_peek *a = varg;
	char path[PATH_MAX], buf[4096];
	struct kchan_info info;
	ssize_t n;
	int fd;

	k->r[0] = ERR(open(a->path, O_RDONLY));
	k->r[1] = ERR(open(a->path, O_WRONLY));
	k->r[2] = ERR(open(a->path, O_RDWR | O_NONBLOCK));
	/* O_PATH needs no permission on the node, and gives nothing either. */
	fd = open(a->path, O_PATH);
	k->r[3] = fd < 0 ? -errno : 0;
	if (fd >= 0) {
		memset(&info, 0, sizeof(info));
		info.size = sizeof(info);
		k->r[4] = ERR(ioctl(fd, KCHAN_IOC_INFO, &info));
		snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
		n = chan_read_file(path, buf, sizeof(buf));
		k->r[5] = n < 0 ? (int)n : !!strstr(buf, "kchan-id");
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		k->r[6] = ERR(open(path, O_RDONLY));
		k->r[7] = ERR(read(fd, buf, 1));
		close(fd);
	}
	/* The owner's fd, through /proc. */
	snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", (int)a->owner, a->owner_fd);
	n = chan_read_file(path, buf, sizeof(buf));
	k->r[8] = n < 0 ? (int)n : 0;
	snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)a->owner, a->owner_fd);
	k->r[9] = ERR(open(path, O_RDONLY));
	k->r[10] = ERR(access(OLD_SYSFS_DIR, F_OK));
}

TEST_F(fs, counters_not_leaked)
{
	const char *name = fs_host_name(self);
	struct kid_peek arg;
	char path[PATH_MAX];
	struct stat st;
	struct kid *k = kid_new();
	int fd;

	ASSERT_NE(NULL, k);
	ASSERT_EQ(0, create_at(KCHAN_DEV_DIR, name, 4, 0, 0600));
	fd = open_at(KCHAN_DEV_DIR, name, O_RDWR | O_NONBLOCK);
	ASSERT_LE(0, fd);
	ASSERT_EQ(6, write(fd, "secret", 6));
	ASSERT_EQ(0, stat(at(path, sizeof(path), KCHAN_DEV_DIR, name), &st));
	EXPECT_EQ(0, st.st_size);	/* no length in the inode */

	arg.path = path;
	arg.owner = getpid();
	arg.owner_fd = fd;
	ASSERT_EQ(0, kid_run(&as_a, kid_peek, &arg, k));
	EXPECT_EQ(-EACCES, k->r[0]);
	EXPECT_EQ(-EACCES, k->r[1]);
	EXPECT_EQ(-EACCES, k->r[2]);
	EXPECT_EQ(0, k->r[3]);
	EXPECT_EQ(-EBADF, k->r[4]);
	EXPECT_EQ(0, k->r[5]) TH_LOG("an O_PATH fd's fdinfo shows the counters");
	EXPECT_EQ(-EACCES, k->r[6]);
	EXPECT_EQ(-EBADF, k->r[7]);
	EXPECT_EQ(-EACCES, k->r[8]);
	EXPECT_EQ(-EACCES, k->r[9]);
	EXPECT_EQ(-ENOENT, k->r[10]);

	/* The message was not taken by anybody. */
	EXPECT_EQ(1, chan_len(fd));
	close(fd);
}

/*
 * An O_PATH fd (no permission on the node needed) of a destroyed channel:
 * reopening it through /proc reaches the dead channel (ENODEV), never the
 * new one of the same name.
 */
TEST_F(fs, reopen_of_destroyed_node)
{
	const char *dir = fs_mount(_metadata, self, NULL);
	struct kchan_info info, neu_info;
	char path[64];
	int opath, fd, neu;

	ASSERT_EQ(0, create_at(dir, "p", 1, 0, 0));
	opath = open(AT(dir, "p"), O_PATH | O_CLOEXEC);
	ASSERT_LE(0, opath);
	fd = open_at(dir, "p", O_RDWR | O_NONBLOCK);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, chan_info(fd, &info));
	close(fd);
	ASSERT_EQ(0, unlink(AT(dir, "p")));
	ASSERT_EQ(0, create_at(dir, "p", 1, 0, 0));
	neu = open_at(dir, "p", O_RDWR | O_NONBLOCK);
	ASSERT_LE(0, neu);
	ASSERT_EQ(0, chan_info(neu, &neu_info));
	EXPECT_NE(info.id, neu_info.id);

	snprintf(path, sizeof(path), "/proc/self/fd/%d", opath);
	fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	EXPECT_EQ(-1, fd);
	EXPECT_EQ(ENODEV, errno);
	if (fd >= 0) {
		ASSERT_EQ(0, chan_info(fd, &info));
		EXPECT_NE(neu_info.id, info.id) TH_LOG("reopened the old node, got the new channel");
		close(fd);
	}
	ASSERT_EQ(0, chan_info(neu, &neu_info));
	EXPECT_EQ(1, neu_info.readers);
	close(neu);
	close(opath);
}

struct kid_opath {
	const char *path;
	int go[2];		/* parent -> child: let go */
	int ready[2];		/* child -> parent: holding it */
};

static void kid_hold_opath(struct kid *k, const void *varg)
{
	const struct kid_opath *a = varg;
	char c = 0;
	int fd;

	close(a->go[1]);
	close(a->ready[0]);
	fd = open(a->path, O_PATH);
	k->r[0] = fd < 0 ? -errno : 0;
	if (write(a->ready[1], &c, 1) != 1)
		return;
	if (read(a->go[0], &c, 1) < 0)
		k->r[1] = -errno;
	if (fd >= 0)
		close(fd);
}

/*
 * A user with no access to a channel (an O_PATH fd needs none) must not
 * keep its owner from creating again once the owner destroyed it: as
 * issue 14 says of names, a user who may not even read a channel cannot
 * stop its owner from re-creating it.  With max_user=1, the owner's second
 * create after the destroy must succeed while the O_PATH fd is held.
 */
TEST_F(fs, opath_holder_pins_no_quota)
{
	const char *dir = fs_mount(_metadata, self, "max_user=1");
	struct kid_arg arg = { .dir = dir, .name = "q", .mode = 0600 };
	struct kid_opath hold;
	struct kid *k = kid_new(), *kh = kid_new();
	char path[PATH_MAX], c;
	pid_t pid;
	int status;

	ASSERT_NE(NULL, k);
	ASSERT_NE(NULL, kh);
	ASSERT_EQ(0, kid_run(&as_a, kid_create, &arg, k));
	ASSERT_EQ(0, k->r[0]);
	hold.path = at(path, sizeof(path), dir, "q");
	ASSERT_EQ(0, pipe(hold.go));
	ASSERT_EQ(0, pipe(hold.ready));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		alarm(CHAN_CHILD_GUARD);
		if (kid_become(&as_b))
			_exit(100);
		kid_hold_opath(kh, &hold);
		_exit(0);
	}
	close(hold.go[0]);
	close(hold.ready[1]);
	ASSERT_EQ(1, read(hold.ready[0], &c, 1));
	ASSERT_EQ(0, kh->r[0]) TH_LOG("B's O_PATH open: %s", strerror(-kh->r[0]));

	/* A destroys its channel and makes it again, B's O_PATH fd held. */
	ASSERT_EQ(0, kid_run(&as_a, kid_unlink, &arg, k));
	ASSERT_EQ(0, k->r[0]);
	ASSERT_EQ(0, kid_run(&as_a, kid_create, &arg, k));
	EXPECT_EQ(0, k->r[0]) TH_LOG("A's create after its destroy, B holding an O_PATH fd: %s",
				     strerror(-k->r[0]));
	ASSERT_EQ(1, write(hold.go[1], "g", 1));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(0, status);
	close(hold.go[1]);
	close(hold.ready[0]);
}

/* ----- the node's owner and mode are the inode's ----------------------- */

static void kid_open_rd(struct kid *k, const void *varg)
{
	const struct kid_arg *a = varg;
	int fd = open_at(a->dir, a->name, O_RDONLY | O_NONBLOCK);

	k->r[0] = fd < 0 ? fd : 0;
	if (fd >= 0)
		close(fd);
	fd = open_at(a->dir, a->name, O_WRONLY | O_NONBLOCK);
	k->r[1] = fd < 0 ? fd : 0;
	if (fd >= 0)
		close(fd);
}

static void kid_chmod(struct kid *k, const void *varg)
{
	const struct kid_arg *a = varg;

	k->r[0] = ERR(chmod(AT(a->dir, a->name), a->mode));
}

TEST_F(fs, chmod_chown)
{
	const char *dir = fs_mount(_metadata, self, NULL);
	struct kid_arg arg = { .dir = dir, .name = "m", .mode = 0600 };
	struct kid *k = kid_new();
	struct stat st;

	ASSERT_NE(NULL, k);
	ASSERT_EQ(0, kid_run(&as_a, kid_create, &arg, k));
	ASSERT_EQ(0, k->r[0]);
	ASSERT_EQ(0, kid_run(&as_b, kid_open_rd, &arg, k));
	EXPECT_EQ(-EACCES, k->r[0]);
	EXPECT_EQ(-EACCES, k->r[1]);
	/* B may not chmod A's channel; A may. */
	arg.mode = 0666;
	ASSERT_EQ(0, kid_run(&as_b, kid_chmod, &arg, k));
	EXPECT_EQ(-EPERM, k->r[0]);
	arg.mode = 0640;
	ASSERT_EQ(0, kid_run(&as_a, kid_chmod, &arg, k));
	EXPECT_EQ(0, k->r[0]);
	ASSERT_EQ(0, stat(AT(dir, "m"), &st));
	EXPECT_EQ(S_IFCHR | 0640, st.st_mode);
	/* Group B reads, others do not: chgrp by root. */
	ASSERT_EQ(0, chown(AT(dir, "m"), -1, GID_B));
	ASSERT_EQ(0, kid_run(&as_b, kid_open_rd, &arg, k));
	EXPECT_EQ(0, k->r[0]);
	EXPECT_EQ(-EACCES, k->r[1]);
	/* chown to B: B is the owner now, and may remove it; A not. */
	ASSERT_EQ(0, chown(AT(dir, "m"), UID_B, -1));
	ASSERT_EQ(0, stat(AT(dir, "m"), &st));
	EXPECT_EQ(UID_B, st.st_uid);
	EXPECT_EQ(GID_B, st.st_gid);
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	ASSERT_EQ(0, kid_run(&as_a, kid_unlink, &arg, k));
	EXPECT_EQ(-EPERM, k->r[0]);
	ASSERT_EQ(0, kid_run(&as_b, kid_unlink, &arg, k));
	EXPECT_EQ(0, k->r[0]);
	EXPECT_EQ(-1, access(AT(dir, "m"), F_OK));
}

/* ----- no uevent, and one instance cannot exhaust another -------------- */

static void kid_churn(struct kid *k, const void *varg)
{
	const struct kid_arg *a = varg;
	char name[KCHAN_NAME_MAX];
	int i, bad = 0, ctl, fill = 0;

	ctl = ctl_at(a->dir);
	if (ctl < 0) {
		k->r[0] = ctl;
		return;
	}
	for (i = 0; i < a->n; i++) {
		snprintf(name, sizeof(name), "churn-%d", i % 7);
		bad += chan_create(ctl, name, 1, 0, 0, 0) != 0;
		bad += i & 1 ? chan_destroy(ctl, name) != 0 : unlink(AT(a->dir, name)) != 0;
	}
	k->r[0] = bad;
	/* Then fill the instance up. */
	for (i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "fill-%d", i);
		k->r[1] = chan_create(ctl, name, 1, 0, 0, 0);
		if (k->r[1])
			break;
		fill++;
	}
	k->r[2] = fill;
	close(ctl);
	/* Another instance is not full. */
	if (a->name)
		k->r[3] = create_at(a->name, "mine", 0, 0, 0);
}

static long long uevent_seqnum(void)
{
	char buf[32];

	if (chan_read_file("/sys/kernel/uevent_seqnum", buf, sizeof(buf)) < 0)
		return -1;
	return strtoll(buf, NULL, 10);
}

TEST_F(fs, no_uevents_no_exhaustion)
{
	const char *dir = fs_mount(_metadata, self, "max=5");
	const char *other = fs_mount(_metadata, self, NULL);
	struct kid_arg arg = { .dir = dir, .name = other, .n = 200 };
	struct kid *k = kid_new();
	long long before, after;

	ASSERT_NE(NULL, k);
	before = uevent_seqnum();
	if (before < 0)
		SKIP(return, "no /sys/kernel/uevent_seqnum");
	ASSERT_EQ(0, kid_run(&as_a, kid_churn, &arg, k));
	after = uevent_seqnum();
	EXPECT_EQ(0, k->r[0]) TH_LOG("%d create/destroy steps failed", k->r[0]);
	EXPECT_EQ(-ENOSPC, k->r[1]);
	EXPECT_EQ(5, k->r[2]);
	EXPECT_EQ(0, k->r[3]);
	EXPECT_EQ(before, after) TH_LOG("%lld uevents during %d creates and destroys",
					after - before, arg.n);
	/* Root cannot create in the full instance either, but can elsewhere. */
	EXPECT_EQ(-ENOSPC, create_at(dir, "root", 0, 0, 0));
	EXPECT_EQ(0, create_at(other, "root", 0, 0, 0));
	/* And the same in /dev/chan: the user's churn there makes no uevent. */
	arg.dir = KCHAN_DEV_DIR;
	arg.name = NULL;
	arg.n = 100;
	before = uevent_seqnum();
	ASSERT_EQ(0, kid_run(&as_a, kid_churn, &arg, k));
	after = uevent_seqnum();
	EXPECT_EQ(0, k->r[0]);
	EXPECT_EQ(before, after);
	/* Its fill-N channels in /dev/chan: A's, removed by root. */
	{
		char name[KCHAN_NAME_MAX];
		int i;

		for (i = 0; i < 100; i++) {
			snprintf(name, sizeof(name), "fill-%d", i);
			unlink(AT(KCHAN_DEV_DIR, name));
		}
	}
}

/* ----- instances ------------------------------------------------------ */

TEST_F(fs, instances_own_names)
{
	const char *a = fs_mount(_metadata, self, NULL);
	const char *b = fs_mount(_metadata, self, NULL);
	const char *hname = fs_host_name(self);
	struct kchan_info ia, ib;
	int fa, fb, ctl;
	struct stat sa, sb;
	char buf[16], list[256];

	ASSERT_EQ(0, create_at(a, "same", 2, 0, 0));
	ASSERT_EQ(0, create_at(b, "same", 2, 0, 0));
	EXPECT_EQ(-EEXIST, create_at(a, "same", 2, 0, 0));
	EXPECT_EQ(-EEXIST, create_at(b, "same", 2, 0, 0));
	ASSERT_EQ(0, create_at(KCHAN_DEV_DIR, hname, 2, 0, 0));
	ASSERT_EQ(0, create_at(a, "only-a", 0, 0, 0));

	fa = open_at(a, "same", O_RDWR | O_NONBLOCK);
	fb = open_at(b, "same", O_RDWR | O_NONBLOCK);
	ASSERT_LE(0, fa);
	ASSERT_LE(0, fb);
	ASSERT_EQ(0, stat(AT(a, "same"), &sa));
	ASSERT_EQ(0, stat(AT(b, "same"), &sb));
	EXPECT_NE(sa.st_rdev, sb.st_rdev);
	EXPECT_NE(sa.st_dev, sb.st_dev);

	ASSERT_EQ(1, write(fa, "A", 1));
	ASSERT_EQ(2, write(fb, "BB", 2));
	ASSERT_EQ(2, write(fb, "bb", 2));
	ASSERT_EQ(0, chan_info(fa, &ia));
	ASSERT_EQ(0, chan_info(fb, &ib));
	EXPECT_NE(ia.id, ib.id);
	EXPECT_EQ(1, ia.length);
	EXPECT_EQ(2, ib.length);
	memset(buf, 0, sizeof(buf));
	EXPECT_EQ(1, read(fa, buf, sizeof(buf)));
	EXPECT_STREQ("A", buf);
	EXPECT_EQ(-1, read(fa, buf, sizeof(buf)));
	EXPECT_EQ(EAGAIN, errno);
	memset(buf, 0, sizeof(buf));
	EXPECT_EQ(2, read(fb, buf, sizeof(buf)));
	EXPECT_STREQ("BB", buf);

	/* Each control node reaches its own instance only. */
	EXPECT_EQ(-ENOENT, name_ioctl_at(b, KCHAN_IOC_DESTROY, "only-a"));
	EXPECT_EQ(-ENOENT, name_ioctl_at(KCHAN_DEV_DIR, KCHAN_IOC_DESTROY, "only-a"));
	EXPECT_EQ(-ENOENT, name_ioctl_at(a, KCHAN_IOC_DESTROY, hname));
	EXPECT_EQ(-ENOENT, name_ioctl_at(b, KCHAN_IOC_CLOSE_NAME, "only-a"));
	EXPECT_EQ(-ENOENT, ERR(access(AT(b, "only-a"), F_OK)));
	EXPECT_EQ(-ENOENT, ERR(access(AT(a, hname), F_OK)));
	EXPECT_EQ(-ENOENT, ERR(access(AT(KCHAN_DEV_DIR, "only-a"), F_OK)));
	EXPECT_EQ(2, list_dir(b, list, sizeof(list)));
	EXPECT_STREQ(".control,same", list);
	EXPECT_EQ(3, list_dir(a, list, sizeof(list)));
	EXPECT_STREQ(".control,only-a,same", list);
	/* A rename cannot move a channel from one instance to another. */
	EXPECT_EQ(-EXDEV, ERR(rename(AT(a, "only-a"), AT(b, "only-a"))));

	/* Destroying A's leaves B's alone. */
	ctl = ctl_at(a);
	ASSERT_LE(0, ctl);
	EXPECT_EQ(0, chan_destroy(ctl, "same"));
	close(ctl);
	EXPECT_EQ(-1, write(fa, "A", 1));
	EXPECT_EQ(ENODEV, errno);
	ASSERT_EQ(0, chan_info(fb, &ib));
	EXPECT_EQ(0, ib.state);
	EXPECT_EQ(1, ib.length);
	EXPECT_EQ(1, write(fb, "B", 1));
	EXPECT_EQ(0, access(AT(b, "same"), F_OK));
	close(fa);
	close(fb);
}

TEST_F(fs, limit_max)
{
	const char *dir = fs_mount(_metadata, self, "max=2");
	const char *other = fs_mount(_metadata, self, "max=1");
	struct kid_arg arg = { .dir = dir, .name = "c" };
	struct kid *k = kid_new();

	ASSERT_NE(NULL, k);
	EXPECT_EQ(0, create_at(dir, "a", 0, 0, 0));
	EXPECT_EQ(0, create_at(dir, "b", 0, 0, 0));
	EXPECT_EQ(-ENOSPC, create_at(dir, "c", 0, 0, 0));
	/* For every user: the instance is full. */
	ASSERT_EQ(0, kid_run(&as_a, kid_create, &arg, k));
	EXPECT_EQ(-ENOSPC, k->r[0]);
	/* Another instance counts its own. */
	EXPECT_EQ(0, create_at(other, "a", 0, 0, 0));
	EXPECT_EQ(-ENOSPC, create_at(other, "b", 0, 0, 0));
	/* A destroyed one gives its place back, by ioctl or unlink. */
	EXPECT_EQ(0, name_ioctl_at(dir, KCHAN_IOC_DESTROY, "a"));
	EXPECT_EQ(0, create_at(dir, "c", 0, 0, 0));
	EXPECT_EQ(-ENOSPC, create_at(dir, "d", 0, 0, 0));
	EXPECT_EQ(0, unlink(AT(dir, "b")));
	EXPECT_EQ(0, create_at(dir, "d", 0, 0, 0));
	EXPECT_EQ(-ENOSPC, create_at(dir, "e", 0, 0, 0));
}

/* A destroyed channel still open keeps its place until its last close. */
TEST_F(fs, limit_max_open_destroyed)
{
	const char *dir = fs_mount(_metadata, self, "max=1");
	char buf[8];
	int fd;

	ASSERT_EQ(0, create_at(dir, "a", 0, 0, 0));
	fd = open_at(dir, "a", O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, unlink(AT(dir, "a")));
	/*
	 * The name and the place are free at once: a destroyed channel
	 * buffers nothing, whoever keeps it open.
	 */
	EXPECT_EQ(0, create_at(dir, "a", 0, 0, 0));
	EXPECT_EQ(-ENOSPC, create_at(dir, "b", 0, 0, 0));
	EXPECT_EQ(-1, read(fd, buf, sizeof(buf)));
	EXPECT_EQ(ENODEV, errno);
	close(fd);
	EXPECT_EQ(-ENOSPC, create_at(dir, "b", 0, 0, 0));
}

TEST_F(fs, limit_max_user)
{
	const char *dir = fs_mount(_metadata, self, "max_user=1");
	struct kid_arg arg = { .dir = dir, .name = "a1", .name2 = "a2" };
	struct kid *k = kid_new();

	ASSERT_NE(NULL, k);
	EXPECT_EQ(0, create_at(dir, "r1", 0, 0, 0));
	EXPECT_EQ(-EDQUOT, create_at(dir, "r2", 0, 0, 0));
	ASSERT_EQ(0, kid_run(&as_a, kid_create, &arg, k));
	EXPECT_EQ(0, k->r[0]);
	EXPECT_EQ(-EDQUOT, k->r[1]);
	arg.name = "b1";
	arg.name2 = NULL;
	ASSERT_EQ(0, kid_run(&as_b, kid_create, &arg, k));
	EXPECT_EQ(0, k->r[0]);
	/* Root's charge back: root again, A still not. */
	EXPECT_EQ(0, unlink(AT(dir, "r1")));
	EXPECT_EQ(0, create_at(dir, "r2", 0, 0, 0));
	arg.name = "a3";
	ASSERT_EQ(0, kid_run(&as_a, kid_create, &arg, k));
	EXPECT_EQ(-EDQUOT, k->r[0]);
	/* Root destroying A's channel returns A's charge, not root's. */
	EXPECT_EQ(0, unlink(AT(dir, "a1")));
	EXPECT_EQ(-EDQUOT, create_at(dir, "r3", 0, 0, 0));
	ASSERT_EQ(0, kid_run(&as_a, kid_create, &arg, k));
	EXPECT_EQ(0, k->r[0]);
}

TEST_F(fs, limit_max_user_bytes)
{
	const char *dir = fs_mount(_metadata, self, "max_user_bytes=10000");
	struct kid_arg arg = { .dir = dir, .name = "a1", .capacity = 4, .msg_max = 2500 };
	struct kid *k = kid_new();

	ASSERT_NE(NULL, k);
	/* max(capacity, 1) * msg_max each: 3 * 3000, then 1 * 1000 = 10000. */
	EXPECT_EQ(0, create_at(dir, "r1", 3, 3000, 0));
	EXPECT_EQ(-EDQUOT, create_at(dir, "r2", 0, 1001, 0));
	EXPECT_EQ(-EDQUOT, create_at(dir, "r2", 2, 501, 0));
	EXPECT_EQ(0, create_at(dir, "r2", 0, 1000, 0));
	EXPECT_EQ(-EDQUOT, create_at(dir, "r3", 0, 1, 0));
	/* Per user: A has its own 10000. */
	ASSERT_EQ(0, kid_run(&as_a, kid_create, &arg, k));
	EXPECT_EQ(0, k->r[0]);
	arg.name = "a2";
	arg.capacity = 0;
	arg.msg_max = 1;
	ASSERT_EQ(0, kid_run(&as_a, kid_create, &arg, k));
	EXPECT_EQ(-EDQUOT, k->r[0]);
	/* A destroyed channel gives its bytes back. */
	EXPECT_EQ(0, unlink(AT(dir, "r1")));
	EXPECT_EQ(-EDQUOT, create_at(dir, "r3", 1, 9001, 0));
	EXPECT_EQ(0, create_at(dir, "r3", 1, 9000, 0));
	EXPECT_EQ(-EDQUOT, create_at(dir, "r4", 0, 1, 0));
}

static bool is_mountpoint(const char *dir)
{
	char opts[512];

	return !mount_opts(dir, NULL, opts, sizeof(opts));
}

TEST_F(fs, bad_mount_options)
{
	static const char *const bad[] = {
		"max=abc", "max=-1", "max=4294967296", "max=", "max",
		"max_user=1x", "max_user=99999999999", "max_user_bytes=lots",
		"max_user_bytes=18446744073709551616", "nosuchoption=1", "nosuchoption",
		"max=2,bogus",
	};
	const int nbad = sizeof(bad) / sizeof(bad[0]);
	int i = fs_tmpdir(_metadata, self), j;
	const char *dir = self->dir[i];
	char list[64], opts[512];

	for (j = 0; j < nbad; j++) {
		EXPECT_EQ(-EINVAL, fs_mount_at(dir, bad[j])) TH_LOG("-o %s", bad[j]);
		EXPECT_FALSE(is_mountpoint(dir)) TH_LOG("-o %s: mounted", bad[j]);
		EXPECT_EQ(0, list_dir(dir, list, sizeof(list)));
		/* In case it did mount anyway: one at a time. */
		umount2(dir, MNT_DETACH);
	}

	/* A bad remount changes nothing. */
	ASSERT_EQ(0, fs_mount_at(dir, "max=5"));
	for (j = 0; j < nbad; j++) {
		const char *o = bad[j];

		EXPECT_EQ(-EINVAL, ERR(mount(NULL, dir, NULL, MS_REMOUNT, o)))
			TH_LOG("remount -o %s", o);
	}
	ASSERT_EQ(0, mount_opts(dir, NULL, opts, sizeof(opts)));
	EXPECT_STREQ("max=5,max_user=1024,max_user_bytes=67108864", kchan_opts(opts));
}

TEST_F(fs, mount_options_shown_and_remount)
{
	const char *d = fs_mount(_metadata, self, NULL);
	const char *dir = fs_mount(_metadata, self, "max=7");
	const char *all = fs_mount(_metadata, self, "max_user_bytes=5000,max=3,max_user=2");
	char opts[512], type[64];
	int i;

	ASSERT_EQ(0, mount_opts(KCHAN_DEV_DIR, NULL, opts, sizeof(opts)));
	EXPECT_STREQ("max=4096,max_user=1024,max_user_bytes=67108864", kchan_opts(opts))
		TH_LOG("/dev/chan: %s", opts);
	ASSERT_EQ(0, mount_opts(d, type, opts, sizeof(opts)));
	EXPECT_STREQ(KCHAN_FS_TYPE, type);
	EXPECT_STREQ("max=4096,max_user=1024,max_user_bytes=67108864", kchan_opts(opts));
	ASSERT_EQ(0, mount_opts(dir, NULL, opts, sizeof(opts)));
	EXPECT_STREQ("max=7,max_user=1024,max_user_bytes=67108864", kchan_opts(opts));
	ASSERT_EQ(0, mount_opts(all, NULL, opts, sizeof(opts)));
	EXPECT_STREQ("max=3,max_user=2,max_user_bytes=5000", kchan_opts(opts));

	/* Remount changes what it names and keeps the rest. */
	ASSERT_EQ(0, ERR(mount(NULL, dir, NULL, MS_REMOUNT, "max_user=3")));
	ASSERT_EQ(0, mount_opts(dir, NULL, opts, sizeof(opts)));
	EXPECT_STREQ("max=7,max_user=3,max_user_bytes=67108864", kchan_opts(opts));
	for (i = 0; i < 3; i++) {
		char name[8];

		snprintf(name, sizeof(name), "c%d", i);
		EXPECT_EQ(0, create_at(dir, name, 0, 0, 0));
	}
	EXPECT_EQ(-EDQUOT, create_at(dir, "c3", 0, 0, 0));
	/* No options: nothing changes. */
	ASSERT_EQ(0, ERR(mount(NULL, dir, NULL, MS_REMOUNT, NULL)));
	ASSERT_EQ(0, mount_opts(dir, NULL, opts, sizeof(opts)));
	EXPECT_STREQ("max=7,max_user=3,max_user_bytes=67108864", kchan_opts(opts));
	EXPECT_EQ(-EDQUOT, create_at(dir, "c3", 0, 0, 0));
	/* Lowered below what exists: those stay, no new one. */
	ASSERT_EQ(0, ERR(mount(NULL, dir, NULL, MS_REMOUNT, "max=2,max_user=10")));
	ASSERT_EQ(0, mount_opts(dir, NULL, opts, sizeof(opts)));
	EXPECT_STREQ("max=2,max_user=10,max_user_bytes=67108864", kchan_opts(opts));
	EXPECT_EQ(-ENOSPC, create_at(dir, "c3", 0, 0, 0));
	EXPECT_EQ(0, access(AT(dir, "c0"), F_OK));
	EXPECT_EQ(0, unlink(AT(dir, "c0")));
	EXPECT_EQ(-ENOSPC, create_at(dir, "c3", 0, 0, 0));
	EXPECT_EQ(0, unlink(AT(dir, "c1")));
	EXPECT_EQ(0, create_at(dir, "c3", 0, 0, 0));
	/* The bytes, and the other instances untouched. */
	ASSERT_EQ(0, ERR(mount(NULL, dir, NULL, MS_REMOUNT, "max_user_bytes=100")));
	ASSERT_EQ(0, mount_opts(dir, NULL, opts, sizeof(opts)));
	EXPECT_STREQ("max=2,max_user=10,max_user_bytes=100", kchan_opts(opts));
	ASSERT_EQ(0, mount_opts(d, NULL, opts, sizeof(opts)));
	EXPECT_STREQ("max=4096,max_user=1024,max_user_bytes=67108864", kchan_opts(opts));
	ASSERT_EQ(0, mount_opts(KCHAN_DEV_DIR, NULL, opts, sizeof(opts)));
	EXPECT_STREQ("max=4096,max_user=1024,max_user_bytes=67108864", kchan_opts(opts));
}

/* ----- a user namespace's own instance -------------------------------- */

struct kid_ns {
	const char *dir;	/* where the namespace mounts its instance */
	const char *hname;	/* the host's 0600 channel in /dev/chan */
	int go[2];		/* parent -> child: the maps are written */
	int ready[2];		/* child -> parent: unshared */
};

static void kid_userns(struct kid *k, const void *varg)
{
	const struct kid_ns *a = varg;
	char c = 0, list[256], path[PATH_MAX];
	struct stat st;
	int fd, ctl;

	close(a->go[1]);
	close(a->ready[0]);
	k->r[0] = ERR(unshare(CLONE_NEWUSER | CLONE_NEWNS));
	if (write(a->ready[1], &c, 1) != 1 || k->r[0])
		return;
	if (read(a->go[0], &c, 1) != 1 || c != 'g') {
		k->r[1] = -EIO;
		return;
	}
	/* The test runs as the host's root, unmapped here: become the namespace's root. */
	if (setgroups(0, NULL) || setresgid(0, 0, 0) || setresuid(0, 0, 0)) {
		k->r[1] = -errno;
		return;
	}
	k->r[1] = (getuid() == 0 && geteuid() == 0 && getgid() == 0) ? 0 : -ESRCH;
	k->r[2] = fs_mount_at(a->dir, "max=3");
	if (k->r[2])
		return;
	k->r[3] = ERR(stat(a->dir, &st));
	k->r[4] = (S_ISDIR(st.st_mode) && (st.st_mode & 07777) == 0777 &&
		   st.st_uid == 0 && st.st_gid == 0) ? 0 : -EBADE;
	k->r[5] = create_at(a->dir, "in-ns", 1, 0, 0);
	k->r[6] = ERR(stat(AT(a->dir, "in-ns"), &st));
	k->r[7] = (S_ISCHR(st.st_mode) && (st.st_mode & 07777) == 0600 &&
		   st.st_uid == 0 && st.st_gid == 0) ? 0 : -EBADE;
	fd = open_at(a->dir, "in-ns", O_RDWR | O_NONBLOCK);
	k->r[8] = fd < 0 ? fd : 0;
	if (fd >= 0) {
		char buf[8] = { 0 };

		k->r[9] = write(fd, "ns", 2) == 2 && read(fd, buf, sizeof(buf)) == 2 &&
			  !strcmp(buf, "ns") ? 0 : -EIO;
		close(fd);
	}
	/* The host's names are not there... */
	k->r[10] = list_dir(a->dir, list, sizeof(list));
	snprintf(k->msg, sizeof(k->msg), "%s", list);
	k->r[11] = ERR(access(AT(a->dir, a->hname), F_OK));
	/* ...and its own limits hold. */
	k->r[12] = create_at(a->dir, "n2", 0, 0, 0);
	k->r[13] = create_at(a->dir, "n3", 0, 0, 0);
	k->r[14] = create_at(a->dir, "n4", 0, 0, 0);
	/* The host's channel, still reachable by path, is not the container root's. */
	at(path, sizeof(path), KCHAN_DEV_DIR, a->hname);
	k->r[15] = ERR(open(path, O_RDONLY));
	k->r[16] = ERR(unlink(path));
	k->r[17] = name_ioctl_at(KCHAN_DEV_DIR, KCHAN_IOC_DESTROY, a->hname);
	k->r[18] = name_ioctl_at(KCHAN_DEV_DIR, KCHAN_IOC_CLOSE_NAME, a->hname);
	k->r[19] = ERR(stat(path, &st));
	k->r[20] = st.st_uid == 65534 ? 0 : -EBADE;	/* unmapped: the overflow uid */
	/* unlink in its own instance works (CAP_SYS_ADMIN there) */
	k->r[21] = ERR(unlink(AT(a->dir, "n2")));
	ctl = ctl_at(a->dir);
	k->r[22] = ctl < 0 ? ctl : chan_destroy(ctl, "n3");
	if (ctl >= 0)
		close(ctl);
	k->r[23] = ERR(umount2(a->dir, 0));
}

TEST_F_TIMEOUT(fs, userns_instance, 120)
{
	int i = fs_tmpdir(_metadata, self);
	struct kid_ns arg = { .dir = self->dir[i], .hname = fs_host_name(self) };
	char map[64], path[PATH_MAX], list[64];
	struct kchan_info info;
	struct kid *k = kid_new();
	pid_t pid;
	int status, fd;
	char c;

	if (access("/proc/self/ns/user", F_OK))
		SKIP(return, "no user namespaces in this kernel");
	ASSERT_NE(NULL, k);
	ASSERT_EQ(0, create_at(KCHAN_DEV_DIR, arg.hname, 1, 0, 0600));
	fd = open_at(KCHAN_DEV_DIR, arg.hname, O_RDWR | O_NONBLOCK);
	ASSERT_LE(0, fd);
	ASSERT_EQ(4, write(fd, "host", 4));
	ASSERT_EQ(0, pipe(arg.go));
	ASSERT_EQ(0, pipe(arg.ready));

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		alarm(CHAN_CHILD_GUARD);
		kid_userns(k, &arg);
		_exit(0);
	}
	close(arg.go[0]);
	close(arg.ready[1]);
	ASSERT_EQ(1, read(arg.ready[0], &c, 1));
	if (k->r[0]) {
		waitpid(pid, &status, 0);
		if (k->r[0] == -EINVAL || k->r[0] == -EPERM || k->r[0] == -ENOSPC ||
		    k->r[0] == -ENOSYS)
			SKIP(return, "unshare(CLONE_NEWUSER | CLONE_NEWNS): %s", strerror(-k->r[0]));
		ASSERT_EQ(0, k->r[0]);
	}
	snprintf(map, sizeof(map), "0 %d %d\n", NS_BASE, NS_RANGE);
	snprintf(path, sizeof(path), "/proc/%d/uid_map", (int)pid);
	EXPECT_LT(0, chan_write_file(path, map));
	snprintf(path, sizeof(path), "/proc/%d/gid_map", (int)pid);
	EXPECT_LT(0, chan_write_file(path, map));
	ASSERT_EQ(1, write(arg.go[1], "g", 1));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);

	EXPECT_EQ(0, k->r[1]) TH_LOG("not root in the namespace");
	ASSERT_EQ(0, k->r[2]) TH_LOG("mount in the user namespace: %s", strerror(-k->r[2]));
	EXPECT_EQ(0, k->r[3]);
	EXPECT_EQ(0, k->r[4]) TH_LOG("the namespace's root dir: not 0777 0:0");
	EXPECT_EQ(0, k->r[5]) TH_LOG("create in the namespace: %s", strerror(-k->r[5]));
	EXPECT_EQ(0, k->r[6]);
	EXPECT_EQ(0, k->r[7]) TH_LOG("the node: not crw------- 0:0 in the namespace");
	EXPECT_EQ(0, k->r[8]);
	EXPECT_EQ(0, k->r[9]);
	EXPECT_EQ(2, k->r[10]);
	EXPECT_STREQ(".control,in-ns", k->msg);
	EXPECT_EQ(-ENOENT, k->r[11]);
	EXPECT_EQ(0, k->r[12]);
	EXPECT_EQ(0, k->r[13]);
	EXPECT_EQ(-ENOSPC, k->r[14]);
	EXPECT_EQ(-EACCES, k->r[15]);
	EXPECT_EQ(-EPERM, k->r[16]);
	EXPECT_EQ(-EPERM, k->r[17]);
	EXPECT_EQ(-EPERM, k->r[18]);
	EXPECT_EQ(0, k->r[19]);
	EXPECT_EQ(0, k->r[20]);
	EXPECT_EQ(0, k->r[21]);
	EXPECT_EQ(0, k->r[22]);
	EXPECT_EQ(0, k->r[23]);

	/* The host's channel: untouched.  The namespace's mount never showed here. */
	ASSERT_EQ(0, chan_info(fd, &info));
	EXPECT_EQ(0, info.state);
	EXPECT_EQ(1, info.length);
	close(fd);
	EXPECT_FALSE(is_mountpoint(arg.dir));
	EXPECT_EQ(0, list_dir(arg.dir, list, sizeof(list)));
}

/* ----- an instance unmounted under an open channel -------------------- */

TEST_F(fs, lazy_umount_keeps_open_channel)
{
	int i = fs_tmpdir(_metadata, self);
	const char *dir = self->dir[i];
	struct kchan_info info;
	struct pollfd p;
	char buf[16], path[PATH_MAX];
	int fd, fd2, ctl;

	ASSERT_EQ(0, fs_mount_at(dir, "max=2"));
	ASSERT_EQ(0, create_at(dir, "a", 2, 0, 0));
	ASSERT_EQ(0, create_at(dir, "b", 2, 0, 0));
	fd = open_at(dir, "a", O_RDWR | O_NONBLOCK);
	ASSERT_LE(0, fd);
	ctl = ctl_at(dir);
	ASSERT_LE(0, ctl);
	ASSERT_EQ(1, write(fd, "1", 1));

	EXPECT_EQ(-EBUSY, ERR(umount2(dir, 0)));
	ASSERT_EQ(0, umount2(dir, MNT_DETACH));
	EXPECT_FALSE(is_mountpoint(dir));

	ASSERT_EQ(1, write(fd, "2", 1));
	memset(buf, 0, sizeof(buf));
	EXPECT_EQ(1, read(fd, buf, sizeof(buf)));
	EXPECT_STREQ("1", buf);
	p.fd = fd;
	p.events = POLLIN | POLLOUT;
	EXPECT_EQ(1, poll(&p, 1, 0));
	EXPECT_EQ(POLLIN | POLLOUT, p.revents & (POLLIN | POLLOUT | POLLERR | POLLHUP));
	ASSERT_EQ(0, chan_info(fd, &info));
	EXPECT_EQ(0, info.state);
	EXPECT_EQ(1, info.length);
	EXPECT_EQ(2, info.sent);
	/* A second file through the open one's path. */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	fd2 = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	ASSERT_LE(0, fd2) TH_LOG("reopen: %m");
	memset(buf, 0, sizeof(buf));
	EXPECT_EQ(1, read(fd2, buf, sizeof(buf)));
	EXPECT_STREQ("2", buf);
	/* The detached instance's control node works on it still. */
	EXPECT_EQ(-ENOSPC, chan_create(ctl, "c", 0, 0, 0, 0));
	EXPECT_EQ(0, chan_destroy(ctl, "b"));
	EXPECT_EQ(0, chan_create(ctl, "c", 0, 0, 0, 0));
	EXPECT_EQ(0, chan_close_name(ctl, "a"));
	EXPECT_EQ(0, read(fd, buf, sizeof(buf)));	/* closed and drained: EOF */
	close(fd2);
	close(fd);
	close(ctl);
	/* And the directory is a plain empty one again. */
	EXPECT_EQ(0, list_dir(dir, buf, sizeof(buf)));
	ASSERT_EQ(0, fs_mount_at(dir, NULL));
	EXPECT_EQ(1, list_dir(dir, buf, sizeof(buf)));
	EXPECT_STREQ(".control", buf);
}

/* Timer channels: destroyed by unlink while ticking, and left ticking at umount. */
TEST_F(fs, timers_unlinked_and_unmounted)
{
	int i = fs_tmpdir(_metadata, self);
	const char *dir = self->dir[i];
	struct kchan_create req;
	char buf[64];
	int ctl, fd;

	ASSERT_EQ(0, fs_mount_at(dir, NULL));
	ctl = ctl_at(dir);
	ASSERT_LE(0, ctl);
	memset(&req, 0, sizeof(req));
	req.size = sizeof(req);
	req.flags = KCHAN_CREATE_TICK;
	req.period_ns = 200000;
	strcpy(req.name, "tick");
	ASSERT_EQ(0, chan_ioctl(ctl, KCHAN_IOC_CREATE, &req));
	strcpy(req.name, "tick2");
	ASSERT_EQ(0, chan_ioctl(ctl, KCHAN_IOC_CREATE, &req));
	req.flags = KCHAN_CREATE_AFTER;
	req.period_ns = 100000000;	/* still pending at umount */
	strcpy(req.name, "after");
	ASSERT_EQ(0, chan_ioctl(ctl, KCHAN_IOC_CREATE, &req));
	close(ctl);

	fd = open_at(dir, "tick", O_RDONLY);
	ASSERT_LE(0, fd);
	EXPECT_LT(1, read(fd, buf, sizeof(buf)));	/* it ticks */
	ASSERT_EQ(0, unlink(AT(dir, "tick")));
	EXPECT_EQ(-1, read(fd, buf, sizeof(buf)));
	EXPECT_EQ(ENODEV, errno);
	close(fd);
	usleep(2000);
	/* tick2 and after still running: the unmount must stop them. */
	ASSERT_EQ(0, umount2(dir, 0)) TH_LOG("umount: %m");
	usleep(200000);
	ASSERT_EQ(0, fs_mount_at(dir, NULL));
	EXPECT_EQ(1, list_dir(dir, buf, sizeof(buf)));
	EXPECT_STREQ(".control", buf);
}

/* Something mounted on a channel's node: neither destroy may take it away. */
TEST_F(fs, mountpoint_node_busy)
{
	const char *dir = fs_mount(_metadata, self, NULL);
	char path[PATH_MAX];

	ASSERT_EQ(0, create_at(dir, "m", 0, 0, 0666));
	at(path, sizeof(path), dir, "m");
	ASSERT_EQ(0, mount("/dev/null", path, NULL, MS_BIND, NULL)) TH_LOG("bind: %m");
	EXPECT_EQ(-EBUSY, name_ioctl_at(dir, KCHAN_IOC_DESTROY, "m"));
	EXPECT_EQ(-EBUSY, ERR(unlink(path)));
	ASSERT_EQ(0, umount2(path, 0));
	EXPECT_EQ(0, name_ioctl_at(dir, KCHAN_IOC_DESTROY, "m"));
	EXPECT_EQ(-1, access(path, F_OK));
}

/* The longest name is a node like any other. */
TEST_F(fs, longest_name_node)
{
	const char *dir = fs_mount(_metadata, self, NULL);
	char name[KCHAN_NAME_MAX + 1], list[256], want[256];
	int fd;

	memset(name, 'n', KCHAN_NAME_MAX - 1);
	name[KCHAN_NAME_MAX - 1] = '\0';
	ASSERT_EQ(0, create_at(dir, name, 1, 0, 0));
	fd = open_at(dir, name, O_RDWR | O_NONBLOCK);
	ASSERT_LE(0, fd);
	EXPECT_EQ(1, write(fd, "x", 1));
	close(fd);
	snprintf(want, sizeof(want), ".control,%s", name);
	EXPECT_EQ(2, list_dir(dir, list, sizeof(list)));
	EXPECT_STREQ(want, list);
	EXPECT_EQ(0, unlink(AT(dir, name)));
	/* A path component no channel can have finds nothing. */
	EXPECT_EQ(-ENOENT, ERR(access(AT(dir, "no-such"), F_OK)));
	EXPECT_EQ(-ENOTDIR, ERR(access(AT(dir, ".control/x"), F_OK)));
}

/* ----- what the root refuses ------------------------------------------ */

TEST_F(fs, root_refuses_other_files)
{
	const char *dir = fs_mount(_metadata, self, NULL);
	int i = fs_tmpdir(_metadata, self);
	const char *elsewhere = self->dir[i];
	char list[128], path[PATH_MAX];
	struct statvfs sv;
	struct stat st;
	int fd;

	ASSERT_EQ(0, create_at(dir, "a", 1, 0, 0666));
	ASSERT_EQ(0, stat(AT(dir, "a"), &st));

	EXPECT_EQ(-EPERM, ERR(mknod(AT(dir, "n"), S_IFCHR | 0666, st.st_rdev)));
	EXPECT_EQ(-EPERM, ERR(mknod(AT(dir, "n"), S_IFCHR | 0666, makedev(1, 3))));
	EXPECT_EQ(-EPERM, ERR(mknod(AT(dir, "n"), S_IFIFO | 0666, 0)));
	/* A regular file is a create for the VFS: EACCES as for O_CREAT below. */
	EXPECT_EQ(-EACCES, ERR(mknod(AT(dir, "n"), S_IFREG | 0666, 0)));
	EXPECT_EQ(-EPERM, ERR(mknod(AT(dir, "n"), S_IFSOCK | 0666, 0)));
	EXPECT_EQ(-EPERM, ERR(mkdir(AT(dir, "n"), 0777)));
	EXPECT_EQ(-EPERM, ERR(symlink("a", AT(dir, "n"))));
	EXPECT_EQ(-EPERM, ERR(link(AT(dir, "a"), AT(dir, "n"))));
	EXPECT_EQ(-EPERM, ERR(rename(AT(dir, "a"), AT(dir, "n"))));
	EXPECT_EQ(-EPERM, ERR(rename(AT(dir, "a"), AT(dir, KCHAN_CONTROL_NAME))));
	EXPECT_EQ(-EPERM, ERR(rename(AT(dir, KCHAN_CONTROL_NAME), AT(dir, "a"))));
	EXPECT_EQ(-EPERM, ERR(renameat2(AT_FDCWD, AT(dir, "a"), AT_FDCWD,
					AT(dir, KCHAN_CONTROL_NAME), RENAME_EXCHANGE)));
	EXPECT_EQ(-EACCES, ERR(open(AT(dir, "n"), O_CREAT | O_RDWR | O_CLOEXEC, 0600)));
	EXPECT_EQ(-EACCES, ERR(open(AT(dir, "n"), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600)));
	EXPECT_EQ(-EACCES, ERR(creat(AT(dir, "n"), 0600)));
	EXPECT_EQ(-EOPNOTSUPP, ERR(open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600)));
	EXPECT_EQ(-EEXIST, ERR(open(AT(dir, "a"), O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600)));
	/* O_CREAT of an existing channel just opens it. */
	fd = open(AT(dir, "a"), O_CREAT | O_RDWR | O_NONBLOCK | O_CLOEXEC, 0600);
	EXPECT_LE(0, fd);
	if (fd >= 0) {
		EXPECT_EQ(1, write(fd, "x", 1));
		close(fd);
	}
	EXPECT_EQ(2, list_dir(dir, list, sizeof(list)));
	EXPECT_STREQ(".control,a", list);

	/* A copy of the node elsewhere reaches no channel. */
	at(path, sizeof(path), elsewhere, "copy");
	ASSERT_EQ(0, statvfs(elsewhere, &sv));
	if (mknod(path, S_IFCHR | 0666, st.st_rdev) == 0) {
		fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
		EXPECT_EQ(-1, fd);
		EXPECT_EQ((sv.f_flag & ST_NODEV) ? EACCES : ENXIO, errno);
		if (fd >= 0)
			close(fd);
		unlink(path);
	} else {
		TH_LOG("mknod in %s: %m (not checked)", elsewhere);
	}
}

/* ----- fdinfo --------------------------------------------------------- */

#define K_O_LARGEFILE	0100000

static const char *const fdinfo_vfs_keys[] = { "pos", "flags", "mnt_id", "ino" };
static const char *const fdinfo_kchan_keys[] = {
	"kchan-id", "capacity", "length", "msg_max", "readers", "writers",
	"sent", "received", "dropped", "held", "closed", "destroyed",
};

/*
 * The fdinfo of a channel fd: the VFS's four lines, then exactly the
 * spec's twelve, in its order, with what KCHAN_IOC_INFO says (read just
 * before; nothing may move in between).
 */
static void fdinfo_check(struct __test_metadata *_metadata, int fd)
{
	struct kv kv[KV_MAX];
	struct kchan_info info;
	char want[12][64];
	int n, i, nv = 4, nk = 12;

	ASSERT_EQ(0, chan_info(fd, &info));
	n = fdinfo_read(fd, kv, KV_MAX);
	ASSERT_EQ(nv + nk, n) TH_LOG("fdinfo of fd %d: %d lines", fd, n);
	for (i = 0; i < nv; i++)
		EXPECT_STREQ(fdinfo_vfs_keys[i], kv[i].key);
	snprintf(want[0], 64, "%016llx", (unsigned long long)info.id);
	snprintf(want[1], 64, "%u", info.capacity);
	snprintf(want[2], 64, "%u", info.length);
	snprintf(want[3], 64, "%u", info.msg_max);
	snprintf(want[4], 64, "%u", info.readers);
	snprintf(want[5], 64, "%u", info.writers);
	snprintf(want[6], 64, "%llu", (unsigned long long)info.sent);
	snprintf(want[7], 64, "%llu", (unsigned long long)info.received);
	snprintf(want[8], 64, "%llu", (unsigned long long)info.dropped);
	snprintf(want[9], 64, "%u", info.held);
	snprintf(want[10], 64, "%d", !!(info.state & KCHAN_STATE_CLOSED));
	snprintf(want[11], 64, "%d", !!(info.state & KCHAN_STATE_DESTROYED));
	for (i = 0; i < nk; i++) {
		EXPECT_STREQ(fdinfo_kchan_keys[i], kv[nv + i].key);
		EXPECT_STREQ(want[i], kv[nv + i].val) TH_LOG("fdinfo %s", fdinfo_kchan_keys[i]);
	}
}

/* The value of key in fd's fdinfo, or "" */
static const char *fdinfo_get(int fd, const char *key, char *out, size_t len)
{
	struct kv kv[KV_MAX];
	int n = fdinfo_read(fd, kv, KV_MAX), i;

	out[0] = '\0';
	for (i = 0; i < n; i++)
		if (!strcmp(kv[i].key, key))
			snprintf(out, len, "%s", kv[i].val);
	return out;
}

#define FDINFO(fd, key)	fdinfo_get((fd), (key), (char[64]){ 0 }, 64)

TEST_F(fs, fdinfo_keys)
{
	const char *dir = fs_mount(_metadata, self, NULL);
	char hold_buf[16], want[32];
	struct kchan_hold h;
	struct kchan_info info;
	struct stat st;
	struct kv kv[KV_MAX];
	int fd, ro, wo, ctl, n, i;

	ASSERT_EQ(0, create_at(dir, "f", 4, 100, 0));
	fd = open_at(dir, "f", O_RDWR | O_NONBLOCK);
	ro = open_at(dir, "f", O_RDONLY | O_NONBLOCK);
	wo = open_at(dir, "f", O_WRONLY | O_NONBLOCK);
	ASSERT_LE(0, fd);
	ASSERT_LE(0, ro);
	ASSERT_LE(0, wo);
	fdinfo_check(_metadata, fd);
	ASSERT_EQ(1, write(fd, "1", 1));
	ASSERT_EQ(1, write(wo, "2", 1));
	ASSERT_EQ(1, write(fd, "3", 1));
	ASSERT_EQ(1, read(ro, hold_buf, sizeof(hold_buf)));
	ASSERT_EQ(1, chan_hold_into(fd, hold_buf, sizeof(hold_buf), &h));

	fdinfo_check(_metadata, fd);
	fdinfo_check(_metadata, ro);
	fdinfo_check(_metadata, wo);
	/* The values themselves, not only as INFO has them. */
	EXPECT_STREQ("4", FDINFO(fd, "capacity"));
	EXPECT_STREQ("1", FDINFO(fd, "length"));
	EXPECT_STREQ("100", FDINFO(fd, "msg_max"));
	EXPECT_STREQ("2", FDINFO(fd, "readers"));
	EXPECT_STREQ("2", FDINFO(fd, "writers"));
	EXPECT_STREQ("3", FDINFO(fd, "sent"));
	EXPECT_STREQ("0", FDINFO(fd, "dropped"));
	EXPECT_STREQ("1", FDINFO(wo, "held"));
	EXPECT_STREQ("0", FDINFO(fd, "closed"));
	EXPECT_STREQ("0", FDINFO(fd, "destroyed"));
	ASSERT_EQ(0, chan_info(fd, &info));
	snprintf(want, sizeof(want), "%016llx", (unsigned long long)info.id);
	EXPECT_STREQ(want, FDINFO(ro, "kchan-id"));
	EXPECT_EQ(16, strlen(FDINFO(ro, "kchan-id")));
	/* The VFS's own lines name this file. */
	ASSERT_EQ(0, stat(AT(dir, "f"), &st));
	snprintf(want, sizeof(want), "%llu", (unsigned long long)st.st_ino);
	EXPECT_STREQ(want, FDINFO(fd, "ino"));
	/* f_flags (O_LARGEFILE is the kernel's, 0100000 on x86-64) and FD_CLOEXEC */
	EXPECT_EQ(O_RDONLY | O_NONBLOCK | O_CLOEXEC | K_O_LARGEFILE,
		  strtol(FDINFO(ro, "flags"), NULL, 8));

	EXPECT_EQ(1, chan_ack_ret(fd, KCHAN_IOC_ACK, h.id));
	ASSERT_EQ(0, ioctl(wo, KCHAN_IOC_CLOSE));
	fdinfo_check(_metadata, fd);
	EXPECT_STREQ("1", FDINFO(fd, "closed"));
	EXPECT_STREQ("0", FDINFO(fd, "held"));
	EXPECT_STREQ("1", FDINFO(fd, "length"));
	EXPECT_STREQ("2", FDINFO(fd, "received"));
	ASSERT_EQ(0, unlink(AT(dir, "f")));
	fdinfo_check(_metadata, fd);
	EXPECT_STREQ("1", FDINFO(fd, "destroyed"));
	EXPECT_STREQ("0", FDINFO(fd, "length"));
	close(wo);
	fdinfo_check(_metadata, fd);
	EXPECT_STREQ("1", FDINFO(fd, "writers"));

	/* The control node's fdinfo has no kchan line. */
	ctl = ctl_at(dir);
	ASSERT_LE(0, ctl);
	n = fdinfo_read(ctl, kv, KV_MAX);
	ASSERT_LE(0, n);
	for (i = 0; i < n; i++)
		EXPECT_EQ(NULL, strstr("kchan-id capacity length msg_max readers writers sent received dropped held closed destroyed", kv[i].key))
			TH_LOG("control node fdinfo: %s", kv[i].key);
	close(ctl);
	close(ro);
	close(fd);
}

TEST_HARNESS_MAIN
