// SPDX-License-Identifier: GPL-2.0
/*
 * chanctl: create, destroy, close, inspect and use kchan channels.
 *
 *   chanctl create NAME [--capacity N] [--msg-max BYTES] [--streams N] [--mode OCTAL]
 *                       [--autoclose | --after DURATION | --tick DURATION]
 *   chanctl destroy NAME...
 *   chanctl close NAME...
 *   chanctl list [--json]
 *   chanctl stat NAME [--json]
 *   chanctl send NAME [MSG...] [-0 | --whole] [--timeout DURATION]
 *   chanctl recv NAME... [-n COUNT] [--timeout DURATION] [-0]
 *
 * create/destroy/close go through libchan (chan_create() and so on);
 * list reads the directory /dev/chan, and list and stat take the counters
 * from KCHAN_IOC_INFO on the nodes (chanctl_stat.c); send and recv use the
 * nodes /dev/chan/NAME (chanctl_msg.c).  chanctl(1) is the manual.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "chanctl.h"
#include "libchan.h"

static const char *prog = "chanctl";

int usage_error(const struct chanctl_cmd *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	if (cmd)
		fprintf(stderr, "%s: ", cmd->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (cmd)
		fprintf(stderr, "\nTry '%s %s --help'.\n", prog, cmd->name);
	else
		fprintf(stderr, "\nTry '%s --help'.\n", prog);
	return CHANCTL_EXIT_USAGE;
}

int exit_status(int err)
{
	switch (err) {
	case ENOENT:
	case ENODEV:	/* destroyed under us: gone as well */
		return CHANCTL_EXIT_NOENT;
	case EACCES:
	case EPERM:
		return CHANCTL_EXIT_PERM;
	case ETIMEDOUT:
		return CHANCTL_EXIT_TIMEOUT;
	default:
		return CHANCTL_EXIT_FAIL;
	}
}

int op_error(const struct chanctl_cmd *cmd, const char *obj, int err)
{
	fprintf(stderr, "%s: %s %s: %s\n", prog, cmd->name, obj, strerror(err));
	return exit_status(err);
}

void print_cmd_help(const struct chanctl_cmd *cmd)
{
	printf("usage: %s %s%s%s\n\n%s", prog, cmd->name,
	       cmd->synopsis[0] ? " " : "", cmd->synopsis, cmd->help);
}

static int is_help(const char *arg)
{
	return !strcmp(arg, "--help") || !strcmp(arg, "-h");
}

void argscan_init(struct argscan *s, int argc, char **argv)
{
	memset(s, 0, sizeof(*s));
	s->argc = argc;
	s->argv = argv;
}

static int take_value(const struct chanctl_cmd *cmd, struct argscan *s,
		      const char *optname, const char **val)
{
	if (s->i >= s->argc)
		return usage_error(cmd, "%s needs a value", optname), ARG_ERROR;
	*val = s->argv[s->i++];
	return 0;
}

int argscan_next(const struct chanctl_cmd *cmd, struct argscan *s,
		 const struct chanctl_opt *opts, const char **val)
{
	const char *arg;
	int k;

	*val = NULL;
	if (s->cluster && *s->cluster) {
		char c = *s->cluster++;

		for (k = 0; opts[k].name; k++)
			if (opts[k].short_name && opts[k].short_name == c)
				break;
		if (!opts[k].name) {
			if (c == 'h') {
				print_cmd_help(cmd);
				exit(0);
			}
			usage_error(cmd, "unknown option '-%c'", c);
			return ARG_ERROR;
		}
		if (opts[k].has_arg) {
			char optname[3] = { '-', c, '\0' };

			if (*s->cluster) {
				*val = s->cluster;
				s->cluster = NULL;
			} else if (take_value(cmd, s, optname, val)) {
				return ARG_ERROR;
			}
		}
		return k;
	}
	s->cluster = NULL;
	if (s->i >= s->argc)
		return ARG_END;
	arg = s->argv[s->i++];
	if (s->options_done || arg[0] != '-' || !arg[1]) {
		*val = arg;
		return ARG_OPERAND;
	}
	if (!strcmp(arg, "--")) {
		s->options_done = 1;
		return argscan_next(cmd, s, opts, val);
	}
	if (is_help(arg)) {
		print_cmd_help(cmd);
		exit(0);
	}
	if (arg[1] != '-') {
		s->cluster = arg + 1;
		return argscan_next(cmd, s, opts, val);
	}
	for (k = 0; opts[k].name; k++) {
		size_t len = strlen(opts[k].name);

		if (strncmp(arg, opts[k].name, len) ||
		    (arg[len] != '\0' && arg[len] != '='))
			continue;
		if (arg[len] == '=') {
			if (!opts[k].has_arg) {
				usage_error(cmd, "%s takes no value", opts[k].name);
				return ARG_ERROR;
			}
			*val = arg + len + 1;
		} else if (opts[k].has_arg &&
			   take_value(cmd, s, opts[k].name, val)) {
			return ARG_ERROR;
		}
		return k;
	}
	usage_error(cmd, "unknown option '%s'", arg);
	return ARG_ERROR;
}

int check_name(const struct chanctl_cmd *cmd, const char *name)
{
	if (chan_name_valid(name))
		return 0;
	return usage_error(cmd, "'%s' is not a channel name (1-%d characters of "
			   "[A-Za-z0-9._-], not starting with '.')", name,
			   KCHAN_NAME_MAX - 1);
}

int parse_names(const struct chanctl_cmd *cmd, int argc, char **argv,
		char **names, int min, int max, int *count)
{
	static const struct chanctl_opt none[] = { { NULL, 0, 0 } };
	struct argscan s;
	const char *val;
	int n = 0, k;

	argscan_init(&s, argc, argv);
	while ((k = argscan_next(cmd, &s, none, &val)) != ARG_END) {
		if (k == ARG_ERROR)
			return CHANCTL_EXIT_USAGE;
		if (n == max)
			return usage_error(cmd, "unexpected argument '%s'", val);
		if (check_name(cmd, val))
			return CHANCTL_EXIT_USAGE;
		names[n++] = (char *)val;
	}
	if (n < min)
		return usage_error(cmd, "missing channel name");
	*count = n;
	return 0;
}

int parse_uint(const char *s, unsigned int base, unsigned long max,
	       unsigned long *out)
{
	unsigned long v = 0;

	if (!*s)
		return -1;
	for (; *s; s++) {
		unsigned int digit;

		if (*s < '0' || *s > '9')
			return -1;
		digit = *s - '0';
		if (digit >= base)
			return -1;
		if (v > (max - digit) / base)
			return -1;
		v = v * base + digit;
	}
	*out = v;
	return 0;
}

int parse_duration(const char *s, long long *ns)
{
	static const struct {
		const char *suffix;
		long long ns;
	} units[] = {	/* longest first where one is a prefix of another */
		{ "ns", 1 }, { "us", 1000 }, { "ms", 1000000 },
		{ "s", 1000000000LL }, { "m", 60000000000LL },
		{ "h", 3600000000000LL },
	};
	long double total = 0;

	if (!*s)
		return -1;
	while (*s) {
		long double value = 0, scale = 1;
		int digits = 0;
		size_t u, len = 0;

		for (; *s >= '0' && *s <= '9'; s++, digits++)
			value = value * 10 + (*s - '0');
		if (*s == '.')
			for (s++; *s >= '0' && *s <= '9'; s++, digits++)
				value += (*s - '0') * (scale /= 10);
		if (!digits)
			return -1;
		for (u = 0; u < sizeof(units) / sizeof(units[0]); u++) {
			len = strlen(units[u].suffix);
			/* "m" must not take the "m" of "ms" */
			if (!strncmp(s, units[u].suffix, len) &&
			    !(len == 1 && s[0] == 'm' && s[1] == 's'))
				break;
		}
		if (u == sizeof(units) / sizeof(units[0])) {
			if (*s)
				return -1;
			total += value * 1e9L;	/* a bare number: seconds */
		} else {
			total += value * units[u].ns;
			s += len;
		}
		if (total > (long double)INT64_MAX)
			return -1;
	}
	*ns = (long long)(total + 0.5L);
	return 0;
}

long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

void chan_path(char *buf, const char *name)
{
	snprintf(buf, CHAN_PATH_MAX, "%s/%s", KCHAN_DEV_DIR, name);
}

void json_string(FILE *out, const char *s)
{
	putc('"', out);
	for (; *s; s++) {
		unsigned char c = *s;

		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c < 0x20)
			fprintf(out, "\\u%04x", c);
		else
			putc(c, out);
	}
	putc('"', out);
}

/*
 * Check the new node.  The kchan filesystem makes it within the create
 * ioctl, so it is there at once; the short wait is only for a /dev/chan
 * that something else (a bind mount being set up, say) is changing.
 */
static int wait_node(const char *path)
{
	const struct timespec tick = { .tv_nsec = 10 * 1000 * 1000 };
	struct stat st;
	int tries;

	for (tries = 0; tries < 100; tries++) {
		if (stat(path, &st) == 0)
			return S_ISCHR(st.st_mode) ? 0 : -ENOTTY;
		if (errno != ENOENT)
			return -errno;
		nanosleep(&tick, NULL);
	}
	return -ENOENT;
}

int check_control(void)
{
	int err = chan_available();

	if (err)
		fprintf(stderr, "%s: %s: %s%s\n", prog, KCHAN_CONTROL_PATH,
			strerror(-err),
			err == -ENOENT ? CHANCTL_NOT_LOADED : "");
	return err;
}

enum { OPT_CAPACITY, OPT_MSG_MAX, OPT_STREAMS, OPT_MODE, OPT_AUTOCLOSE, OPT_AFTER, OPT_TICK };

static int cmd_create(const struct chanctl_cmd *cmd, int argc, char **argv)
{
	static const struct chanctl_opt opts[] = {
		[OPT_CAPACITY] = { "--capacity", 0, 1 },
		[OPT_MSG_MAX] = { "--msg-max", 0, 1 },
		[OPT_STREAMS] = { "--streams", 0, 1 },
		[OPT_MODE] = { "--mode", 0, 1 },
		[OPT_AUTOCLOSE] = { "--autoclose", 0, 0 },
		[OPT_AFTER] = { "--after", 0, 1 },
		[OPT_TICK] = { "--tick", 0, 1 },
		{ NULL, 0, 0 },
	};
	unsigned long capacity = 0, msg_max = 0, streams = 0, mode = 0;
	unsigned int flags = 0, timer = 0;
	long long period = 0;
	int have_sizes = 0;
	const char *name = NULL, *val;
	char path[CHAN_PATH_MAX];
	struct chan_opts co;
	struct argscan s;
	int err, k;

	argscan_init(&s, argc, argv);
	while ((k = argscan_next(cmd, &s, opts, &val)) != ARG_END) {
		switch (k) {
		case ARG_ERROR:
			return CHANCTL_EXIT_USAGE;
		case ARG_OPERAND:
			if (name)
				return usage_error(cmd, "unexpected argument '%s'", val);
			if (check_name(cmd, val))
				return CHANCTL_EXIT_USAGE;
			name = val;
			break;
		case OPT_CAPACITY:
		case OPT_MSG_MAX:
			if (parse_uint(val, 10, 0xffffffffUL,
				       k == OPT_CAPACITY ? &capacity : &msg_max))
				return usage_error(cmd, "%s: invalid value '%s' (a decimal number from 0 to 4294967295)",
						   opts[k].name, val);
			have_sizes = 1;
			break;
		case OPT_STREAMS:
			if (parse_uint(val, 10, CHAN_STREAMS_MAX, &streams))
				return usage_error(cmd, "--streams: invalid value '%s' (a decimal number from 0 to %d)",
						   val, CHAN_STREAMS_MAX);
			have_sizes = 1;
			break;
		case OPT_MODE:
			if (parse_uint(val, 8, 0777, &mode))
				return usage_error(cmd, "--mode: invalid value '%s' (octal permission bits, at most 0777)",
						   val);
			/* The ABI reads mode 0 as "the default, 0600": say so, don't surprise. */
			if (!mode)
				return usage_error(cmd, "--mode 0 cannot be asked for (0 means the default, 0600)");
			break;
		case OPT_AUTOCLOSE:
			flags |= CHAN_AUTOCLOSE;
			break;
		case OPT_AFTER:
		case OPT_TICK:
			if (timer)
				return usage_error(cmd, "--after and --tick go alone: one of them, once");
			if (parse_duration(val, &period) || period == 0)
				return usage_error(cmd, "%s: invalid duration '%s' (such as 500ms, 2s, 1m30s)",
						   opts[k].name, val);
			timer = k == OPT_AFTER ? CHAN_AFTER : CHAN_TICK;
			break;
		}
	}
	if (!name)
		return usage_error(cmd, "missing channel name");
	if (timer && (have_sizes || flags))
		return usage_error(cmd, "a timer channel (--after, --tick) takes no --capacity, --msg-max, --streams or --autoclose:\n"
				   "its capacity is 1 and its messages are the expiry times");

	err = check_control();
	if (err)
		return exit_status(-err);
	memset(&co, 0, sizeof(co));
	co.capacity = capacity;
	co.msg_max = msg_max;
	co.streams = streams;
	co.mode = mode;
	co.flags = timer ? timer : flags;
	co.period_ns = period;
	err = chan_create(name, &co);
	if (err == -EINVAL && timer) {
		fprintf(stderr, "%s: %s %s: %s (is the period at least 100us, and does this kchan have timer channels?)\n",
			prog, cmd->name, name, strerror(EINVAL));
		return CHANCTL_EXIT_FAIL;
	}
	if (err == -EDQUOT) {
		fprintf(stderr, "%s: %s %s: %s (over this user's limit in the instance: mount options max_user= and max_user_bytes=)\n",
			prog, cmd->name, name, strerror(EDQUOT));
		return CHANCTL_EXIT_FAIL;
	}
	if (err == -ENOSPC) {
		fprintf(stderr, "%s: %s %s: %s (the instance has its max= channels: mount option max=)\n",
			prog, cmd->name, name, strerror(ENOSPC));
		return CHANCTL_EXIT_FAIL;
	}
	if (err)
		return op_error(cmd, name, -err);

	chan_path(path, name);
	err = wait_node(path);
	if (err) {
		fprintf(stderr, "%s: %s %s: channel created, but %s: %s\n", prog,
			cmd->name, name, path,
			err == -ENOTTY ? "not a character device" : strerror(-err));
		return CHANCTL_EXIT_FAIL;
	}
	return 0;
}

/* destroy and close: one ioctl per name; carry on past failures. */
static int cmd_by_name(const struct chanctl_cmd *cmd, int argc, char **argv,
		       int (*op)(const char *name))
{
	char **names = argv;	/* parse_names keeps at most argc of them */
	int count, i, ret;

	ret = parse_names(cmd, argc, argv, names, 1, argc, &count);
	if (ret)
		return ret;
	ret = check_control();
	if (ret)
		return exit_status(-ret);
	for (i = 0; i < count; i++) {
		int err = op(names[i]);

		if (err && !ret)
			ret = op_error(cmd, names[i], -err);
		else if (err)
			op_error(cmd, names[i], -err);
	}
	return ret;
}

static int cmd_destroy(const struct chanctl_cmd *cmd, int argc, char **argv)
{
	return cmd_by_name(cmd, argc, argv, chan_destroy);
}

static int cmd_close(const struct chanctl_cmd *cmd, int argc, char **argv)
{
	return cmd_by_name(cmd, argc, argv, chan_close);
}

#define DURATIONS \
	"DURATION is a number with a unit, ns, us, ms, s, m or h (500ms, 2s, 1.5m,\n" \
	"1m30s); a bare number is seconds.\n"

static const struct chanctl_cmd commands[] = {
	{
		"create", "NAME [--capacity N] [--msg-max BYTES] [--streams N] [--mode OCTAL] "
		"[--autoclose | --after DURATION | --tick DURATION]",
		"Create channel NAME and its node /dev/chan/NAME, owned by you.\n"
		"\n"
		"  --capacity N       messages it buffers (default 0: unbuffered, a\n"
		"                     write waits for a reader)\n"
		"  --msg-max BYTES    largest message (default 0: 4096)\n"
		"  --streams N        at-most-once streams it remembers for relays (default\n"
		"                     0: 16; at most 1024); a new one beyond fails, ENOSPC\n"
		"  --mode OCTAL       permission bits of the node (default 0600)\n"
		"  --autoclose        close the channel when the last writer's file is\n"
		"                     released, so 'producer > /dev/chan/NAME' ends a reader\n"
		"  --after DURATION   a timer channel, like Go's time.After: one message,\n"
		"                     DURATION from now\n"
		"  --tick DURATION    a timer channel, like Go's time.Ticker: one message\n"
		"                     every DURATION; a tick that finds the last one unread\n"
		"                     is dropped (and counted in 'dropped')\n"
		"\n"
		"A timer message is the expiry time, CLOCK_MONOTONIC nanoseconds in decimal\n"
		"and a newline; a timer channel has capacity 1, takes no writes, and its\n"
		"period is at least 100us.\n"
		DURATIONS
		"NAME is 1-63 characters of [A-Za-z0-9._-], not starting with '.'.\n",
		cmd_create,
	},
	{
		"destroy", "NAME...",
		"Destroy each channel NAME: remove its node, drop buffered messages, and\n"
		"fail every later read and write on a still-open file with ENODEV.  The\n"
		"name is free again at once ('rm /dev/chan/NAME' does the same).\n",
		cmd_destroy,
	},
	{
		"close", "NAME...",
		"Close each channel NAME, like Go's close(): writers fail with EPIPE,\n"
		"readers receive what is still buffered and then end of file.\n",
		cmd_close,
	},
	{
		"list", "[--json]",
		"List every channel in /dev/chan, one per line: name, capacity, messages\n"
		"buffered (length), largest message, closed, open readers and writers.\n"
		"A channel you may not open for reading shows '-' in these columns.\n"
		"\n"
		"  -j, --json    a JSON array of objects with every counter instead (only\n"
		"                the name for a channel you may not open)\n",
		cmd_list,
	},
	{
		"stat", "NAME [--json]",
		"Print the counters of channel NAME (KCHAN_IOC_INFO) as 'key: value'\n"
		"lines: capacity, length, msg_max, closed, autoclose, readers, writers,\n"
		"sent, received, dropped, held, timer, id.  Only for those who may open\n"
		"/dev/chan/NAME for reading (exit status 4 otherwise).\n"
		"\n"
		"  -j, --json    one JSON object instead, numbers as numbers, closed,\n"
		"                autoclose and timer as booleans, id as a string\n",
		cmd_stat,
	},
	{
		"send", "NAME [MSG...] [-0 | --whole] [--timeout DURATION]",
		"Send each MSG to channel NAME as one message, in order.  Without MSG,\n"
		"send standard input: one message per line, without its newline.\n"
		"\n"
		"  -0, --null          stdin holds messages ended by NUL bytes instead\n"
		"      --whole         all of stdin is one message\n"
		"      --timeout DURATION\n"
		"                      give up (exit status 5) when a message cannot be\n"
		"                      sent within DURATION; each message has its own\n"
		"\n"
		"Messages are 1..msg_max bytes: an empty message (an empty line) is an\n"
		"error, and so is a longer one; nothing after it is sent.\n"
		DURATIONS,
		cmd_send,
	},
	{
		"recv", "NAME... [-n COUNT] [--timeout DURATION] [-0]",
		"Receive messages from channel NAME and print each on its own line, until\n"
		"the channel is closed and drained (end of file, exit status 0), or COUNT\n"
		"messages came.  A message that ends in a newline is printed as it is.\n"
		"\n"
		"With several NAMEs, receive from whichever has a message (Go's select;\n"
		"at most 32), print it as 'NAME: message', and go on until all of them\n"
		"are closed and drained.\n"
		"\n"
		"  -n, --count COUNT   stop after COUNT messages\n"
		"      --timeout DURATION\n"
		"                      give up (exit status 5) when no message comes\n"
		"                      within DURATION; each message has its own\n"
		"                      (0: take only what is ready at once)\n"
		"  -0, --null          end each message with a NUL byte, not a newline,\n"
		"                      and print it exactly as it is\n"
		DURATIONS,
		cmd_recv,
	},
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void print_help(FILE *out)
{
	size_t i;

	fprintf(out, "usage: %s COMMAND [ARGS]\n\n"
		"Manage and use kchan channels, the Go-style channels at /dev/chan/NAME.\n\n"
		"Commands:\n", prog);
	for (i = 0; i < NCOMMANDS; i++)
		fprintf(out, "  %s%s%s\n", commands[i].name,
			commands[i].synopsis[0] ? " " : "", commands[i].synopsis);
	fprintf(out, "\n'%s COMMAND --help' describes one command; chanctl(1) all of them.\n"
		"Exit status: 0 success, 1 failure, 2 usage error, 3 no such channel (or\n"
		"kchan not loaded), 4 permission denied, 5 timeout.\n", prog);
}

int main(int argc, char **argv)
{
	const char *name;
	size_t i;

	if (argc < 2)
		return usage_error(NULL, "missing command");
	name = argv[1];
	if (is_help(name)) {
		print_help(stdout);
		return 0;
	}
	if (!strcmp(name, "help")) {
		if (argc == 2) {
			print_help(stdout);
			return 0;
		}
		for (i = 0; i < NCOMMANDS; i++)
			if (!strcmp(argv[2], commands[i].name)) {
				print_cmd_help(&commands[i]);
				return 0;
			}
		return usage_error(NULL, "unknown command '%s'", argv[2]);
	}
	for (i = 0; i < NCOMMANDS; i++)
		if (!strcmp(name, commands[i].name))
			return commands[i].run(&commands[i], argc - 2, argv + 2);
	return usage_error(NULL, "unknown command '%s'", name);
}
