// SPDX-License-Identifier: GPL-2.0
/*
 * The kernel model's own unit checks (tests/host-bridge-model.sh), through
 * kch.h as chanbridge calls it, plus the model-only helpers: the hold
 * rules of kmod/hold.c, the stream table of kmod/streams.c, close and end
 * of file, unbuffered rendezvous with sleeping waiters, and the pipe fds'
 * readiness under poll() and epoll.  Linked with -Wl,--wrap=close: a
 * close() of a model file is its release.  Prints TAP.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "kch.h"
#include "model/kch_model.h"

/* What the last holds said of deliveries (kch_hold()). */
static uint32_t dv[4];

static int ntests, nfailed;

static void check(int cond, const char *what)
{
	ntests++;
	if (!cond)
		nfailed++;
	printf("%sok %d - %s\n", cond ? "" : "not ", ntests, what);
}

static unsigned int poll_fd(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN | POLLOUT };

	return poll(&p, 1, 0) < 0 ? ~0U : (unsigned int)p.revents;
}

static int put(int fd, const char *s)
{
	return (int)kchm_write(fd, s, strlen(s));
}

static unsigned int held(const char *name)
{
	struct kchan_info info;

	return kchm_info_name(name, &info) ? ~0U : info.held;
}

static unsigned int length(const char *name)
{
	struct kchan_info info;

	return kchm_info_name(name, &info) ? ~0U : info.length;
}

static uint64_t acked_sum;

static void on_ack(void *arg, const char *name, uint64_t seq, uint32_t returns)
{
	(void)arg;
	(void)returns;
	if (!strcmp(name, "h"))
		acked_sum += seq;
}

static void test_hold(void)
{
	uint64_t id[4], seq[4], s;
	char buf[16];
	int w, r, r2, i, ok = 1;

	check(kch_create("h", 3, 8) == 0 && kch_create("h", 3, 8) == 1,
	      "create, then create again finds it");
	check(kch_open("nope", 0) == -ENOENT, "open of no channel: ENOENT");
	w = kch_open("h", 1);
	r = kch_open("h", 0);
	r2 = kch_open("h", 0);
	kchm_on_ack(on_ack, NULL);
	check(kch_hold(r, buf, sizeof(buf), &id[0], &seq[0], &dv[0]) == -EAGAIN, "hold of nothing: EAGAIN");
	for (i = 0; i < 3; i++)
		ok &= put(w, i == 0 ? "a" : i == 1 ? "bb" : "ccc") == i + 1;
	check(ok && put(w, "d") == -EAGAIN, "three writes fill capacity 3, the fourth EAGAIN");
	check(kch_hold(w, buf, sizeof(buf), &id[0], &seq[0], &dv[0]) == -EBADF, "hold on a write file: EBADF");
	check(kch_hold(r, buf, 0, &id[0], &seq[0], &dv[0]) == -EMSGSIZE && held("h") == 0,
	      "hold into too small a buffer: EMSGSIZE, nothing held");
	for (i = 0; i < 3; i++)
		ok &= kch_hold(i == 1 ? r2 : r, buf, sizeof(buf), &id[i], &seq[i], &dv[i]) == i + 1 && dv[i] == 1 &&
		      seq[i] == (uint64_t)i + 1;
	check(ok && id[1] == id[0] + 1 && id[2] == id[1] + 1,
	      "holds take messages in order, seqs 1..3, ids per channel");
	check(held("h") == 3 && length("h") == 0 && put(w, "d") == -EAGAIN,
	      "held messages keep their slots");
	check(kch_hold(r, buf, sizeof(buf), &id[3], &s, &dv[3]) == -ENOBUFS, "capacity held: ENOBUFS");
	check(kch_ack(r, id[2]) == 2 && held("h") == 1,
	      "ACK by id releases the file's earlier holds too, not another file's");
	check(acked_sum == 1 + 3, "the ack hook saw seqs 1 and 3");
	kchm_on_ack(NULL, NULL);
	check(kch_ack(r2, id[0]) == 0 && held("h") == 1, "ACK of an id below the file's holds: 0");
	check(put(w, "e") == 1 && put(w, "f") == 1, "acked slots take writes");
	check(kch_hold(r, buf, sizeof(buf), &id[0], &seq[0], &dv[0]) == 1 && seq[0] == 4,
	      "the next hold gets seq 4");
	check(close(r2) == 0 && held("h") == 1 && length("h") == 2,
	      "closing the holding file returns its hold");
	check(kch_hold(r, buf, sizeof(buf), &id[1], &seq[1], &dv[1]) == 2 && seq[1] == 2 &&
	      !memcmp(buf, "bb", 2), "... at the head, by seq: seq 2 comes before 5");
	check(dv[0] == 1 && dv[1] == 2, "deliveries: 1 for a new message, 2 once its holder went");
	check(kch_return_all(r) == 2 && length("h") == 3, "RETURN puts both back");
	check(kch_hold(r, buf, sizeof(buf), &id[0], &seq[0], &dv[0]) == 2 && seq[0] == 2 &&
	      kch_hold(r, buf, sizeof(buf), &id[1], &seq[1], &dv[1]) == 1 && seq[1] == 4 &&
	      kch_hold(r, buf, sizeof(buf), &id[2], &seq[2], &dv[2]) == 1 && seq[2] == 5,
	      "... in seq order, and they keep their seqs");
	check(dv[0] == 3 && dv[1] == 2 && dv[2] == 1,
	      "deliveries: one more for every way back (release, RETURN), 1 if never held");
	check(kchm_return(r, id[1]) == 2 && held("h") == 1,
	      "RETURN from an id returns that hold and the later ones");
	check(kchm_read(r, buf, 1) == 1 && buf[0] == 'e', "read() takes the head (seq 4), whatever is held");
	check(close(w) == 0 && close(r) == 0 && held("h") == 0, "release of all");
}

static void test_streams(void)
{
	uint64_t s;
	int w, r, i, ok = 1;

	kchm_create_streams("s", 8, 16, 2);
	w = kch_open("s", 1);
	r = kch_open("s", 0);
	check(kch_send_once(r, "x", 1, 1, 1) == -EBADF, "SEND_ONCE on a read file: EBADF");
	check(kch_send_once(w, "x", 1, 0, 1) == -EINVAL && kch_send_once(w, "x", 1, 1, 0) == -EINVAL &&
	      kch_send_once(w, "x", 0, 1, 1) == -EINVAL, "stream 0, seq 0, length 0: EINVAL");
	check(kch_send_once(w, "x", 17, 1, 1) == -EMSGSIZE, "over msg_max: EMSGSIZE");
	check(kch_send_once(w, "a", 1, 7, 5) == 0 && kch_send_once(w, "a", 1, 7, 5) == 1 &&
	      kch_send_once(w, "a", 1, 7, 4) == 1 && kch_send_once(w, "a", 1, 7, 6) == 0,
	      "a seq not above the stream's last is a duplicate");
	check(kch_send_once(w, "b", 1, 8, 1) == 0 && kch_send_once(w, "c", 1, 9, 1) == -ENOSPC,
	      "a third stream with two entries: ENOSPC");
	check(kch_stream_seq(r, 7, &s) == 0 && s == 6 && kch_stream_seq(r, 9, &s) == 0 && s == 0,
	      "STREAM_SEQ: the last seq, 0 for an unknown stream");
	check(kchm_stream_forget(r, 7, &s) == -EBADF, "FORGET on a read file: EBADF");
	check(kchm_stream_forget(w, 7, &s) == 0 && s == 6 && kch_send_once(w, "c", 1, 9, 1) == 0 &&
	      kch_send_once(w, "a", 1, 7, 1) == -ENOSPC, "FORGET frees the entry for another stream");
	for (i = 0; i < 4; i++)
		ok &= kchm_read(r, &s, sizeof(s)) == 1;
	check(ok && length("s") == 0, "four messages were sent");
	check(kch_close(w) == 0 && kch_send_once(w, "a", 1, 8, 1) == -EPIPE,
	      "after close: EPIPE, even for a duplicate");
	close(w);
	close(r);
}

static void test_close(void)
{
	uint64_t id, seq;
	char buf[8];
	int w, r;

	kch_create("c", 2, 8);
	w = kch_open("c", 1);
	r = kch_open("c", 0);
	put(w, "1");
	put(w, "2");
	check(kch_hold(r, buf, sizeof(buf), &id, &seq, &dv[3]) == 1, "hold one of two");
	check(kch_close(r) == -EBADF && kch_close(w) == 0 && kch_close(w) == -EPIPE,
	      "close needs a write file, and a second close is EPIPE");
	check(put(w, "3") == -EPIPE && (poll_fd(w) & (POLLERR | POLLOUT)) == POLLERR,
	      "a closed channel: writers EPIPE, POLLERR, no POLLOUT");
	check(kchm_read(r, buf, sizeof(buf)) == 1 && buf[0] == '2', "what was queued drains");
	check(kchm_read(r, buf, sizeof(buf)) == -EAGAIN && !(poll_fd(r) & (POLLIN | POLLHUP)),
	      "no end of file while a message is held");
	check(kch_return_all(r) == 1 && (poll_fd(r) & POLLIN), "returned: readable again");
	check(kch_hold(r, buf, sizeof(buf), &id, &seq, &dv[3]) == 1 && seq == 1 && kch_ack(r, id) == 1,
	      "held and acked");
	check(kch_hold(r, buf, sizeof(buf), &id, &seq, &dv[3]) == 0 && id == 0 && seq == 0 && !dv[3] &&
	      kchm_read(r, buf, sizeof(buf)) == 0, "end of file: hold and read return 0");
	check(poll_fd(r) == POLLHUP, "end of file: POLLHUP only");
	close(w);
	close(r);
}

static void test_unbuffered(void)
{
	struct kchm_waiter *w1, *w2;
	uint64_t id, seq;
	ssize_t res;
	char buf[8], rbuf[8];
	int w, r;

	kch_create("u", 0, 8);
	w = kch_open("u", 1);
	r = kch_open("u", 0);
	check(put(w, "x") == -EAGAIN && kch_hold(r, buf, sizeof(buf), &id, &seq, &dv[3]) == -EAGAIN,
	      "unbuffered, nobody waiting: write and hold EAGAIN");
	check(poll_fd(w) == 0 && poll_fd(r) == 0, "... and neither file is ready");
	check(kchm_write_begin(w, "hi", 2, &w1) == -EINPROGRESS && poll_fd(r) == POLLIN,
	      "a sleeping writer makes the channel readable");
	check(kch_hold(r, buf, 1, &id, &seq, &dv[3]) == -EMSGSIZE && !kchm_waiter_done(w1, &res),
	      "a hold with too small a buffer: EMSGSIZE, the writer still sleeps");
	check(kch_hold(r, buf, sizeof(buf), &id, &seq, &dv[3]) == 2 && seq == 1 &&
	      kchm_waiter_done(w1, &res) && res == 2, "a hold is a receive: the write returns");
	check(kchm_write_begin(w, "yo", 2, &w1) == -EINPROGRESS &&
	      kch_hold(r, buf, sizeof(buf), &id, &seq, &dv[3]) == -ENOBUFS,
	      "one hold is an unbuffered channel's limit: ENOBUFS");
	check(kchm_read_begin(r, rbuf, sizeof(rbuf), &w2) == 2 && !memcmp(rbuf, "yo", 2) &&
	      kchm_waiter_done(w1, &res) && res == 2, "read() takes from the sleeping writer");
	check(kchm_read_begin(r, rbuf, sizeof(rbuf), &w2) == -EINPROGRESS && poll_fd(w) == POLLOUT,
	      "a sleeping reader makes the channel writable");
	check(kch_return_all(r) == 1 && kchm_waiter_done(w2, &res) && res == 2 &&
	      !memcmp(rbuf, "hi", 2), "a returned message goes to the sleeping reader");
	check(kchm_write_begin(w, "zz", 2, &w1) == -EINPROGRESS &&
	      kchm_waiter_cancel(w1) == -EINTR && poll_fd(r) == 0, "a signalled writer is gone");
	check(kchm_write_begin(w, "zz", 2, &w1) == -EINPROGRESS && kch_close(w) == 0 &&
	      kchm_waiter_done(w1, &res) && res == -EPIPE, "close fails a sleeping writer: EPIPE");
	check(kchm_read_begin(r, rbuf, sizeof(rbuf), &w2) == 0, "then end of file");
	close(w);
	close(r);
}

static void test_epoll(void)
{
	struct epoll_event ev = { .events = EPOLLIN }, out;
	char buf[8];
	int w, r, ep;

	kch_create("e", 1, 8);
	w = kch_open("e", 1);
	r = kch_open("e", 0);
	ep = epoll_create1(0);
	epoll_ctl(ep, EPOLL_CTL_ADD, r, &ev);
	check(epoll_wait(ep, &out, 1, 0) == 0, "epoll: an empty channel is not readable");
	put(w, "m");
	check(epoll_wait(ep, &out, 1, 0) == 1 && out.events == EPOLLIN, "epoll: a message, EPOLLIN");
	kchm_read(r, buf, sizeof(buf));
	check(epoll_wait(ep, &out, 1, 0) == 0, "epoll: read, not readable again");
	kch_close(w);
	check(epoll_wait(ep, &out, 1, 0) == 1 && out.events == EPOLLHUP, "epoll: end of file, EPOLLHUP");
	check(kchm_is_file(r) && close(r) == 0 && !kchm_is_file(r), "close() releases a model file");
	close(ep);
	close(w);
	kchm_reset();
	check(kch_open("e", 0) == -ENOENT, "reset forgets every channel");
}

int main(void)
{
	printf("TAP version 13\n");
	test_hold();
	test_streams();
	test_close();
	test_unbuffered();
	test_epoll();
	printf("1..%d\n", ntests);
	return nfailed != 0;
}
