/*
 * usercli.c — dpfleet-server's user management from the command line (doc/dpfleet-server.8,
 * USER COMMANDS):
 *   user add NAME --role viewer|operator|admin     password from stdin
 *   user passwd NAME                               password from stdin; ends the user's sessions
 *   user disable NAME                              ends the user's sessions
 *   user list                                      name, role, state, created_at (tab-separated)
 * Called by server/main.c after the configuration was loaded.  The password is read from the terminal
 * twice with echo off when stdin is a tty, else as one line from the pipe; it must be
 * AUTH_PASSWORD_MIN..AUTH_PASSWORD_MAX bytes.  Every change is recorded in audit as "cli:<unix user>".
 * Passwords and hashes are wiped with explicit_bzero() before return.
 */
#include "usercli.h"
#include "auth.h"
#include "log.h"
#include "store.h"
#include "store_users.h"
#include "util.h"

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#define PW_BUF	(AUTH_PASSWORD_MAX + 2)

static int
usage(void)
{
	fprintf(stderr, "usage: dpfleet-server [-f file] user add NAME --role viewer|operator|admin\n"
	    "       dpfleet-server [-f file] user passwd NAME\n"
	    "       dpfleet-server [-f file] user disable NAME\n"
	    "       dpfleet-server [-f file] user list\n");
	return 2;
}

/* Read one line (without CR/LF) into buf; 0, or -1 on EOF/overlong. */
static int
read_line(FILE *in, char *buf, size_t size)
{
	size_t n;

	if (fgets(buf, (int)size, in) == NULL)
		return -1;
	n = strlen(buf);
	if (n > 0 && buf[n - 1] != '\n' && !feof(in))
		return -1;			/* longer than the buffer */
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	return 0;
}

static int
prompt(const char *what, char *buf, size_t size)
{
	struct termios old, quiet;
	int rc;

	fprintf(stderr, "%s", what);
	fflush(stderr);
	if (tcgetattr(STDIN_FILENO, &old) == -1)
		return -1;
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)ECHO;
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	rc = read_line(stdin, buf, size);
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
	fputc('\n', stderr);
	return rc;
}

/* The new password into pw (PW_BUF bytes).  0, or -1 with a message printed. */
static int
read_password(char *pw)
{
	char again[PW_BUF];
	int rc = -1;
	size_t n;

	if (isatty(STDIN_FILENO)) {
		if (prompt("New password: ", pw, PW_BUF) == -1 || prompt("Repeat password: ", again,
		    sizeof(again)) == -1) {
			fprintf(stderr, "dpfleet-server: cannot read the password\n");
			goto done;
		}
		if (strcmp(pw, again) != 0) {
			fprintf(stderr, "dpfleet-server: the passwords differ\n");
			goto done;
		}
	} else if (read_line(stdin, pw, PW_BUF) == -1) {
		fprintf(stderr, "dpfleet-server: cannot read the password from stdin (one line, at most %d "
		    "bytes)\n", AUTH_PASSWORD_MAX);
		goto done;
	}
	n = strlen(pw);
	if (n < AUTH_PASSWORD_MIN || n > AUTH_PASSWORD_MAX) {
		fprintf(stderr, "dpfleet-server: the password must be %d..%d bytes\n", AUTH_PASSWORD_MIN,
		    AUTH_PASSWORD_MAX);
		goto done;
	}
	rc = 0;
done:
	explicit_bzero(again, sizeof(again));
	if (rc == -1)
		explicit_bzero(pw, PW_BUF);
	return rc;
}

static int
name_ok(const char *name)
{
	size_t i, n = strlen(name);

	if (n == 0 || n > STORE_USER_NAME_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= 'A' && name[i] <= 'Z') ||
		    (name[i] >= '0' && name[i] <= '9') || strchr("._-@", name[i]) != NULL))
			return 0;
	return 1;
}

static void
cli_who(char *buf, size_t size)
{
	struct passwd *pw = getpwuid(getuid());

	if (pw != NULL)
		snprintf(buf, size, "cli:%s", pw->pw_name);
	else
		snprintf(buf, size, "cli:%lu", (unsigned long)getuid());
}

/*
 * The words after "user": *cmd, NAME and --role, checked against the synopsis (usage()).  0, or the usage
 * exit code 2 after printing the usage.
 */
static int
parse_args(int argc, char *argv[], const char **cmd, const char **name, const char **role)
{
	int k;

	*name = *role = NULL;
	if (argc < 2)
		return usage();
	*cmd = argv[1];
	for (k = 2; k < argc; k++) {
		if (strcmp(argv[k], "--role") == 0 && k + 1 < argc)
			*role = argv[++k];
		else if (strncmp(argv[k], "--role=", 7) == 0)
			*role = argv[k] + 7;
		else if (argv[k][0] == '-' || *name != NULL)
			return usage();
		else
			*name = argv[k];
	}
	if (strcmp(*cmd, "list") == 0 ? (*name != NULL || *role != NULL) :
	    (*name == NULL || ((strcmp(*cmd, "add") == 0) != (*role != NULL))))
		return usage();
	if (strcmp(*cmd, "add") != 0 && strcmp(*cmd, "passwd") != 0 && strcmp(*cmd, "disable") != 0 &&
	    strcmp(*cmd, "list") != 0)
		return usage();
	return 0;
}

/* `user list`: one tab-separated line per user on stdout.  0, or -1 with err. */
static int
user_list(struct store *st, char *err, size_t errlen)
{
	struct store_user *users;
	char now[UTIL_ISO_LEN];
	size_t n, i;

	if (store_user_list(st, &users, &n, err, errlen) == -1)
		return -1;
	util_iso_now(now);
	for (i = 0; i < n; i++)
		printf("%s\t%s\t%s\t%s\n", users[i].name, users[i].role,
		    users[i].disabled ? "disabled" : (users[i].locked_until[0] &&
		    strcmp(users[i].locked_until, now) > 0) ? "locked" : "enabled", users[i].created_at);
	free(users);
	return 0;
}

/* `user disable NAME`, audited as who.  0; 1 after printing that there is no such user; -1 with err. */
static int
user_disable(struct store *st, const char *who, const char *name, char *err, size_t errlen)
{
	int r;

	if ((r = store_user_disable(st, name, err, errlen)) == -1)
		return -1;
	if (r == 0) {
		fprintf(stderr, "dpfleet-server: no user %s\n", name);
		return 1;
	}
	if (store_audit(st, who, "user.disable", name, "ok", NULL, err, errlen) == -1)
		return -1;
	printf("user %s disabled\n", name);
	return 0;
}

/*
 * `user add NAME --role ROLE` (cmd "add") or `user passwd NAME`, audited as who: read the new password,
 * hash it and store it.  0; 1 after printing why (no such user, the password could not be read or is out of
 * bounds); -1 with err.  The password and its hash are wiped before return.
 */
static int
user_password(struct store *st, const char *who, const char *cmd, const char *name, const char *role, char *err,
    size_t errlen)
{
	struct store_user u;
	char pw[PW_BUF], hash[STORE_PWHASH_MAX], now[UTIL_ISO_LEN], detail[64];
	int add = strcmp(cmd, "add") == 0, r, rc = -1;

	memset(pw, 0, sizeof(pw));
	memset(hash, 0, sizeof(hash));
	if (!add && (r = store_user_get(st, name, &u, NULL, 0, err, errlen)) != 1) {
		if (r == 0)
			fprintf(stderr, "dpfleet-server: no user %s\n", name);
		return r == 0 ? 1 : -1;
	}
	if (read_password(pw) == -1)
		return 1;
	if (auth_hash_password(pw, hash, err, errlen) == -1)
		goto done;
	if (add) {
		util_iso_now(now);
		if (store_user_add(st, name, role, hash, now, err, errlen) == -1)
			goto done;
		snprintf(detail, sizeof(detail), "{\"role\": \"%s\"}", role);
		if (store_audit(st, who, "user.add", name, "ok", detail, err, errlen) == -1)
			goto done;
		printf("user %s added with role %s\n", name, role);
	} else {
		if ((r = store_user_set_password(st, name, hash, err, errlen)) != 1) {
			if (r == 0)
				fprintf(stderr, "dpfleet-server: no user %s\n", name);
			rc = r == 0 ? 1 : -1;
			goto done;
		}
		if (store_audit(st, who, "user.passwd", name, "ok", NULL, err, errlen) == -1)
			goto done;
		printf("password of %s changed\n", name);
	}
	rc = 0;
done:
	explicit_bzero(pw, sizeof(pw));
	explicit_bzero(hash, sizeof(hash));
	return rc;
}

int
usercli_main(const struct config *conf, int argc, char *argv[])
{
	struct store *st = NULL;
	char err[512], who[64];
	const char *cmd, *name, *role;
	int r;

	if ((r = parse_args(argc, argv, &cmd, &name, &role)) != 0)
		return r;
	if (name != NULL && !name_ok(name)) {
		fprintf(stderr, "dpfleet-server: a user name is 1..%d of A-Z a-z 0-9 . _ - @\n",
		    STORE_USER_NAME_MAX);
		return 1;
	}
	if (role != NULL && !store_role_valid(role)) {
		fprintf(stderr, "dpfleet-server: role must be viewer, operator or admin\n");
		return 2;
	}
	if (store_open(&st, conf->store.path, err, sizeof(err)) == -1) {
		fprintf(stderr, "dpfleet-server: %s\n", err);
		return 1;
	}
	cli_who(who, sizeof(who));
	if (strcmp(cmd, "list") == 0)
		r = user_list(st, err, sizeof(err));
	else if (strcmp(cmd, "disable") == 0)
		r = user_disable(st, who, name, err, sizeof(err));
	else
		r = user_password(st, who, cmd, name, role, err, sizeof(err));
	if (r == -1)
		fprintf(stderr, "dpfleet-server: %s\n", err);
	store_close(st);
	return r == 0 ? 0 : 1;
}
