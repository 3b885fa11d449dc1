/*
 * parent.h — what the scanner parent process holds while it runs one mode (`--once`, the daemon, a fix
 * command): the signalfd, the worker pool, the state DB, FreeTDS's process-wide state, and the keytab sets'
 * ticket caches (krb.h).  The parent never holds a Windows password (the workers do: worker.h); it reads the
 * keytabs, to get the tickets the workers use.
 */
#ifndef DPFLEET_PARENT_H
#define DPFLEET_PARENT_H

#include <stddef.h>

#include "config.h"
#include "worker.h"

struct sched;
struct store;
struct store_fleet;
struct store_fleet_stats;
struct krb;

/* A mode's resources; filled by parent_open, or by hand by a caller lending its own (scan_hosts). */
struct parent {
	const struct config	*conf;
	struct store		*st;
	struct sched		*pool;		/* [smb] concurrency workers */
	struct worker_conf	 wc;		/* the workers' argument; lives as long as the pool */
	int			 sigfd;		/* SIGTERM/SIGINT (parent_signals_open), or -1 */
	int			 sitedb_ready;	/* sitedb_global_init done; parent_close undoes it */
	struct krb		*krb;		/* the keytab sets' ticket caches (krb.h); daemon.c refreshes them */
};

/*
 * Ignore SIGPIPE, open the signalfd, fork the worker pool (before any DB connection exists), get the keytab
 * sets' tickets (krb_open, krb_refresh: a failure is logged and leaves those hosts unreachable/kerberos), open
 * the state DB and recover what a killed scanner left (store_scan_recover).  0, or -1 after logging why (p is then
 * closed).
 */
int	 parent_open(struct parent *p, const struct config *conf);

/* Stop the workers (2 s grace), close the store, FreeTDS and the signalfd.  Safe on a closed parent. */
void	 parent_close(struct parent *p);

/*
 * Block SIGTERM/SIGINT in the calling process and read them through a signalfd (close-on-exec, non-blocking)
 * the caller closes.  The fd, or -1 with err ("sigprocmask: ..." / "signalfd: ..."; the mask may already be
 * changed).
 */
int	 parent_signals_open(char *err, size_t errlen);

/* 1 when a signal is pending on sigfd (it is consumed), else 0. */
int	 parent_signalled(int sigfd);

/*
 * Read the whole fleet from the site DB (calling sitedb_global_init first unless *sitedb_ready, and setting
 * it) and store it with store_fleet_put.  Returns 0 with *out (the caller frees it with store_fleet_free;
 * out may be NULL) and *stats; or -1 with err: "site DB: ..." when FreeTDS cannot start, prefix followed by
 * the site DB's message when it cannot be read, "store: ..." when the store failed (the stored fleet is
 * then unchanged).
 */
int	 parent_fleet_read(const struct config *conf, struct store *st, int *sitedb_ready, const char *prefix,
	    struct store_fleet **out, struct store_fleet_stats *stats, char *err, size_t errlen);

#endif
