/*
 * store_fleet.h — the fleet (sites, DPs, MPs) as the site DB describes it, held in memory, and its storage
 * in the state DB's sites and hosts tables.  The scanner's site-DB reader (scanner/sitedb.c) fills a
 * struct store_fleet; store_fleet_put() writes it in one transaction.  All SQL on sites and hosts that the
 * inventory needs lives in store_fleet.c.
 */
#ifndef DPFLEET_STORE_FLEET_H
#define DPFLEET_STORE_FLEET_H

#include <stddef.h>

#include "consts.h"
#include "store.h"
#include "util.h"

#define FLEET_CODE_MAX		DPF_SITE_CODE_MAX
#define FLEET_NAME_MAX		256		/* site name, server names, FQDNs incl. NUL */
#define FLEET_PATH_MAX		1024		/* install dir incl. NUL */
#define FLEET_VALUE_MAX		(64 * 1024)	/* Value1 incl. NUL */
#define FLEET_MAX_SITES		10000
#define FLEET_MAX_HOSTS		200000

enum fleet_expected { FLEET_EXPECTED_ABSENT, FLEET_EXPECTED_PRESENT, FLEET_EXPECTED_AMBIGUOUS };

struct fleet_site {
	char	 code[FLEET_CODE_MAX];
	char	 name[FLEET_NAME_MAX];
	const char *type;			/* "cas", "primary", "secondary" or "unknown" (static string) */
	char	 parent[FLEET_CODE_MAX];	/* "" = none (stored as NULL) */
	char	 server[FLEET_NAME_MAX];	/* "" = unknown */
	char	 install_dir[FLEET_PATH_MAX];
	enum fleet_expected expected;
	char	*expected_value;		/* PRESENT only: Value1 as the site DB holds it; owned by the fleet */
	char	 expected_sha256[UTIL_SHA256_HEX];	/* PRESENT only: util_multisz_sha256 of the split Value1 */
	size_t	 nvalues;			/* 0 absent, 1 present, 2+ ambiguous */
};

struct fleet_host {
	char	 fqdn[FLEET_NAME_MAX];		/* unique, compared case-insensitively */
	char	 site[FLEET_CODE_MAX];
	int	 is_dp, is_mp;
	int	 pxe, sccm_pxe, is_active, is_pull_dp;	/* DP attributes; 0 for an MP-only host */
	const char *cloud;			/* NULL on premises, else a words_cloud word (static): never
						   scanned nor fixed (hosts.cloud, migrations/0006) */
};

/* A fleet: plain arrays the caller may read directly (sorted by store_fleet_sort). */
struct store_fleet {
	struct fleet_site *sites;
	size_t	 nsites, sites_cap;
	struct fleet_host *hosts;
	size_t	 nhosts, hosts_cap;
};

/* What store_fleet_put changed. */
struct store_fleet_stats {
	long	 sites_new, sites_retired;
	long	 hosts_new, hosts_retired;
};

/* An empty fleet, or NULL on allocation failure.  Free with store_fleet_free. */
struct store_fleet *store_fleet_new(void);
/* Frees the fleet and every expected_value it owns; NULL is fine. */
void	 store_fleet_free(struct store_fleet *f);

/*
 * Site by code (exact match), or NULL.  The pointer stays valid until the next store_fleet_add_site.
 */
struct fleet_site *store_fleet_site(struct store_fleet *f, const char *code);
/* Host by FQDN (ASCII case-insensitive), or NULL.  Valid until the next store_fleet_add_host. */
struct fleet_host *store_fleet_host(struct store_fleet *f, const char *fqdn);

/*
 * Append a copy of *s (expected_value is NOT copied: the new entry starts with expected ABSENT and no
 * value).  Returns the stored entry, or NULL with the reason in err (duplicate code, cap reached, no memory);
 * the fleet is unchanged on failure.
 */
struct fleet_site *store_fleet_add_site(struct store_fleet *f, const struct fleet_site *s, char *err,
	    size_t errlen);
/* Append a copy of *h; NULL with the reason in err (duplicate FQDN, cap, no memory), fleet unchanged. */
struct fleet_host *store_fleet_add_host(struct store_fleet *f, const struct fleet_host *h, char *err,
	    size_t errlen);

/*
 * Record one IssuingCertificateList Value1 row for site s.  Value1 is split on "\0" first: a value with no
 * element (empty or only separators) is ignored in any row order.  The first value makes s PRESENT (value
 * copied, hash computed), a later one with other elements makes it AMBIGUOUS (value dropped); values that
 * differ only in separators are the same value.  0, or -1 with the reason in err (no memory, value longer
 * than FLEET_VALUE_MAX); on failure s is unchanged.
 */
int	 store_fleet_site_value(struct fleet_site *s, const char *value1, char *err, size_t errlen);

/* Sort sites by code and hosts by FQDN (case-insensitive), for stable output. */
void	 store_fleet_sort(struct store_fleet *f);

/* "absent", "present" or "ambiguous". */
const char *store_fleet_expected_name(enum fleet_expected e);

/*
 * Store f in the sites and hosts tables in ONE transaction, at time now (ISO, util_iso_now): upsert every
 * site and host (first_seen kept, last_seen = now, retired_at cleared), and set retired_at = now on every
 * site and host not in f that is not already retired (rows are never deleted).  stats may be NULL.
 * Returns 0, or -1 with the reason in err; on failure the transaction is rolled back and the tables are as
 * they were.
 */
int	 store_fleet_put(struct store *st, const struct store_fleet *f, const char *now,
	    struct store_fleet_stats *stats, char *err, size_t errlen);

#endif
