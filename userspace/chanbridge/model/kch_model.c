// SPDX-License-Identifier: GPL-2.0
/*
 * The model of kchan's held receive, at-most-once sends and plain I/O that
 * chanbridge's tests link instead of the kernel (kch_model.h says what and
 * how).  Each piece names the kernel function whose rule it mirrors; the
 * model is one thread with no copies in flight, so ch->copying and
 * ch->holding of the kernel are always 0 here and a hand-off to a sleeping
 * reader completes its copy at once.  tests/model_diff.c holds this file
 * to the real module.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kch_model.h"

/* kmod/main.c's defaults of max_capacity and max_msg_size */
#define KCHM_MAX_CAPACITY	65536U
#define KCHM_MAX_MSG_SIZE	(1U << 20)

struct kchm_msg {
	struct kchm_msg *next;		/* in ch->queue or ch->held */
	size_t len;
	uint64_t seq;			/* struct kchan_msg.seq */
	uint64_t hold_id;		/* while held: msg->hold.id ... */
	struct kchm_file *holder;	/* ... and msg->hold.file */
	uint32_t returns;		/* struct kchan_msg.returns */
	char data[];
};

struct kchm_stream {			/* struct kchan_stream */
	uint64_t stream;		/* 0: free */
	uint64_t last_seq;
};

struct kchm_waiter {			/* struct kchan_waiter */
	struct kchm_waiter *next;	/* in ch->recvq or ch->sendq */
	struct kchm_file *file;		/* NULL once its file is gone */
	struct kchm_msg *msg;		/* a writer's message */
	void *buf;			/* a reader's buffer ... */
	size_t room;			/* ... and its size */
	int waiting;			/* KCHAN_WAITING: not completed yet */
	ssize_t result;
};

struct kchm_chan {
	struct kchm_chan *next;		/* in kchm_chans */
	char name[KCHAN_NAME_MAX];
	uint64_t id;
	unsigned int capacity;
	size_t msg_max;
	unsigned int nstreams;
	struct kchm_stream *streams;
	struct kchm_msg *queue;		/* in seq order */
	unsigned int length;
	struct kchm_msg *held;		/* in hold id order */
	unsigned int nheld;		/* ch->held */
	uint64_t hold_id;
	struct kchm_waiter *recvq, *sendq;
	int closed;
	unsigned int readers, writers;
	uint64_t sent, received;
	struct kchm_file *files;
};

struct kchm_file {
	struct kchm_file *next;		/* in ch->files */
	struct kchm_chan *ch;
	int write;			/* FMODE_WRITE, else FMODE_READ */
	int fd;				/* the caller's end of the pipe */
	int rd, wr;			/* the pipe's ends; the model's is closed at HUP/ERR */
	int full;			/* a byte sits in the pipe */
	int final;			/* HUP or ERR told: for good */
};

static struct kchm_chan *kchm_chans;
static struct kchm_file **kchm_files;
static int kchm_nfiles;
static uint64_t kchm_next_id;
static void (*kchm_ack_fn)(void *arg, const char *name, uint64_t seq, uint32_t returns);
static void *kchm_ack_arg;

void kchm_on_ack(void (*fn)(void *arg, const char *name, uint64_t seq, uint32_t returns),
		 void *arg)
{
	kchm_ack_fn = fn;
	kchm_ack_arg = arg;
}

/* ----- files and readiness ---------------------------------------------- */

static struct kchm_file *kchm_file(int fd)
{
	return fd >= 0 && fd < kchm_nfiles ? kchm_files[fd] : NULL;
}

int kchm_is_file(int fd)
{
	return !!kchm_file(fd);
}

static struct kchm_chan *kchm_lookup(const char *name)
{
	struct kchm_chan *ch;

	for (ch = kchm_chans; ch; ch = ch->next)
		if (!strncmp(ch->name, name, sizeof(ch->name)))
			return ch;
	return NULL;
}

static int kchm_has_room(const struct kchm_chan *ch)	/* kchan_has_room() */
{
	return ch->length + ch->nheld < ch->capacity;
}

static int kchm_at_eof(const struct kchm_chan *ch)	/* kchan_at_eof() */
{
	return ch->closed && !ch->length && !ch->nheld;
}

/* kchan_poll_mask() of a file with only read or only write access */
static unsigned int kchm_mask(const struct kchm_chan *ch, int write)
{
	if (!write) {
		if (ch->length || ch->sendq)		/* kchan_readable() */
			return POLLIN | POLLRDNORM;
		return kchm_at_eof(ch) ? POLLHUP : 0;
	}
	if (ch->closed)		/* kchan_write_fails(), on a write-only file */
		return POLLERR;
	if (kchm_has_room(ch) || ch->recvq)		/* kchan_writable() */
		return POLLOUT | POLLWRNORM;
	return 0;
}

unsigned int kchm_poll(int fd)
{
	struct kchm_file *f = kchm_file(fd);

	return f ? kchm_mask(f->ch, f->write) : POLLNVAL;
}

static void kchm_pipe_fill(struct kchm_file *f, int full)
{
	char c = 0;

	if (f->full == full)
		return;
	if (full ? write(f->wr, &c, 1) != 1 : read(f->rd, &c, 1) != 1) {
		perror("kch_model: pipe");
		abort();
	}
	f->full = full;
}

/*
 * Make the pipe say what kchan_poll() would.  A read file's pipe holds a
 * byte while POLLIN, and loses its write end at POLLHUP; a write file's
 * (one page: one byte fills it) is empty while POLLOUT, and loses its read
 * end, full, at POLLERR.  End of file and a close are for good.
 */
static void kchm_file_refresh(struct kchm_file *f)
{
	unsigned int mask = kchm_mask(f->ch, f->write);
	int *peer = f->write ? &f->rd : &f->wr;

	if (f->final)
		return;
	if (mask & (POLLHUP | POLLERR)) {
		kchm_pipe_fill(f, f->write);
		close(*peer);
		*peer = -1;
		f->final = 1;
		return;
	}
	kchm_pipe_fill(f, f->write ? !(mask & POLLOUT) : !!(mask & POLLIN));
}

/* ----- waiters, accepting, settling (queue.c) --------------------------- */

static void kchm_complete(struct kchm_waiter *w, ssize_t result)	/* kchan_complete() */
{
	w->waiting = 0;
	w->result = result;
}

static struct kchm_waiter *kchm_waiter_pop(struct kchm_waiter **q)
{
	struct kchm_waiter *w = *q;

	if (w)
		*q = w->next;
	return w;
}

static void kchm_waiter_append(struct kchm_waiter **q, struct kchm_waiter *w)
{
	while (*q)
		q = &(*q)->next;
	w->next = NULL;
	*q = w;
}

/* kchan_fail_waiters() */
static void kchm_fail_waiters(struct kchm_waiter **q, ssize_t result)
{
	struct kchm_waiter *w;

	while ((w = kchm_waiter_pop(q))) {
		free(w->msg);		/* a writer's message is not sent */
		w->msg = NULL;
		kchm_complete(w, result);
	}
}

/*
 * kchan_hand_off(): the first sleeping reader whose buffer holds @msg
 * takes a copy (its read is done at once); the caller frees @msg if so.
 */
static int kchm_hand_off(struct kchm_chan *ch, struct kchm_msg *msg)
{
	struct kchm_waiter *w;

	while ((w = kchm_waiter_pop(&ch->recvq))) {
		if (msg->len > w->room) {
			kchm_complete(w, -EMSGSIZE);
			continue;
		}
		memcpy(w->buf, msg->data, msg->len);
		ch->received++;
		kchm_complete(w, msg->len);
		return 1;
	}
	return 0;
}

static void kchm_queue_tail(struct kchm_chan *ch, struct kchm_msg *msg)	/* kchan_queue_tail() */
{
	struct kchm_msg **p = &ch->queue;

	while (*p)
		p = &(*p)->next;
	msg->next = NULL;
	*p = msg;
	ch->length++;
}

/* kchan_accept(): the channel takes @msg, which gets its place in the history. */
static void kchm_accept(struct kchm_chan *ch, struct kchm_msg *msg)
{
	msg->seq = ++ch->sent;
}

/* kchan_admit_writer(): a free slot goes to the oldest sleeping writer. */
static int kchm_admit_writer(struct kchm_chan *ch)
{
	struct kchm_waiter *w = kchm_waiter_pop(&ch->sendq);
	struct kchm_msg *msg;

	if (!w)
		return 0;
	msg = w->msg;
	w->msg = NULL;
	kchm_accept(ch, msg);
	kchm_complete(w, msg->len);
	if (kchm_hand_off(ch, msg))
		free(msg);
	else
		kchm_queue_tail(ch, msg);
	return 1;
}

/* kchan_settle_locked() and the wake-ups of kchan_unlock() */
static void kchm_settle(struct kchm_chan *ch)
{
	struct kchm_file *f;

	while (kchm_has_room(ch) && kchm_admit_writer(ch))
		;
	if (kchm_at_eof(ch))
		kchm_fail_waiters(&ch->recvq, 0);
	for (f = ch->files; f; f = f->next)
		kchm_file_refresh(f);
}

static struct kchm_msg *kchm_msg_new(const void *buf, size_t len)
{
	struct kchm_msg *msg = malloc(sizeof(*msg) + len);

	if (!msg)
		return NULL;
	memcpy(msg->data, buf, len);
	msg->len = len;
	msg->seq = 0;
	msg->holder = NULL;
	msg->returns = 0;
	return msg;
}

/*
 * kchan_try_send_locked(), for a plain message (@stream 0) or a SEND_ONCE:
 * 0 taken (the model's now), 1 a duplicate (not taken), or -errno
 * (-EAGAIN: it would wait).
 */
static int kchm_try_send(struct kchm_chan *ch, struct kchm_msg *msg,
			 uint64_t stream, uint64_t seq)
{
	struct kchm_stream *s = NULL;
	unsigned int i;

	if (ch->closed)
		return -EPIPE;
	if (stream) {				/* kchan_stream_check_locked() */
		for (i = 0; i < ch->nstreams && !s; i++)
			if (ch->streams[i].stream == stream)
				s = &ch->streams[i];
		if (s && seq <= s->last_seq)
			return 1;
		for (i = 0; i < ch->nstreams && !s; i++)
			if (!ch->streams[i].stream)
				s = &ch->streams[i];
		if (!s)
			return -ENOSPC;
	}
	if (kchm_hand_off(ch, msg)) {
		kchm_accept(ch, msg);
		free(msg);
	} else if (kchm_has_room(ch)) {
		kchm_accept(ch, msg);
		kchm_queue_tail(ch, msg);
	} else {
		return -EAGAIN;
	}
	if (s) {				/* kchan_stream_record_locked() */
		s->stream = stream;
		s->last_seq = seq;
	}
	return 0;
}

/*
 * kchan_try_recv_locked() for a buffer of @room bytes: 0 with *msgp set
 * (now the caller's), 0 with *msgp NULL at end of file, or -errno.
 */
static int kchm_try_recv(struct kchm_chan *ch, size_t room, struct kchm_msg **msgp)
{
	struct kchm_msg *msg = ch->queue;
	struct kchm_waiter *w = ch->sendq;

	*msgp = NULL;
	if (msg) {
		if (msg->len > room)
			return -EMSGSIZE;
		ch->queue = msg->next;
		ch->length--;
	} else if (w) {		/* straight from a sleeping writer */
		if (w->msg->len > room)
			return -EMSGSIZE;
		ch->sendq = w->next;
		msg = w->msg;
		w->msg = NULL;
		kchm_complete(w, msg->len);
		kchm_accept(ch, msg);
	} else {
		return kchm_at_eof(ch) ? 0 : -EAGAIN;
	}
	ch->received++;
	msg->next = NULL;
	*msgp = msg;
	return 0;
}

/*
 * kchan_requeue_from(): @msg, accepted before, goes to a sleeping reader
 * or back into the queue at its seq's place.
 */
static void kchm_requeue(struct kchm_chan *ch, struct kchm_msg *msg)
{
	struct kchm_msg **p = &ch->queue;

	msg->holder = NULL;
	if (kchm_hand_off(ch, msg)) {
		free(msg);
		return;
	}
	while (*p && (*p)->seq < msg->seq)
		p = &(*p)->next;
	msg->next = *p;
	*p = msg;
	ch->length++;
}

/* ----- the channel file (data.c, chan.c, registry.c) -------------------- */

/* kchan_name_valid() */
static int kchm_name_valid(const char *name)
{
	size_t len = strnlen(name, KCHAN_NAME_MAX), i;

	if (len == 0 || len == KCHAN_NAME_MAX || name[0] == '.')
		return 0;
	for (i = 0; i < len; i++)
		if (!strchr("._-", name[i]) && !(name[i] >= '0' && name[i] <= '9') &&
		    !(name[i] >= 'a' && name[i] <= 'z') && !(name[i] >= 'A' && name[i] <= 'Z'))
			return 0;
	return 1;
}

/* kchan_ioctl_create() and kchan_alloc(), for a plain channel */
int kchm_create_streams(const char *name, uint32_t capacity, uint32_t msg_max,
			uint32_t streams)
{
	struct kchm_chan *ch;

	if (!kchm_name_valid(name) || capacity > KCHM_MAX_CAPACITY ||
	    msg_max > KCHM_MAX_MSG_SIZE || streams > KCHAN_STREAMS_MAX)
		return -EINVAL;
	if (kchm_lookup(name))
		return 1;	/* kch_create()'s EEXIST */
	ch = calloc(1, sizeof(*ch));
	if (!ch)
		return -ENOMEM;
	ch->nstreams = streams ? streams : KCHAN_STREAMS_DEFAULT;
	ch->streams = calloc(ch->nstreams, sizeof(*ch->streams));
	if (!ch->streams) {
		free(ch);
		return -ENOMEM;
	}
	snprintf(ch->name, sizeof(ch->name), "%s", name);
	ch->capacity = capacity;
	ch->msg_max = msg_max ? msg_max : KCHAN_MSG_MAX_DEFAULT;
	/* A nonzero identity that differs per channel, as get_random_u64() would. */
	kchm_next_id += 0x9e3779b97f4a7c15ULL;
	ch->id = kchm_next_id ? kchm_next_id : 1;
	ch->next = kchm_chans;
	kchm_chans = ch;
	return 0;
}

int kchm_create(const char *name, uint32_t capacity, uint32_t msg_max)
{
	return kchm_create_streams(name, capacity, msg_max, 0);
}

static int kchm_files_grow(int fd)
{
	struct kchm_file **files;
	int n = kchm_nfiles ? kchm_nfiles : 64;

	while (n <= fd)
		n *= 2;
	files = realloc(kchm_files, n * sizeof(*files));
	if (!files)
		return -ENOMEM;
	memset(files + kchm_nfiles, 0, (n - kchm_nfiles) * sizeof(*files));
	kchm_files = files;
	kchm_nfiles = n;
	return 0;
}

/* The pipe that stands for the file's readiness (kch_model.h). */
static int kchm_file_pipe(struct kchm_file *f)
{
	int p[2];

	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0)
		return -errno;
	if (f->write && fcntl(p[1], F_SETPIPE_SZ, 4096) < 0) {
		close(p[0]);
		close(p[1]);
		return -EMFILE;
	}
	f->rd = p[0];
	f->wr = p[1];
	f->fd = f->write ? p[1] : p[0];
	return 0;
}

/* kchan_open(): a new file, O_RDONLY or O_WRONLY, non-blocking as kch_open()'s. */
int kchm_open(const char *name, int write)
{
	struct kchm_chan *ch = kchm_lookup(name);
	struct kchm_file *f;
	int ret;

	if (!ch)
		return -ENOENT;
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->ch = ch;
	f->write = !!write;
	ret = kchm_file_pipe(f);
	if (!ret && f->fd >= kchm_nfiles)
		ret = kchm_files_grow(f->fd);
	if (ret) {
		free(f);
		return ret;
	}
	if (kchm_files[f->fd]) {
		fprintf(stderr, "kch_model: fd %d was closed behind the model's back\n", f->fd);
		abort();
	}
	kchm_files[f->fd] = f;
	if (f->write)
		ch->writers++;
	else
		ch->readers++;
	f->next = ch->files;
	ch->files = f;
	kchm_settle(ch);
	return f->fd;
}

/* The file of @fd if it has the access wanted (the VFS's and kchan_ioctl()'s EBADF). */
static struct kchm_file *kchm_access(int fd, int write)
{
	struct kchm_file *f = kchm_file(fd);

	return f && f->write == write ? f : NULL;
}

/* kchan_release(): what the file holds goes back (kchan_hold_release_locked()). */
int kchm_release(int fd)
{
	struct kchm_file *f = kchm_file(fd), **p;
	struct kchm_chan *ch;
	struct kchm_waiter *w;

	if (!f)
		return -EBADF;
	ch = f->ch;
	if (f->write) {
		ch->writers--;
	} else {
		kchm_return(fd, 0);
		ch->readers--;
	}
	/* A sleeping task keeps its file open: a waiter without one is a signalled one. */
	for (w = ch->recvq; w; w = w->next)
		if (w->file == f)
			w->file = NULL;
	for (w = ch->sendq; w; w = w->next)
		if (w->file == f)
			w->file = NULL;
	for (p = &ch->files; *p != f; p = &(*p)->next)
		;
	*p = f->next;
	kchm_files[fd] = NULL;
	if (f->rd >= 0)
		close(f->rd);
	if (f->wr >= 0)
		close(f->wr);
	free(f);
	kchm_settle(ch);
	return 0;
}

/* kchan_write_iter(), O_NONBLOCK */
ssize_t kchm_write(int fd, const void *buf, size_t len)
{
	return kchm_write_begin(fd, buf, len, NULL);
}

/* kchan_read_iter(), O_NONBLOCK */
ssize_t kchm_read(int fd, void *buf, size_t len)
{
	return kchm_read_begin(fd, buf, len, NULL);
}

/* kchan_write_iter() and kchan_send(): @w NULL for O_NONBLOCK */
ssize_t kchm_write_begin(int fd, const void *buf, size_t len, struct kchm_waiter **w)
{
	struct kchm_file *f = kchm_access(fd, 1);
	struct kchm_msg *msg;
	int ret;

	if (!f)
		return -EBADF;
	if (!len)
		return 0;
	if (len > f->ch->msg_max)
		return -EMSGSIZE;
	msg = kchm_msg_new(buf, len);
	if (!msg)
		return -ENOMEM;
	ret = kchm_try_send(f->ch, msg, 0, 0);
	if (!ret)
		msg = NULL;
	if (ret == -EAGAIN && w) {	/* kchan_wait() on ch->sendq */
		*w = calloc(1, sizeof(**w));
		if (!*w) {
			ret = -ENOMEM;
		} else {
			(*w)->file = f;
			(*w)->msg = msg;
			(*w)->waiting = 1;
			kchm_waiter_append(&f->ch->sendq, *w);
			msg = NULL;
			ret = -EINPROGRESS;
		}
	}
	if (ret)
		free(msg);
	kchm_settle(f->ch);
	return ret ? ret : (ssize_t)len;
}

/* kchan_read_iter() and kchan_recv(): @w NULL for O_NONBLOCK */
ssize_t kchm_read_begin(int fd, void *buf, size_t len, struct kchm_waiter **w)
{
	struct kchm_file *f = kchm_access(fd, 0);
	struct kchm_msg *msg;
	ssize_t ret;

	if (!f)
		return -EBADF;
	ret = kchm_try_recv(f->ch, len, &msg);
	if (ret == -EAGAIN && w) {	/* kchan_wait() on ch->recvq */
		*w = calloc(1, sizeof(**w));
		if (!*w) {
			ret = -ENOMEM;
		} else {
			(*w)->file = f;
			(*w)->buf = buf;
			(*w)->room = len;
			(*w)->waiting = 1;
			kchm_waiter_append(&f->ch->recvq, *w);
			ret = -EINPROGRESS;
		}
	}
	if (msg) {
		memcpy(buf, msg->data, msg->len);
		ret = msg->len;
		free(msg);
	}
	kchm_settle(f->ch);
	return ret;
}

int kchm_waiter_done(struct kchm_waiter *w, ssize_t *result)
{
	if (w->waiting)
		return 0;
	*result = w->result;
	free(w);
	return 1;
}

/* The signal of kchan_wait(): -EINTR, unless a counterpart came first. */
ssize_t kchm_waiter_cancel(struct kchm_waiter *w)
{
	struct kchm_chan *ch;
	struct kchm_waiter **p;
	ssize_t ret;

	if (w->waiting) {
		for (ch = kchm_chans; ch; ch = ch->next) {
			for (p = &ch->recvq; *p && *p != w; p = &(*p)->next)
				;
			if (!*p)
				for (p = &ch->sendq; *p && *p != w; p = &(*p)->next)
					;
			if (*p) {
				*p = w->next;
				kchm_settle(ch);
				break;
			}
		}
		free(w->msg);
		kchm_complete(w, -EINTR);
	}
	kchm_waiter_done(w, &ret);
	return ret;
}

/* kchan_fill_info() */
static void kchm_fill_info(const struct kchm_chan *ch, struct kchan_info *info)
{
	memset(info, 0, sizeof(*info));
	info->size = sizeof(*info);
	info->state = ch->closed ? KCHAN_STATE_CLOSED : 0;
	info->capacity = ch->capacity;
	info->length = ch->length;
	info->msg_max = ch->msg_max;
	info->readers = ch->readers;
	info->writers = ch->writers;
	info->sent = ch->sent;
	info->received = ch->received;
	info->held = ch->nheld;
	info->id = ch->id;
}

int kchm_info(int fd, struct kchan_info *info)
{
	struct kchm_file *f = kchm_file(fd);

	if (!f)
		return -EBADF;
	kchm_fill_info(f->ch, info);
	return 0;
}

int kchm_info_name(const char *name, struct kchan_info *info)
{
	struct kchm_chan *ch = kchm_lookup(name);

	if (!ch)
		return -ENOENT;
	kchm_fill_info(ch, info);
	return 0;
}

unsigned int kchm_queued_seqs(const char *name, uint64_t *seqs, unsigned int max)
{
	struct kchm_chan *ch = kchm_lookup(name);
	struct kchm_msg *msg;
	unsigned int n = 0;

	for (msg = ch ? ch->queue : NULL; msg; msg = msg->next, n++)
		if (n < max)
			seqs[n] = msg->seq;
	return n;
}

/* kchan_close() and kchan_close_locked(), through KCHAN_IOC_CLOSE */
int kchm_close(int fd)
{
	struct kchm_file *f = kchm_access(fd, 1);

	if (!f)
		return -EBADF;
	if (f->ch->closed)
		return -EPIPE;
	f->ch->closed = 1;
	kchm_fail_waiters(&f->ch->sendq, -EPIPE);
	kchm_settle(f->ch);
	return 0;
}

/* ----- held receive (hold.c) -------------------------------------------- */

/* kchan_ioctl_hold() */
int kchm_hold(int fd, void *buf, size_t len, uint64_t *id, uint64_t *seq,
	      uint32_t *deliveries)
{
	struct kchm_file *f = kchm_access(fd, 0);
	struct kchm_chan *ch;
	struct kchm_msg *msg, **p;
	int ret;

	if (!f)
		return -EBADF;
	ch = f->ch;
	if (kchm_at_eof(ch)) {
		*id = *seq = 0;
		*deliveries = 0;
		return 0;
	}
	if (ch->nheld >= (ch->capacity ? ch->capacity : KCHAN_HOLD_UNBUFFERED))
		return -ENOBUFS;
	ret = kchm_try_recv(ch, len, &msg);
	if (!ret && !msg)
		ret = -EAGAIN;	/* cannot be: end of file was ruled out above */
	if (ret) {
		kchm_settle(ch);	/* a refused sleeping writer may have gone */
		return ret;
	}
	memcpy(buf, msg->data, msg->len);
	msg->hold_id = ++ch->hold_id;
	msg->holder = f;
	for (p = &ch->held; *p; p = &(*p)->next)
		;
	*p = msg;
	ch->nheld++;
	*id = msg->hold_id;
	*seq = msg->seq;
	*deliveries = msg->returns < UINT32_MAX ? msg->returns + 1 : UINT32_MAX;
	kchm_settle(ch);
	return msg->len;
}

/* Take @f's holds with an id <= @id (ack) or >= @id (return) off ch->held, in hold order. */
static struct kchm_msg *kchm_unhold(struct kchm_file *f, uint64_t id, int ack,
				    unsigned int *n)
{
	struct kchm_msg **p = &f->ch->held, *out = NULL, **tail = &out, *msg;

	*n = 0;
	while ((msg = *p)) {
		if (msg->holder == f && (ack ? msg->hold_id <= id : msg->hold_id >= id)) {
			*p = msg->next;
			msg->next = NULL;
			*tail = msg;
			tail = &msg->next;
			++*n;
		} else {
			p = &msg->next;
		}
	}
	f->ch->nheld -= *n;
	return out;
}

/* kchan_ack_locked(): every hold of the file with an id <= @id is gone. */
int kchm_ack(int fd, uint64_t id)
{
	struct kchm_file *f = kchm_access(fd, 0);
	struct kchm_msg *msg, *next;
	unsigned int n;

	if (!f)
		return -EBADF;
	for (msg = kchm_unhold(f, id, 1, &n); msg; msg = next) {
		next = msg->next;
		if (kchm_ack_fn)
			kchm_ack_fn(kchm_ack_arg, f->ch->name, msg->seq, msg->returns);
		free(msg);
	}
	kchm_settle(f->ch);
	return n;
}

/*
 * kchan_return_locked(): the file's holds with an id >= @from_id go back,
 * oldest seq first (each requeue only searches the queue, kept in seq
 * order, for its place: the order they are put back in does not matter),
 * each one return more (kchan_msg_returned()) unless KCHAN_RETURN_UNSENT.
 */
int kchm_return_flags(int fd, uint64_t from_id, uint32_t flags)
{
	struct kchm_file *f = kchm_access(fd, 0);
	struct kchm_msg *msg, *next;
	unsigned int n;

	if (!f)
		return -EBADF;
	if (flags & ~KCHAN_RETURN_UNSENT)
		return -EINVAL;
	msg = kchm_unhold(f, from_id, 0, &n);
	for (next = msg; next; next = next->next)
		if (!(flags & KCHAN_RETURN_UNSENT) && next->returns < UINT32_MAX)
			next->returns++;
	f->ch->received -= n;	/* counted again when read */
	/* Sorted by seq first: a sleeping reader must get the oldest. */
	while (msg) {
		struct kchm_msg **min = &msg, **p;

		for (p = &msg; *p; p = &(*p)->next)
			if ((*p)->seq < (*min)->seq)
				min = p;
		next = *min;
		*min = next->next;
		kchm_requeue(f->ch, next);
	}
	kchm_settle(f->ch);
	return n;
}

int kchm_return(int fd, uint64_t from_id)
{
	return kchm_return_flags(fd, from_id, 0);
}

int kchm_return_all(int fd)
{
	return kchm_return(fd, 0);
}

int kchm_return_unsent(int fd, uint64_t from_id)
{
	return kchm_return_flags(fd, from_id, KCHAN_RETURN_UNSENT);
}

/* ----- at-most-once sends (streams.c) ------------------------------------ */

/* kchan_ioctl_send_once(): 0, 1 for a duplicate, or -errno */
int kchm_send_once(int fd, const void *buf, size_t len, uint64_t stream, uint64_t seq)
{
	struct kchm_file *f = kchm_access(fd, 1);
	struct kchm_msg *msg;
	int ret;

	if (!f)
		return -EBADF;
	if (!stream || !seq || !len)
		return -EINVAL;
	if (len > f->ch->msg_max)
		return -EMSGSIZE;
	msg = kchm_msg_new(buf, len);
	if (!msg)
		return -ENOMEM;
	ret = kchm_try_send(f->ch, msg, stream, seq);
	if (ret)
		free(msg);	/* refused, or a duplicate */
	kchm_settle(f->ch);
	return ret;
}

/* kchan_ioctl_stream_seq() */
static int kchm_stream_lookup(int fd, uint64_t stream, uint64_t *seq, int forget)
{
	struct kchm_file *f = kchm_file(fd);
	unsigned int i;

	if (!f)
		return -EBADF;
	if (!stream)
		return -EINVAL;
	if (forget && !f->write)
		return -EBADF;
	*seq = 0;
	for (i = 0; i < f->ch->nstreams; i++) {
		struct kchm_stream *s = &f->ch->streams[i];

		if (s->stream == stream) {
			*seq = s->last_seq;
			if (forget)
				*s = (struct kchm_stream){ 0 };
			break;
		}
	}
	return 0;
}

int kchm_stream_seq(int fd, uint64_t stream, uint64_t *seq)
{
	return kchm_stream_lookup(fd, stream, seq, 0);
}

int kchm_stream_forget(int fd, uint64_t stream, uint64_t *seq)
{
	return kchm_stream_lookup(fd, stream, seq, 1);
}

/* ----- the whole model ---------------------------------------------------- */

void kchm_reset(void)
{
	struct kchm_chan *ch;
	struct kchm_msg *msg;
	int fd;

	for (fd = 0; fd < kchm_nfiles; fd++)
		if (kchm_files[fd])
			kchm_release(fd);
	while ((ch = kchm_chans)) {
		kchm_chans = ch->next;
		while ((msg = ch->queue)) {
			ch->queue = msg->next;
			free(msg);
		}
		kchm_fail_waiters(&ch->recvq, -ENODEV);
		kchm_fail_waiters(&ch->sendq, -ENODEV);
		free(ch->streams);
		free(ch);
	}
	free(kchm_files);
	kchm_files = NULL;
	kchm_nfiles = 0;
}
