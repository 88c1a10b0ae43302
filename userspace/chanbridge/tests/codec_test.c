// SPDX-License-Identifier: GPL-2.0
/*
 * Unit test of the frame codec (frame.c), on the host: round trips of every
 * type, exact bytes, and each decoder error.  Prints TAP.
 */
#include <stdio.h>
#include <string.h>

#include "frame.h"

static int n, failed;

static void ok(int cond, const char *what)
{
	n++;
	if (!cond)
		failed++;
	printf("%sok %d - %s\n", cond ? "" : "not ", n, what);
}

static int roundtrip(const struct cb_frame *in, struct cb_frame *out)
{
	uint8_t buf[512];
	size_t len = cb_encode(buf, sizeof(buf), in);

	if (len == 0 || len != cb_size(in))
		return -100;
	/* Every proper prefix is incomplete, never an error. */
	for (size_t i = 0; i < len; i++)
		if (cb_decode(buf, i, 4096, out) != 0)
			return -101;
	return cb_decode(buf, len, 4096, out) == (int)len ? 0 : -102;
}

int main(void)
{
	struct cb_frame f, g;
	uint8_t buf[256];
	int rc;

	printf("TAP version 13\n");

	memset(&f, 0, sizeof(f));
	f.type = CB_HELLO;
	f.magic = CB_MAGIC;
	f.version = 1;
	f.flags = CB_HELLO_PSK;
	f.u32 = 65536;
	memset(f.bytes, 0xab, CB_NONCE);
	ok(roundtrip(&f, &g) == 0 && g.magic == CB_MAGIC && g.version == 1 &&
	   g.flags == CB_HELLO_PSK && g.u32 == 65536 && g.bytes[15] == 0xab && g.bytes[16] == 0,
	   "HELLO round trip");

	memset(&f, 0, sizeof(f));
	f.type = CB_AUTH;
	for (int i = 0; i < CB_MAC; i++)
		f.bytes[i] = (uint8_t)i;
	ok(roundtrip(&f, &g) == 0 && !memcmp(g.bytes, f.bytes, CB_MAC), "AUTH round trip");

	memset(&f, 0, sizeof(f));
	f.type = CB_OPEN;
	f.chan = 7;
	f.dir = CB_DIR_RECV;
	f.u32 = 64;
	f.stream = 0x1122334455667788ULL;
	strcpy(f.name, "echo-in");
	ok(roundtrip(&f, &g) == 0 && g.chan == 7 && g.dir == CB_DIR_RECV && g.u32 == 64 &&
	   g.stream == 0x1122334455667788ULL && !strcmp(g.name, "echo-in"),
	   "OPEN round trip, with the importer's identity");
	{
		static const uint8_t want[] = {
			0, 0, 0, 26, CB_OPEN, 0, 0, 0, 7, CB_DIR_RECV, 0, 0, 0, 64,
			0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,
			7, 'e', 'c', 'h', 'o', '-', 'i', 'n',
		};

		ok(cb_encode(buf, sizeof(buf), &f) == sizeof(want) && !memcmp(buf, want, sizeof(want)),
		   "OPEN exact bytes: the identity between the window and the name");
	}
	ok(CB_VERSION == 2 && CB_ERR_BUSY == 1006, "protocol 2; ERROR code 1006 is BUSY");

	memset(&f, 0, sizeof(f));
	f.type = CB_OPENED;
	f.chan = 3;
	f.stream = 0x0102030405060708ULL;
	f.u32 = 4096;
	f.capacity = 0;
	ok(roundtrip(&f, &g) == 0 && g.stream == f.stream && g.u32 == 4096 && g.chan == 3,
	   "OPENED round trip");

	for (int t = CB_RESUME; t <= CB_CLOSE_ACK; t++) {
		char what[64];

		if (t == CB_DATA)
			continue;
		memset(&f, 0, sizeof(f));
		f.type = (uint8_t)t;
		f.chan = 0xfffffffeU;
		f.seq = 0xfedcba9876543210ULL;
		snprintf(what, sizeof(what), "%s round trip", cb_typename(t));
		ok(roundtrip(&f, &g) == 0 && g.type == t && g.chan == f.chan && g.seq == f.seq, what);
	}
	memset(&f, 0, sizeof(f));
	f.type = CB_STREAM;
	f.chan = 1;
	f.stream = 42;
	ok(roundtrip(&f, &g) == 0 && g.stream == 42, "STREAM round trip");
	f.type = CB_PING;
	f.seq = 99;
	ok(roundtrip(&f, &g) == 0 && g.seq == 99, "PING round trip");

	memset(&f, 0, sizeof(f));
	f.type = CB_ERROR;
	f.chan = 0;
	f.u32 = CB_ERR_AUTH;
	f.data = (const uint8_t *)"wrong key";
	f.len = 9;
	ok(roundtrip(&f, &g) == 0 && g.u32 == CB_ERR_AUTH && g.len == 9 &&
	   !memcmp(g.data, "wrong key", 9), "ERROR round trip");

	/* DATA, byte for byte. */
	memset(&f, 0, sizeof(f));
	f.type = CB_DATA;
	f.chan = 1;
	f.seq = 2;
	f.data = (const uint8_t *)"hi";
	f.len = 2;
	{
		static const uint8_t want[] = { 0, 0, 0, 15, CB_DATA, 0, 0, 0, 1,
						0, 0, 0, 0, 0, 0, 0, 2, 'h', 'i' };
		size_t len = cb_encode(buf, sizeof(buf), &f);

		ok(len == sizeof(want) && !memcmp(buf, want, len), "DATA encodes to exact bytes");
		rc = cb_decode(buf, len, 4096, &g);
		ok(rc == (int)len && g.len == 2 && !memcmp(g.data, "hi", 2) && g.seq == 2,
		   "DATA decodes back");
		ok(cb_encode(buf, len - 1, &f) == 0, "encode refuses a buffer one byte short");
		ok(cb_decode(buf, len, 14, &g) == -CB_E_TOOBIG, "a body above max_body is TOOBIG");
		ok(cb_decode(buf, len, 15, &g) == (int)len, "a body of exactly max_body decodes");
	}

	/* Errors. */
	{
		static const uint8_t empty[] = { 0, 0, 0, 0 };
		static const uint8_t giant[] = { 0xff, 0xff, 0xff, 0xff, CB_DATA };
		static const uint8_t badtype[] = { 0, 0, 0, 1, 99 };
		static const uint8_t type0[] = { 0, 0, 0, 1, 0 };
		static const uint8_t shortack[] = { 0, 0, 0, 5, CB_ACK, 0, 0, 0, 1 };
		static const uint8_t chan0[] = { 0, 0, 0, 13, CB_ACK, 0, 0, 0, 0,
						 0, 0, 0, 0, 0, 0, 0, 1 };
		static const uint8_t seq0[] = { 0, 0, 0, 14, CB_DATA, 0, 0, 0, 1,
						0, 0, 0, 0, 0, 0, 0, 0, 'x' };
		static const uint8_t nodata[] = { 0, 0, 0, 13, CB_DATA, 0, 0, 0, 1,
						  0, 0, 0, 0, 0, 0, 0, 1 };
		/* OPEN: chan, dir, window, importer identity, name_len, name */
		static const uint8_t badname[] = { 0, 0, 0, 21, CB_OPEN, 0, 0, 0, 1, 1,
						   0, 0, 0, 64, 0, 0, 0, 0, 0, 0, 0, 9,
						   2, '.', 'x' };
		static const uint8_t namelen[] = { 0, 0, 0, 21, CB_OPEN, 0, 0, 0, 1, 1,
						   0, 0, 0, 64, 0, 0, 0, 0, 0, 0, 0, 9,
						   9, 'a', 'b' };
		static const uint8_t baddir[] = { 0, 0, 0, 21, CB_OPEN, 0, 0, 0, 1, 3,
						  0, 0, 0, 64, 0, 0, 0, 0, 0, 0, 0, 9,
						  2, 'a', 'b' };
		static const uint8_t slash[] = { 0, 0, 0, 21, CB_OPEN, 0, 0, 0, 1, 1,
						 0, 0, 0, 64, 0, 0, 0, 0, 0, 0, 0, 9,
						 2, '/', 'b' };
		/* Protocol 1's OPEN, without the identity: a size error now. */
		static const uint8_t open1[] = { 0, 0, 0, 13, CB_OPEN, 0, 0, 0, 1, 1,
						 0, 0, 0, 64, 2, 'a', 'b' };

		ok(cb_decode(empty, sizeof(empty), 4096, &g) == -CB_E_EMPTY, "length 0 is EMPTY");
		ok(cb_decode(giant, sizeof(giant), 4096, &g) == -CB_E_TOOBIG,
		   "length 4 GiB is TOOBIG at once, before any body arrives");
		ok(cb_decode(giant, 3, 4096, &g) == 0, "three bytes: incomplete");
		ok(cb_decode(badtype, sizeof(badtype), 4096, &g) == -CB_E_TYPE, "type 99 is TYPE");
		ok(cb_decode(type0, sizeof(type0), 4096, &g) == -CB_E_TYPE, "type 0 is TYPE");
		ok(cb_decode(shortack, sizeof(shortack), 4096, &g) == -CB_E_SIZE, "short ACK is SIZE");
		ok(cb_decode(chan0, sizeof(chan0), 4096, &g) == -CB_E_FIELD, "channel 0 is FIELD");
		ok(cb_decode(seq0, sizeof(seq0), 4096, &g) == -CB_E_FIELD, "DATA seq 0 is FIELD");
		ok(cb_decode(nodata, sizeof(nodata), 4096, &g) == -CB_E_SIZE, "empty DATA is SIZE");
		ok(cb_decode(open1, sizeof(open1), 4096, &g) == -CB_E_SIZE,
		   "a protocol 1 OPEN (no identity) is SIZE");
		ok(cb_decode(badname, sizeof(badname), 4096, &g) == -CB_E_NAME, "name .x is NAME");
		ok(cb_decode(slash, sizeof(slash), 4096, &g) == -CB_E_NAME, "name /b is NAME");
		ok(cb_decode(namelen, sizeof(namelen), 4096, &g) == -CB_E_SIZE,
		   "name length beyond the frame is SIZE");
		ok(cb_decode(baddir, sizeof(baddir), 4096, &g) == -CB_E_FIELD, "dir 3 is FIELD");
	}
	ok(cb_name_ok("a", 1) && cb_name_ok("A.b_c-9", 7) && !cb_name_ok("", 0) &&
	   !cb_name_ok("a b", 3), "channel names as kchan allows them");
	/* Two frames back to back: the decoder consumes exactly one. */
	{
		struct cb_frame p = { .type = CB_PING, .seq = 1 };
		size_t a = cb_encode(buf, sizeof(buf), &p);

		p.seq = 2;
		cb_encode(buf + a, sizeof(buf) - a, &p);
		rc = cb_decode(buf, 2 * a, 4096, &g);
		ok(rc == (int)a && g.seq == 1, "two frames: the first consumes only its bytes");
		rc = cb_decode(buf + a, a, 4096, &g);
		ok(rc == (int)a && g.seq == 2, "then the second");
	}
	printf("1..%d\n", n);
	return failed != 0;
}
