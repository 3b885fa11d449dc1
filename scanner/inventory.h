/*
 * inventory.h — `dpfleet-scanner --inventory [--json]`: refresh the fleet from the site DB, store it in the
 * state DB, print it.
 */
#ifndef DPFLEET_INVENTORY_H
#define DPFLEET_INVENTORY_H

#include <stdio.h>

#include "config.h"
#include "store_fleet.h"

/*
 * Run the inventory mode with a loaded, checked configuration: read the whole fleet from the site DB
 * (sitedb.c), then store it in ONE transaction (store_fleet_put: upserts, vanished sites and hosts
 * retired), then print it to stdout, as text or (json set) as one JSON document.  Returns the exit status:
 * 0, or 1 after printing one message line on stderr; on any failure the stored fleet is unchanged.
 * Calls sitedb_global_init/exit itself: use it only in a process that does not otherwise use the site DB.
 */
int	 inventory_run(const struct config *conf, int json);

/* Print f as text (one header line and one line per site, then per host) to out.  0, or -1 on I/O error. */
int	 inventory_print_text(FILE *out, const struct store_fleet *f, const struct store_fleet_stats *stats);

/* Print f as one JSON document to out.  0, or -1 on allocation or I/O error. */
int	 inventory_print_json(FILE *out, const struct store_fleet *f, const struct store_fleet_stats *stats);

#endif
