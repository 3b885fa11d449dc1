/*
 * metrics.h — /metrics for dpfleet-server: Prometheus text format (version 0.0.4) with the fleet figures
 * from the store and the server's own HTTP request counters (atomic, shared by every worker thread).
 */
#ifndef DPFLEET_METRICS_H
#define DPFLEET_METRICS_H

#include <stddef.h>

#include "store.h"

struct metrics;

/* A zeroed counter set, or NULL when out of memory.  Free with metrics_free (NULL is fine). */
struct metrics	*metrics_new(void);
void		 metrics_free(struct metrics *m);

/* Count one answered request by HTTP status (thread-safe, lock-free). */
void		 metrics_count(struct metrics *m, int status);

/*
 * Render the exposition text into a malloc'd NUL-terminated buffer (*out, *len; caller frees).
 * 0, or -1 with err (*out NULL).  Reads the store through st (the calling thread's connection).
 */
int		 metrics_render(struct metrics *m, struct store *st, char **out, size_t *len, char *err,
		    size_t errlen);

#endif
