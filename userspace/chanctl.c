// SPDX-License-Identifier: GPL-2.0
/*
 * chanctl: create, destroy, close and inspect kchan channels.
 *
 *   chanctl create NAME [--capacity N] [--msg-max BYTES] [--mode OCTAL] [--autoclose]
 *   chanctl destroy NAME...
 *   chanctl close NAME...
 *   chanctl list
 *   chanctl stat NAME
 *
 * create/destroy/close are ioctls on /dev/chan-control (kchan_ioctl.c);
 * list and stat read /sys/class/chan (chanctl_sysfs.c).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "chanctl.h"
#include "kchan_ioctl.h"

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

int op_error(const struct chanctl_cmd *cmd, const char *obj, int err)
{
	fprintf(stderr, "%s: %s %s: %s\n", prog, cmd->name, obj, strerror(err));
	return CHANCTL_EXIT_FAIL;
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

int parse_names(const struct chanctl_cmd *cmd, int argc, char **argv,
		char **names, int min, int max, int *count)
{
	int options_done = 0;
	int n = 0;
	int i;

	for (i = 0; i < argc; i++) {
		const char *arg = argv[i];

		if (!options_done && !strcmp(arg, "--")) {
			options_done = 1;
			continue;
		}
		if (!options_done && is_help(arg)) {
			print_cmd_help(cmd);
			exit(0);
		}
		if (!options_done && arg[0] == '-' && arg[1])
			return usage_error(cmd, "unknown option '%s'", arg);
		if (n == max)
			return usage_error(cmd, "unexpected argument '%s'", arg);
		names[n++] = argv[i];
	}
	if (n < min)
		return usage_error(cmd, "missing channel name");
	*count = n;
	return 0;
}

/*
 * Parse all of @s as an unsigned number in @base (10 or 8) no larger than
 * @max.  Unlike strtoul() this refuses a sign, blanks, an empty string,
 * trailing junk and overflow, so "-1" never becomes 4294967295.
 */
static int parse_uint(const char *s, unsigned int base, unsigned long max,
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

/* Wait briefly for the node: devtmpfs makes it in device_add(), udev may redo it. */
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

static int open_control(void)
{
	int fd = kchan_control_open();

	if (fd < 0)
		fprintf(stderr, "%s: %s: %s%s\n", prog, KCHAN_CONTROL_PATH,
			strerror(-fd),
			fd == -ENOENT ? " (is the kchan module loaded?)" : "");
	return fd;
}

static int cmd_create(const struct chanctl_cmd *cmd, int argc, char **argv)
{
	static const struct {
		const char *name;
		unsigned int base;
		unsigned long max;
	} numeric[] = {
		{ "--capacity", 10, 0xffffffffUL },
		{ "--msg-max", 10, 0xffffffffUL },
		{ "--mode", 8, 0777 },
	};
	unsigned long value[3] = { 0, 0, 0 };
	unsigned int flags = 0;
	const char *name = NULL;
	char path[sizeof(KCHAN_DEV_DIR) + KCHAN_NAME_MAX + 1];
	int options_done = 0;
	int fd, err, i;

	for (i = 0; i < argc; i++) {
		const char *arg = argv[i];
		const char *val = NULL;
		size_t optlen;
		size_t k;

		if (options_done || arg[0] != '-' || !arg[1]) {
			if (name)
				return usage_error(cmd, "unexpected argument '%s'", arg);
			name = arg;
			continue;
		}
		if (!strcmp(arg, "--")) {
			options_done = 1;
			continue;
		}
		if (is_help(arg)) {
			print_cmd_help(cmd);
			exit(0);
		}
		if (!strcmp(arg, "--autoclose")) {
			flags |= KCHAN_CREATE_AUTOCLOSE;
			continue;
		}
		optlen = strcspn(arg, "=");
		for (k = 0; k < sizeof(numeric) / sizeof(numeric[0]); k++)
			if (strlen(numeric[k].name) == optlen &&
			    !strncmp(arg, numeric[k].name, optlen))
				break;
		if (k == sizeof(numeric) / sizeof(numeric[0]))
			return usage_error(cmd, "unknown option '%s'", arg);
		if (arg[optlen] == '=')
			val = arg + optlen + 1;
		else if (i + 1 < argc)
			val = argv[++i];
		else
			return usage_error(cmd, "%s needs a value", numeric[k].name);
		if (parse_uint(val, numeric[k].base, numeric[k].max, &value[k]))
			return usage_error(cmd, "%s: invalid value '%s' (%s)",
					   numeric[k].name, val,
					   numeric[k].base == 8 ?
					   "octal permission bits, at most 0777" :
					   "a decimal number from 0 to 4294967295");
		/* The ABI reads mode 0 as "the default, 0600": say so, don't surprise. */
		if (k == 2 && value[k] == 0)
			return usage_error(cmd, "--mode 0 cannot be asked for (0 means the default, 0600)");
	}
	if (!name)
		return usage_error(cmd, "missing channel name");

	fd = open_control();
	if (fd < 0)
		return CHANCTL_EXIT_FAIL;
	err = kchan_create(fd, name, value[0], value[1], value[2], flags);
	close(fd);
	if (err)
		return op_error(cmd, name, -err);

	snprintf(path, sizeof(path), "%s/%s", KCHAN_DEV_DIR, name);
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
		       int (*op)(int control_fd, const char *name))
{
	char **names = argv;	/* parse_names keeps at most argc of them */
	int count, fd, i, ret;

	ret = parse_names(cmd, argc, argv, names, 1, argc, &count);
	if (ret)
		return ret;
	fd = open_control();
	if (fd < 0)
		return CHANCTL_EXIT_FAIL;
	for (i = 0; i < count; i++) {
		int err = op(fd, names[i]);

		if (err)
			ret = op_error(cmd, names[i], -err);
	}
	close(fd);
	return ret;
}

static int cmd_destroy(const struct chanctl_cmd *cmd, int argc, char **argv)
{
	return cmd_by_name(cmd, argc, argv, kchan_destroy);
}

static int cmd_close(const struct chanctl_cmd *cmd, int argc, char **argv)
{
	return cmd_by_name(cmd, argc, argv, kchan_close_name);
}

static const struct chanctl_cmd commands[] = {
	{
		"create", "NAME [--capacity N] [--msg-max BYTES] [--mode OCTAL] [--autoclose]",
		"Create channel NAME and its node /dev/chan/NAME, owned by you.\n"
		"\n"
		"  --capacity N       messages it buffers (default 0: unbuffered, a\n"
		"                     write waits for a reader)\n"
		"  --msg-max BYTES    largest message (default 0: 4096)\n"
		"  --mode OCTAL       permission bits of the node (default 0600)\n"
		"  --autoclose        close the channel when the last writer's file is\n"
		"                     released, so 'producer > /dev/chan/NAME' ends a reader\n"
		"\n"
		"NAME is 1-63 characters of [A-Za-z0-9._-], not starting with '.'.\n",
		cmd_create,
	},
	{
		"destroy", "NAME...",
		"Destroy each channel NAME: remove its node, drop buffered messages, and\n"
		"fail every later read and write on a still-open file with ENODEV.\n",
		cmd_destroy,
	},
	{
		"close", "NAME...",
		"Close each channel NAME, like Go's close(): writers fail with EPIPE,\n"
		"readers receive what is still buffered and then end of file.\n",
		cmd_close,
	},
	{
		"list", "",
		"List every channel from /sys/class/chan: name, capacity, messages\n"
		"buffered (length), largest message, closed, open readers and writers.\n",
		cmd_list,
	},
	{
		"stat", "NAME",
		"Print every sysfs attribute of channel NAME as 'key: value' lines.\n",
		cmd_stat,
	},
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void print_help(FILE *out)
{
	size_t i;

	fprintf(out, "usage: %s COMMAND [ARGS]\n\n"
		"Manage kchan channels, the Go-style channels at /dev/chan/NAME.\n\n"
		"Commands:\n", prog);
	for (i = 0; i < NCOMMANDS; i++)
		fprintf(out, "  %s%s%s\n", commands[i].name,
			commands[i].synopsis[0] ? " " : "", commands[i].synopsis);
	fprintf(out, "\n'%s COMMAND --help' describes one command.\n"
		"Exit status: 0 success, 1 the operation failed, 2 usage error.\n", prog);
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
