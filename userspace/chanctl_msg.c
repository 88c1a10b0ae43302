// SPDX-License-Identifier: GPL-2.0
/*
 * chanctl send and chanctl recv: messages through /dev/chan/NAME.
 *
 * send writes one message per write(2) (or per chan_select() send case
 * when it has a timeout); stdin is read through stdio with a large buffer,
 * so a long pipe of lines costs one read(2) per 64 KiB and one write(2) per
 * message.
 *
 * recv reads one message per read(2) from one channel, and uses
 * chan_select() for several channels or a timeout.  Its output is
 * buffered, but flushed before every receive that would block: a message
 * taken out of a channel must not sit unprinted in our buffer while we
 * wait, for a reader downstream may be waiting for it.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "chanctl.h"
#include "libchan.h"

#define STDIN_BUFFER	(64 * 1024)

/* Open channel @name for @flags; on failure say why and return -errno. */
static int open_chan(const struct chanctl_cmd *cmd, const char *name, int flags)
{
	char path[CHAN_PATH_MAX];
	int fd;

	chan_path(path, name);
	fd = open(path, flags | O_CLOEXEC);
	if (fd < 0) {
		int err = errno;

		if (err == ENOENT && access(KCHAN_CONTROL_PATH, F_OK))
			fprintf(stderr, "chanctl: %s %s: %s: %s%s\n",
				cmd->name, name, path, strerror(err), CHANCTL_NOT_LOADED);
		else if (err == ENOENT)
			fprintf(stderr, "chanctl: %s %s: no such channel (%s)\n",
				cmd->name, name, path);
		else
			op_error(cmd, name, err);
		return -err;
	}
	return fd;
}

/*
 * One select over @cases, retried after a signal with what is left of
 * @timeout_ns (< 0: for ever): the index of the case done, or -errno.
 * Timing out is -ETIMEDOUT, also when @timeout_ns is 0 (EAGAIN: nothing
 * was ready).
 */
static int select_for(struct chan_case *cases, unsigned int ncases,
		      long long timeout_ns)
{
	long long deadline = timeout_ns > 0 ? now_ns() + timeout_ns : 0;
	int err;

	for (;;) {
		long long left = timeout_ns;

		if (timeout_ns > 0) {
			left = deadline - now_ns();
			if (left <= 0)
				left = 0;
		}
		err = chan_select(cases, ncases, left);
		if (err != -EINTR)
			break;
	}
	if (err == -EAGAIN && timeout_ns >= 0)
		err = -ETIMEDOUT;
	return err;
}

/* Send one message; -errno on failure. */
static int send_one(int fd, const char *msg, size_t len, long long timeout_ns)
{
	struct chan_case c = CHAN_CASE_SEND(fd, msg, len);
	int ret;

	if (timeout_ns < 0) {
		for (;;) {
			/* A write cut short by a signal delivered nothing: resend. */
			if (write(fd, msg, len) >= 0)
				return 0;
			if (errno != EINTR)
				return -errno;
		}
	}
	ret = select_for(&c, 1, timeout_ns);
	return ret < 0 ? ret : 0;
}

/* Why message @nr could not be sent; returns the exit status. */
static int send_error(const struct chanctl_cmd *cmd, const char *name, int fd,
		      unsigned long nr, size_t len, int err)
{
	struct chan_info info;

	switch (err) {
	case EMSGSIZE:
		if (chan_info(fd, &info) == 0)
			fprintf(stderr, "chanctl: send %s: message %lu: %zu bytes, more than the channel's msg_max %u\n",
				name, nr, len, info.msg_max);
		else
			fprintf(stderr, "chanctl: send %s: message %lu: %s\n",
				name, nr, strerror(err));
		break;
	case EPIPE:
		fprintf(stderr, "chanctl: send %s: message %lu: the channel is closed\n",
			name, nr);
		break;
	case EPERM:
		fprintf(stderr, "chanctl: send %s: message %lu: %s%s\n", name,
			nr, strerror(err),
			chan_info(fd, &info) == 0 && (info.state & CHAN_STATE_TIMER) ?
			" (a timer channel takes no messages)" : "");
		break;
	case ETIMEDOUT:
		/* Like recv: the exit status says it, for scripts that expect it. */
		break;
	default:
		fprintf(stderr, "chanctl: send %s: message %lu: %s\n", name, nr,
			strerror(err));
	}
	(void)cmd;
	return exit_status(err);
}

enum { SEND_NULL, SEND_WHOLE, SEND_TIMEOUT };

int cmd_send(const struct chanctl_cmd *cmd, int argc, char **argv)
{
	static const struct chanctl_opt opts[] = {
		[SEND_NULL] = { "--null", '0', 0 },
		[SEND_WHOLE] = { "--whole", 0, 0 },
		[SEND_TIMEOUT] = { "--timeout", 0, 1 },
		{ NULL, 0, 0 },
	};
	const char *name = NULL, *val;
	char **msgs = argv;	/* at most argc of them */
	int nmsgs = 0, null = 0, whole = 0, fd, k, err = 0;
	long long timeout = -1;
	unsigned long nr = 0;
	struct argscan s;
	char *line = NULL;
	size_t cap = 0;

	argscan_init(&s, argc, argv);
	while ((k = argscan_next(cmd, &s, opts, &val)) != ARG_END) {
		switch (k) {
		case ARG_ERROR:
			return CHANCTL_EXIT_USAGE;
		case ARG_OPERAND:
			if (!name) {
				if (check_name(cmd, val))
					return CHANCTL_EXIT_USAGE;
				name = val;
			} else {
				if (!*val)
					return usage_error(cmd, "an empty message cannot be sent (messages are 1..msg_max bytes)");
				msgs[nmsgs++] = (char *)val;
			}
			break;
		case SEND_NULL:
			null = 1;
			break;
		case SEND_WHOLE:
			whole = 1;
			break;
		case SEND_TIMEOUT:
			if (parse_duration(val, &timeout))
				return usage_error(cmd, "--timeout: invalid duration '%s' (such as 500ms, 2s, 1m30s)", val);
			break;
		}
	}
	if (!name)
		return usage_error(cmd, "missing channel name");
	if (null && whole)
		return usage_error(cmd, "-0 and --whole cannot go together");
	if (nmsgs && (null || whole))
		return usage_error(cmd, "%s frames standard input: it takes no MSG arguments",
				   null ? "-0" : "--whole");

	/* A closed channel is an error we report, not a silent death. */
	signal(SIGPIPE, SIG_IGN);
	fd = open_chan(cmd, name, O_WRONLY);
	if (fd < 0)
		return exit_status(-fd);

	if (nmsgs) {
		for (k = 0; k < nmsgs && !err; k++) {
			nr++;
			err = send_one(fd, msgs[k], strlen(msgs[k]), timeout);
			if (err)
				err = send_error(cmd, name, fd, nr, strlen(msgs[k]), -err);
		}
	} else if (whole) {
		size_t len = 0;

		for (;;) {
			size_t got;

			if (cap - len < STDIN_BUFFER) {
				char *grown = realloc(line, cap + STDIN_BUFFER);

				if (!grown) {
					err = op_error(cmd, "<stdin>", ENOMEM);
					break;
				}
				line = grown;
				cap += STDIN_BUFFER;
			}
			got = fread(line + len, 1, cap - len, stdin);
			len += got;
			if (got == 0)
				break;
		}
		if (!err && ferror(stdin))
			err = op_error(cmd, "<stdin>", errno);
		else if (!err && !len) {
			fprintf(stderr, "chanctl: send %s: standard input is empty: nothing to send (messages are 1..msg_max bytes)\n",
				name);
			err = CHANCTL_EXIT_FAIL;
		} else if (!err) {
			err = send_one(fd, line, len, timeout);
			if (err)
				err = send_error(cmd, name, fd, 1, len, -err);
		}
	} else {
		int delim = null ? '\0' : '\n';
		ssize_t len;

		setvbuf(stdin, NULL, _IOFBF, STDIN_BUFFER);
		while (!err && (len = getdelim(&line, &cap, delim, stdin)) >= 0) {
			nr++;
			if (len > 0 && line[len - 1] == delim)
				len--;
			if (!len) {
				fprintf(stderr, "chanctl: send %s: message %lu is empty: nothing sent from it on (messages are 1..msg_max bytes)\n",
					name, nr);
				err = CHANCTL_EXIT_FAIL;
				break;
			}
			err = send_one(fd, line, len, timeout);
			if (err)
				err = send_error(cmd, name, fd, nr, len, -err);
		}
		if (!err && ferror(stdin))
			err = op_error(cmd, "<stdin>", errno);
	}
	free(line);
	close(fd);
	return err;
}

/* Print one message as recv's options say. */
static void print_msg(const char *prefix, const char *msg, size_t len, int null)
{
	if (prefix) {
		fputs(prefix, stdout);
		fputs(": ", stdout);
	}
	fwrite(msg, 1, len, stdout);
	if (null)
		putchar('\0');
	else if (!len || msg[len - 1] != '\n')
		putchar('\n');
}

/* Flush what we printed; the exit status on failure, else 0. */
static int flush_out(const struct chanctl_cmd *cmd)
{
	if (fflush(stdout) == 0)
		return 0;
	return op_error(cmd, "<stdout>", errno);
}

/*
 * One channel, no timeout: plain reads.  A non-blocking read first
 * (RWF_NOWAIT) tells whether the blocking one would wait, so that the
 * output is flushed exactly before waiting.
 */
static int recv_plain(const struct chanctl_cmd *cmd, const char *name, int fd,
		      char *buf, size_t size, unsigned long count, int null)
{
	unsigned long got = 0;
	int nowait = 1;

	while (got < count) {
		struct iovec iov = { .iov_base = buf, .iov_len = size };
		ssize_t n = -1;

		if (nowait) {
			n = preadv2(fd, &iov, 1, -1, RWF_NOWAIT);
			if (n < 0 && errno == EOPNOTSUPP)
				nowait = 0;
			else if (n < 0 && errno != EAGAIN)
				return op_error(cmd, name, errno);
		}
		if (n < 0) {
			int ret = flush_out(cmd);

			if (ret)
				return ret;
			do
				n = read(fd, buf, size);
			while (n < 0 && errno == EINTR);
			if (n < 0)
				return op_error(cmd, name, errno);
		}
		if (n == 0)
			break;	/* closed and drained */
		print_msg(NULL, buf, n, null);
		got++;
	}
	return flush_out(cmd);
}

/* Several channels, or a timeout: chan_select(), one receive case each. */
static int recv_select(const struct chanctl_cmd *cmd, char **names, int *fds,
		       char **bufs, size_t *sizes, int n, unsigned long count,
		       long long timeout, int null)
{
	struct chan_case cases[CHAN_SELECT_MAX];
	const char *case_name[CHAN_SELECT_MAX];
	int prefix = n > 1, active = n, i, err, ret;
	unsigned long got = 0;

	for (i = 0; i < n; i++) {
		cases[i] = CHAN_CASE_RECV(fds[i], bufs[i], sizes[i]);
		case_name[i] = names[i];
	}
	while (got < count && active) {
		err = select_for(cases, active, 0);
		if (err == -ETIMEDOUT) {	/* nothing ready: we will wait */
			ret = flush_out(cmd);
			if (ret)
				return ret;
			if (timeout == 0)
				return CHANCTL_EXIT_TIMEOUT;
			err = select_for(cases, active, timeout);
		}
		if (err == -ETIMEDOUT) {
			flush_out(cmd);
			return CHANCTL_EXIT_TIMEOUT;
		}
		if (err < 0) {
			flush_out(cmd);
			/* A case's own error is its result; the others are -EAGAIN. */
			for (i = 0; i < active; i++)
				if (cases[i].result == err)
					return op_error(cmd, case_name[i], -err);
			return op_error(cmd, "select", -err);
		}
		i = err;
		if (cases[i].result == 0) {
			/* Closed and drained: it leaves the set. */
			active--;
			cases[i] = cases[active];
			case_name[i] = case_name[active];
			continue;
		}
		print_msg(prefix ? case_name[i] : NULL, cases[i].buf, cases[i].result, null);
		got++;
	}
	return flush_out(cmd);
}

enum { RECV_COUNT, RECV_TIMEOUT, RECV_NULL };

int cmd_recv(const struct chanctl_cmd *cmd, int argc, char **argv)
{
	static const struct chanctl_opt opts[] = {
		[RECV_COUNT] = { "--count", 'n', 1 },
		[RECV_TIMEOUT] = { "--timeout", 0, 1 },
		[RECV_NULL] = { "--null", '0', 0 },
		{ NULL, 0, 0 },
	};
	char *names[CHAN_SELECT_MAX], *bufs[CHAN_SELECT_MAX] = { NULL };
	size_t sizes[CHAN_SELECT_MAX];
	int fds[CHAN_SELECT_MAX];
	unsigned long count = (unsigned long)-1;
	long long timeout = -1;
	int n = 0, null = 0, opened = 0, ret = 0, i, k;
	struct argscan s;
	const char *val;

	argscan_init(&s, argc, argv);
	while ((k = argscan_next(cmd, &s, opts, &val)) != ARG_END) {
		switch (k) {
		case ARG_ERROR:
			return CHANCTL_EXIT_USAGE;
		case ARG_OPERAND:
			if (n == CHAN_SELECT_MAX)
				return usage_error(cmd, "at most %d channels", CHAN_SELECT_MAX);
			if (check_name(cmd, val))
				return CHANCTL_EXIT_USAGE;
			names[n++] = (char *)val;
			break;
		case RECV_COUNT:
			if (parse_uint(val, 10, (unsigned long)-1, &count))
				return usage_error(cmd, "-n: invalid count '%s' (a decimal number)", val);
			break;
		case RECV_TIMEOUT:
			if (parse_duration(val, &timeout))
				return usage_error(cmd, "--timeout: invalid duration '%s' (such as 500ms, 2s, 1m30s)", val);
			break;
		case RECV_NULL:
			null = 1;
			break;
		}
	}
	if (!n)
		return usage_error(cmd, "missing channel name");

	for (i = 0; i < n; i++) {
		struct chan_info info;
		int err;

		fds[i] = open_chan(cmd, names[i], O_RDONLY);
		if (fds[i] < 0) {
			ret = exit_status(-fds[i]);
			goto out;
		}
		opened++;
		err = chan_info(fds[i], &info);
		if (err) {
			ret = op_error(cmd, names[i], -err);
			goto out;
		}
		/* msg_max bounds every message; timer channels have theirs too. */
		sizes[i] = info.msg_max ? info.msg_max : KCHAN_MSG_MAX_DEFAULT;
		bufs[i] = malloc(sizes[i]);
		if (!bufs[i]) {
			ret = op_error(cmd, names[i], ENOMEM);
			goto out;
		}
	}
	if (count == 0)
		goto out;
	if (n == 1 && timeout < 0)
		ret = recv_plain(cmd, names[0], fds[0], bufs[0], sizes[0], count, null);
	else
		ret = recv_select(cmd, names, fds, bufs, sizes, n, count, timeout, null);
out:
	for (i = 0; i < opened; i++) {
		free(bufs[i]);
		close(fds[i]);
	}
	return ret;
}
