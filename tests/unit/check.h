/*
 * check.h — the few assertion macros the C unit tests share.  A failed CHECK prints file:line and the
 * expression and makes the program exit 1 at the end (check_done), so one run reports every failure.
 */
#ifndef DPFLEET_CHECK_H
#define DPFLEET_CHECK_H

#include <stdio.h>
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

#endif
