/*
 * check.h — the few assertion macros the C unit tests share.  A failed CHECK prints file:line and the
 * expression and makes the program exit 1 at the end (check_done), so one run reports every failure.
 * check_tmpdir/check_rmtree: a test's scratch directory, made and removed with everything in it.
 */
#ifndef DPFLEET_CHECK_H
#define DPFLEET_CHECK_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check_failures;
static int check_count;

#define CHECK(expr) do { \
	check_count++; \
	if (!(expr)) { \
		fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #expr); \
		check_failures++; \
	} \
} while (0)

#define CHECK_STR(a, b) do { \
	const char *check_a_ = (a), *check_b_ = (b); \
	check_count++; \
	if (check_a_ == NULL || check_b_ == NULL || strcmp(check_a_, check_b_) != 0) { \
		fprintf(stderr, "%s:%d: CHECK_STR failed: %s == \"%s\", expected \"%s\"\n", __FILE__, __LINE__, \
		    #a, check_a_ ? check_a_ : "(null)", check_b_ ? check_b_ : "(null)"); \
		check_failures++; \
	} \
} while (0)

static inline int
check_done(const char *name)
{
	printf("%s: %d checks, %d failed\n", name, check_count, check_failures);
	return check_failures == 0 && check_count > 0 ? 0 : 1;
}

/* A fresh directory from the mkdtemp template tmpl (rewritten in place): tmpl, or NULL after perror. */
static inline char *
check_tmpdir(char *tmpl)
{
	if (mkdtemp(tmpl) == NULL) {
		perror("mkdtemp");
		return NULL;
	}
	return tmpl;
}

static inline int
check_rm_(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* Remove dir and everything below it (links not followed): 0, or -1 after a message on stderr. */
static inline int
check_rmtree(const char *dir)
{
	if (nftw(dir, check_rm_, 16, FTW_DEPTH | FTW_PHYS) != 0) {
		fprintf(stderr, "could not remove %s\n", dir);
		return -1;
	}
	return 0;
}

#endif
