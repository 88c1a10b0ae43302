// SPDX-License-Identifier: GPL-2.0
/*
 * The scenarios' relay (scen_proxy.h).  What it relays it relays in units:
 * on TLS links whole records (a 5-byte header, its length at bytes 3-4),
 * so that an injected, flipped or replayed record lands on a boundary and
 * is judged by TLS, not cut in half by accident; on plain links whatever
 * was read, except on the half-dead link, where the importer's frames go
 * one by one so that its last ERROR frame can be withheld (as
 * halfdead_proxy.py does for tests/guest-bridge-holders.sh).
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../frame.h"
#include "scen_proxy.h"

static void capture(struct proxy *p, const uint8_t *b, size_t n)
{
	if (p->cap_len + n > p->cap_cap) {
		size_t cap = (p->cap_len + n) * 2;
		uint8_t *c = realloc(p->cap, cap);

		if (!c)
			abort();
		p->cap = c;
		p->cap_cap = cap;
	}
	memcpy(p->cap + p->cap_len, b, n);
	p->cap_len += n;
}

int proxy_init(struct proxy *p, uint16_t up_port, int tls)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);

	memset(p, 0, sizeof(*p));
	p->up_port = up_port;
	p->tls = tls;
	p->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (p->lfd < 0 || bind(p->lfd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    listen(p->lfd, 16) < 0 || getsockname(p->lfd, (struct sockaddr *)&a, &len) < 0)
		return -1;
	p->port = ntohs(a.sin_port);
	return 0;
}

static void link_close_side(struct plink *l, int side)
{
	if (l->fd[side] >= 0)
		close(l->fd[side]);
	l->fd[side] = -1;
}

static void link_free(struct proxy *p, int i)
{
	struct plink *l = p->links[i];

	link_close_side(l, 0);
	link_close_side(l, 1);
	for (int d = 0; d < 2; d++) {
		free(l->in[d]);
		free(l->out[d]);
	}
	free(l);
	p->links[i] = NULL;
	p->closed++;
}

void proxy_free(struct proxy *p)
{
	for (int i = 0; i < PROXY_LINKS; i++)
		if (p->links[i])
			link_free(p, i);
	if (p->lfd >= 0)
		close(p->lfd);
	free(p->cap);
	memset(p, 0, sizeof(*p));
	p->lfd = -1;
}

void proxy_cut(struct proxy *p)
{
	for (int i = 0; i < PROXY_LINKS; i++)
		if (p->links[i])
			link_free(p, i);
}

int proxy_live(const struct proxy *p)
{
	int n = 0;

	for (int i = 0; i < PROXY_LINKS; i++)
		n += !!p->links[i];
	return n;
}

int proxy_captured(const struct proxy *p, const char *s)
{
	return p->cap_len && memmem(p->cap, p->cap_len, s, strlen(s)) != NULL;
}

static void proxy_accept(struct proxy *p)
{
	struct sockaddr_in up = { .sin_family = AF_INET, .sin_port = htons(p->up_port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct plink *l;
	int fd, sfd, slot, one = 1;

	while ((fd = accept4(p->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		for (slot = 0; slot < PROXY_LINKS && p->links[slot]; slot++)
			;
		p->accepted++;
		/* Blocking: on loopback the kernel completes it against the backlog at once. */
		sfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (slot == PROXY_LINKS || sfd < 0 ||
		    connect(sfd, (struct sockaddr *)&up, sizeof(up)) < 0) {
			/* No serve there (killed): the importer sees its connection refused. */
			if (sfd >= 0)
				close(sfd);
			close(fd);
			p->closed++;
			continue;
		}
		fcntl(sfd, F_SETFL, O_NONBLOCK);
		setsockopt(sfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		l = calloc(1, sizeof(*l));
		if (!l)
			abort();
		l->fd[0] = fd;
		l->fd[1] = sfd;
		l->id = p->accepted;
		for (int d = 0; d < 2; d++) {
			l->in[d] = malloc(PROXY_BUF);
			l->out[d] = malloc(PROXY_BUF);
			if (!l->in[d] || !l->out[d])
				abort();
		}
		p->links[slot] = l;
	}
}

static struct plink *newest(struct proxy *p)
{
	struct plink *n = NULL;

	for (int i = 0; i < PROXY_LINKS; i++)
		if (p->links[i] && (!n || p->links[i]->id > n->id))
			n = p->links[i];
	return n;
}

static uint32_t be16(const uint8_t *b) { return (uint32_t)b[0] << 8 | b[1]; }
static uint32_t be32(const uint8_t *b) { return be16(b) << 16 | be16(b + 2); }

/* The unit at the head of in[d]: its size, 0 while incomplete. */
static size_t unit(const struct proxy *p, const struct plink *l, int d)
{
	size_t n = l->in_len[d], u;

	if (p->tls) {
		if (n < 5)
			return 0;
		u = 5 + be16(l->in[d] + 3);
	} else if (d == P_I2S && (l->halfdead || l->keep_server)) {
		if (n < 4)
			return 0;
		u = 4 + (size_t)be32(l->in[d]);
	} else {
		return n;
	}
	if (u > PROXY_BUF / 2)
		return n;	/* not a record or a frame: garbage, relayed as it is */
	return n >= u ? u : 0;
}

static void out_put(struct plink *l, int d, const uint8_t *b, size_t n)
{
	memcpy(l->out[d] + l->out_len[d], b, n);
	l->out_len[d] += n;
}

/* The actions pending for direction d, on the newest link, at a boundary. */
static void actions(struct proxy *p, struct plink *l, int d)
{
	if (!p->tls || l != newest(p))
		return;
	if (p->inject_len[d] && l->out_len[d] + p->inject_len[d] <= PROXY_BUF) {
		out_put(l, d, p->inject[d], p->inject_len[d]);
		p->inject_len[d] = 0;
	}
	if (p->replay[d] && l->last_len[d] && l->out_len[d] + l->last_len[d] <= PROXY_BUF) {
		out_put(l, d, l->last[d], l->last_len[d]);
		p->replay[d] = 0;
	}
}

/* Move what may go from in[d] to out[d]. */
static void relay(struct proxy *p, struct plink *l, int d)
{
	size_t u;

	while (!p->hold[d] && (u = unit(p, l, d)) > 0) {
		uint8_t *b = l->in[d];
		size_t keep = u;

		if (l->out_len[d] + u + sizeof(p->inject[d]) > PROXY_BUF)
			break;
		if (d == P_S2I && l->halfdead) {
			keep = 0;
		} else if (d == P_S2I && p->halfdead_after && l->id == 1 &&
			   l->relayed[d] + u >= p->halfdead_after) {
			/* Part-way: what is below the mark goes, then nothing. */
			keep = (size_t)(p->halfdead_after - l->relayed[d]);
			l->halfdead = 1;
		}
		if (d == P_I2S && (l->halfdead || l->keep_server) && !p->tls && u > 4 &&
		    b[4] == CB_ERROR)
			keep = 0;	/* the importer's farewell, lost */
		if (l->keep_server && d == P_I2S)
			keep = 0;
		if (keep) {
			out_put(l, d, b, keep);
			if (p->flip[d] && p->tls && keep > 5 && l == newest(p)) {
				l->out[d][l->out_len[d] - keep + 5 + (keep - 5) / 2] ^= 0x20;
				p->flip[d] = 0;
			}
			if (keep <= PROXY_REC_MAX) {
				memcpy(l->last[d], b, keep);
				l->last_len[d] = keep;
			}
			l->relayed[d] += keep;
		}
		memmove(b, b + u, l->in_len[d] - u);
		l->in_len[d] -= u;
	}
	actions(p, l, d);
}

/* One side of the link read to its end or failed. */
static void side_gone(struct proxy *p, int i, int side)
{
	struct plink *l = p->links[i];

	if (side == 0 && l->halfdead) {
		/* The importer gave up; the server is not told (a lost FIN). */
		link_close_side(l, 0);
		l->keep_server = 1;
		return;
	}
	if (side == 1 && l->fd[0] >= 0 && l->out_len[P_S2I] &&
	    write(l->fd[0], l->out[P_S2I], l->out_len[P_S2I]) < 0)
		l->out_len[P_S2I] = 0;	/* best effort: the server's last words */
	link_free(p, i);
}

static int link_io(struct proxy *p, int i)
{
	struct plink *l = p->links[i];

	for (int d = 0; d < 2; d++) {
		int from = d == P_I2S ? 0 : 1, to = !from;
		ssize_t n;

		if (l->fd[from] >= 0 && l->in_len[d] < PROXY_BUF) {
			n = read(l->fd[from], l->in[d] + l->in_len[d], PROXY_BUF - l->in_len[d]);
			if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
				side_gone(p, i, from);
				return p->links[i] != NULL;
			}
			if (n > 0) {
				capture(p, l->in[d] + l->in_len[d], (size_t)n);
				l->in_len[d] += (size_t)n;
			}
		}
		relay(p, l, d);
		if (l->fd[to] < 0) {
			l->out_len[d] = 0;	/* nobody to tell */
			continue;
		}
		if (l->out_len[d]) {
			n = write(l->fd[to], l->out[d], l->out_len[d]);
			if (n < 0 && errno != EAGAIN && errno != EINTR) {
				side_gone(p, i, to);
				return p->links[i] != NULL;
			}
			if (n > 0) {
				memmove(l->out[d], l->out[d] + n, l->out_len[d] - (size_t)n);
				l->out_len[d] -= (size_t)n;
			}
		}
	}
	return 1;
}

void proxy_step(struct proxy *p)
{
	proxy_accept(p);
	for (int i = 0; i < PROXY_LINKS; i++)
		if (p->links[i])
			link_io(p, i);
}

int proxy_pollfds(const struct proxy *p, struct pollfd *fds, int max)
{
	int n = 0;

	if (n < max)
		fds[n++] = (struct pollfd){ .fd = p->lfd, .events = POLLIN };
	for (int i = 0; i < PROXY_LINKS; i++) {
		const struct plink *l = p->links[i];

		if (!l)
			continue;
		for (int side = 0; side < 2 && n < max; side++)
			if (l->fd[side] >= 0)
				fds[n++] = (struct pollfd){
					.fd = l->fd[side],
					.events = POLLIN | (l->out_len[side ? P_I2S : P_S2I] ?
							    POLLOUT : 0) };
	}
	return n;
}
