/*
 * main.c — dpfleet-scanner: flags, configuration, and the process table.
 *
 * Usage: dpfleet-scanner [-dnv] [-f FILE] [--inventory [--json]]
 *   -n  check the configuration (and the secrecy of the files it names), print "configuration OK", exit 0;
 *       or print every error and exit 1.
 *   -d  stay in the foreground and log to stderr;  -v  more verbose.
 *   --inventory [--json]  refresh the fleet from the site DB, store and print it (inventory.c), exit.
 *   --once  refresh the inventory, scan every host once, store, print a summary table (scan.c), exit.
 *   (no mode flag)  the scan daemon: every [scan] interval and on queued scan requests (scan.c).
 * Flags are parsed here; every mode is one function call into its own module, so main() stays the map of
 * modes and processes.  The scan and fix machinery is added by the issues that build it.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "inventory.h"
#include "scan.h"
#include "log.h"
#include "store.h"

#define DEFAULT_CONF	"/etc/dpfleet/scanner.conf"

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: dpfleet-scanner [-dnv] [-f file]\n"
	    "       dpfleet-scanner [-dv] [-f file] --inventory [--json]\n"
	    "       dpfleet-scanner [-dv] [-f file] --once\n");
	exit(1);
}

int
main(int argc, char *argv[])
{
	struct config conf;
	const char *file = DEFAULT_CONF;
	char errs[8192];
	int ch, debug = 0, verbose = 0, check = 0, nerr;
	enum { MODE_DAEMON, MODE_INVENTORY, MODE_ONCE } mode = MODE_DAEMON;
	int json = 0;
	enum { OPT_INVENTORY = 256, OPT_JSON, OPT_ONCE };
	static const struct option longopts[] = {
		{ "inventory",	no_argument,	NULL,	OPT_INVENTORY },
		{ "json",	no_argument,	NULL,	OPT_JSON },
		{ "once",	no_argument,	NULL,	OPT_ONCE },
		{ NULL,		0,		NULL,	0 },
	};

	while ((ch = getopt_long(argc, argv, "df:nv", longopts, NULL)) != -1) {
		switch (ch) {
		case 'd': debug = 1; break;
		case 'f': file = optarg; break;
		case 'n': check = 1; break;
		case 'v': verbose++; break;
		case OPT_INVENTORY: mode = MODE_INVENTORY; break;
		case OPT_JSON: json = 1; break;
		case OPT_ONCE: mode = MODE_ONCE; break;
		default: usage();
		}
	}
	if (optind != argc || (json && mode != MODE_INVENTORY) || (check && mode != MODE_DAEMON))
		usage();
	/* A one-shot CLI mode talks to its operator on stderr, like -d and -n. */
	log_init(debug || check || mode != MODE_DAEMON, verbose, "dpfleet-scanner");

	nerr = config_load(file, CONFIG_SCANNER, &conf, errs, sizeof(errs));
	if (nerr == 0)
		nerr = config_check_files(&conf, errs, sizeof(errs));
	if (nerr != 0) {
		fputs(errs, stderr);
		return 1;
	}
	if (check) {
		printf("configuration OK\n");
		return 0;
	}
	switch (mode) {
	case MODE_INVENTORY:
		return inventory_run(&conf, json);
	case MODE_ONCE:
		return scan_once(&conf);
	case MODE_DAEMON:
		return scan_daemon(&conf);
	}
	return 1;
}
