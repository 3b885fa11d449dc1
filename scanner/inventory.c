/*
 * inventory.c — the `--inventory [--json]` mode of dpfleet-scanner.
 *
 * main() calls inventory_run() once with a checked configuration.  Order matters: the whole fleet is read
 * from the site DB first (sitedb.c: a failure there ends the run with one message and the state DB is not
 * even opened), then stored in one transaction (store_fleet_put), then printed.  The printed fleet is the
 * one just read, sorted (sites by code, hosts by FQDN), so the output is deterministic for a given site DB;
 * only the last summary line depends on what the state DB held before.
 *
 * Text output (tab-separated; NAME last because it may hold spaces; control characters print as '?'):
 *   SITE  TYPE  PARENT  EXPECTED  NAME        EXPECTED = sha256:<hex> | absent | ambiguous, PARENT '-' if none
 *   HOST  SITE  ROLES  PXE                     ROLES = dp | mp | dp,mp, PXE = yes | no | - (not a DP)
 *   CLOUD SITE  KIND   WHY                     only when the site DB lists cloud DPs or CMGs (never scanned)
 *   inventory: N sites, M hosts[ (k cloud, not scanned)]; stored: a new sites, b sites retired, c new hosts,
 *   d hosts retired
 * Cloud hosts (fleet_host.cloud, a words_cloud word) are listed in the CLOUD section only, KIND cloud_dp or
 * cmg and WHY "cloud — not scanned: <words_cloud_reason>".
 * JSON output: {"sites": [...], "hosts": [...], "stored": {...}}, see inventory_print_json; every host has
 * "cloud" (the kind or null) and "not_scanned" (the reason or null).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "inventory.h"
#include "log.h"
#include "sitedb.h"
#include "store.h"
#include "util.h"
#include "words.h"

/* Print s with control characters (tabs, newlines included) replaced, so every record stays one line. */
static void
put_clean(FILE *out, const char *s)
{
	for (; *s != '\0'; s++)
		fputc(((unsigned char)*s < 0x20 || *s == 0x7f) ? '?' : *s, out);
}

static const char *
roles(const struct fleet_host *h)
{
	if (h->is_dp && h->is_mp)
		return "dp,mp";
	return h->is_dp ? "dp" : "mp";
}

int
inventory_print_text(FILE *out, const struct store_fleet *f, const struct store_fleet_stats *stats)
{
	const struct fleet_site *s;
	const struct fleet_host *h;
	size_t i, ncloud = 0;

	fprintf(out, "SITE\tTYPE\tPARENT\tEXPECTED\tNAME\n");
	for (i = 0; i < f->nsites; i++) {
		s = &f->sites[i];
		fprintf(out, "%s\t%s\t%s\t", s->code, s->type, s->parent[0] != '\0' ? s->parent : "-");
		if (s->expected == FLEET_EXPECTED_PRESENT)
			fprintf(out, "sha256:%s\t", s->expected_sha256);
		else
			fprintf(out, "%s\t", store_fleet_expected_name(s->expected));
		put_clean(out, s->name);
		fputc('\n', out);
	}
	fprintf(out, "HOST\tSITE\tROLES\tPXE\n");
	for (i = 0; i < f->nhosts; i++) {
		h = &f->hosts[i];
		if (h->cloud != NULL)
			ncloud++;
		else
			fprintf(out, "%s\t%s\t%s\t%s\n", h->fqdn, h->site, roles(h),
			    !h->is_dp ? "-" : h->pxe ? "yes" : "no");
	}
	if (ncloud > 0)
		fprintf(out, "CLOUD\tSITE\tKIND\tWHY\n");
	for (i = 0; i < f->nhosts; i++)
		if ((h = &f->hosts[i])->cloud != NULL)
			fprintf(out, "%s\t%s\t%s\t%s: %s\n", h->fqdn, h->site, h->cloud, WORDS_CLOUD_SHOWN,
			    words_cloud_reason(h->cloud));
	fprintf(out, "inventory: %zu sites, %zu hosts", f->nsites, f->nhosts);
	if (ncloud > 0)
		fprintf(out, " (%zu cloud, not scanned)", ncloud);
	fprintf(out, "; stored: %ld new sites, %ld sites retired, %ld new hosts, %ld hosts retired\n",
	    stats->sites_new, stats->sites_retired, stats->hosts_new, stats->hosts_retired);
	fflush(out);
	return ferror(out) ? -1 : 0;
}

/* A JSON string, or null when s is empty and nullable; invalid UTF-8 becomes null (never a crash). */
static json_t *
jstr(const char *s, int nullable)
{
	json_t *j;

	if (nullable && s[0] == '\0')
		return json_null();
	if ((j = json_string(s)) == NULL)
		return json_null();
	return j;
}

static json_t *
site_json(const struct fleet_site *s)
{
	json_t *o;

	if ((o = json_object()) == NULL)
		return NULL;
	if (json_object_set_new(o, "code", jstr(s->code, 0)) == -1 ||
	    json_object_set_new(o, "type", json_string(s->type)) == -1 ||
	    json_object_set_new(o, "name", jstr(s->name, 0)) == -1 ||
	    json_object_set_new(o, "parent", jstr(s->parent, 1)) == -1 ||
	    json_object_set_new(o, "server", jstr(s->server, 1)) == -1 ||
	    json_object_set_new(o, "install_dir", jstr(s->install_dir, 1)) == -1 ||
	    json_object_set_new(o, "expected", json_string(store_fleet_expected_name(s->expected))) == -1 ||
	    json_object_set_new(o, "expected_sha256", s->expected == FLEET_EXPECTED_PRESENT ?
	    json_string(s->expected_sha256) : json_null()) == -1) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *
host_json(const struct fleet_host *h)
{
	json_t *o, *r;

	if ((o = json_object()) == NULL)
		return NULL;
	if ((r = json_array()) == NULL ||
	    (h->is_dp && json_array_append_new(r, json_string("dp")) == -1) ||
	    (h->is_mp && json_array_append_new(r, json_string("mp")) == -1) ||
	    json_object_set_new(o, "fqdn", jstr(h->fqdn, 0)) == -1 ||
	    json_object_set_new(o, "site", jstr(h->site, 0)) == -1 ||
	    json_object_set_new(o, "roles", r) == -1 ||
	    json_object_set_new(o, "pxe", json_boolean(h->pxe)) == -1 ||
	    json_object_set_new(o, "sccm_pxe", json_boolean(h->sccm_pxe)) == -1 ||
	    json_object_set_new(o, "active", json_boolean(h->is_active)) == -1 ||
	    json_object_set_new(o, "pull_dp", json_boolean(h->is_pull_dp)) == -1 ||
	    json_object_set_new(o, "cloud", h->cloud != NULL ? json_string(h->cloud) : json_null()) == -1 ||
	    json_object_set_new(o, "not_scanned", h->cloud != NULL ?
	    json_string(words_cloud_reason(h->cloud)) : json_null()) == -1) {
		json_decref(o);
		return NULL;
	}
	return o;
}

int
inventory_print_json(FILE *out, const struct store_fleet *f, const struct store_fleet_stats *stats)
{
	json_t *doc = NULL, *sites, *hosts, *stored, *item;
	size_t i;
	int rc = -1;

	if ((doc = json_object()) == NULL || (sites = json_array()) == NULL ||
	    json_object_set_new(doc, "sites", sites) == -1 || (hosts = json_array()) == NULL ||
	    json_object_set_new(doc, "hosts", hosts) == -1 || (stored = json_object()) == NULL ||
	    json_object_set_new(doc, "stored", stored) == -1)
		goto done;
	for (i = 0; i < f->nsites; i++)
		if ((item = site_json(&f->sites[i])) == NULL || json_array_append_new(sites, item) == -1)
			goto done;
	for (i = 0; i < f->nhosts; i++)
		if ((item = host_json(&f->hosts[i])) == NULL || json_array_append_new(hosts, item) == -1)
			goto done;
	if (json_object_set_new(stored, "sites_new", json_integer(stats->sites_new)) == -1 ||
	    json_object_set_new(stored, "sites_retired", json_integer(stats->sites_retired)) == -1 ||
	    json_object_set_new(stored, "hosts_new", json_integer(stats->hosts_new)) == -1 ||
	    json_object_set_new(stored, "hosts_retired", json_integer(stats->hosts_retired)) == -1)
		goto done;
	if (json_dumpf(doc, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER) == -1)
		goto done;
	fputc('\n', out);
	fflush(out);
	rc = ferror(out) ? -1 : 0;
done:
	json_decref(doc);
	return rc;
}

/* Read the fleet from the site DB; 0 and *out, or -1 with err (nothing else touched). */
static int
read_fleet(const struct config *conf, struct store_fleet **out, char *err, size_t errlen)
{
	struct sitedb *db = NULL;
	int rc;

	if (sitedb_global_init(conf->sitedb.login_timeout, conf->sitedb.query_timeout, err, errlen) == -1)
		return -1;
	rc = sitedb_open(&db, conf, NULL, err, errlen);
	if (rc == 0)
		rc = sitedb_read_fleet(db, out, NULL, err, errlen);
	sitedb_close(db);
	sitedb_global_exit();
	return rc;
}

int
inventory_run(const struct config *conf, int json)
{
	struct store_fleet *f = NULL;
	struct store_fleet_stats stats = { 0 };
	struct store *st = NULL;
	char err[1024], now[UTIL_ISO_LEN];
	int status = 1;

	if (read_fleet(conf, &f, err, sizeof(err)) == -1)
		goto fail;
	if (store_open(&st, conf->store.path, err, sizeof(err)) == -1)
		goto fail;
	util_iso_now(now);
	if (store_fleet_put(st, f, now, &stats, err, sizeof(err)) == -1)
		goto fail;
	log_debug("inventory: %zu sites, %zu hosts stored (%ld hosts retired)", f->nsites, f->nhosts,
	    stats.hosts_retired);
	if ((json ? inventory_print_json(stdout, f, &stats) : inventory_print_text(stdout, f, &stats)) == -1) {
		util_strlcpy(err, "writing the inventory to standard output failed", sizeof(err));
		goto fail;
	}
	status = 0;
	goto done;
fail:
	log_warnx("%s", err);
done:
	store_close(st);
	store_fleet_free(f);
	return status;
}
