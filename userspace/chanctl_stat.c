// SPDX-License-Identifier: GPL-2.0
/*
 * chanctl list and chanctl stat: the channels of /dev/chan and their
 * counters.
 *
 * The channels are the entries of the kchan filesystem mounted on
 * /dev/chan (readdir; the control node .control and any other dotfile is
 * not one).  Their counters come from KCHAN_IOC_INFO on an fd of the node
 * itself, opened for reading only and without blocking: the kernel gives
 * them to those who may open the channel and to nobody else.  That fd
 * counts as a reader while it is open, so one reader is ours and is
 * subtracted.  (It is never opened for writing: releasing the last writer
 * of an autoclose channel would close it.)
 *
 * A channel may be destroyed while we read it: its node vanishes (ENOENT
 * from the open) or the INFO says destroyed.  list skips such a channel,
 * stat reports it gone.  A channel we may not open shows '-' in its
 * columns (list) or fails with EACCES (stat).  Both print columns or
 * 'key: value' lines for people, and with --json one line of JSON for
 * programs.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "chanctl.h"

/* Values are short numbers or a 16-digit id; this is plenty. */
#define VALUE_MAX 24

enum kind { NUM, FLAG, HEX };

/* What list and stat show, in this order (the keys of kchan(7)). */
static const struct {
	const char *key;
	enum kind kind;
} keys[] = {
	{ "capacity", NUM },
	{ "length", NUM },
	{ "msg_max", NUM },
	{ "closed", FLAG },
	{ "autoclose", FLAG },
	{ "readers", NUM },
	{ "writers", NUM },
	{ "sent", NUM },
	{ "received", NUM },
	{ "dropped", NUM },
	{ "held", NUM },
	{ "timer", FLAG },
	{ "id", HEX },
};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

/* The list columns, a subset of keys, after NAME. */
static const struct {
	const char *key;
	const char *header;
} columns[] = {
	{ "capacity", "CAPACITY" },
	{ "length", "LENGTH" },
	{ "msg_max", "MSG_MAX" },
	{ "closed", "CLOSED" },
	{ "readers", "READERS" },
	{ "writers", "WRITERS" },
};
#define NCOLUMNS (sizeof(columns) / sizeof(columns[0]))

/* What we read of one channel. */
struct chan_row {
	char name[KCHAN_NAME_MAX];
	int readable;		/* 0: we may not open it, every value is '-' */
	char value[NKEYS][VALUE_MAX];
};

enum { OPT_JSON };

static const struct chanctl_opt json_opts[] = {
	[OPT_JSON] = { "--json", 'j', 0 },
	{ NULL, 0, 0 },
};

static void set_num(struct chan_row *r, size_t i, unsigned long long v)
{
	snprintf(r->value[i], VALUE_MAX, "%llu", v);
}

/* The values of @ki, one per keys[] entry, our own reader subtracted. */
static void fill_row(struct chan_row *r, const struct kchan_info *ki)
{
	size_t i;

	for (i = 0; i < NKEYS; i++) {
		const char *k = keys[i].key;

		if (!strcmp(k, "capacity"))
			set_num(r, i, ki->capacity);
		else if (!strcmp(k, "length"))
			set_num(r, i, ki->length);
		else if (!strcmp(k, "msg_max"))
			set_num(r, i, ki->msg_max);
		else if (!strcmp(k, "closed"))
			set_num(r, i, !!(ki->state & KCHAN_STATE_CLOSED));
		else if (!strcmp(k, "autoclose"))
			set_num(r, i, !!(ki->state & KCHAN_STATE_AUTOCLOSE));
		else if (!strcmp(k, "readers"))
			set_num(r, i, ki->readers ? ki->readers - 1 : 0);
		else if (!strcmp(k, "writers"))
			set_num(r, i, ki->writers);
		else if (!strcmp(k, "sent"))
			set_num(r, i, ki->sent);
		else if (!strcmp(k, "received"))
			set_num(r, i, ki->received);
		else if (!strcmp(k, "dropped"))
			set_num(r, i, ki->dropped);
		else if (!strcmp(k, "held"))
			set_num(r, i, ki->held);
		else if (!strcmp(k, "timer"))
			set_num(r, i, !!(ki->state & KCHAN_STATE_TIMER));
		else if (!strcmp(k, "id"))
			snprintf(r->value[i], VALUE_MAX, "%016" PRIx64, (uint64_t)ki->id);
	}
}

/*
 * Read channel @name of the directory @dir into @r: 0, -ENOENT when it was
 * destroyed meanwhile (or is not a channel), -EACCES (or -EPERM) when we may
 * not open it, another -errno otherwise.
 */
static int read_chan(int dir, const char *name, struct chan_row *r)
{
	struct kchan_info ki;
	int fd, err;

	memset(r, 0, sizeof(*r));
	snprintf(r->name, sizeof(r->name), "%s", name);
	fd = openat(dir, name, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	memset(&ki, 0, sizeof(ki));
	ki.size = sizeof(ki);
	err = ioctl(fd, KCHAN_IOC_INFO, &ki) < 0 ? -errno : 0;
	close(fd);
	if (err == -ENOTTY || err == -EINVAL)
		return -ENOENT;		/* not a channel node */
	if (err)
		return err;
	if (ki.state & KCHAN_STATE_DESTROYED)
		return -ENOENT;
	fill_row(r, &ki);
	r->readable = 1;
	return 0;
}

/* "key":value, a flag as a boolean, a number as a number, the id as a string. */
static void json_member(size_t i, const char *value)
{
	json_string(stdout, keys[i].key);
	putchar(':');
	if (keys[i].kind == FLAG)
		fputs(value[0] == '1' ? "true" : "false", stdout);
	else if (keys[i].kind == NUM)
		fputs(value, stdout);
	else
		json_string(stdout, value);
}

/* One channel as a JSON object: only its name if we may not read it. */
static void json_chan(const struct chan_row *r)
{
	size_t i;

	fputs("{\"name\":", stdout);
	json_string(stdout, r->name);
	for (i = 0; r->readable && i < NKEYS; i++) {
		putchar(',');
		json_member(i, r->value[i]);
	}
	putchar('}');
}

static const char *row_value(const struct chan_row *r, const char *key)
{
	size_t i;

	for (i = 0; r->readable && i < NKEYS; i++)
		if (!strcmp(keys[i].key, key))
			return r->value[i];
	return "-";
}

static int name_cmp(const void *a, const void *b)
{
	return strverscmp(*(char *const *)a, *(char *const *)b);
}

static int parse_json_flag(const struct chanctl_cmd *cmd, int argc, char **argv,
			   char **names, int min, int max, int *count, int *json)
{
	struct argscan s;
	const char *val;
	int n = 0, k;

	*json = 0;
	argscan_init(&s, argc, argv);
	while ((k = argscan_next(cmd, &s, json_opts, &val)) != ARG_END) {
		if (k == ARG_ERROR)
			return CHANCTL_EXIT_USAGE;
		if (k == OPT_JSON) {
			*json = 1;
			continue;
		}
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

/*
 * Whether /dev/chan is a kchan instance (its control node is there); if
 * not, say so for @cmd and return the exit status, else 0.
 */
static int check_mounted(const struct chanctl_cmd *cmd)
{
	int err;

	if (!access(KCHAN_CONTROL_PATH, F_OK))
		return 0;
	err = errno;
	fprintf(stderr, "chanctl: %s: %s: %s%s\n", cmd->name, KCHAN_CONTROL_PATH,
		strerror(err), err == ENOENT ? CHANCTL_NOT_LOADED : "");
	return exit_status(err);
}

static void print_table(const struct chan_row *rows, size_t nrows)
{
	int width[NCOLUMNS + 1];
	size_t i, c;

	width[0] = strlen("NAME");
	for (c = 0; c < NCOLUMNS; c++)
		width[c + 1] = strlen(columns[c].header);
	for (i = 0; i < nrows; i++) {
		if ((int)strlen(rows[i].name) > width[0])
			width[0] = strlen(rows[i].name);
		for (c = 0; c < NCOLUMNS; c++) {
			int w = strlen(row_value(&rows[i], columns[c].key));

			if (w > width[c + 1])
				width[c + 1] = w;
		}
	}
	printf("%-*s", width[0], "NAME");
	for (c = 0; c < NCOLUMNS; c++)
		printf("  %*s", width[c + 1], columns[c].header);
	putchar('\n');
	for (i = 0; i < nrows; i++) {
		printf("%-*s", width[0], rows[i].name);
		for (c = 0; c < NCOLUMNS; c++)
			printf("  %*s", width[c + 1], row_value(&rows[i], columns[c].key));
		putchar('\n');
	}
}

int cmd_list(const struct chanctl_cmd *cmd, int argc, char **argv)
{
	struct chan_row *rows = NULL;
	char **names = NULL;
	size_t nnames = 0, nrows = 0, i;
	int count, json, ret;
	struct dirent *de;
	DIR *dir;

	ret = parse_json_flag(cmd, argc, argv, NULL, 0, 0, &count, &json);
	if (ret)
		return ret;
	ret = check_mounted(cmd);
	if (ret)
		return ret;

	dir = opendir(KCHAN_DEV_DIR);
	if (!dir)
		return op_error(cmd, KCHAN_DEV_DIR, errno);
	while ((de = readdir(dir))) {
		char **grown;

		if (de->d_name[0] == '.')
			continue;	/* ., .., .control */
		grown = realloc(names, (nnames + 1) * sizeof(*names));
		if (!grown) {
			ret = op_error(cmd, KCHAN_DEV_DIR, ENOMEM);
			goto out;
		}
		names = grown;
		names[nnames] = strdup(de->d_name);
		if (!names[nnames]) {
			ret = op_error(cmd, KCHAN_DEV_DIR, ENOMEM);
			goto out;
		}
		nnames++;
	}
	if (nnames)
		qsort(names, nnames, sizeof(*names), name_cmp);

	rows = calloc(nnames ? nnames : 1, sizeof(*rows));
	if (!rows) {
		ret = op_error(cmd, KCHAN_DEV_DIR, ENOMEM);
		goto out;
	}
	for (i = 0; i < nnames; i++) {
		int err = read_chan(dirfd(dir), names[i], &rows[nrows]);

		if (!err || err == -EACCES || err == -EPERM)
			nrows++;	/* unreadable: a row of '-' */
		/* else destroyed since readdir, or not a channel: skip */
	}

	if (json) {
		putchar('[');
		for (i = 0; i < nrows; i++) {
			if (i)
				putchar(',');
			json_chan(&rows[i]);
		}
		puts("]");
	} else {
		print_table(rows, nrows);
	}
	ret = fflush(stdout) ? op_error(cmd, "<stdout>", errno) : 0;
out:
	for (i = 0; i < nnames; i++)
		free(names[i]);
	free(names);
	free(rows);
	closedir(dir);
	return ret;
}

int cmd_stat(const struct chanctl_cmd *cmd, int argc, char **argv)
{
	struct chan_row r;
	int count, json, ret, dir;
	char *name;
	size_t i;

	ret = parse_json_flag(cmd, argc, argv, &name, 1, 1, &count, &json);
	if (ret)
		return ret;
	ret = check_mounted(cmd);
	if (ret)
		return ret;
	dir = open(KCHAN_DEV_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		return op_error(cmd, KCHAN_DEV_DIR, errno);
	ret = read_chan(dir, name, &r);
	close(dir);
	if (ret == -ENOENT) {
		fprintf(stderr, "chanctl: stat %s: no such channel\n", name);
		return exit_status(ENOENT);
	}
	if (ret == -EACCES || ret == -EPERM) {
		fprintf(stderr, "chanctl: stat %s: %s (its counters are for those who may open %s/%s for reading)\n",
			name, strerror(-ret), KCHAN_DEV_DIR, name);
		return exit_status(-ret);
	}
	if (ret)
		return op_error(cmd, name, -ret);

	if (json) {
		json_chan(&r);
		putchar('\n');
	} else {
		for (i = 0; i < NKEYS; i++)
			printf("%s: %s\n", keys[i].key, r.value[i]);
	}
	return fflush(stdout) ? op_error(cmd, "<stdout>", errno) : 0;
}
