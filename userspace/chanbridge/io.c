// SPDX-License-Identifier: GPL-2.0
/*
 * A connection's byte stream.  Once connected, the engine reads and writes
 * the socket through these two functions only, so that a TLS layer can
 * take their place without the engine knowing: same semantics as read(2)
 * and write(2) on a non-blocking socket (-1 with errno EAGAIN when it
 * would block, 0 from read at end of stream).
 */
#include <unistd.h>

#include "conn.h"

ssize_t conn_io_read(struct conn *c, void *buf, size_t len)
{
	return read(c->fd, buf, len);
}

ssize_t conn_io_write(struct conn *c, const void *buf, size_t len)
{
	return write(c->fd, buf, len);
}
