// SPDX-License-Identifier: GPL-2.0
/* chanbridge frame codec: see frame.h.  Pure functions only. */
#include <string.h>

#include "frame.h"

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static uint64_t get64(const uint8_t *p) { return (uint64_t)get32(p) << 32 | get32(p + 4); }
static uint8_t *put16(uint8_t *p, uint16_t v) { p[0] = v >> 8; p[1] = v; return p + 2; }
static uint8_t *put32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v;
	return p + 4;
}
static uint8_t *put64(uint8_t *p, uint64_t v) { return put32(put32(p, v >> 32), v); }

int cb_name_ok(const char *name, size_t len)
{
	if (len == 0 || len > CB_NAME_MAX || name[0] == '.')
		return 0;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

/* Fixed body sizes (after the type byte); -1 = variable. */
static int fixed_size(unsigned int type)
{
	switch (type) {
	case CB_HELLO: return 12 + CB_NONCE;
	case CB_AUTH: return CB_MAC;
	case CB_OPENED: return 20;
	case CB_RESUME: case CB_CREDIT: case CB_ACK: case CB_CLOSE: case CB_CLOSE_ACK:
	case CB_STREAM:
		return 12;
	case CB_PING: case CB_PONG: return 8;
	default: return -1;
	}
}

int cb_decode(const uint8_t *buf, size_t avail, size_t max_body, struct cb_frame *f)
{
	uint32_t len;
	const uint8_t *p;
	size_t n;
	int fs;

	if (avail < CB_HDR)
		return 0;
	len = get32(buf);
	if (len == 0)
		return -CB_E_EMPTY;
	if (len > max_body)
		return -CB_E_TOOBIG;
	if (avail - CB_HDR < len)
		return 0;
	memset(f, 0, sizeof(*f));
	f->type = buf[CB_HDR];
	p = buf + CB_HDR + 1;
	n = len - 1;
	if (f->type == 0 || f->type > CB_TYPE_MAX)
		return -CB_E_TYPE;
	fs = fixed_size(f->type);
	if (fs >= 0 && n != (size_t)fs)
		return -CB_E_SIZE;
	switch (f->type) {
	case CB_HELLO:
		f->magic = get32(p);
		f->version = get16(p + 4);
		f->flags = get16(p + 6);
		f->u32 = get32(p + 8);
		memcpy(f->bytes, p + 12, CB_NONCE);
		break;
	case CB_AUTH:
		memcpy(f->bytes, p, CB_MAC);
		break;
	case CB_OPEN: {
		size_t nl;

		if (n < 18)
			return -CB_E_SIZE;
		f->chan = get32(p);
		f->dir = p[4];
		f->u32 = get32(p + 5);
		f->stream = get64(p + 9);
		nl = p[17];
		if (n != 18 + nl)
			return -CB_E_SIZE;
		if (!cb_name_ok((const char *)p + 18, nl))
			return -CB_E_NAME;
		memcpy(f->name, p + 18, nl);
		if (f->dir != CB_DIR_SEND && f->dir != CB_DIR_RECV)
			return -CB_E_FIELD;
		break;
	}
	case CB_OPENED:
		f->chan = get32(p);
		f->stream = get64(p + 4);
		f->u32 = get32(p + 12);
		f->capacity = get32(p + 16);
		break;
	case CB_RESUME: case CB_CREDIT: case CB_ACK: case CB_CLOSE: case CB_CLOSE_ACK:
		f->chan = get32(p);
		f->seq = get64(p + 4);
		break;
	case CB_STREAM:
		f->chan = get32(p);
		f->stream = get64(p + 4);
		if (f->stream == 0)
			return -CB_E_FIELD;
		break;
	case CB_DATA:
		if (n < 13)
			return -CB_E_SIZE;
		f->chan = get32(p);
		f->seq = get64(p + 4);
		f->data = p + 12;
		f->len = (uint32_t)(n - 12);
		if (f->seq == 0)
			return -CB_E_FIELD;
		break;
	case CB_PING: case CB_PONG:
		f->seq = get64(p);
		break;
	case CB_ERROR:
		if (n < 8 || n > 8 + CB_TEXT_MAX)
			return -CB_E_SIZE;
		f->chan = get32(p);
		f->u32 = get32(p + 4);
		f->data = p + 8;
		f->len = (uint32_t)(n - 8);
		break;
	}
	/* Channel 0 is reserved for the connection. */
	if (((f->type >= CB_OPEN && f->type <= CB_CLOSE_ACK) || f->type == CB_STREAM) &&
	    f->chan == 0)
		return -CB_E_FIELD;
	return (int)(CB_HDR + len);
}

size_t cb_size(const struct cb_frame *f)
{
	int fs = fixed_size(f->type);

	if (fs >= 0)
		return CB_HDR + 1 + (size_t)fs;
	switch (f->type) {
	case CB_OPEN: return CB_HDR + 1 + 18 + strnlen(f->name, CB_NAME_MAX);
	case CB_DATA: return CB_HDR + 1 + 12 + f->len;
	case CB_ERROR: return CB_HDR + 1 + 8 + (f->len > CB_TEXT_MAX ? CB_TEXT_MAX : f->len);
	default: return 0;
	}
}

size_t cb_encode(uint8_t *out, size_t cap, const struct cb_frame *f)
{
	size_t sz = cb_size(f);
	uint8_t *p;

	if (sz == 0 || sz > cap)
		return 0;
	p = put32(out, (uint32_t)(sz - CB_HDR));
	*p++ = f->type;
	switch (f->type) {
	case CB_HELLO:
		p = put32(p, f->magic);
		p = put16(p, f->version);
		p = put16(p, f->flags);
		p = put32(p, f->u32);
		memcpy(p, f->bytes, CB_NONCE);
		break;
	case CB_AUTH:
		memcpy(p, f->bytes, CB_MAC);
		break;
	case CB_OPEN: {
		size_t nl = strnlen(f->name, CB_NAME_MAX);

		p = put32(p, f->chan);
		*p++ = f->dir;
		p = put32(p, f->u32);
		p = put64(p, f->stream);
		*p++ = (uint8_t)nl;
		memcpy(p, f->name, nl);
		break;
	}
	case CB_OPENED:
		p = put32(p, f->chan);
		p = put64(p, f->stream);
		p = put32(p, f->u32);
		put32(p, f->capacity);
		break;
	case CB_RESUME: case CB_CREDIT: case CB_ACK: case CB_CLOSE: case CB_CLOSE_ACK:
		p = put32(p, f->chan);
		put64(p, f->seq);
		break;
	case CB_STREAM:
		p = put32(p, f->chan);
		put64(p, f->stream);
		break;
	case CB_DATA:
		p = put32(p, f->chan);
		p = put64(p, f->seq);
		memcpy(p, f->data, f->len);
		break;
	case CB_PING: case CB_PONG:
		put64(p, f->seq);
		break;
	case CB_ERROR:
		p = put32(p, f->chan);
		p = put32(p, f->u32);
		memcpy(p, f->data, sz - CB_HDR - 9);
		break;
	}
	return sz;
}

const char *cb_strerror(int err)
{
	switch (err < 0 ? -err : err) {
	case CB_E_TOOBIG: return "frame length above the limit";
	case CB_E_EMPTY: return "empty frame";
	case CB_E_TYPE: return "unknown frame type";
	case CB_E_SIZE: return "frame size wrong for its type";
	case CB_E_NAME: return "bad channel name";
	case CB_E_FIELD: return "field out of range";
	default: return "unknown decoder error";
	}
}

const char *cb_typename(unsigned int type)
{
	static const char *const names[] = {
		"?", "HELLO", "AUTH", "OPEN", "OPENED", "RESUME", "CREDIT", "DATA",
		"ACK", "CLOSE", "CLOSE_ACK", "PING", "PONG", "ERROR", "STREAM",
	};

	return type <= CB_TYPE_MAX ? names[type] : "?";
}
