/*
 * main.c — dpfleet-server: flags, configuration, user subcommands, and the process map.
 *
 * Usage: dpfleet-server [-dnv] [-f FILE]
 *        dpfleet-server [-f FILE] user add|passwd|disable|list ...   (server/usercli.c)
 *   -n  check the configuration (and the secrecy of the files it names), print "configuration OK", exit 0;
 *       or print every error and exit 1.
 *   -d  stay in the foreground and log to stderr;  -v  more verbose (-v logs one line per request).
 *
 * One process: the main thread owns the lifetime and waits for SIGTERM/SIGINT (blocked before any thread
 * starts, taken with sigwait), libmicrohttpd's pool threads answer requests (server/http.c), each with its
 * own store connection.  The server never holds Windows credentials and never reaches a host: it reads the
 * state DB and queues scan requests and jobs in it for dpfleet-scanner.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "config.h"
#include "http.h"
#include "log.h"
#include "store.h"
#include "usercli.h"

#define DEFAULT_CONF	"/etc/dpfleet/server.conf"

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: dpfleet-server [-dnv] [-f file]\n"
	    "       dpfleet-server [-f file] user add NAME --role viewer|operator|admin\n"
	    "       dpfleet-server [-f file] user passwd|disable NAME\n"
	    "       dpfleet-server [-f file] user list\n");
	exit(1);
}

int
main(int argc, char *argv[])
{
	struct config conf;
	struct http_server *srv = NULL;
	const char *file = DEFAULT_CONF;
	char errs[8192], err[1024];
	struct store *st;
	sigset_t set;
	long ncpu;
	int ch, sig, debug = 0, verbose = 0, check = 0, nerr;

	/* '+': stop at the first operand so "user add NAME --role R" keeps its own options. */
	while ((ch = getopt(argc, argv, "+df:nv")) != -1) {
		switch (ch) {
		case 'd': debug = 1; break;
		case 'f': file = optarg; break;
		case 'n': check = 1; break;
		case 'v': verbose++; break;
		default: usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc > 0 && (strcmp(argv[0], "user") != 0 || check))
		usage();
	log_init(debug || check || argc > 0, verbose, "dpfleet-server");
	if (sodium_init() < 0)
		fatalx("libsodium failed to initialise");

	/* Every error at once: the files the parsed keys name are checked even when other lines were bad. */
	nerr = config_load(file, CONFIG_SERVER, &conf, errs, sizeof(errs));
	if (nerr != -1 && argc == 0)
		nerr += config_check_files(&conf, errs, sizeof(errs));
	if (nerr != 0) {
		fputs(errs, stderr);
		return 1;
	}
	if (check) {
		printf("configuration OK\n");
		return 0;
	}
	if (argc > 0)
		return usercli_main(&conf, argc, argv);

	/* Migrate (or refuse a newer DB) once, before any worker opens its own connection. */
	if (store_open(&st, conf.store.path, err, sizeof(err)) == -1)
		fatalx("%s", err);
	log_info("dpfleet-server %s: store %s at schema %d", DPFLEET_VERSION, conf.store.path,
	    store_version(st));
	store_close(st);

	if (!debug && daemon(0, 0) == -1)
		fatal("daemon");
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0)
		fatalx("cannot block signals");

	ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	if (http_start(&srv, &conf, ncpu > 0 ? (int)ncpu : 2, err, sizeof(err)) == -1)
		fatalx("%s", err);
	log_info("listening on %s%s, web_root %s", conf.http.listen, conf.http.tls_cert[0] ? " (https)" : "",
	    conf.http.web_root);

	for (;;) {
		if (sigwait(&set, &sig) != 0)
			continue;
		if (sig == SIGHUP) {
			log_info("SIGHUP ignored: restart to reload the configuration");
			continue;
		}
		break;
	}
	log_info("signal %d: stopping", sig);
	http_stop(srv);
	log_info("stopped");
	return 0;
}
