/* SPDX-License-Identifier: GPL-2.0 */
/*
 * chanbridge wire frames: a pure codec (no I/O, no allocation), so that the
 * decoder can be fuzzed and unit-tested on its own.
 *
 * A frame is a big-endian u32 length (the bytes that follow it, at least 1),
 * a u8 type and the type's fields, all big-endian:
 *
 *   HELLO     magic u32 "KCHB", version u16, flags u16, max_msg u32, nonce[16]
 *   AUTH      mac[32]                      HMAC-SHA256 proof of the PSK
 *   OPEN      chan u32, dir u8, window u32, importer u64, name_len u8, name
 *                                          importer: the importer's identity for
 *                                          this channel (0: none), see chanbridge(1)
 *   OPENED    chan u32, stream u64, msg_max u32, capacity u32
 *                                          stream: the server's channel's info.id
 *   RESUME    chan u32, seq u64            last seq the destination committed
 *   CREDIT    chan u32, total u64          DATA frames allowed this session
 *   DATA      chan u32, seq u64, payload (1..max_msg bytes)
 *   ACK       chan u32, seq u64            committed everything up to seq
 *   CLOSE     chan u32, seq u64            source closed after seq
 *   CLOSE_ACK chan u32, seq u64            destination closed its channel
 *   PING/PONG token u64
 *   ERROR     chan u32, code u32, text (0..CB_TEXT_MAX bytes)
 *   STREAM    chan u32, stream u64         the importer's source stream id
 */
#ifndef CHANBRIDGE_FRAME_H
#define CHANBRIDGE_FRAME_H

#include <stddef.h>
#include <stdint.h>

#define CB_MAGIC	0x4b434842U	/* "KCHB" */
#define CB_VERSION	2		/* 2: OPEN carries the importer's identity */
#define CB_HDR		4		/* the length field */
#define CB_NONCE	16
#define CB_MAC		32
#define CB_NAME_MAX	63		/* KCHAN_NAME_MAX - 1 */
#define CB_TEXT_MAX	200
#define CB_MSG_HARD_MAX	(1U << 20)	/* no --max-msg beyond this */
#define CB_OVERHEAD	16		/* type, chan, seq and slack around a payload */

/* HELLO flags */
#define CB_HELLO_PSK	0x1U		/* the sender has a PSK and wants AUTH */

/* OPEN dir: as seen by the importer */
#define CB_DIR_SEND	1		/* importer sends into the exported channel */
#define CB_DIR_RECV	2		/* importer receives from it */

/* ERROR codes (beyond these, an errno from the far side, for one channel) */
#define CB_ERR_PROTO	1000		/* protocol violation */
#define CB_ERR_AUTH	1001		/* authentication failed */
#define CB_ERR_LIMIT	1002		/* a limit was exceeded */
#define CB_ERR_NOEXPORT	1003		/* no such export */
#define CB_ERR_DIR	1004		/* direction not allowed */
#define CB_ERR_VERSION	1005		/* no common protocol version */
#define CB_ERR_BUSY	1006		/* another importer holds this source: retry later */

enum cb_type {
	CB_HELLO = 1, CB_AUTH, CB_OPEN, CB_OPENED, CB_RESUME, CB_CREDIT, CB_DATA,
	CB_ACK, CB_CLOSE, CB_CLOSE_ACK, CB_PING, CB_PONG, CB_ERROR, CB_STREAM,
	CB_TYPE_MAX = CB_STREAM,
};

/* Decoder errors, negative returns of cb_decode(). */
enum cb_err {
	CB_E_TOOBIG = 1,	/* length above the caller's limit */
	CB_E_EMPTY,		/* length 0: not even a type */
	CB_E_TYPE,		/* unknown type */
	CB_E_SIZE,		/* body size wrong for the type */
	CB_E_NAME,		/* bad channel name */
	CB_E_FIELD,		/* a field out of range (zero chan, bad dir...) */
};

struct cb_frame {
	uint8_t type;
	uint8_t dir;		/* OPEN */
	uint16_t version;	/* HELLO */
	uint16_t flags;		/* HELLO */
	uint32_t magic;		/* HELLO */
	uint32_t chan;		/* per-channel frames; ERROR: 0 = the connection */
	uint32_t u32;		/* HELLO max_msg, OPEN window, OPENED msg_max, ERROR code */
	uint32_t capacity;	/* OPENED */
	uint64_t seq;		/* RESUME, CREDIT total, DATA, ACK, CLOSE(_ACK), PING/PONG */
	uint64_t stream;	/* OPEN importer identity, OPENED, STREAM */
	uint8_t bytes[CB_MAC];	/* HELLO nonce, AUTH mac */
	char name[CB_NAME_MAX + 1];	/* OPEN, NUL-terminated */
	const uint8_t *data;	/* DATA payload, ERROR text: points into the buffer */
	uint32_t len;
};

/*
 * Decode one frame from buf[0..avail).  max_body bounds the length field.
 * Returns the bytes consumed (> 0), 0 if the frame is not complete yet, or
 * -enum cb_err.  Pointers in *f point into buf.
 */
int cb_decode(const uint8_t *buf, size_t avail, size_t max_body, struct cb_frame *f);

/* Encode *f into out[0..cap).  Returns the bytes written, 0 if cap is too small. */
size_t cb_encode(uint8_t *out, size_t cap, const struct cb_frame *f);

/* The encoded size of *f. */
size_t cb_size(const struct cb_frame *f);

const char *cb_strerror(int err);
const char *cb_typename(unsigned int type);
/* A kchan channel name: 1..63 bytes of [A-Za-z0-9._-], not starting with '.'. */
int cb_name_ok(const char *name, size_t len);

#endif
