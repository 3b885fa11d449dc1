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
 *   (no mode flag)  the scan daemon: every [scan] interval and on queued scan requests, and the queued
 *       fix/rollback jobs, polled every second (daemon.c).
 * Flags are parsed here; every mode is one entry of modes[] below, one call into its own module, so the table
 * is the map of modes and processes (the dpfleet-scanner(8) man page describes each).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "credset.h"
#include "daemon.h"
#include "fix.h"
#include "inventory.h"
#include "krb.h"
#include "scan.h"
#include "log.h"
#include "store.h"

#define DEFAULT_CONF	"/etc/dpfleet/scanner.conf"

enum mode { MODE_DAEMON, MODE_INVENTORY, MODE_ONCE, MODE_FIX, MODE_ROLLBACK };

/* What the command line asked. */
struct opts {
	const char	*file;
	int		 debug, verbose, check, json, fixopts;
	enum mode	 mode;
	struct fix_order fo;
	long long	 rollback_job;
};

static int
run_daemon(const struct config *conf, const struct opts *o)
{
	if (!o->debug && daemon(0, 0) == -1)
		fatal("daemon");
	return daemon_run(conf);
}

static int
run_inventory(const struct config *conf, const struct opts *o)
{
	return inventory_run(conf, o->json);
}

static int
run_once(const struct config *conf, const struct opts *o)
{
	(void)o;
	return scan_once(conf);
}

static int
run_fix(const struct config *conf, const struct opts *o)
{
	return fix_cli(conf, &o->fo);
}

static int
run_rollback(const struct config *conf, const struct opts *o)
{
	return fix_cli_rollback(conf, (int64_t)o->rollback_job);
}

/*
 * The process table: every mode, the module it runs, and the processes it makes.  The parent process of each
 * holds the state DB and the site DB connection; only the workers (worker.c, forked by sched.c) hold the
 * Windows credentials and talk SMB.
 */
static const struct {
	enum mode	 mode;
	int		(*run)(const struct config *, const struct opts *);
	const char	*what;
} modes[] = {
	{ MODE_DAEMON, run_daemon, "daemon.c: scans (scan.c) and fix jobs (fixpoll.c, fixrun.c); workers" },
	{ MODE_INVENTORY, run_inventory, "inventory.c: site DB to state DB; no workers" },
	{ MODE_ONCE, run_once, "scan.c: one scan run; workers" },
	{ MODE_FIX, run_fix, "fix.c: queue and run fix jobs (fixrun.c); workers" },
	{ MODE_ROLLBACK, run_rollback, "fix.c: queue and run a rollback (fixrun.c); workers" },
};

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

/* The flags; getopt_long has moved every option before the operands (GNU getopt). */
static void
parse_flags(int argc, char *argv[], struct opts *o)
{
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
	char *end;
	int ch;

	while ((ch = getopt_long(argc, argv, "df:nv", longopts, NULL)) != -1) {
		switch (ch) {
		case 'd': o->debug = 1; break;
		case 'f': o->file = optarg; break;
		case 'n': o->check = 1; break;
		case 'v': o->verbose++; break;
		case OPT_INVENTORY: o->mode = MODE_INVENTORY; break;
		case OPT_JSON: o->json = 1; break;
		case OPT_ONCE: o->mode = MODE_ONCE; break;
		case OPT_ALL_AFFECTED: o->fo.all_affected = 1; o->fixopts = 1; break;
		case OPT_DRY_RUN: o->fo.dry_run = 1; o->fixopts = 1; break;
		case OPT_SITE: o->fo.site = optarg; o->fixopts = 1; break;
		case OPT_CONFIRM:
			o->fo.confirm = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || o->fo.confirm < 1)
				usage();
			o->fixopts = 1;
			break;
		default: usage();
		}
	}
}

/* The subcommands `fix` and `rollback`, then the combinations refused. */
static void
parse_subcommand(int argc, char *argv[], struct opts *o)
{
	char *end;

	if (optind < argc && o->mode == MODE_DAEMON && strcmp(argv[optind], "fix") == 0) {
		o->mode = MODE_FIX;
		o->fo.hosts = (const char *const *)&argv[optind + 1];
		o->fo.nhosts = (size_t)(argc - optind - 1);
		if ((o->fo.nhosts > 0) == (o->fo.all_affected != 0) || (o->fo.site != NULL && !o->fo.all_affected))
			usage();
		optind = argc;
	} else if (optind + 2 == argc && o->mode == MODE_DAEMON && strcmp(argv[optind], "rollback") == 0) {
		o->mode = MODE_ROLLBACK;
		o->rollback_job = strtoll(argv[optind + 1], &end, 10);
		if (argv[optind + 1][0] == '\0' || *end != '\0' || o->rollback_job < 1)
			usage();
		optind = argc;
	}
	if (optind != argc || (o->json && o->mode != MODE_INVENTORY) || (o->check && o->mode != MODE_DAEMON) ||
	    (o->fixopts && o->mode != MODE_FIX))
		usage();
}

int
main(int argc, char *argv[])
{
	struct config conf;
	struct opts o;
	char errs[8192];
	size_t i;
	int nerr;

	memset(&o, 0, sizeof(o));
	o.file = DEFAULT_CONF;
	o.mode = MODE_DAEMON;
	parse_flags(argc, argv, &o);
	parse_subcommand(argc, argv, &o);
	/* A one-shot CLI mode talks to its operator on stderr, like -d and -n. */
	log_init(o.debug || o.check || o.mode != MODE_DAEMON, o.verbose, "dpfleet-scanner");

	/* Every error at once: the files the parsed keys name are checked even when other lines were bad. */
	nerr = config_load(o.file, CONFIG_SCANNER, &conf, errs, sizeof(errs));
	if (nerr != -1)
		nerr += config_check_files(&conf, errs, sizeof(errs));
	if (nerr == 0 && o.check)	/* -n: each keytab holds its principal (krb.h) */
		nerr += krb_check_config(&conf, errs, sizeof(errs));
	if (nerr != 0) {
		fputs(errs, stderr);
		return 1;
	}
	if (o.check) {
		printf("configuration OK\n");
		if (conf.ncreds > 0)	/* which credential set each host would use; [smb] alone: all of them */
			credset_plan_print(stdout, &conf);
		return 0;
	}
	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		if (modes[i].mode == o.mode)
			return modes[i].run(&conf, &o);
	return 1;
}
