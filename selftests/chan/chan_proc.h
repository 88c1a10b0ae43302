/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helper processes of the kchan tests, shared by selftests/chan/chan_test.h
 * and userspace/libchan/tests/libchan_test.h (one copy, issue 11): fork a
 * helper with its alarm() guard, reap it (within a bound), and decide
 * without sleeps that it is blocked: state 'S' and /proc/<pid>/syscall
 * naming the expected system call (it only names one while the task is off
 * the CPU).  Nothing here knows kchan.
 */
#ifndef CHAN_PROC_H
#define CHAN_PROC_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/types.h>
#include <sys/wait.h>

#include "kselftest.h"

/* Seconds a helper process may live before its alarm() kills it. */
#define PROC_CHILD_GUARD	30
/* How long proc_wait_blocked() and friends wait, in ms. */
#define PROC_WAIT_MS		15000

/* Reads a whole small file into buf (NUL-terminated); bytes or -errno. */
static inline ssize_t proc_read_file(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	if (n < 0)
		n = -errno;
	else
		buf[n] = '\0';
	close(fd);
	return n;
}

/* fork() with the helper's guard armed; the helper must end with _exit(). */
static inline pid_t proc_fork(void)
{
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid == 0)
		alarm(PROC_CHILD_GUARD);
	return pid;
}

/* Waits for a helper; its wait status (0: exited with 0), or -1. */
static inline int proc_reap(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) != pid)
		if (errno != EINTR)
			return -1;
	return status;
}

/* True if pid has not exited yet (does not reap it). */
static inline bool proc_alive(pid_t pid)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, pid, &si, WEXITED | WNOHANG | WNOWAIT))
		return false;
	return si.si_pid == 0;
}

/* State letter from /proc/<pid>/stat ('R', 'S', 'D', 'T', 'Z', ...), or 0. */
static inline char proc_task_state(pid_t pid)
{
	char path[64], buf[512], *p;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (proc_read_file(path, buf, sizeof(buf)) < 0)
		return 0;
	p = strrchr(buf, ')');
	if (!p || p[1] != ' ')
		return 0;
	return p[2];
}

/*
 * The system call pid is sleeping in, from /proc/<pid>/syscall: -1 if it is
 * running (the file says "running"), -2 if unknown.
 */
static inline long proc_task_syscall(pid_t pid)
{
	char path[64], buf[256], *end;
	long nr;

	snprintf(path, sizeof(path), "/proc/%d/syscall", (int)pid);
	if (proc_read_file(path, buf, sizeof(buf)) < 0)
		return -2;
	if (!strncmp(buf, "running", 7))
		return -1;
	nr = strtol(buf, &end, 10);
	if (end == buf)
		return -2;
	return nr;
}

/*
 * Waits until pid sleeps interruptibly ('S') inside system call nr.
 * 0 on success; -1 (after printing what was seen) if it exited or did not
 * get there within PROC_WAIT_MS.
 */
static inline int proc_wait_blocked(pid_t pid, long nr)
{
	char state = 0;
	long seen = -2;
	int i;

	for (i = 0; i < PROC_WAIT_MS; i++) {
		if (!proc_alive(pid)) {
			ksft_print_msg("pid %d exited instead of blocking in syscall %ld\n",
				       (int)pid, nr);
			return -1;
		}
		state = proc_task_state(pid);
		seen = proc_task_syscall(pid);
		/* Read the state again: both must hold at once. */
		if (state == 'S' && seen == nr && proc_task_state(pid) == 'S')
			return 0;
		usleep(1000);
	}
	ksft_print_msg("pid %d never blocked in syscall %ld: state '%c', syscall %ld\n",
		       (int)pid, nr, state ? state : '?', seen);
	return -1;
}

/*
 * voluntary_ctxt_switches of pid: it grows each time the task sleeps, so a
 * sleeper woken for nothing (a thundering herd) shows up here.  -1 if unknown.
 */
static inline long proc_task_sleeps(pid_t pid)
{
	char path[64], buf[4096], *p;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if (proc_read_file(path, buf, sizeof(buf)) < 0)
		return -1;
	p = strstr(buf, "\nvoluntary_ctxt_switches:");
	if (!p)
		return -1;
	return strtol(p + strlen("\nvoluntary_ctxt_switches:"), NULL, 10);
}

/* Waits until pid is in state want (e.g. 'T', stopped). */
static inline int proc_wait_state(pid_t pid, char want)
{
	int i;

	for (i = 0; i < PROC_WAIT_MS; i++) {
		if (proc_task_state(pid) == want)
			return 0;
		usleep(1000);
	}
	return -1;
}

/* Waits until *counter reaches want (written by a helper). */
static inline int proc_wait_count(volatile int *counter, int want)
{
	int i;

	for (i = 0; i < PROC_WAIT_MS; i++) {
		if (*counter >= want)
			return 0;
		usleep(1000);
	}
	return -1;
}

/*
 * Waits at most ms for pid to exit: its wait status, or -1 if it was still
 * running (it is then SIGKILLed and reaped, so no helper outlives a test).
 */
static inline int proc_reap_within(pid_t pid, int ms)
{
	int status, i;

	for (i = 0; i < ms; i++) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			return status;
		if (r < 0)
			return -1;
		usleep(1000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return -1;
}

#endif /* CHAN_PROC_H */
