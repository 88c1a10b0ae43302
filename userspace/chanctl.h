/* SPDX-License-Identifier: GPL-2.0 */
/*
 * chanctl: what the command files share.
 *
 * Exit statuses, the same for every command (chanctl(1), EXIT STATUS):
 * 0 success; CHANCTL_EXIT_USAGE when the command line was wrong and nothing
 * was attempted; CHANCTL_EXIT_NOENT, _PERM and _TIMEOUT for the failures a
 * script most often wants to tell apart; CHANCTL_EXIT_FAIL for any other.
 * When a command works on several channels and more than one fails, the
 * status is that of the first failure.
 */
#ifndef CHANCTL_H
#define CHANCTL_H

#include <stdio.h>
#include <linux/kchan.h>

#define CHANCTL_EXIT_FAIL	1	/* the operation failed */
#define CHANCTL_EXIT_USAGE	2	/* bad command line: nothing was attempted */
#define CHANCTL_EXIT_NOENT	3	/* no such channel, or kchan is not loaded */
#define CHANCTL_EXIT_PERM	4	/* permission denied (EACCES, EPERM) */
#define CHANCTL_EXIT_TIMEOUT	5	/* --timeout ran out */

/* What an ENOENT for the control node or /dev/chan most likely means. */
#define CHANCTL_NOT_LOADED	" (is kchan loaded, and mounted on " KCHAN_DEV_DIR "?)"

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

/*
 * Print "chanctl: CMD OBJ: strerror(err)" on stderr and return the exit
 * status for @err (exit_status()).
 */
int op_error(const struct chanctl_cmd *cmd, const char *obj, int err);

/* The exit status that stands for errno value @err (> 0). */
int exit_status(int err);

/* "chanctl NAME --help" on stdout. */
void print_cmd_help(const struct chanctl_cmd *cmd);

/*
 * Command-line scanning, shared so that every command takes its options the
 * same way: anywhere among the operands, "--opt VALUE", "--opt=VALUE",
 * "-o VALUE", "-oVALUE", bundled short flags ("-0j"), "--" ending the
 * options, and "-h"/"--help" printing the command's help (exit 0).
 */
struct chanctl_opt {
	const char *name;	/* "--capacity" */
	char short_name;	/* 'n', or 0 for none */
	int has_arg;
};

struct argscan {
	int argc;
	char **argv;
	int i;			/* next word */
	const char *cluster;	/* rest of a "-abc" bundle being read */
	int options_done;	/* "--" seen */
};

#define ARG_OPERAND	(-1)	/* *val is an operand */
#define ARG_END		(-2)	/* no more words */
#define ARG_ERROR	(-3)	/* usage error printed: return CHANCTL_EXIT_USAGE */

void argscan_init(struct argscan *s, int argc, char **argv);

/*
 * The next option (its index in @opts, with *val its value if it takes
 * one), operand (ARG_OPERAND, *val the word), ARG_END or ARG_ERROR.
 * @opts ends with an entry whose name is NULL.
 */
int argscan_next(const struct chanctl_cmd *cmd, struct argscan *s,
		 const struct chanctl_opt *opts, const char **val);

/*
 * The arguments of a command without options besides --help: the operands
 * go to names[] (at least min, at most max of them), their number to
 * *count.  Every one must be a valid channel name.  Returns 0, or
 * CHANCTL_EXIT_USAGE after a usage error.
 */
int parse_names(const struct chanctl_cmd *cmd, int argc, char **argv,
		char **names, int min, int max, int *count);

/*
 * A usage error unless @name is a valid channel name: 0 or
 * CHANCTL_EXIT_USAGE.  Names become paths, so every command checks them.
 */
int check_name(const struct chanctl_cmd *cmd, const char *name);

/*
 * Parse all of @s as an unsigned number in @base (10 or 8) no larger than
 * @max: no sign, blanks or trailing junk.  0 or -1.
 */
int parse_uint(const char *s, unsigned int base, unsigned long max,
	       unsigned long *out);

/*
 * Parse a duration such as "500ms", "2s", "1m30s", "1.5h" or "2" (seconds)
 * into nanoseconds; units ns, us, ms, s, m, h.  0 or -1.
 */
int parse_duration(const char *s, long long *ns);

/* CLOCK_MONOTONIC now, in nanoseconds. */
long long now_ns(void);

/* "/dev/chan/NAME" into @buf of at least CHAN_PATH_MAX bytes. */
#define CHAN_PATH_MAX	(sizeof(KCHAN_DEV_DIR "/") + KCHAN_NAME_MAX)
void chan_path(char *buf, const char *name);

/*
 * Whether the control device opens (chan_available()); if not, say why on
 * stderr, once for all the names a command was given: 0 or -errno.
 */
int check_control(void);

/* Print @s as a JSON string (quoted, escaped) on @out. */
void json_string(FILE *out, const char *s);

int cmd_list(const struct chanctl_cmd *cmd, int argc, char **argv);
int cmd_stat(const struct chanctl_cmd *cmd, int argc, char **argv);
int cmd_send(const struct chanctl_cmd *cmd, int argc, char **argv);
int cmd_recv(const struct chanctl_cmd *cmd, int argc, char **argv);

#endif /* CHANCTL_H */
