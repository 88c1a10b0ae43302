/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Secret files: the PSK key file ("identity hex-key" lines) and private
 * keys.  Both are opened with O_NOFOLLOW and refused unless they are regular
 * files that only their owner can read.
 */
#ifndef CHANBRIDGE_KEYFILE_H
#define CHANBRIDGE_KEYFILE_H

#include <stddef.h>
#include <stdint.h>

#define KF_KEY_LEN	32	/* bytes of a PSK */
#define KF_ID_MAX	64	/* bytes of an identity */

/* Open a secret file for reading, refusing what others could read or swap. */
int secret_open(const char *path, char *err, size_t errlen);

/*
 * Look an identity up in a key file.  id == NULL takes the first line and
 * copies its identity to id_out (KF_ID_MAX + 1 bytes).  Returns 1 when found,
 * 0 when the file has no such identity, -1 when the file is unusable (err says
 * why).  The key is wiped from every buffer but key.
 */
int keyfile_lookup(const char *path, const char *id, size_t idlen, uint8_t key[KF_KEY_LEN],
		   char *id_out, char *err, size_t errlen);

/* Is this a valid identity (1..KF_ID_MAX printable bytes, no space, quote, backslash, leading '#')? */
int keyfile_id_ok(const char *id, size_t len);

/* Write a new key file with one line and a random key (0600, O_EXCL). */
int keyfile_genkey(const char *path, const char *id, char *err, size_t errlen);

#endif
