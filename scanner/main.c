/*
 * main.c — dpfleet-scanner: flags, configuration, and the process table.
 *
 * Usage: dpfleet-scanner [-dnv] [-f FILE] [--inventory [--json]]
 *   -n  check the configuration (and the secrecy of the files it names), print "configuration OK", exit 0;
 *       or print every error and exit 1.
 *   -d  stay in the foreground and log to stderr;  -v  more verbose.
 *   --inventory [--json]  refresh the fleet from the site DB, store and print it (inventory.c), exit.
 *   --once  refresh the inventory, scan every host once, store, print a summary table (scan.c), exit.
 *   fix (--all-affected [--site CODE] | FQDN...) [--dry-run] [--confirm N]  queue fix jobs as cli:<user>,
 *       run them now, one line per host; exit 0 if all written/already_correct/would_write, else 2 (fix.c).
 *   rollback JOB_ID  queue and run the rollback of a written fix job (fix.c).
 *   (no mode flag)  the scan daemon: every [scan] interval and on queued scan requests (scan.c), and the
 *       queued fix/rollback jobs (fix.c, polled every second).
 * Flags are parsed here; every mode is one function call into its own module, so main() stays the map of
 * modes and processes.  The scan and fix machinery is added by the issues that build it.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "daemon.h"
#include "fix.h"
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
	    "       dpfleet-scanner [-dv] [-f file] --once\n"
	    "       dpfleet-scanner [-dv] [-f file] fix (--all-affected [--site code] | fqdn ...) [--dry-run]\n"
	    "                       [--confirm n]\n"
	    "       dpfleet-scanner [-dv] [-f file] rollback job_id\n");
	exit(1);
}

int
main(int argc, char *argv[])
{
	struct config conf;
	const char *file = DEFAULT_CONF;
	char errs[8192];
	int ch, debug = 0, verbose = 0, check = 0, nerr;
	enum { MODE_DAEMON, MODE_INVENTORY, MODE_ONCE, MODE_FIX, MODE_ROLLBACK } mode = MODE_DAEMON;
	int json = 0, fixopts = 0;
	struct fix_order fo;
	long long rollback_job = 0;
	char *end;
	enum { OPT_INVENTORY = 256, OPT_JSON, OPT_ONCE, OPT_ALL_AFFECTED, OPT_DRY_RUN, OPT_SITE, OPT_CONFIRM };
	static const struct option longopts[] = {
		{ "inventory",	no_argument,	NULL,	OPT_INVENTORY },
		{ "json",	no_argument,	NULL,	OPT_JSON },
		{ "once",	no_argument,	NULL,	OPT_ONCE },
		{ "all-affected", no_argument,	NULL,	OPT_ALL_AFFECTED },
		{ "dry-run",	no_argument,	NULL,	OPT_DRY_RUN },
		{ "site",	required_argument, NULL, OPT_SITE },
		{ "confirm",	required_argument, NULL, OPT_CONFIRM },
		{ NULL,		0,		NULL,	0 },
	};

	memset(&fo, 0, sizeof(fo));

	while ((ch = getopt_long(argc, argv, "df:nv", longopts, NULL)) != -1) {
		switch (ch) {
		case 'd': debug = 1; break;
		case 'f': file = optarg; break;
		case 'n': check = 1; break;
		case 'v': verbose++; break;
		case OPT_INVENTORY: mode = MODE_INVENTORY; break;
		case OPT_JSON: json = 1; break;
		case OPT_ONCE: mode = MODE_ONCE; break;
		case OPT_ALL_AFFECTED: fo.all_affected = 1; fixopts = 1; break;
		case OPT_DRY_RUN: fo.dry_run = 1; fixopts = 1; break;
		case OPT_SITE: fo.site = optarg; fixopts = 1; break;
		case OPT_CONFIRM:
			fo.confirm = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || fo.confirm < 1)
				usage();
			fixopts = 1;
			break;
		default: usage();
		}
	}
	/* Subcommands: `fix` and `rollback` (GNU getopt has moved every option before them). */
	if (optind < argc && mode == MODE_DAEMON && strcmp(argv[optind], "fix") == 0) {
		mode = MODE_FIX;
		fo.hosts = (const char *const *)&argv[optind + 1];
		fo.nhosts = (size_t)(argc - optind - 1);
		if ((fo.nhosts > 0) == (fo.all_affected != 0) || (fo.site != NULL && !fo.all_affected))
			usage();
		optind = argc;
	} else if (optind + 2 == argc && mode == MODE_DAEMON && strcmp(argv[optind], "rollback") == 0) {
		mode = MODE_ROLLBACK;
		rollback_job = strtoll(argv[optind + 1], &end, 10);
		if (argv[optind + 1][0] == '\0' || *end != '\0' || rollback_job < 1)
			usage();
		optind = argc;
	}
	if (optind != argc || (json && mode != MODE_INVENTORY) || (check && mode != MODE_DAEMON) ||
	    (fixopts && mode != MODE_FIX))
		usage();
	/* A one-shot CLI mode talks to its operator on stderr, like -d and -n. */
	log_init(debug || check || mode != MODE_DAEMON, verbose, "dpfleet-scanner");

	/* Every error at once: the files the parsed keys name are checked even when other lines were bad. */
	nerr = config_load(file, CONFIG_SCANNER, &conf, errs, sizeof(errs));
	if (nerr != -1)
		nerr += config_check_files(&conf, errs, sizeof(errs));
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
	case MODE_FIX:
		return fix_cli(&conf, &fo);
	case MODE_ROLLBACK:
		return fix_cli_rollback(&conf, (int64_t)rollback_job);
	case MODE_DAEMON:
		if (!debug && daemon(0, 0) == -1)
			fatal("daemon");
		return daemon_run(&conf);
	}
	return 1;
}
