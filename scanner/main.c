/*
 * main.c — dpfleet-scanner: flags, configuration, and the process table.
 *
 * Usage: dpfleet-scanner [-dnv] [-f FILE]
 *   -n  check the configuration (and the secrecy of the files it names), print "configuration OK", exit 0;
 *       or print every error and exit 1.
 *   -d  stay in the foreground and log to stderr;  -v  more verbose.
 * The scan and fix machinery is added by the issues that build it; this file stays the map of processes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "store.h"

#define DEFAULT_CONF	"/etc/dpfleet/scanner.conf"

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: dpfleet-scanner [-dnv] [-f file]\n");
	exit(1);
}

int
main(int argc, char *argv[])
{
	struct config conf;
	const char *file = DEFAULT_CONF;
	char errs[8192], err[1024];
	struct store *st;
	int ch, debug = 0, verbose = 0, check = 0, nerr;

	while ((ch = getopt(argc, argv, "df:nv")) != -1) {
		switch (ch) {
		case 'd': debug = 1; break;
		case 'f': file = optarg; break;
		case 'n': check = 1; break;
		case 'v': verbose++; break;
		default: usage();
		}
	}
	if (optind != argc)
		usage();
	log_init(debug || check, verbose, "dpfleet-scanner");

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
	if (store_open(&st, conf.store.path, err, sizeof(err)) == -1)
		fatalx("%s", err);
	log_info("dpfleet-scanner %s: store %s at schema %d", DPFLEET_VERSION, conf.store.path,
	    store_version(st));
	store_close(st);
	return 0;
}
