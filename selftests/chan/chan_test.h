/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shared helpers for the kchan selftests: create/destroy/open a channel
 * through the control node (KCHAN_CONTROL_PATH), read its info and its
 * counters (KCHAN_IOC_INFO, /proc/self/fdinfo), list the channels of the
 * /dev/chan instance, change the instance's limits (its mount options, by
 * remount), unload and load the module around the /dev/chan mount, run one
 * blocking read or write in a helper process, and wait until that process
 * is asleep inside the system call.
 *
 * Rules every test follows:
 *  - A helper process never uses ASSERT/EXPECT: it would longjmp into the
 *    harness and run the fixture teardown in the helper.  It reports
 *    through a struct chan_io in shared memory and _exit()s.
 *  - A helper process carries an alarm() guard, so no test hangs forever
 *    even if the module never wakes it.
 *  - "Blocked" is decided without sleeps: the helper is in state 'S' and
 *    /proc/<pid>/syscall names the expected system call (it only names one
 *    while the task is off the CPU).  The process helpers live in
 *    chan_proc.h, shared with userspace/libchan/tests.
 *  - Every fixture checks what its test left (chan_env_teardown(), or
 *    chan_leaks_begin()/chan_leaks_end() for fixtures without a chan_env):
 *    no message in a destroyed channel, no channel left in /dev/chan,
 *    no quota charge beyond the user's remaining channels.
 *  - A copy is stalled on purpose with userfaultfd (chan_uffd_*), in a
 *    thread of the test (chan_stall_*): a fork()ed helper would not inherit
 *    the registration.
 */
#ifndef CHAN_TEST_H
#define CHAN_TEST_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>

#include <linux/kchan.h>
#include <linux/userfaultfd.h>

#include "kselftest_harness.h"
#include "chan_proc.h"

/* Helper processes and their states: chan_proc.h, shared with libchan's tests. */
#define chan_read_file		proc_read_file
#define chan_fork		proc_fork
#define chan_reap		proc_reap
#define chan_reap_within	proc_reap_within
#define chan_alive		proc_alive
#define chan_task_state		proc_task_state
#define chan_task_syscall	proc_task_syscall
#define chan_wait_blocked	proc_wait_blocked
#define chan_task_sleeps	proc_task_sleeps
#define chan_wait_state		proc_wait_state
#define chan_wait_count		proc_wait_count

/* The module's global parameters (max_capacity, max_msg_size). */
#define CHAN_PARAM_DIR		"/sys/module/kchan/parameters"

/* Seconds a helper process may live before its alarm() kills it. */
#define CHAN_CHILD_GUARD	PROC_CHILD_GUARD
/* How long chan_wait_blocked() waits for a helper to fall asleep. */
#define CHAN_WAIT_MS		PROC_WAIT_MS
/* Timeout for tests with helper processes: longer than the guard. */
#define CHAN_TIMEOUT		(CHAN_CHILD_GUARD + 30)
/* Largest message a helper reads or writes. */
#define CHAN_IO_MAX		4096

/* ----- control node -------------------------------------------------- */

static inline int chan_ctl_open(void)
{
	return open(KCHAN_CONTROL_PATH, O_RDWR | O_CLOEXEC);
}

/* A name no other test uses: t-<pid>-<n>.  Every test runs in its own process. */
static inline void chan_make_name(char name[KCHAN_NAME_MAX])
{
	static unsigned int n;

	snprintf(name, KCHAN_NAME_MAX, "t-%d-%u", (int)getpid(), n++);
}

static inline void chan_req_init(struct kchan_create *req, const char *name,
				 __u32 capacity, __u32 msg_max, __u32 mode,
				 __u32 flags)
{
	memset(req, 0, sizeof(*req));
	req->size = sizeof(*req);
	req->flags = flags;
	req->capacity = capacity;
	req->msg_max = msg_max;
	req->mode = mode;
	memcpy(req->name, name, strnlen(name, sizeof(req->name) - 1));
}

/* 0 or -errno */
static inline int chan_ioctl(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) ? -errno : 0;
}

static inline int chan_create(int ctl, const char *name, __u32 capacity,
			      __u32 msg_max, __u32 mode, __u32 flags)
{
	struct kchan_create req;

	chan_req_init(&req, name, capacity, msg_max, mode, flags);
	return chan_ioctl(ctl, KCHAN_IOC_CREATE, &req);
}

static inline int chan_name_ioctl(int ctl, unsigned long cmd, const char *name)
{
	struct kchan_name req;

	memset(&req, 0, sizeof(req));
	req.size = sizeof(req);
	memcpy(req.name, name, strnlen(name, sizeof(req.name) - 1));
	return chan_ioctl(ctl, cmd, &req);
}

static inline int chan_destroy(int ctl, const char *name)
{
	return chan_name_ioctl(ctl, KCHAN_IOC_DESTROY, name);
}

static inline int chan_close_name(int ctl, const char *name)
{
	return chan_name_ioctl(ctl, KCHAN_IOC_CLOSE_NAME, name);
}

static inline void chan_path(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, KCHAN_DEV_DIR "/%s", name);
}

/* KCHAN_IOC_MAKE through ctl: an anonymous channel's fd, or -errno. */
static inline int chan_make_anon(int ctl, __u32 capacity, __u32 msg_max, __u32 flags)
{
	struct kchan_create req;
	int fd;

	chan_req_init(&req, "", capacity, msg_max, 0, flags);
	fd = ioctl(ctl, KCHAN_IOC_MAKE, &req);
	return fd < 0 ? -errno : fd;
}

/* fd or -errno */
static inline int chan_open(const char *name, int flags)
{
	char path[PATH_MAX];
	int fd;

	chan_path(path, sizeof(path), name);
	fd = open(path, flags | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* 0 or -errno */
static inline int chan_info(int fd, struct kchan_info *info)
{
	memset(info, 0, sizeof(*info));
	info->size = sizeof(*info);
	return chan_ioctl(fd, KCHAN_IOC_INFO, info);
}

/* Go's len(), or -errno */
static inline long chan_len(int fd)
{
	struct kchan_info info;
	int ret = chan_info(fd, &info);

	return ret ? ret : (long)info.length;
}

/* ----- counters, module parameters ---------------------------------- */

static inline ssize_t chan_write_file(const char *path, const char *s)
{
	ssize_t n;
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	if (n < 0)
		n = -errno;
	close(fd);
	return n;
}

/*
 * The value of "key:\t<value>" in /proc/self/fdinfo/<fd>, into buf as
 * "<value>\n" (how the tests compare numbers, chan_num()): 0, or -errno
 * (-ENOENT: no such key).
 */
static inline int chan_fdinfo(int fd, const char *key, char *buf, size_t len)
{
	char path[64], text[4096], *line, *save = NULL;
	size_t klen = strlen(key);
	ssize_t n;

	buf[0] = '\0';
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	n = chan_read_file(path, text, sizeof(text));
	if (n < 0)
		return n;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, key, klen) || line[klen] != ':')
			continue;
		line += klen + 1;
		while (*line == '\t' || *line == ' ')
			line++;
		snprintf(buf, len, "%s\n", line);
		return 0;
	}
	return -ENOENT;
}

/* One line of /proc/self/fdinfo/<fd>: "key:\tval", or "!line" without a tab. */
#define KV_MAX	32

struct kv {
	char key[32];
	char val[64];
};

/* /proc/self/fdinfo/<fd> as key/value pairs, in order: the count, or -errno. */
static inline int fdinfo_read(int fd, struct kv *kv, int max)
{
	char path[64], buf[4096], *line, *save = NULL;
	ssize_t len;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	len = chan_read_file(path, buf, sizeof(buf));
	if (len < 0)
		return (int)len;
	for (line = strtok_r(buf, "\n", &save); line && n < max;
	     line = strtok_r(NULL, "\n", &save)) {
		char *tab = strstr(line, ":\t");

		if (!tab) {
			snprintf(kv[n].key, sizeof(kv[n].key), "!%s", line);
			kv[n++].val[0] = '\0';
			continue;
		}
		*tab = '\0';
		snprintf(kv[n].key, sizeof(kv[n].key), "%s", line);
		snprintf(kv[n].val, sizeof(kv[n].val), "%s", tab + 2);
		n++;
	}
	return n;
}

/*
 * A channel fd's counter key (an fdinfo key: capacity, length, msg_max,
 * readers, writers, sent, received, dropped, held, closed, destroyed,
 * kchan-id; or one of KCHAN_IOC_INFO's state bits: autoclose, timer), as
 * "<n>\n" in buf; "" if unreadable.  The fd itself counts.
 */
static inline const char *chan_fd_attr(int fd, const char *key, char *buf, size_t len)
{
	static const struct { const char *key; __u32 bit; } bits[] = {
		{ "autoclose", KCHAN_STATE_AUTOCLOSE }, { "timer", KCHAN_STATE_TIMER },
	};
	struct kchan_info info;
	size_t i;

	for (i = 0; i < sizeof(bits) / sizeof(bits[0]); i++) {
		if (strcmp(key, bits[i].key))
			continue;
		if (chan_info(fd, &info))
			buf[0] = '\0';
		else
			snprintf(buf, len, "%d\n", !!(info.state & bits[i].bit));
		return buf;
	}
	if (chan_fdinfo(fd, key, buf, len))
		buf[0] = '\0';
	return buf;
}

/*
 * The counter key of channel /dev/chan/<name>, as chan_fd_attr() reads it
 * through a file of its own (O_RDONLY, else O_WRONLY if the mode denies
 * reading), with that file taken out of readers/writers: "<n>\n", or "" if
 * the channel cannot be opened.
 */
static inline const char *chan_attr(const char *name, const char *key, char *buf, size_t len)
{
	bool reader = true;
	int fd = chan_open(name, O_RDONLY | O_NONBLOCK);

	if (fd == -EACCES || fd == -EPERM) {
		reader = false;
		fd = chan_open(name, O_WRONLY | O_NONBLOCK);
	}
	buf[0] = '\0';
	if (fd < 0)
		return buf;
	chan_fd_attr(fd, key, buf, len);
	if (buf[0] && ((reader && !strcmp(key, "readers")) || (!reader && !strcmp(key, "writers"))))
		snprintf(buf, len, "%lld\n", strtoll(buf, NULL, 10) - 1);
	close(fd);
	return buf;
}

/* "<n>\n": what chan_attr() reads for the number n. */
static inline const char *chan_num(unsigned long long n, char *buf, size_t len)
{
	snprintf(buf, len, "%llu\n", n);
	return buf;
}

/* A channel's counter as a number, or -1 if unreadable. */
static inline long long chan_attr_num(const char *name, const char *key)
{
	char buf[64];

	chan_attr(name, key, buf, sizeof(buf));
	return buf[0] ? strtoll(buf, NULL, 10) : -1;
}

/*
 * Calls fn(name, arg) for every channel node in the instance mounted on
 * dir (the directory's entries but the dotfiles: .control, ., ..), until
 * fn returns non-zero.  The count of names visited, or -errno.
 */
static inline int chan_list_at(const char *dir, int (*fn)(const char *name, void *arg), void *arg)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		n++;
		if (fn && fn(e->d_name, arg))
			break;
	}
	closedir(d);
	return n;
}

#define chan_list(fn, arg)	chan_list_at(KCHAN_DEV_DIR, fn, arg)

struct chan_find {
	const char *name;
	bool found;
};

static inline int chan_find_cb(const char *name, void *arg)
{
	struct chan_find *f = arg;

	f->found = !strcmp(name, f->name);
	return f->found;
}

/* Whether readdir() of /dev/chan lists the channel name. */
static inline bool chan_listed(const char *name)
{
	struct chan_find f = { .name = name };

	chan_list(chan_find_cb, &f);
	return f.found;
}

/* Whether /dev/chan/<name> exists (a node: a live channel). */
static inline bool chan_exists(const char *name)
{
	char path[PATH_MAX];
	struct stat st;

	chan_path(path, sizeof(path), name);
	return !lstat(path, &st) && S_ISCHR(st.st_mode);
}

/* 0 or -errno */
static inline int chan_param_get(const char *param, unsigned long *val)
{
	char path[PATH_MAX], buf[64], *end;
	ssize_t n;

	snprintf(path, sizeof(path), CHAN_PARAM_DIR "/%s", param);
	n = chan_read_file(path, buf, sizeof(buf));
	if (n < 0)
		return n;
	errno = 0;
	*val = strtoul(buf, &end, 10);
	if (errno || end == buf || (*end != '\n' && *end != '\0'))
		return -EINVAL;
	return 0;
}

static inline int chan_param_set(const char *param, unsigned long val)
{
	char path[PATH_MAX], buf[64];
	ssize_t n;

	snprintf(path, sizeof(path), CHAN_PARAM_DIR "/%s", param);
	snprintf(buf, sizeof(buf), "%lu\n", val);
	n = chan_write_file(path, buf);
	return n < 0 ? (int)n : 0;
}

/* ----- the instance: its limits (mount options), module load/unload --- */

/* statvfs()'s f_flag bits (<sys/statvfs.h> has some for _GNU_SOURCE only). */
#ifndef ST_NODEV
#define ST_NODEV	4
#define ST_NOEXEC	8
#define ST_SYNCHRONOUS	16
#define ST_NOATIME	1024
#define ST_NODIRATIME	2048
#define ST_RELATIME	4096
#endif

/* The mount options of an instance (kchan(7)): max=, max_user=, max_user_bytes=. */
struct chan_limits {
	unsigned long long max;			/* channels in the instance (ENOSPC) */
	unsigned long long max_user;		/* channels of one user (EDQUOT) */
	unsigned long long max_user_bytes;	/* bytes of one user (EDQUOT) */
};

/*
 * The line of /proc/self/mountinfo of the kchan mount on dir (the top one
 * if several are stacked), into line: 0, or -ENOENT if none.
 */
static inline int chan_mountinfo(const char *dir, char *line, size_t len)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char buf[4096];
	int ret = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(buf, sizeof(buf), f)) {
		char mp[PATH_MAX], *sep = strstr(buf, " - ");
		char fstype[64];

		if (!sep || sscanf(buf, "%*s %*s %*s %*s %4095s", mp) != 1 ||
		    sscanf(sep, " - %63s", fstype) != 1)
			continue;
		if (strcmp(mp, dir) || strcmp(fstype, KCHAN_FS_TYPE))
			continue;
		snprintf(line, len, "%s", buf);
		ret = 0;
	}
	fclose(f);
	return ret;
}

/* Whether a kchan instance is mounted on dir. */
static inline bool chan_fs_mounted(const char *dir)
{
	char line[4096];

	return !chan_mountinfo(dir, line, sizeof(line));
}

/* The limits of the instance on dir, from its super options: 0 or -errno. */
static inline int chan_mnt_limits_get(const char *dir, struct chan_limits *l)
{
	char line[4096], *opts, *o, *save = NULL;
	int found = 0, ret = chan_mountinfo(dir, line, sizeof(line));

	if (ret)
		return ret;
	/* ... - kchan <source> <super options> */
	opts = strstr(line, " - ");
	if (!opts || !(opts = strchr(opts + 3, ' ')) || !(opts = strchr(opts + 1, ' ')))
		return -EINVAL;
	opts[strcspn(opts, "\n")] = '\0';
	for (o = strtok_r(opts + 1, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
		unsigned long long v;
		char key[32];

		if (sscanf(o, "%31[^=]=%llu", key, &v) != 2)
			continue;
		if (!strcmp(key, "max"))
			l->max = v, found |= 1;
		else if (!strcmp(key, "max_user"))
			l->max_user = v, found |= 2;
		else if (!strcmp(key, "max_user_bytes"))
			l->max_user_bytes = v, found |= 4;
	}
	return found == 7 ? 0 : -EINVAL;
}

/*
 * Remounts the instance on dir with options opts ("max_user=2": the
 * others stay as they are).  MS_REMOUNT alone would also reset the mount's
 * own flags (nosuid, nodev, noexec, ro, the atime mode): they are read with
 * statvfs() and passed again.  0 or -errno.
 */
static inline int chan_mnt_remount(const char *dir, const char *opts)
{
	static const struct { unsigned long st, ms; } keep[] = {
		{ ST_RDONLY, MS_RDONLY }, { ST_NOSUID, MS_NOSUID }, { ST_NODEV, MS_NODEV },
		{ ST_NOEXEC, MS_NOEXEC }, { ST_SYNCHRONOUS, MS_SYNCHRONOUS },
		{ ST_NOATIME, MS_NOATIME }, { ST_NODIRATIME, MS_NODIRATIME },
		{ ST_RELATIME, MS_RELATIME },
	};
	unsigned long flags = MS_REMOUNT;
	struct statvfs sv;
	size_t i;

	if (statvfs(dir, &sv))
		return -errno;
	for (i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
		if (sv.f_flag & keep[i].st)
			flags |= keep[i].ms;
	return mount(KCHAN_FS_TYPE, dir, NULL, flags, opts) ? -errno : 0;
}

/* Sets all three limits of the instance on dir: 0 or -errno. */
static inline int chan_mnt_limits_set(const char *dir, const struct chan_limits *l)
{
	char opts[128];

	snprintf(opts, sizeof(opts), "max=%llu,max_user=%llu,max_user_bytes=%llu",
		 l->max, l->max_user, l->max_user_bytes);
	return chan_mnt_remount(dir, opts);
}

/* The same for /dev/chan. */
static inline int chan_limits_get(struct chan_limits *l)
{
	return chan_mnt_limits_get(KCHAN_DEV_DIR, l);
}

static inline int chan_limits_set(const struct chan_limits *l)
{
	return chan_mnt_limits_set(KCHAN_DEV_DIR, l);
}

/* One limit of /dev/chan by its option name (max, max_user, max_user_bytes): 0 or -errno. */
static inline int chan_limit_get(const char *key, unsigned long *val)
{
	struct chan_limits l;
	int ret = chan_limits_get(&l);

	if (ret)
		return ret;
	if (!strcmp(key, "max"))
		*val = l.max;
	else if (!strcmp(key, "max_user"))
		*val = l.max_user;
	else if (!strcmp(key, "max_user_bytes"))
		*val = l.max_user_bytes;
	else
		return -EINVAL;
	return 0;
}

static inline int chan_limit_set(const char *key, unsigned long long val)
{
	char opts[64];

	snprintf(opts, sizeof(opts), "%s=%llu", key, val);
	return chan_mnt_remount(KCHAN_DEV_DIR, opts);
}

/* Mounts a new instance on dir (made if missing) with opts (or NULL): 0 or -errno. */
static inline int chan_fs_mount(const char *dir, const char *opts)
{
	if (mkdir(dir, 0755) && errno != EEXIST)
		return -errno;
	return mount(KCHAN_FS_TYPE, dir, KCHAN_FS_TYPE, 0, opts) ? -errno : 0;
}

/*
 * Unmounts every kchan instance this mount namespace sees, the last
 * mounted first, detached (umount -l, as the guest runner does: a file
 * still open keeps its instance, and the module, alive until closed).
 * The count unmounted, or -errno.
 */
static inline int chan_fs_umount_all(void)
{
	char dirs[32][PATH_MAX];
	int n = 0, done = 0, i;
	char buf[4096];
	FILE *f = fopen("/proc/self/mountinfo", "re");

	if (!f)
		return -errno;
	while (n < 32 && fgets(buf, sizeof(buf), f)) {
		char *sep = strstr(buf, " - ");
		char fstype[64];

		if (sep && sscanf(sep, " - %63s", fstype) == 1 &&
		    !strcmp(fstype, KCHAN_FS_TYPE) &&
		    sscanf(buf, "%*s %*s %*s %*s %4095s", dirs[n]) == 1)
			n++;
	}
	fclose(f);
	for (i = n - 1; i >= 0; i--) {
		if (umount2(dirs[i], MNT_DETACH))
			return -errno;
		done++;
	}
	return done;
}

/* Whether the module is loaded. */
static inline bool chan_module_loaded(void)
{
	return !access("/sys/module/kchan", F_OK);
}

/* rmmod kchan (O_NONBLOCK: EAGAIN while in use), nothing unmounted: 0 or -errno. */
static inline int chan_module_delete(void)
{
	return syscall(SYS_delete_module, "kchan", O_NONBLOCK) ? -errno : 0;
}

/*
 * Unloads the module as the guest runner does: unmount every instance
 * (each pins the module), then rmmod.  0 or -errno (-EAGAIN: a file of a
 * detached instance is still open).
 */
static inline int chan_module_unload(void)
{
	int ret = chan_fs_umount_all();

	return ret < 0 ? ret : chan_module_delete();
}

/* insmod ko (its parameters params, or "") and nothing mounted: 0 or -errno. */
static inline int chan_module_insert(const char *ko, const char *params)
{
	int fd = open(ko, O_RDONLY | O_CLOEXEC), ret;

	if (fd < 0)
		return -errno;
	ret = syscall(SYS_finit_module, fd, params ? params : "", 0) ? -errno : 0;
	close(fd);
	return ret;
}

/* insmod ko, then mount the instance on /dev/chan as the guest runner does: 0 or -errno. */
static inline int chan_module_load(const char *ko, const char *params)
{
	int ret = chan_module_insert(ko, params);

	if (ret)
		return ret;
	return chan_fs_mounted(KCHAN_DEV_DIR) ? 0 : chan_fs_mount(KCHAN_DEV_DIR, NULL);
}

/* ----- memory that faults -------------------------------------------- */

/* NULL, hidden from the compiler's nonnull checks: we pass it on purpose. */
static inline void *chan_null(void)
{
	void *volatile p = NULL;

	return p;
}

/*
 * Two pages: the first readable and writable, the second PROT_NONE.
 * chan_guard_end(p) is the first byte that faults.
 */
static inline char *chan_guard_pages(void)
{
	long pg = sysconf(_SC_PAGESIZE);
	char *p = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	if (mprotect(p + pg, pg, PROT_NONE)) {
		munmap(p, 2 * pg);
		return NULL;
	}
	return p;
}

static inline char *chan_guard_end(char *p)
{
	return p + sysconf(_SC_PAGESIZE);
}

/* ----- helper processes ---------------------------------------------- */

/* What a helper reports; lives in MAP_SHARED memory. */
struct chan_io {
	volatile ssize_t ret;		/* the call's return value */
	volatile int err;		/* errno if ret < 0, else 0 */
	volatile int signals;		/* signal handler invocations */
	volatile int revents;		/* poll helpers: the revents seen */
	volatile long long ns;		/* poll helpers: how long the call took */
	char buf[CHAN_IO_MAX];		/* read: what arrived; write: what to send */
};

static inline struct chan_io *chan_io_new(void)
{
	struct chan_io *io = mmap(NULL, sizeof(*io), PROT_READ | PROT_WRITE,
				  MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (io == MAP_FAILED)
		return NULL;
	io->ret = -2;		/* "never ran" */
	return io;
}

/* The helper's own chan_io, for the signal handler below. */
static struct chan_io *chan_io_self __attribute__((unused));

static void __attribute__((unused)) chan_count_signal(int sig)
{
	(void)sig;
	if (chan_io_self)
		chan_io_self->signals++;
}

/* Installs chan_count_signal for sig, with SA_RESTART or not; inherited by helpers. */
static inline int chan_catch(int sig, bool restart)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = chan_count_signal;
	sa.sa_flags = restart ? SA_RESTART : 0;
	sigemptyset(&sa.sa_mask);
	return sigaction(sig, &sa, NULL);
}

static inline void chan_ignore(int sig)
{
	signal(sig, SIG_IGN);
}

/* A helper that makes one read(fd, io->buf, len) and reports it. */
static inline pid_t chan_spawn_read(int fd, size_t len, struct chan_io *io)
{
	pid_t pid = chan_fork();

	if (pid == 0) {
		ssize_t r;

		chan_io_self = io;
		r = read(fd, io->buf, len);
		io->err = r < 0 ? errno : 0;
		io->ret = r;
		_exit(0);
	}
	return pid;
}

/* A helper that makes one write(fd, msg, len) and reports it. */
static inline pid_t chan_spawn_write(int fd, const void *msg, size_t len,
				     struct chan_io *io)
{
	pid_t pid;

	memcpy(io->buf, msg, len);
	pid = chan_fork();
	if (pid == 0) {
		ssize_t r;

		chan_io_self = io;
		r = write(fd, io->buf, len);
		io->err = r < 0 ? errno : 0;
		io->ret = r;
		_exit(0);
	}
	return pid;
}

/*
 * A helper blocked in write(fd, msg) / read(fd, len): returns once it sleeps
 * in the system call (ASSERTs otherwise).  Test context only.
 */
static inline struct chan_io *chan_blocked_writer(struct __test_metadata *_metadata,
							 int fd, const char *msg, pid_t *pid)
{
	struct chan_io *io = chan_io_new();

	ASSERT_NE(NULL, io);
	*pid = chan_spawn_write(fd, msg, strlen(msg), io);
	ASSERT_LE(0, *pid);
	ASSERT_EQ(0, chan_wait_blocked(*pid, SYS_write));
	return io;
}

static inline struct chan_io *chan_blocked_reader(struct __test_metadata *_metadata,
							 int fd, size_t len, pid_t *pid)
{
	struct chan_io *io = chan_io_new();

	ASSERT_NE(NULL, io);
	*pid = chan_spawn_read(fd, len, io);
	ASSERT_LE(0, *pid);
	ASSERT_EQ(0, chan_wait_blocked(*pid, SYS_read));
	return io;
}

/*
 * A helper that makes one poll(fd, events, timeout_ms) and reports its
 * return in io->ret, the revents in io->revents and the time it took in
 * io->ns.
 */
static inline pid_t chan_spawn_poll(int fd, short events, int timeout_ms,
				    struct chan_io *io)
{
	pid_t pid = chan_fork();

	if (pid == 0) {
		struct pollfd p = { .fd = fd, .events = events };
		struct timespec a, b;
		int r;

		chan_io_self = io;
		clock_gettime(CLOCK_MONOTONIC, &a);
		r = poll(&p, 1, timeout_ms);
		clock_gettime(CLOCK_MONOTONIC, &b);
		io->ns = (b.tv_sec - a.tv_sec) * 1000000000LL + (b.tv_nsec - a.tv_nsec);
		io->revents = r > 0 ? p.revents : 0;
		io->err = r < 0 ? errno : 0;
		io->ret = r;
		_exit(0);
	}
	return pid;
}

/* ----- userfaultfd: a copy that stalls on purpose ---------------------- */

/*
 * One anonymous page registered with a userfaultfd (MISSING mode, kernel
 * faults handled: needs root, or CAP_SYS_PTRACE): a copy_to_user() into it
 * sleeps in the fault until chan_uffd_resolve() fills the page or
 * chan_uffd_fail() makes the copy fail with EFAULT.  The registration is
 * not inherited by fork() (no UFFD_FEATURE_EVENT_FORK), so the stalled call
 * must run in a thread of the test process (struct chan_stall).
 */
struct chan_uffd {
	int fd;
	char *page;
	size_t len;
};

/* 0, or -errno (the caller SKIPs: no userfaultfd for us). */
static inline int chan_uffd_new(struct chan_uffd *u)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg;

	u->len = sysconf(_SC_PAGESIZE);
	u->page = NULL;
	u->fd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (u->fd < 0)
		return -errno;
	if (ioctl(u->fd, UFFDIO_API, &api))
		goto fail;
	u->page = mmap(NULL, u->len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (u->page == MAP_FAILED) {
		u->page = NULL;
		goto fail;
	}
	memset(&reg, 0, sizeof(reg));
	reg.range.start = (__u64)(uintptr_t)u->page;
	reg.range.len = u->len;
	reg.mode = UFFDIO_REGISTER_MODE_MISSING;
	if (ioctl(u->fd, UFFDIO_REGISTER, &reg))
		goto fail;
	return 0;
fail:
	{
		int err = -errno;

		if (u->page)
			munmap(u->page, u->len);
		close(u->fd);
		u->fd = -1;
		u->page = NULL;
		return err;
	}
}

/* Waits until a fault on the page is pending: 0, or -1 after CHAN_WAIT_MS. */
static inline int chan_uffd_wait_fault(struct chan_uffd *u)
{
	struct pollfd p = { .fd = u->fd, .events = POLLIN };
	struct uffd_msg msg;

	if (poll(&p, 1, CHAN_WAIT_MS) != 1)
		return -1;
	if (read(u->fd, &msg, sizeof(msg)) != sizeof(msg))
		return -1;
	return msg.event == UFFD_EVENT_PAGEFAULT ? 0 : -1;
}

/* Fills the page (with zeros), so the stalled copy goes on and succeeds: 0 or -errno. */
static inline int chan_uffd_resolve(struct chan_uffd *u)
{
	struct uffdio_copy c;
	char *src = calloc(1, u->len);
	int ret;

	if (!src)
		return -ENOMEM;
	memset(&c, 0, sizeof(c));
	c.dst = (__u64)(uintptr_t)u->page;
	c.src = (__u64)(uintptr_t)src;
	c.len = u->len;
	ret = ioctl(u->fd, UFFDIO_COPY, &c) ? -errno : 0;
	free(src);
	return ret;
}

/*
 * Makes the stalled copy fail with EFAULT: unmap the page, then wake the
 * fault (UFFDIO_WAKE), whose retry finds no mapping.  Closing the uffd
 * instead is not enough: the retried fault would find the vma unregistered
 * and fill the page normally, and helpers forked since chan_uffd_new() keep
 * the uffd open anyway (O_CLOEXEC closes on exec, not on fork).
 */
static inline void chan_uffd_fail(struct chan_uffd *u)
{
	if (u->page) {
		struct uffdio_range r = {
			.start = (__u64)(uintptr_t)u->page, .len = u->len,
		};

		munmap(u->page, u->len);
		if (u->fd >= 0)
			ioctl(u->fd, UFFDIO_WAKE, &r);
	}
	u->page = NULL;
	if (u->fd >= 0)
		close(u->fd);
	u->fd = -1;
}

static inline void chan_uffd_free(struct chan_uffd *u)
{
	chan_uffd_fail(u);
}

/* A read() or KCHAN_IOC_HOLD run in a thread, into a (stalling) buffer. */
struct chan_stall {
	pthread_t thread;
	int fd;
	bool hold;			/* KCHAN_IOC_HOLD, else read() */
	void *buf;
	size_t len;
	struct kchan_hold h;		/* hold: the argument, and what came back */
	volatile long ret;		/* bytes (hold: h.len), or -errno */
	volatile int done;
};

static void *chan_stall_main(void *arg)
{
	struct chan_stall *s = arg;
	long r;

	if (s->hold) {
		memset(&s->h, 0, sizeof(s->h));
		s->h.size = sizeof(s->h);
		s->h.buf = (__u64)(uintptr_t)s->buf;
		s->h.len = s->len;
		r = ioctl(s->fd, KCHAN_IOC_HOLD, &s->h) < 0 ? -errno : (long)s->h.len;
	} else {
		r = read(s->fd, s->buf, s->len);
		if (r < 0)
			r = -errno;
	}
	s->ret = r;
	__atomic_store_n(&s->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* Starts the call: 0 or -errno. */
static inline int chan_stall_start(struct chan_stall *s, int fd, bool hold,
				   void *buf, size_t len)
{
	memset(s, 0, sizeof(*s));
	s->fd = fd;
	s->hold = hold;
	s->buf = buf;
	s->len = len;
	s->ret = -1000;
	return -pthread_create(&s->thread, NULL, chan_stall_main, s);
}

/* Waits at most ms for the call to return: 0, or -1 if it has not. */
static inline int chan_stall_join(struct chan_stall *s, int ms)
{
	int i;

	for (i = 0; i < ms; i++) {
		if (__atomic_load_n(&s->done, __ATOMIC_ACQUIRE)) {
			pthread_join(s->thread, NULL);
			return 0;
		}
		usleep(1000);
	}
	return -1;
}

/* The pid of a and b that exits first, without reaping it. */
static inline pid_t chan_first_to_exit(pid_t a, pid_t b)
{
	int i;

	for (i = 0; i < CHAN_WAIT_MS; i++) {
		if (!chan_alive(a))
			return a;
		if (!chan_alive(b))
			return b;
		usleep(1000);
	}
	return -1;
}

/* poll() one fd without blocking; revents, or -errno. */
static inline int chan_revents(int fd, short events)
{
	struct pollfd p = { .fd = fd, .events = events };
	int n = poll(&p, 1, 0);

	if (n < 0)
		return -errno;
	return n ? p.revents : 0;
}

#define CHAN_POLL_ALL	(POLLIN | POLLRDNORM | POLLOUT | POLLWRNORM)

/* CLOCK_MONOTONIC now, in nanoseconds (the clock of select and timers). */
static inline __s64 chan_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__s64)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* ----- a fixture's channel ------------------------------------------- */

/* The channel a fixture creates in setup and destroys in teardown. */
struct chan_env {
	int ctl;			/* KCHAN_CONTROL_PATH */
	int fd;				/* O_RDWR on the channel */
	int nb;				/* O_RDWR | O_NONBLOCK on the channel */
	char name[KCHAN_NAME_MAX];
	__u32 capacity;
	__u32 msg_max;
};

#define CHAN_SKIP_IF_ABSENT() do { \
	if (access(KCHAN_CONTROL_PATH, F_OK)) \
		SKIP(return, KCHAN_CONTROL_PATH " is missing: kchan not loaded"); \
} while (0)

/*
 * What a test leaves behind (issue 11, "tests that check what they leave",
 * after tools/testing/selftests/net/af_unix/scm_rights.c): every fixture's
 * channel is registered at setup; its teardown destroys it and checks that
 * the dead channel holds no message (queued or held); when the test's last
 * chan_env is torn down, /dev/chan must list as many channels as
 * before its first setup and none named after this test, and the user's
 * quota charge must be exactly what its remaining channels account for.
 */
#define CHAN_ENVS_MAX	64

static struct chan_env *chan_envs[CHAN_ENVS_MAX] __attribute__((unused));
static int chan_envs_n __attribute__((unused));
static int chan_envs_baseline __attribute__((unused)) = -1;

/* Channels in /dev/chan; those named with prefix (if any) in *mine. */
struct chan_count {
	const char *prefix;
	int mine;
};

static inline int chan_count_one(const char *name, void *arg)
{
	struct chan_count *c = arg;

	if (c->prefix && !strncmp(name, c->prefix, strlen(c->prefix)))
		c->mine++;
	return 0;
}

static inline int chan_count_all(const char *prefix, int *mine)
{
	struct chan_count c = { .prefix = prefix };
	int n = chan_list(chan_count_one, &c);

	if (mine)
		*mine = c.mine;
	return n < 0 ? 0 : n;
}

static inline void chan_env_register(struct chan_env *env)
{
	int i;

	for (i = 0; i < chan_envs_n; i++)
		if (chan_envs[i] == env)
			return;
	if (!chan_envs_n)
		chan_envs_baseline = chan_count_all(NULL, NULL);
	if (chan_envs_n < CHAN_ENVS_MAX)
		chan_envs[chan_envs_n++] = env;
}

/* True if env was registered (and is not any more). */
static inline bool chan_env_unregister(struct chan_env *env)
{
	int i;

	for (i = 0; i < chan_envs_n; i++) {
		if (chan_envs[i] == env) {
			chan_envs[i] = chan_envs[--chan_envs_n];
			return true;
		}
	}
	return false;
}

/* The probe's tally: the channels of this euid in /dev/chan and their bytes. */
struct chan_quota_tally {
	unsigned long n, bytes;
	char *why;
	size_t whylen;
	int err;
};

static inline int chan_quota_count(const char *name, void *arg)
{
	struct chan_quota_tally *t = arg;
	char path[PATH_MAX];
	long long cap, max;
	struct stat st;

	chan_path(path, sizeof(path), name);
	if (lstat(path, &st)) {
		if (errno == ENOENT)	/* destroyed meanwhile */
			return 0;
		snprintf(t->why, t->whylen, "quota not probed: %.200s: %m", path);
		t->err = 1;
		return 1;
	}
	if (st.st_uid != geteuid())
		return 0;
	cap = chan_attr_num(name, "capacity");
	max = chan_attr_num(name, "msg_max");
	if (cap < 0 || max < 0) {
		if (!chan_exists(name))
			return 0;
		snprintf(t->why, t->whylen, "quota not probed: no counters of %.200s", path);
		t->err = 1;
		return 1;
	}
	t->n++;
	t->bytes += (cap ? cap : 1) * max;
	return 0;
}

/*
 * The user's quota charge (kmod/quota.c) is not exported, so it is probed:
 * count the channels this euid owns in the /dev/chan instance (the owner
 * of /dev/chan/<name>) and their worst-case bytes, max(capacity, 1) *
 * msg_max, then lower the instance's max_user (then max_user_bytes) mount
 * option to exactly one more probe channel (capacity 0, msg_max 1: 1
 * byte): the first probe must be accepted and a second refused with
 * EDQUOT.  A charge left behind makes the first fail; a charge lost, the
 * second succeed.  Needs root (a remount of /dev/chan); otherwise it
 * checks nothing and says so (1).  0 if the charge matches, -1 (with why
 * filled) if not.
 */
static inline int chan_quota_probe(char *why, size_t whylen)
{
	static const char *const lim[2] = { "max_user", "max_user_bytes" };
	struct chan_quota_tally t = { .why = why, .whylen = whylen };
	char a[KCHAN_NAME_MAX], b[KCHAN_NAME_MAX];
	struct chan_limits saved;
	int ctl, round, ret = 0;

	if (geteuid() != 0 || chan_limits_get(&saved)) {
		snprintf(why, whylen, "quota not probed: not root or no " KCHAN_DEV_DIR " mount");
		return 1;
	}
	if (chan_list(chan_quota_count, &t) < 0) {
		snprintf(why, whylen, "quota not probed: " KCHAN_DEV_DIR ": %m");
		return 1;
	}
	if (t.err)
		return 1;
	ctl = chan_ctl_open();
	if (ctl < 0) {
		snprintf(why, whylen, "quota not probed: " KCHAN_CONTROL_PATH ": %m");
		return 1;
	}
	snprintf(a, sizeof(a), "q-%d-a", (int)getpid());
	snprintf(b, sizeof(b), "q-%d-b", (int)getpid());
	for (round = 0; round < 2 && !ret; round++) {
		unsigned long long limit = round ? t.bytes + 1 : t.n + 1;
		int ra, rb;

		ra = chan_limit_set(lim[round], limit);
		if (ra) {
			snprintf(why, whylen, "quota not probed: remount %s=%llu: %s",
				 lim[round], limit, strerror(-ra));
			ret = 1;
			break;
		}
		ra = chan_create(ctl, a, 0, 1, 0, 0);
		rb = chan_create(ctl, b, 0, 1, 0, 0);
		chan_destroy(ctl, a);
		chan_destroy(ctl, b);
		chan_limits_set(&saved);
		if (ra || rb != -EDQUOT) {
			snprintf(why, whylen,
				 "quota charge %s: uid %d owns %lu channel(s), %lu bytes; with %s=%llu a first create gave %s, a second %s (want success, then EDQUOT)",
				 ra ? "left behind" : "lost", (int)geteuid(), t.n, t.bytes,
				 lim[round], limit, ra ? strerror(-ra) : "success",
				 rb ? strerror(-rb) : "success");
			ret = -1;
		}
	}
	chan_limits_set(&saved);
	close(ctl);
	return ret;
}

/*
 * A channel is uncharged when it is destroyed (a named one) or when its
 * last fd goes (an anonymous one), so a helper still exiting with an
 * anonymous channel's fd holds the charge a little longer:
 * a leak is only reported once it has lasted CHAN_QUOTA_SETTLE_MS (default
 * 6000; 0 turns the quota check off).  Only a lingering release waits: a
 * clean test pays nothing.
 */
static inline int chan_quota_settled(char *why, size_t whylen)
{
	const char *env = getenv("CHAN_QUOTA_SETTLE_MS");
	long settle = env ? strtol(env, NULL, 10) : 6000;
	__s64 end;
	int ret;

	if (settle <= 0)
		return 1;
	end = chan_now_ns() + settle * 1000000LL;
	while ((ret = chan_quota_probe(why, whylen)) == -1 && chan_now_ns() < end)
		usleep(10000);
	return ret;
}

/*
 * Creates a channel for the test and opens it twice (blocking and
 * non-blocking).  SIGPIPE is ignored so a stray EPIPE cannot kill the test;
 * tests about SIGPIPE restore it in a helper.
 */
#define chan_env_setup(env, cap, max, flags) \
	chan_env_setup_open(env, cap, max, flags, O_RDWR)

/* The same, with the channel opened with oflags (and oflags | O_NONBLOCK). */
#define chan_env_setup_open(env, cap, max, flags, oflags) do { \
	int __ret; \
	memset((env), 0, sizeof(*(env))); \
	(env)->ctl = (env)->fd = (env)->nb = -1; \
	CHAN_SKIP_IF_ABSENT(); \
	chan_ignore(SIGPIPE); \
	chan_env_register(env); \
	(env)->ctl = chan_ctl_open(); \
	ASSERT_LE(0, (env)->ctl) TH_LOG("open " KCHAN_CONTROL_PATH ": %m"); \
	chan_make_name((env)->name); \
	(env)->capacity = (cap); \
	(env)->msg_max = (max) ? (max) : KCHAN_MSG_MAX_DEFAULT; \
	__ret = chan_create((env)->ctl, (env)->name, (cap), (max), 0, (flags)); \
	ASSERT_EQ(0, __ret) TH_LOG("create %s: %s", (env)->name, strerror(-__ret)); \
	(env)->fd = chan_open((env)->name, (oflags)); \
	ASSERT_LE(0, (env)->fd) TH_LOG("open %s: %s", (env)->name, strerror(-(env)->fd)); \
	(env)->nb = chan_open((env)->name, (oflags) | O_NONBLOCK); \
	ASSERT_LE(0, (env)->nb) TH_LOG("open %s: %s", (env)->name, strerror(-(env)->nb)); \
} while (0)

/*
 * Destroys the channel, closes the fds and checks what is left (above):
 * it EXPECTs, so test context only (a fixture's teardown or a test body).
 */
#define chan_env_teardown(env) chan_env_teardown_check(_metadata, (env))

static inline void chan_env_teardown_check(struct __test_metadata *_metadata,
					   struct chan_env *env)
{
	bool mine = chan_env_unregister(env);
	struct kchan_info info;
	int ctl = env->ctl;

	/* A failed ASSERT longjmp()s out with trigger still set: its TH_LOG
	 * would follow our next EXPECT, passed or not. */
	_metadata->trigger = 0;

	if (ctl < 0)
		ctl = chan_ctl_open();
	if (ctl >= 0 && env->name[0])
		chan_destroy(ctl, env->name);	/* ENOENT if the test did it */
	/* Destroyed, the channel drops every message, held ones too. */
	if (mine && env->fd >= 0 && !chan_info(env->fd, &info) &&
	    (info.state & KCHAN_STATE_DESTROYED)) {
		EXPECT_EQ(0, info.length) TH_LOG("%s: messages left in a destroyed channel", env->name);
		EXPECT_EQ(0, info.held) TH_LOG("%s: held messages left in a destroyed channel", env->name);
	}
	if (env->fd >= 0)
		close(env->fd);
	if (env->nb >= 0)
		close(env->nb);
	if (ctl >= 0)
		close(ctl);
	env->fd = env->nb = env->ctl = -1;

	if (mine && !chan_envs_n && !access(KCHAN_CONTROL_PATH, F_OK)) {
		char prefix[32], why[512];
		int n, ours;

		snprintf(prefix, sizeof(prefix), "t-%d-", (int)getpid());
		n = chan_count_all(prefix, &ours);
		EXPECT_EQ(0, ours) TH_LOG("%d channel(s) named %s* left behind", ours, prefix);
		EXPECT_EQ(chan_envs_baseline, n)
			TH_LOG("channels in " KCHAN_DEV_DIR ": %d before the test, %d after",
			       chan_envs_baseline, n);
		why[0] = '\0';
		EXPECT_NE(-1, chan_quota_settled(why, sizeof(why))) TH_LOG("%s", why);
		if (getenv("CHAN_DEBUG_QUOTA"))
			ksft_print_msg("%s\n", why[0] ? why : "quota charge matches");
	}
}

/*
 * For fixtures that make their channels without a chan_env: the same end
 * checks.  chan_leaks_begin() in setup (after the SKIPs), chan_leaks_end()
 * last in teardown, once the fixture destroyed what it made.
 */
static struct chan_env chan_leak_sentinel __attribute__((unused)) = {
	.ctl = -1, .fd = -1, .nb = -1,
};
#define chan_leaks_begin()	chan_env_register(&chan_leak_sentinel)
#define chan_leaks_end()	chan_env_teardown(&chan_leak_sentinel)

/* Writes n messages "<tag><i>" without blocking; the count written. */
static inline int chan_fill(int nb, const char *tag, int n)
{
	char msg[64];
	int i;

	for (i = 0; i < n; i++) {
		int len = snprintf(msg, sizeof(msg), "%s%d", tag, i);

		if (write(nb, msg, len) != len)
			break;
	}
	return i;
}

/* ----- held receive and at-most-once sends -------------------------- */

/* KCHAN_IOC_HOLD into buf: the message's length (0 at EOF), or -errno. */
static inline long chan_hold_into(int fd, void *buf, size_t len, struct kchan_hold *h)
{
	memset(h, 0, sizeof(*h));
	h->size = sizeof(*h);
	h->buf = (__u64)(uintptr_t)buf;
	h->len = len;
	h->id = 0xdeadbeef;
	h->seq = 0xdeadbeef;
	if (ioctl(fd, KCHAN_IOC_HOLD, h) < 0)
		return -errno;
	return (long)h->len;
}

/* KCHAN_IOC_ACK or KCHAN_IOC_RETURN (cmd) with flags: the count released, or -errno. */
static inline long chan_ack_flags_ret(int fd, unsigned long cmd, __u64 id, __u32 flags)
{
	struct kchan_ack a;

	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	a.flags = flags;
	a.id = id;
	a.count = 0xdeadbeef;
	if (ioctl(fd, cmd, &a) < 0)
		return -errno;
	return a.count;
}

static inline long chan_ack_ret(int fd, unsigned long cmd, __u64 id)
{
	return chan_ack_flags_ret(fd, cmd, id, 0);
}

/* KCHAN_IOC_SEND_ONCE: 0 (sent), 1 (a duplicate, not sent), or -errno. */
static inline int chan_send_once(int fd, const void *msg, size_t len,
				 __u64 stream, __u64 seq)
{
	struct kchan_send_once s;

	memset(&s, 0, sizeof(s));
	s.size = sizeof(s);
	s.buf = (__u64)(uintptr_t)msg;
	s.len = len;
	s.stream = stream;
	s.seq = seq;
	s.result_flags = 0xdead;
	if (ioctl(fd, KCHAN_IOC_SEND_ONCE, &s) < 0)
		return -errno;
	if (s.result_flags & ~KCHAN_SEND_DUPLICATE)
		return -1000;	/* garbage: fails every check */
	return !!(s.result_flags & KCHAN_SEND_DUPLICATE);
}

/* KCHAN_IOC_STREAM_SEQ with flags: the stream's last seq (0: unknown), or -errno. */
static inline long long chan_stream_seq(int fd, __u64 stream, __u32 flags)
{
	struct kchan_stream_seq s;

	memset(&s, 0, sizeof(s));
	s.size = sizeof(s);
	s.flags = flags;
	s.stream = stream;
	s.seq = 0xdeadbeef;
	if (ioctl(fd, KCHAN_IOC_STREAM_SEQ, &s) < 0)
		return -errno;
	return (long long)s.seq;
}

/* ----- select and clocks --------------------------------------------- */

/* One select case: op KCHAN_SELECT_RECV (buf to fill) or _SEND (len bytes of buf). */
static inline void chan_case(struct kchan_select_case *c, int fd, __u32 op,
			     const void *buf, size_t len)
{
	memset(c, 0, sizeof(*c));
	c->fd = fd;
	c->op = op;
	c->buf = (__u64)(uintptr_t)buf;
	c->len = len;
}

/*
 * A struct kchan_select for ncases cases; the out fields are poisoned so a
 * test sees whether the kernel wrote them.
 */
static inline void chan_select_init(struct kchan_select *s,
				    const struct kchan_select_case *cases,
				    unsigned int ncases, __s64 timeout_ns)
{
	memset(s, 0, sizeof(*s));
	s->size = sizeof(*s);
	s->cases = (__u64)(uintptr_t)cases;
	s->ncases = ncases;
	s->case_size = sizeof(*cases);
	s->timeout_ns = timeout_ns;
	s->index = -100;
	s->result_flags = 0xdeadbeef;
	s->result_len = 0xdeadbeefULL;
}

/* KCHAN_IOC_SELECT through fd (the control node or any channel fd): 0 or -errno. */
static inline int chan_select(int fd, const struct kchan_select_case *cases,
			      unsigned int ncases, __s64 timeout_ns,
			      struct kchan_select *out)
{
	struct kchan_select s;
	int ret;

	chan_select_init(&s, cases, ncases, timeout_ns);
	ret = chan_ioctl(fd, KCHAN_IOC_SELECT, &s);
	if (out)
		*out = s;
	return ret;
}

#endif /* CHAN_TEST_H */
