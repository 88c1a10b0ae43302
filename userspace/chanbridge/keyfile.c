// SPDX-License-Identifier: GPL-2.0
/*
 * The PSK key file: lines of "IDENTITY HEXKEY" (64 hex digits, 32 bytes);
 * blank lines and lines starting with '#' are skipped.  The server looks
 * identities up at every handshake, so removing a line revokes that peer's
 * next connection without a restart.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/crypto.h>

#include "keyfile.h"

#define KF_FILE_MAX	(1 << 20)	/* a key file larger than this is a mistake */

static int fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

int secret_open(const char *path, char *err, size_t errlen)
{
	/* O_NONBLOCK: a FIFO put in the key's place must not hang us before fstat. */
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	struct stat st;

	if (fd < 0) {
		if (errno == ELOOP)
			return fail(err, errlen, "%s: is a symbolic link: refused", path);
		return fail(err, errlen, "%s: %s", path, strerror(errno));
	}
	if (fstat(fd, &st) < 0) {
		fail(err, errlen, "%s: %s", path, strerror(errno));
		goto bad;
	}
	if (!S_ISREG(st.st_mode)) {
		fail(err, errlen, "%s: not a regular file: refused", path);
		goto bad;
	}
	if (st.st_mode & 0077) {
		fail(err, errlen, "%s: mode %04o lets group or others at the key: refused "
		     "(chmod 600)", path, (unsigned int)(st.st_mode & 07777));
		goto bad;
	}
	if (st.st_uid != geteuid() && st.st_uid != 0) {
		fail(err, errlen, "%s: owned by uid %u, neither us nor root: refused", path,
		     (unsigned int)st.st_uid);
		goto bad;
	}
	return fd;
bad:
	close(fd);
	return -1;
}

int keyfile_id_ok(const char *id, size_t len)
{
	if (len == 0 || len > KF_ID_MAX || id[0] == '#')
		return 0;
	/* No quotes or backslashes: principals go into logs and status JSON as they are. */
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)id[i] <= 0x20 || (unsigned char)id[i] >= 0x7f ||
		    id[i] == '"' || id[i] == '\\')
			return 0;
	return 1;
}

static int hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

static int parse_key(const char *hex, size_t len, uint8_t key[KF_KEY_LEN])
{
	if (len != 2 * KF_KEY_LEN)
		return -1;
	for (size_t i = 0; i < KF_KEY_LEN; i++) {
		int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		key[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

/* One line, NUL-terminated, without its newline: 1 matched, 0 not, -1 bad. */
static int parse_line(char *line, int lineno, const char *path, const char *id, size_t idlen,
		      uint8_t key[KF_KEY_LEN], char *id_out, char *err, size_t errlen)
{
	char *p = line, *name, *hex;
	size_t nlen, hlen;

	while (*p == ' ' || *p == '\t' || *p == '\r')
		p++;
	if (!*p || *p == '#')
		return 0;
	name = p;
	nlen = strcspn(p, " \t\r");
	p += nlen;
	p += strspn(p, " \t");
	hex = p;
	hlen = strcspn(p, " \t\r");
	if (hex[hlen + strspn(hex + hlen, " \t\r")] != 0 || !hlen)
		return fail(err, errlen, "%s:%d: want IDENTITY HEXKEY", path, lineno);
	if (!keyfile_id_ok(name, nlen))
		return fail(err, errlen, "%s:%d: bad identity", path, lineno);
	if (id && (nlen != idlen || memcmp(name, id, idlen)))
		return 0;
	if (parse_key(hex, hlen, key))
		return fail(err, errlen, "%s:%d: the key must be %d hex digits", path, lineno,
			    2 * KF_KEY_LEN);
	if (id_out) {
		memcpy(id_out, name, nlen);
		id_out[nlen] = 0;
	}
	return 1;
}

int keyfile_lookup(const char *path, const char *id, size_t idlen, uint8_t key[KF_KEY_LEN],
		   char *id_out, char *err, size_t errlen)
{
	static char buf[KF_FILE_MAX + 1];
	uint8_t junk[KF_KEY_LEN];
	int fd = secret_open(path, err, errlen), rc = 0, lineno = 0;
	size_t len = 0;
	char *line;

	if (fd < 0)
		return -1;
	for (;;) {
		ssize_t n = read(fd, buf + len, KF_FILE_MAX + 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = fail(err, errlen, "%s: %s", path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > KF_FILE_MAX) {
			rc = fail(err, errlen, "%s: larger than %d bytes", path, KF_FILE_MAX);
			goto out;
		}
	}
	buf[len] = 0;
	if (memchr(buf, 0, len)) {
		rc = fail(err, errlen, "%s: a NUL byte: not a key file", path);
		goto out;
	}
	/* Every line is checked, not only up to the match: a typo shows at once. */
	for (line = buf; line && *line && rc >= 0; ) {
		char *nl = strchr(line, '\n');
		int r;

		if (nl)
			*nl = 0;
		if (rc)	/* found: only check the rest */
			r = parse_line(line, ++lineno, path, NULL, 0, junk, NULL, err, errlen);
		else
			r = parse_line(line, ++lineno, path, id, idlen, key, id_out, err, errlen);
		if (r < 0)
			rc = -1;
		else if (r > 0 && !rc)
			rc = 1;
		line = nl ? nl + 1 : NULL;
	}
	if (rc == 0 && !id)
		rc = fail(err, errlen, "%s: no key in the file", path);
out:
	OPENSSL_cleanse(buf, len < sizeof(buf) ? len + 1 : sizeof(buf));
	OPENSSL_cleanse(junk, sizeof(junk));
	close(fd);
	if (rc < 0)
		OPENSSL_cleanse(key, KF_KEY_LEN);
	return rc;
}

int keyfile_genkey(const char *path, const char *id, char *err, size_t errlen)
{
	uint8_t key[KF_KEY_LEN];
	char line[KF_ID_MAX + 2 * KF_KEY_LEN + 3];
	int fd, n;
	size_t i;

	if (!keyfile_id_ok(id, strlen(id)))
		return fail(err, errlen, "bad identity \"%s\": 1 to %d printable characters, "
			    "no spaces", id, KF_ID_MAX);
	if (getrandom(key, sizeof(key), 0) != (ssize_t)sizeof(key))
		return fail(err, errlen, "getrandom: %s", strerror(errno));
	n = snprintf(line, sizeof(line), "%s ", id);
	for (i = 0; i < sizeof(key); i++)
		n += snprintf(line + n, sizeof(line) - (size_t)n, "%02x", key[i]);
	line[n++] = '\n';
	OPENSSL_cleanse(key, sizeof(key));
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		OPENSSL_cleanse(line, sizeof(line));
		return fail(err, errlen, "%s: %s", path, strerror(errno));
	}
	/* The umask may have taken more than 0600 asks for, never less: be exact. */
	if (fchmod(fd, 0600) < 0 || write(fd, line, (size_t)n) != n || fsync(fd) < 0) {
		fail(err, errlen, "%s: %s", path, strerror(errno));
		OPENSSL_cleanse(line, sizeof(line));
		close(fd);
		unlink(path);
		return -1;
	}
	OPENSSL_cleanse(line, sizeof(line));
	return close(fd) < 0 ? fail(err, errlen, "%s: %s", path, strerror(errno)) : 0;
}
