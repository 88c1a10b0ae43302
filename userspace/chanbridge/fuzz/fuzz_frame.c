// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for the frame decoder: decode a stream of frames the way
 * conn.c does, and check that whatever decodes encodes back to the same
 * bytes (the codec is a bijection on valid frames).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[CB_HDR + 4096 + 64];
	size_t off = 0;

	while (off < size) {
		struct cb_frame f;
		int rc = cb_decode(data + off, size - off, 4096, &f);
		size_t n;

		if (rc <= 0)
			break;
		if ((size_t)rc > size - off)
			abort();
		n = cb_encode(out, sizeof(out), &f);
		if (n != (size_t)rc || memcmp(out, data + off, n) != 0)
			abort();
		off += (size_t)rc;
	}
	return 0;
}
