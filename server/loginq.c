/*
 * loginq.c — the hashing threads of dpfleet-server's sign-in (loginq.h says why they exist).
 *
 * Called by server/http.c: loginq_new() in http_start, loginq_submit() from an HTTP thread that has just
 * suspended the connection (MHD_suspend_connection), loginq_free() in http_stop before the daemon stops, so
 * every queued job's done callback (which resumes its connection) runs first.  One mutex guards the queue,
 * the stopping flag and the rate table; the hashing itself runs outside it.  Each thread opens its own store
 * connection when it starts (SQLite connections are not shared between threads here, as in http.c).
 * The rate table is a fixed array of token buckets keyed by client address; when it is full the bucket used
 * least recently is reused, so its memory is bounded whatever the number of clients.
 */
#include "loginq.h"
#include "log.h"
#include "store.h"
#include "util.h"

#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define RATE_SLOTS	1024

struct rate_slot {
	unsigned char	 key[17];	/* family byte + address (IPv6: its /64) */
	int		 used;
	int64_t		 milli;		/* tokens x 1000 */
	int64_t		 last_ms;
};

struct loginq {
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	struct auth_job	*head, *tail;
	int		 queued, queue_max, stopping;
	pthread_t	 th[LOGINQ_THREADS_MAX];
	int		 nth;
	char		 store_path[PATH_MAX];
	char		 dummy[STORE_PWHASH_MAX];
	int		 rate;
	struct rate_slot slots[RATE_SLOTS];
};

static void *
hasher(void *arg)
{
	struct loginq *q = arg;
	struct store *st = NULL;
	struct auth_job *job;
	char err[256];

	if (store_open(&st, q->store_path, err, sizeof(err)) == -1) {
		log_warnx("sign-in thread: %s", err);
		st = NULL;
	}
	for (;;) {
		pthread_mutex_lock(&q->mu);
		while (q->head == NULL && !q->stopping)
			pthread_cond_wait(&q->cv, &q->mu);
		if ((job = q->head) != NULL) {
			q->head = job->next;
			if (q->head == NULL)
				q->tail = NULL;
			q->queued--;
		}
		pthread_mutex_unlock(&q->mu);
		if (job == NULL)
			break;			/* stopping and drained */
		job->next = NULL;
		if (st != NULL)
			auth_job_run(st, job, q->dummy);
		else {
			job->rc = -1;
			util_strlcpy(job->err, "state DB unavailable", sizeof(job->err));
			explicit_bzero(job->password, sizeof(job->password));
		}
		job->done(job, job->done_arg);
	}
	store_close(st);
	return NULL;
}

/* The rate key of src: family byte, then the IPv4 address or the IPv6 /64.  0, or -1 for other families. */
static int
rate_key(const struct sockaddr *src, unsigned char key[17])
{
	const struct sockaddr_in6 *s6;

	memset(key, 0, 17);
	if (src->sa_family == AF_INET) {
		key[0] = 4;
		memcpy(key + 1, &((const struct sockaddr_in *)(const void *)src)->sin_addr, 4);
		return 0;
	}
	if (src->sa_family != AF_INET6)
		return -1;
	s6 = (const struct sockaddr_in6 *)(const void *)src;
	if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
		key[0] = 4;
		memcpy(key + 1, s6->sin6_addr.s6_addr + 12, 4);
	} else {
		key[0] = 6;
		memcpy(key + 1, s6->sin6_addr.s6_addr, 8);
	}
	return 0;
}

/* Take one token from src's bucket (q->mu held).  1 if there was one. */
static int
rate_take(struct loginq *q, const struct sockaddr *src)
{
	unsigned char key[17];
	struct rate_slot *sl = NULL, *lru = &q->slots[0];
	int64_t now = util_mono_ms(), cap = (int64_t)q->rate * 1000;
	size_t i;

	if (q->rate == 0 || src == NULL || rate_key(src, key) == -1)
		return 1;
	for (i = 0; i < RATE_SLOTS && sl == NULL; i++) {
		if (q->slots[i].used && memcmp(q->slots[i].key, key, sizeof(key)) == 0)
			sl = &q->slots[i];
		else if (!q->slots[i].used || (lru->used && q->slots[i].last_ms < lru->last_ms))
			lru = &q->slots[i];
	}
	if (sl == NULL) {
		sl = lru;
		memcpy(sl->key, key, sizeof(key));
		sl->used = 1;
		sl->milli = cap;
		sl->last_ms = now;
	}
	sl->milli += (now - sl->last_ms) * q->rate / 60;	/* rate per minute = rate/60 per second */
	if (sl->milli > cap)
		sl->milli = cap;
	sl->last_ms = now;
	if (sl->milli < 1000)
		return 0;
	sl->milli -= 1000;
	return 1;
}

int
loginq_submit(struct loginq *q, struct auth_job *job, const struct sockaddr *src)
{
	int rc = LOGINQ_QUEUED;

	pthread_mutex_lock(&q->mu);
	if (q->stopping || q->queued >= q->queue_max)
		rc = LOGINQ_FULL;
	else if (!rate_take(q, src))
		rc = LOGINQ_RATE;
	else {
		job->next = NULL;
		if (q->tail != NULL)
			q->tail->next = job;
		else
			q->head = job;
		q->tail = job;
		q->queued++;
		pthread_cond_signal(&q->cv);
	}
	pthread_mutex_unlock(&q->mu);
	return rc;
}

int
loginq_new(struct loginq **out, const char *store_path, int threads, int queue_max, int rate_per_min,
    char *err, size_t errlen)
{
	struct loginq *q;
	unsigned char raw[32];
	char pw[65];

	*out = NULL;
	if ((q = calloc(1, sizeof(*q))) == NULL)
		return util_err(err, errlen, "sign-in queue: out of memory");
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->cv, NULL);
	q->queue_max = queue_max;
	q->rate = rate_per_min;
	util_strlcpy(q->store_path, store_path, sizeof(q->store_path));
	randombytes_buf(raw, sizeof(raw));		/* the dummy's password: random, never kept */
	util_hex(raw, sizeof(raw), pw);
	if (auth_hash_password(pw, q->dummy, err, errlen) == -1) {
		explicit_bzero(pw, sizeof(pw));
		loginq_free(q);
		return -1;
	}
	explicit_bzero(pw, sizeof(pw));
	explicit_bzero(raw, sizeof(raw));
	if (threads < 1)
		threads = 1;
	if (threads > LOGINQ_THREADS_MAX)
		threads = LOGINQ_THREADS_MAX;
	for (q->nth = 0; q->nth < threads; q->nth++)
		if (pthread_create(&q->th[q->nth], NULL, hasher, q) != 0) {
			loginq_free(q);
			return util_err(err, errlen, "sign-in queue: cannot start a thread");
		}
	*out = q;
	return 0;
}

void
loginq_free(struct loginq *q)
{
	int i;

	if (q == NULL)
		return;
	pthread_mutex_lock(&q->mu);
	q->stopping = 1;
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
	for (i = 0; i < q->nth; i++)
		pthread_join(q->th[i], NULL);
	pthread_cond_destroy(&q->cv);
	pthread_mutex_destroy(&q->mu);
	explicit_bzero(q->dummy, sizeof(q->dummy));
	free(q);
}
