/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kchan internals: the objects, who owns them, and the lock order.
 *
 * Objects
 *   struct kchan_fs   one instance of the kchan filesystem (fs.c), a mount:
 *                     its limits and per-user charges (quota.c).  Its
 *                     super block and every channel charged to it hold a
 *                     kref, so anonymous channels may outlive the mount.
 *   struct kchan      one channel.  ch->users counts its users: the node's
 *                     inode, from create until the inode is evicted (after
 *                     destroy or unmount, once no file has it open), and
 *                     each open file (kchan_get(), kchan_put()).  The last
 *                     one frees it at once: the name went with the node's
 *                     dentry already (destroy frees a name at once, open
 *                     files of the old channel fail with ENODEV), the
 *                     charge and the minor go with the memory.
 *   struct kchan_msg  one message, owned by whoever holds it: the writer
 *                     until it is queued, the channel while it is queued,
 *                     held (hold.c) or parked in a blocked writer's waiter, the reader
 *                     once dequeued (until copied out, or put back), then
 *                     the channel again as a spare buffer (msg.c: ch->spare
 *                     or ch->big_spare), freed at destroy or by kchan_free().
 *   struct kchan_waiter
 *                     a blocked reader or writer, on its own stack, or one
 *                     case of a select (select.c); it is on ch->recvq or
 *                     ch->sendq while it waits.  Whoever removes it from
 *                     the queue (under ch->lock; for a select, after
 *                     claiming its selector) sets its result; the waiter
 *                     reads the result only under ch->lock, so it never
 *                     returns while a waker still touches it.
 *   the timer         of a timer channel (timer.c): its work item takes
 *                     ch->lock; destroy cancels both, synchronously,
 *                     before the channel can be freed.
 *
 * Locks, outermost first
 *   the root's i_rwsem           an instance's names: create, destroy and
 *                                close by name, as the VFS's unlink and
 *                                lookup.
 *   fs->lock (mutex)             an instance's count, limits and charges.
 *   kchan_selection.nest (mutex) one per select call, private to it: the
 *                                nest lock lockdep needs to accept the
 *                                select holding the locks of all its
 *                                channels at once.  What keeps two selects
 *                                from deadlocking is the order those are
 *                                taken in, ascending address (select.c).
 *   ch->lock (spinlock)          all mutable state of one channel: queue,
 *                                waiters, counters, closed/dead flags.
 *                                Never held across a user copy, an
 *                                allocation or a sleep.
 *   ch->poll_wq.lock, task pi_lock
 *                                taken by the wake-ups of kchan_unlock(),
 *                                after ch->lock is released (wake_up_process()
 *                                under it only past KCHAN_WAKE_TASKS).
 * Plain reads and writes take ch->lock only; no global lock.
 */
#ifndef KCHAN_INTERNAL_H
#define KCHAN_INTERNAL_H

#include <linux/atomic.h>
#include <linux/kref.h>
#include <linux/mutex.h>
#include <linux/hashtable.h>
#include <linux/hrtimer.h>
#include <linux/list.h>
#include <linux/poll.h>
#include <linux/refcount.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/uidgid.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <linux/kchan.h>

struct kchan_quota;

/* An instance's mount options (quota.c enforces them). */
struct kchan_fs_limits {
	unsigned int max;		/* channels in the instance: ENOSPC beyond */
	unsigned int max_user;		/* channels of one user: EDQUOT beyond */
	u64 max_user_bytes;		/* their worst-case bytes: EDQUOT beyond */
};

struct kchan_fs {
	struct mutex lock;		/* guards what follows */
	struct kchan_fs_limits limits;	/* written under lock, read by show_options */
	unsigned int count;		/* channels charged */
	DECLARE_HASHTABLE(quotas, 6);	/* struct kchan_quota, by uid */
	struct kref ref;		/* the super block's, and each charged channel's */
};

struct kchan_msg {
	struct list_head link;		/* in ch->queue, ch->held_msgs or ch->spare */
	size_t len;
	u64 seq;			/* place in the channel's history, set on accept */
	union {
		struct {		/* KCHAN_IOC_SEND_ONCE, until accepted */
			u64 stream;	/* 0 for any other message */
			u64 seq;
		} once;
		struct {		/* while held (hold.c) */
			struct file *file;
			u64 id;
		} hold;
	};
	u32 returns;			/* times a receive gave it back (kchan_msg_returned()) */
	char data[];
};

/*
 * Small messages are all allocated at KCHAN_MSG_SMALL_SIZE, so that any
 * freed one can carry any other (msg.c); len never changes after the
 * allocation, so it tells which kind a message is.  (returns costs each
 * 4 bytes: KCHAN_MSG_SMALL is 204 bytes of data on 64-bit, not 208.)
 */
#define KCHAN_MSG_SMALL_SIZE	256
#define KCHAN_MSG_SMALL		(KCHAN_MSG_SMALL_SIZE - offsetof(struct kchan_msg, data))

/* A message's fields as a new one of @len bytes has them (kchan_msg_alloc()). */
static inline void kchan_msg_init(struct kchan_msg *msg, size_t len)
{
	msg->len = len;
	msg->seq = 0;
	msg->once.stream = 0;
	msg->returns = 0;
}

/*
 * @msg, taken by a receive, goes back to its channel: one return more,
 * which the next hold reports (deliveries, hold.c).  Under ch->lock, or
 * while the message is the caller's alone (off every list).
 */
static inline void kchan_msg_returned(struct kchan_msg *msg)
{
	if (msg->returns < U32_MAX)
		msg->returns++;
}

/* kchan_send() and a writer's waiter: a SEND_ONCE found a duplicate, not sent. */
#define KCHAN_DUPLICATE	2

/* kchan_waiter.result while the waiter is still queued (or KCHAN_DUPLICATE once done) */
#define KCHAN_WAITING	1

/* struct kchan_selector.winner before any case completed, and after giving up */
#define KCHAN_SEL_OPEN		(-1)
#define KCHAN_SEL_GAVE_UP	(-2)

/* One select call: its waiters, one per case, share it. */
struct kchan_selector {
	atomic_t winner;		/* KCHAN_SEL_OPEN, a case index, or KCHAN_SEL_GAVE_UP */
};

struct kchan_waiter {
	struct list_head link;		/* in ch->recvq or ch->sendq; empty once taken off */
	struct task_struct *task;
	struct kchan_selector *sel;	/* NULL for a plain read or write */
	int index;			/* the case of sel this waiter is */
	struct kchan_msg *msg;		/* sender: its message; receiver: the one handed over */
	size_t room;			/* receiver: bytes its buffer holds */
	int result;			/* KCHAN_WAITING, 0, or -errno */
};

/*
 * Tasks one locked section may collect before it wakes the rest under the
 * lock: a match wakes one, only a close or a batch more.  Small, as a
 * select keeps one struct kchan_wake per channel.
 */
#define KCHAN_WAKE_TASKS	8

/*
 * What one locked section owes others once ch->lock is released, collected
 * between kchan_lock() and kchan_unlock() (queue.c), as ipc/mqueue.c does
 * with a wake_q (which modules cannot use: wake_q_add() is not exported).
 */
struct kchan_wake {
	__poll_t before;		/* kchan_ready() when the lock was taken */
	unsigned int length;		/* ch->length then */
	unsigned int taken;		/* slots taken then: kchan_slots_taken() */
	__poll_t poll;			/* events to tell pollers */
	unsigned int ntasks;
	struct task_struct *tasks[KCHAN_WAKE_TASKS];	/* each with a reference */
};

/* What KCHAN_IOC_SEND_ONCE remembers of one stream (streams.c). */
struct kchan_stream {
	u64 stream;			/* 0: a free entry */
	u64 last_seq;
};

struct kchan {
	spinlock_t lock;		/* guards all that follows up to "Fixed" */
	struct list_head queue;		/* buffered messages, in seq order */
	unsigned int length;		/* messages in queue */
	struct list_head held_msgs;	/* held messages (hold.c) */
	unsigned int held;		/* on held_msgs */
	unsigned int copying;		/* taken by readers (and holds) still copying out */
	unsigned int holding;		/* of those, holds */
	u64 hold_id;			/* the last hold id given */
	struct kchan_stream *streams;	/* nstreams entries, from the first SEND_ONCE */
	struct list_head recvq;		/* blocked readers; non-empty only while queue is */
	struct list_head sendq;		/* blocked writers, each with its message */
	bool closed;
	bool dead;			/* destroyed: every operation fails with ENODEV */
	unsigned int readers;		/* open files with FMODE_READ */
	unsigned int writers;		/* open files with FMODE_WRITE */
	u64 sent;
	u64 received;
	u64 dropped;			/* timer firings never delivered */
	u64 timer_seen;			/* timer_fired at the last delivery */
	struct list_head spare;		/* small message buffers to reuse (msg.c) */
	unsigned int nspare;		/* on spare; read unlocked as a hint */
	struct kchan_msg *big_spare;	/* a large buffer to reuse (msg.c); a hint unlocked */

	/* Fixed at creation. */
	u64 id;				/* random, nonzero: struct kchan_info.id */
	unsigned int capacity;
	size_t msg_max;
	u32 flags;			/* KCHAN_CREATE_* */
	unsigned int nstreams;		/* SEND_ONCE streams remembered at most */
	u64 period_ns;			/* timer channels */
	kuid_t owner;
	kgid_t group;
	umode_t mode;
	char name[KCHAN_NAME_MAX];

	wait_queue_head_t poll_wq;	/* poll/select/epoll only; blocked I/O uses the waiters */

	/* Timer channels (timer.c) */
	struct hrtimer timer;
	struct work_struct timer_work;
	atomic64_t timer_expiry;	/* of the latest firing, CLOCK_MONOTONIC ns */
	atomic64_t timer_fired;		/* firings so far */

	refcount_t users;		/* the node's and each open file's */
	struct kchan_fs *fs;		/* charged to, from create to free */
	struct kchan_quota *quota;	/* the owner's charge in fs */
	unsigned int minor;		/* of the node; 0 if anonymous */
};

static inline bool kchan_is_timer(const struct kchan *ch)
{
	return ch->flags & (KCHAN_CREATE_AFTER | KCHAN_CREATE_TICK);
}

/*
 * The readiness predicates, shared by the wait loops (queue.c), poll,
 * select and the wake-ups (kchan_ready()), as fs/pipe.c shares
 * pipe_readable() and pipe_writable().  All under ch->lock.
 *
 * A slot is taken by every message the channel still owns: queued, held
 * (until acked) or being copied out by a reader (until the copy is done:
 * a faulting copy puts it back).  So a writer finds room only while
 * length + held + copying < capacity.
 */
static inline unsigned int kchan_slots_taken(const struct kchan *ch)
{
	return ch->length + ch->held + ch->copying;
}

static inline bool kchan_has_room(const struct kchan *ch)
{
	return kchan_slots_taken(ch) < ch->capacity;
}

/* End of file: closed, and nothing queued, held or being copied is left to come. */
static inline bool kchan_at_eof(const struct kchan *ch)
{
	return ch->closed && !ch->length && !ch->held && !ch->copying;
}

bool kchan_has_waiter(const struct list_head *q);

/* A read would take a message at once: queued, or from a blocked writer. */
static inline bool kchan_readable(const struct kchan *ch)
{
	return ch->length || kchan_has_waiter(&ch->sendq);
}

/* A write would fail at once: closed (EPIPE), or a timer's (EPERM). */
static inline bool kchan_write_fails(const struct kchan *ch)
{
	return ch->closed || kchan_is_timer(ch);
}

/* A write would complete at once: a free slot, or a blocked reader. */
static inline bool kchan_writable(const struct kchan *ch)
{
	return kchan_has_room(ch) || kchan_has_waiter(&ch->recvq);
}

/* What poll reports on a file opened with @mode (data.c, and kchan_ready()). */
__poll_t kchan_poll_mask(const struct kchan *ch, fmode_t mode);

/* Every event poll could report on any file of @ch: what wake-ups compare. */
static inline __poll_t kchan_ready(const struct kchan *ch)
{
	return kchan_poll_mask(ch, FMODE_READ) | kchan_poll_mask(ch, FMODE_WRITE);
}

/* The smallest timer period: keeps a tick channel from eating a CPU. */
#define KCHAN_TIMER_MIN_NS	(100 * NSEC_PER_USEC)

/*
 * ioctl numbers are matched without their size bits: the size field of
 * each struct says which version the caller has (see uapi/linux/kchan.h).
 */
#define KCHAN_IOC_BASE(cmd)	((cmd) & ~(_IOC_SIZEMASK << _IOC_SIZESHIFT))

/* Module parameters (main.c); read with READ_ONCE, they may change at run time. */
extern unsigned int kchan_max_capacity;
extern unsigned int kchan_max_msg_size;

/* fs.c: the kchan filesystem */
int kchan_fs_init(void);
void kchan_fs_exit(void);
int kchan_fs_create(struct super_block *sb, struct kchan *ch);
int kchan_fs_by_name(struct super_block *sb, const char *name, bool destroy);
void kchan_fs_free_minor(struct kchan *ch);

/* control.c: the control node */
extern const struct file_operations kchan_control_fops;
int kchan_copy_arg(void *dst, size_t ksize, size_t min_size,
		   const void __user *arg);

/* quota.c: an instance and its limits */
struct kchan_fs *kchan_fs_alloc(void);
void kchan_fs_put(struct kchan_fs *fs);
int kchan_charge(struct kchan_fs *fs, struct kchan *ch);
void kchan_uncharge(struct kchan *ch);

/* queue.c: the matching core, and the one way to wake */
void kchan_wake_begin(struct kchan *ch, struct kchan_wake *wake);
void kchan_settle_locked(struct kchan *ch, struct kchan_wake *wake);
void kchan_wake_flush(struct kchan *ch, struct kchan_wake *wake);
void kchan_lock(struct kchan *ch, struct kchan_wake *wake)
	__acquires(&ch->lock);
void kchan_unlock(struct kchan *ch, struct kchan_wake *wake)
	__releases(&ch->lock);
int kchan_try_send_locked(struct kchan *ch, struct kchan_msg *msg,
			  struct kchan_wake *wake);
int kchan_try_recv_locked(struct kchan *ch, size_t room,
			  struct kchan_msg **msgp, struct kchan_wake *wake);
int kchan_wait(struct kchan *ch, struct kchan_waiter *w, struct list_head *q,
	       struct kchan_wake *wake);
void kchan_fail_waiters(struct list_head *q, int result,
			struct kchan_wake *wake);
void kchan_requeue_locked(struct kchan *ch, struct kchan_msg *msg,
			  struct kchan_wake *wake);
struct list_head *kchan_requeue_from(struct kchan *ch, struct kchan_msg *msg,
				     struct list_head *from,
				     struct kchan_wake *wake);
void kchan_recv_done(struct kchan *ch, struct kchan_msg **msgs, int n);
void kchan_unreceive(struct kchan *ch, struct kchan_msg *msg);
struct kchan_msg *kchan_msg_alloc(size_t len);

/* streams.c: the at-most-once streams of KCHAN_IOC_SEND_ONCE */
int kchan_stream_check_locked(struct kchan *ch, const struct kchan_msg *msg);
void kchan_stream_record_locked(struct kchan *ch, const struct kchan_msg *msg);
long kchan_ioctl_send_once(struct file *file,
			   struct kchan_send_once __user *uarg);
long kchan_ioctl_stream_seq(struct file *file,
			    struct kchan_stream_seq __user *uarg);

/* hold.c: held receive */
long kchan_ioctl_hold(struct file *file, struct kchan_hold __user *uarg);
long kchan_ioctl_ack(struct file *file, struct kchan_ack __user *uarg,
		     bool ack);
void kchan_hold_release_locked(struct kchan *ch, struct file *file,
			       struct kchan_wake *wake);
void kchan_hold_kill_locked(struct kchan *ch, struct list_head *dropped);
void kchan_free_msgs(struct list_head *msgs);

/* msg.c: message buffers, reused per channel */
struct kchan_msg *kchan_msg_new(struct kchan *ch, size_t len);
void kchan_msg_free(struct kchan *ch, struct kchan_msg *msg);
void kchan_msg_free_many(struct kchan *ch, struct kchan_msg **msgs, int n);
int kchan_msg_keep_many_locked(struct kchan *ch, struct kchan_msg **msgs, int n);
void kchan_spares_drop(struct kchan *ch, struct list_head *to);

/* timer.c: timer channels */
void kchan_timer_init(struct kchan *ch);
void kchan_timer_start(struct kchan *ch);
void kchan_timer_stop(struct kchan *ch, bool destroy);

/* chan.c: the channel object */
int kchan_cache_init(void);
void kchan_cache_exit(void);
struct kchan *kchan_alloc(const struct kchan_create *req);
int kchan_close_locked(struct kchan *ch, struct kchan_wake *wake);
int kchan_close(struct kchan *ch);
void kchan_kill(struct kchan *ch);
void kchan_get(struct kchan *ch);
void kchan_put(struct kchan *ch);
void kchan_fill_info(struct kchan *ch, struct kchan_info *info);

/* data.c: the channel file */
extern const struct file_operations kchan_fops;
int kchan_file_attach(struct kchan *ch, struct file *file);
int kchan_send(struct kchan *ch, struct kchan_msg *msg, bool nonblock);
int kchan_recv(struct kchan *ch, size_t room, bool nonblock,
	       struct kchan_msg **msgp);

/* batch.c: KCHAN_IOC_SEND_BATCH, KCHAN_IOC_RECV_BATCH */
long kchan_ioctl_send_batch(struct file *file, struct kchan_batch __user *uarg);
long kchan_ioctl_recv_batch(struct file *file, struct kchan_batch __user *uarg);

/* select.c: KCHAN_IOC_SELECT */
long kchan_ioctl_select(struct kchan_select __user *uargs);

#endif /* KCHAN_INTERNAL_H */
