// SPDX-License-Identifier: GPL-2.0
/*
 * PSK challenge-response: each side sends a fresh random nonce in HELLO and
 * proves the key with HMAC-SHA256(key, label || client nonce || server
 * nonce).  The labels differ by side, so a proof cannot be reflected back;
 * the key never crosses the wire.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "bridge.h"
#include "log.h"

#define PSK_MIN 16

int psk_load(struct bridge *b, const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;
	struct stat st;

	if (fd < 0) {
		logmsg("--psk-file %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == 0 && (st.st_mode & 0077))
		logmsg("warning: --psk-file %s is readable by group or others", path);
	n = read(fd, b->psk, sizeof(b->psk));
	close(fd);
	if (n < 0) {
		logmsg("--psk-file %s: %s", path, strerror(errno));
		return -1;
	}
	while (n > 0 && (b->psk[n - 1] == '\n' || b->psk[n - 1] == '\r'))
		n--;
	if (n < PSK_MIN || (size_t)n >= sizeof(b->psk)) {
		logmsg("--psk-file %s: the key must be %d to %zu bytes", path, PSK_MIN,
		       sizeof(b->psk) - 1);
		return -1;
	}
	b->psk_len = (size_t)n;
	return 0;
}

void psk_mac(const struct bridge *b, int server, const uint8_t *cn, const uint8_t *sn,
	     uint8_t out[CB_MAC])
{
	static const char lc[] = "chanbridge/1 client", ls[] = "chanbridge/1 server";
	uint8_t msg[sizeof(lc) + 2 * CB_NONCE];
	unsigned int len = CB_MAC;

	memcpy(msg, server ? ls : lc, sizeof(lc));
	memcpy(msg + sizeof(lc), cn, CB_NONCE);
	memcpy(msg + sizeof(lc) + CB_NONCE, sn, CB_NONCE);
	HMAC(EVP_sha256(), b->psk, (int)b->psk_len, msg, sizeof(msg), out, &len);
}

int psk_check(const struct bridge *b, int server, const uint8_t *cn, const uint8_t *sn,
	      const uint8_t mac[CB_MAC])
{
	uint8_t want[CB_MAC];

	psk_mac(b, server, cn, sn, want);
	return CRYPTO_memcmp(want, mac, CB_MAC) == 0;
}
