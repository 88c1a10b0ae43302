// SPDX-License-Identifier: GPL-2.0
/*
 * chanctl list and chanctl stat: read /sys/class/chan/<name>/.
 *
 * A channel may be destroyed while we read it; its directory then vanishes
 * (ENOENT or ENODEV from the open or the read).  list skips such a channel,
 * stat reports it gone.
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
#include "kchan_ioctl.h"

/* Attribute values are short numbers; this is plenty, and longer ones are cut. */
#define ATTR_MAX 64

/* The README's attributes, in the README's order; stat prints others after. */
static const char *const known_attrs[] = {
	"capacity", "length", "msg_max", "closed", "autoclose",
	"readers", "writers", "sent", "received",
};
#define NKNOWN (sizeof(known_attrs) / sizeof(known_attrs[0]))

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

static int name_cmp(const void *a, const void *b)
{
	return strverscmp(*(char *const *)a, *(char *const *)b);
}

/* The list columns: attribute, header, and whether it is left-aligned. */
static const struct {
	const char *attr;
	const char *header;
} columns[] = {
	{ NULL, "NAME" },
	{ "capacity", "CAPACITY" },
	{ "length", "LENGTH" },
	{ "msg_max", "MSG_MAX" },
	{ "closed", "CLOSED" },
	{ "readers", "READERS" },
	{ "writers", "WRITERS" },
};
#define NCOLUMNS (sizeof(columns) / sizeof(columns[0]))

struct row {
	char cell[NCOLUMNS][ATTR_MAX];
};

static void print_row(const char cells[NCOLUMNS][ATTR_MAX], const int *width)
{
	size_t c;

	for (c = 0; c < NCOLUMNS; c++) {
		if (c == 0)
			printf("%-*s", width[c], cells[c]);
		else
			printf("  %*s", width[c], cells[c]);
	}
	putchar('\n');
}

int cmd_list(const struct chanctl_cmd *cmd, int argc, char **argv)
{
	char header[NCOLUMNS][ATTR_MAX];
	int width[NCOLUMNS];
	struct row *rows = NULL;
	char **names = NULL;
	size_t nnames = 0, nrows = 0, i, c;
	struct dirent *de;
	int count, ret;
	DIR *dir;

	ret = parse_names(cmd, argc, argv, NULL, 0, 0, &count);
	if (ret)
		return ret;

	dir = opendir(SYSFS_CHAN_DIR);
	if (!dir) {
		fprintf(stderr, "chanctl: list: %s: %s%s\n", SYSFS_CHAN_DIR,
			strerror(errno),
			errno == ENOENT ? " (is the kchan module loaded?)" : "");
		return CHANCTL_EXIT_FAIL;
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
	for (c = 0; c < NCOLUMNS; c++) {
		snprintf(header[c], ATTR_MAX, "%s", columns[c].header);
		width[c] = strlen(header[c]);
	}
	for (i = 0; i < nnames; i++) {
		struct row *row = &rows[nrows];
		int chfd, gone = 0;

		chfd = openat(dirfd(dir), names[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (chfd < 0)
			continue;	/* destroyed since readdir */
		snprintf(row->cell[0], ATTR_MAX, "%s", names[i]);
		for (c = 1; c < NCOLUMNS; c++) {
			int err = read_attr(chfd, columns[c].attr, row->cell[c], ATTR_MAX);

			if (err == -ENOENT || err == -ENODEV)
				gone = 1;
			if (err)
				snprintf(row->cell[c], ATTR_MAX, "-");
		}
		close(chfd);
		if (gone && faccessat(dirfd(dir), names[i], F_OK, 0))
			continue;
		for (c = 0; c < NCOLUMNS; c++)
			if ((int)strlen(row->cell[c]) > width[c])
				width[c] = strlen(row->cell[c]);
		nrows++;
	}
	print_row(header, width);
	for (i = 0; i < nrows; i++)
		print_row(rows[i].cell, width);
	ret = fflush(stdout) ? op_error(cmd, "<stdout>", errno) : 0;
out:
	for (i = 0; i < nnames; i++)
		free(names[i]);
	free(names);
	free(rows);
	closedir(dir);
	return ret;
}

/* Print "key: value" for @attr if it is a readable regular file. */
static void print_attr(int chfd, const char *attr)
{
	char value[ATTR_MAX];
	struct stat st;

	if (fstatat(chfd, attr, &st, AT_SYMLINK_NOFOLLOW) || !S_ISREG(st.st_mode))
		return;
	if (read_attr(chfd, attr, value, sizeof(value)))
		return;		/* write-only, or gone */
	printf("%s: %s\n", attr, value);
}

static int is_known(const char *attr)
{
	size_t i;

	for (i = 0; i < NKNOWN; i++)
		if (!strcmp(attr, known_attrs[i]))
			return 1;
	return 0;
}

int cmd_stat(const struct chanctl_cmd *cmd, int argc, char **argv)
{
	struct dirent **extra = NULL;
	char *name;
	int count, chfd, nextra, ret, i;
	char path[sizeof(SYSFS_CHAN_DIR) + KCHAN_NAME_MAX + 1];

	ret = parse_names(cmd, argc, argv, &name, 1, 1, &count);
	if (ret)
		return ret;
	/* The kernel's rule, checked here because NAME becomes a path. */
	if (!kchan_name_valid(name))
		return op_error(cmd, name, strlen(name) >= KCHAN_NAME_MAX ?
				ENAMETOOLONG : EINVAL);
	snprintf(path, sizeof(path), "%s/%s", SYSFS_CHAN_DIR, name);
	chfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (chfd < 0)
		return op_error(cmd, name, errno);

	for (i = 0; i < (int)NKNOWN; i++)
		print_attr(chfd, known_attrs[i]);
	/* Then whatever else the module exports, but not the multi-line uevent. */
	nextra = scandir(path, &extra, NULL, alphasort);
	for (i = 0; i < nextra; i++) {
		const char *attr = extra[i]->d_name;

		if (attr[0] != '.' && strcmp(attr, "uevent") && !is_known(attr))
			print_attr(chfd, attr);
		free(extra[i]);
	}
	free(extra);

	/* Destroyed while we read: don't pass off a partial answer as whole. */
	if (faccessat(chfd, "capacity", F_OK, 0) && errno != EACCES)
		ret = op_error(cmd, name, ENOENT);
	close(chfd);
	if (!ret && fflush(stdout))
		ret = op_error(cmd, "<stdout>", errno);
	return ret;
}
