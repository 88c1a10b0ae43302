// SPDX-License-Identifier: GPL-2.0
/*
 * A connection's reads and writes, through TLS when the connection has it,
 * else straight to the socket, with the semantics of read(2) and write(2)
 * on a non-blocking socket (see io.c).  A file of its own so that the
 * protocol engine's fuzz target can stand in for it.
 */
#include <errno.h>
#include <poll.h>
#include <unistd.h>

#include "conn.h"
#include "tls.h"

/* A TLS result as read(2)/write(2) would give it; failures close c. */
static ssize_t io_result(struct conn *c, ssize_t n, const char *what)
{
	if (n >= 0)
		return n;
	if (n == TLS_WANT_READ || n == TLS_WANT_WRITE) {
		/* Either call may want either direction; POLLIN is always watched. */
		if (n == TLS_WANT_WRITE)
			c->tls_wants |= POLLOUT;
		errno = EAGAIN;
		return -1;
	}
	if (n == TLS_CLOSED)
		return 0;
	conn_kill(c, 0, "TLS %s: %s", what, tls_error(c->tls));
	errno = EPROTO;
	return -1;
}

ssize_t conn_io_read(struct conn *c, void *buf, size_t len)
{
	if (!c->tls)
		return read(c->fd, buf, len);
	c->tls_wants &= ~POLLOUT;
	return io_result(c, tls_read(c->tls, buf, len), "read");
}

ssize_t conn_io_write(struct conn *c, const void *buf, size_t len)
{
	if (!c->tls)
		return write(c->fd, buf, len);
	c->tls_wants &= ~POLLOUT;
	return io_result(c, tls_write(c->tls, buf, len), "write");
}
