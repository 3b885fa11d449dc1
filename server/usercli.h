/*
 * usercli.h — `dpfleet-server -f FILE user add|passwd|disable|list ...`: operator accounts from the shell.
 */
#ifndef DPFLEET_USERCLI_H
#define DPFLEET_USERCLI_H

#include "config.h"

/*
 * Run one user subcommand; argv[0] is "user".  Prints results to stdout and errors to stderr.
 * Returns the process exit code: 0 done, 1 failure (store, unknown user, bad password), 2 usage.
 */
int	 usercli_main(const struct config *conf, int argc, char *argv[]);

#endif
