/* SPDX-License-Identifier: GPL-2.0 */
/*
 * chanctl: what the command files share.  Exit codes: 0 success,
 * CHANCTL_EXIT_FAIL when the operation failed, CHANCTL_EXIT_USAGE when the
 * command line was wrong (nothing was attempted).
 */
#ifndef CHANCTL_H
#define CHANCTL_H

#define CHANCTL_EXIT_FAIL	1
#define CHANCTL_EXIT_USAGE	2

#define SYSFS_CHAN_DIR		"/sys/class/chan"

struct chanctl_cmd {
	const char *name;
	const char *synopsis;	/* arguments after "chanctl NAME" */
	const char *help;	/* the rest of "chanctl NAME --help" */
	int (*run)(const struct chanctl_cmd *cmd, int argc, char **argv);
};

/*
 * Print "chanctl: CMD: message" and a pointer to --help on stderr, and
 * return CHANCTL_EXIT_USAGE for the caller to return.
 */
int usage_error(const struct chanctl_cmd *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Print "chanctl: CMD OBJ: strerror(-err)" on stderr; CHANCTL_EXIT_FAIL. */
int op_error(const struct chanctl_cmd *cmd, const char *obj, int err);

/*
 * The arguments of a command without options besides --help: the
 * non-option words go to names[] (at least min, at most max of them) and
 * their number to *count.  --help prints the help and exits 0.  Returns 0,
 * or CHANCTL_EXIT_USAGE after a usage error.
 */
int parse_names(const struct chanctl_cmd *cmd, int argc, char **argv,
		char **names, int min, int max, int *count);

/* "chanctl NAME --help" on stdout. */
void print_cmd_help(const struct chanctl_cmd *cmd);

int cmd_list(const struct chanctl_cmd *cmd, int argc, char **argv);
int cmd_stat(const struct chanctl_cmd *cmd, int argc, char **argv);

#endif /* CHANCTL_H */
