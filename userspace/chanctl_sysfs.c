// SPDX-License-Identifier: GPL-2.0
/*
 * chanctl list and chanctl stat: read /sys/class/chan/<name>/.
 *
 * A channel may be destroyed while we read it; its directory then vanishes
 * (ENOENT or ENODEV from the open or the read).  list skips such a channel,
 * stat reports it gone.  Both print columns or 'key: value' lines for
 * people, and with --json one line of JSON for programs.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chanctl.h"

/* Attribute values are short numbers; this is plenty, and longer ones are cut. */
#define ATTR_MAX 64

/*
 * The README's attributes, in the README's order; stat prints others
 * after.  A kernel without one of them (dropped came with timer channels)
 * just leaves it out.
 */
static const char *const known_attrs[] = {
	"capacity", "length", "msg_max", "closed", "autoclose",
	"readers", "writers", "sent", "received", "dropped",
};
#define NKNOWN (sizeof(known_attrs) / sizeof(known_attrs[0]))

/* The list columns, a subset of known_attrs, after NAME. */
static const struct {
	const char *attr;
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
struct chan_attrs {
	char name[KCHAN_NAME_MAX];
	char value[NKNOWN][ATTR_MAX];
	int present[NKNOWN];
};

enum { OPT_JSON };

static const struct chanctl_opt json_opts[] = {
	[OPT_JSON] = { "--json", 'j', 0 },
	{ NULL, 0, 0 },
};

/* Read one attribute of the channel directory @dirfd, without the newline. */
static int read_attr(int dirfd, const char *attr, char *buf, size_t size)
{
	ssize_t n;
	int fd;

	fd = openat(dirfd, attr, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	if (n < 0) {
		n = -errno;
		close(fd);
		return n;
	}
	close(fd);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		n--;
	buf[n] = '\0';
	return 0;
}

/*
 * Read the known attributes of channel @name (directory @chfd).  -ENOENT
 * when the channel went away meanwhile (its attributes vanish with it).
 */
static int read_chan(int chfd, const char *name, struct chan_attrs *a)
{
	size_t i;

	memset(a, 0, sizeof(*a));
	snprintf(a->name, sizeof(a->name), "%s", name);
	for (i = 0; i < NKNOWN; i++) {
		int err = read_attr(chfd, known_attrs[i], a->value[i], ATTR_MAX);

		if (!err)
			a->present[i] = 1;
		else if (err == -ENODEV)
			return -ENOENT;
	}
	/* capacity is in every kchan: without it the directory is gone. */
	if (!a->present[0] && faccessat(chfd, known_attrs[0], F_OK, 0))
		return -ENOENT;
	return 0;
}

static int is_number(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

static int is_flag_attr(const char *attr)
{
	return !strcmp(attr, "closed") || !strcmp(attr, "autoclose");
}

/* "key":value, a flag as a boolean, a number as a number, else a string. */
static void json_member(const char *key, const char *value)
{
	json_string(stdout, key);
	putchar(':');
	if (is_flag_attr(key) && (!strcmp(value, "0") || !strcmp(value, "1")))
		fputs(value[0] == '1' ? "true" : "false", stdout);
	else if (is_number(value))
		fputs(value, stdout);
	else
		json_string(stdout, value);
}

/* One channel as a JSON object, without the closing brace. */
static void json_chan_open(const struct chan_attrs *a)
{
	size_t i;

	fputs("{\"name\":", stdout);
	json_string(stdout, a->name);
	for (i = 0; i < NKNOWN; i++) {
		if (!a->present[i])
			continue;
		putchar(',');
		json_member(known_attrs[i], a->value[i]);
	}
}

static const char *attr_value(const struct chan_attrs *a, const char *attr)
{
	size_t i;

	for (i = 0; i < NKNOWN; i++)
		if (!strcmp(known_attrs[i], attr))
			return a->present[i] ? a->value[i] : "-";
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

int cmd_list(const struct chanctl_cmd *cmd, int argc, char **argv)
{
	struct chan_attrs *rows = NULL;
	char **names = NULL;
	size_t nnames = 0, nrows = 0, i, c;
	int width[NCOLUMNS + 1];
	int count, json, ret;
	struct dirent *de;
	DIR *dir;

	ret = parse_json_flag(cmd, argc, argv, NULL, 0, 0, &count, &json);
	if (ret)
		return ret;

	dir = opendir(SYSFS_CHAN_DIR);
	if (!dir) {
		int err = errno;

		fprintf(stderr, "chanctl: list: %s: %s%s\n", SYSFS_CHAN_DIR,
			strerror(err),
			err == ENOENT ? " (is the kchan module loaded?)" : "");
		return exit_status(err);
	}
	while ((de = readdir(dir))) {
		char **grown;

		if (de->d_name[0] == '.')
			continue;
		grown = realloc(names, (nnames + 1) * sizeof(*names));
		if (!grown) {
			ret = op_error(cmd, SYSFS_CHAN_DIR, ENOMEM);
			goto out;
		}
		names = grown;
		names[nnames] = strdup(de->d_name);
		if (!names[nnames]) {
			ret = op_error(cmd, SYSFS_CHAN_DIR, ENOMEM);
			goto out;
		}
		nnames++;
	}
	if (nnames)
		qsort(names, nnames, sizeof(*names), name_cmp);

	rows = calloc(nnames ? nnames : 1, sizeof(*rows));
	if (!rows) {
		ret = op_error(cmd, SYSFS_CHAN_DIR, ENOMEM);
		goto out;
	}
	for (i = 0; i < nnames; i++) {
		int chfd;

		chfd = openat(dirfd(dir), names[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (chfd < 0)
			continue;	/* destroyed since readdir */
		if (read_chan(chfd, names[i], &rows[nrows]) == 0)
			nrows++;
		close(chfd);
	}

	if (json) {
		putchar('[');
		for (i = 0; i < nrows; i++) {
			if (i)
				putchar(',');
			json_chan_open(&rows[i]);
			putchar('}');
		}
		puts("]");
	} else {
		width[0] = strlen("NAME");
		for (c = 0; c < NCOLUMNS; c++)
			width[c + 1] = strlen(columns[c].header);
		for (i = 0; i < nrows; i++) {
			if ((int)strlen(rows[i].name) > width[0])
				width[0] = strlen(rows[i].name);
			for (c = 0; c < NCOLUMNS; c++) {
				int w = strlen(attr_value(&rows[i], columns[c].attr));

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
				printf("  %*s", width[c + 1],
				       attr_value(&rows[i], columns[c].attr));
			putchar('\n');
		}
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

static int is_known(const char *attr)
{
	size_t i;

	for (i = 0; i < NKNOWN; i++)
		if (!strcmp(attr, known_attrs[i]))
			return 1;
	return 0;
}

/* Whether @attr of @chfd is a readable attribute stat shows besides the known. */
static int read_extra(int chfd, const char *attr, char *value)
{
	struct stat st;

	if (attr[0] == '.' || !strcmp(attr, "uevent") || is_known(attr))
		return 0;	/* uevent: multi-line and not ours */
	if (fstatat(chfd, attr, &st, AT_SYMLINK_NOFOLLOW) || !S_ISREG(st.st_mode))
		return 0;
	return read_attr(chfd, attr, value, ATTR_MAX) == 0;	/* not write-only */
}

int cmd_stat(const struct chanctl_cmd *cmd, int argc, char **argv)
{
	char path[sizeof(SYSFS_CHAN_DIR) + KCHAN_NAME_MAX + 1];
	struct dirent **extra = NULL;
	struct chan_attrs a;
	int count, chfd, nextra, json, ret, i;
	char *name;

	ret = parse_json_flag(cmd, argc, argv, &name, 1, 1, &count, &json);
	if (ret)
		return ret;
	snprintf(path, sizeof(path), "%s/%s", SYSFS_CHAN_DIR, name);
	chfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (chfd < 0) {
		int err = errno;

		if (err == ENOENT && access(SYSFS_CHAN_DIR, F_OK))
			fprintf(stderr, "chanctl: stat: %s: %s (is the kchan module loaded?)\n",
				SYSFS_CHAN_DIR, strerror(err));
		else if (err == ENOENT)
			fprintf(stderr, "chanctl: stat %s: no such channel\n", name);
		else
			op_error(cmd, name, err);
		return exit_status(err);
	}
	if (read_chan(chfd, name, &a)) {
		close(chfd);
		return op_error(cmd, name, ENOENT);
	}

	if (json)
		json_chan_open(&a);
	else
		for (i = 0; i < (int)NKNOWN; i++)
			if (a.present[i])
				printf("%s: %s\n", known_attrs[i], a.value[i]);
	/* Then whatever else the module exports. */
	nextra = scandir(path, &extra, NULL, alphasort);
	for (i = 0; i < nextra; i++) {
		char value[ATTR_MAX];

		if (read_extra(chfd, extra[i]->d_name, value)) {
			if (json) {
				putchar(',');
				json_member(extra[i]->d_name, value);
			} else {
				printf("%s: %s\n", extra[i]->d_name, value);
			}
		}
		free(extra[i]);
	}
	free(extra);
	if (json)
		puts("}");

	/* Destroyed while we read: don't pass off a partial answer as whole. */
	if (faccessat(chfd, "capacity", F_OK, 0) && errno != EACCES)
		ret = op_error(cmd, name, ENOENT);
	close(chfd);
	if (!ret && fflush(stdout))
		ret = op_error(cmd, "<stdout>", errno);
	return ret;
}
