/*
 * test_dbuf.c — lib/dbuf.c at its bounds: the cap hit exactly and by one byte, a length that would wrap
 * size_t, the sticky failure and reset, printf growth past the first allocation, drop, take and free.
 */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "dbuf.h"

static void
test_cap(void)
{
	struct dbuf b = { 0 };
	uint8_t *p;

	dbuf_init(&b, 8);
	CHECK(dbuf_add(&b, "12345678", 8) == 0 && b.len == 8 && b.data[8] == '\0');
	CHECK(dbuf_add(&b, "9", 1) == -1 && b.failed && b.len == 8);
	CHECK(dbuf_add(&b, "", 0) == -1);			/* sticky */
	dbuf_reset(&b);
	CHECK(!b.failed && b.len == 0 && b.max == 8);
	CHECK(dbuf_add(&b, "1234", 4) == 0 && dbuf_add(&b, "56789", 5) == -1 && b.len == 4);
	dbuf_reset(&b);
	CHECK(dbuf_add(&b, "ab", 2) == 0 && dbuf_add(&b, NULL, SIZE_MAX) == -1 && b.len == 2);
	dbuf_reset(&b);
	CHECK(dbuf_add(&b, "ab", 2) == 0 && dbuf_extend(&b, SIZE_MAX - 1) == NULL && b.failed);
	dbuf_reset(&b);
	CHECK((p = dbuf_extend(&b, 8)) != NULL && b.len == 8 && b.alloc <= 9);
	memcpy(p, "abcdefgh", 8);
	dbuf_drop(&b, 3);
	CHECK(b.len == 5 && memcmp(b.data, "defgh", 6) == 0);
	dbuf_free(&b);
	CHECK(b.data == NULL && b.len == 0 && b.max == 8);
	dbuf_free(&b);						/* twice is fine */
	dbuf_free(NULL);
}

static void
test_text(void)
{
	struct dbuf b = { 0 };
	size_t len, i;
	char *s;

	dbuf_init(&b, 1000);
	for (i = 0; i < 99; i++)
		CHECK(dbuf_addf(&b, "%s%zu", i ? "," : "", i % 10) == 0);
	CHECK(b.len == 197 && b.alloc >= 198 && strncmp((char *)b.data, "0,1,2", 5) == 0);
	CHECK(dbuf_addf(&b, "%900s", "x") == -1 && b.failed && b.len == 197 && b.data[197] == '\0');
	s = dbuf_take(&b, &len);
	CHECK(s == NULL && len == 0 && b.data == NULL);		/* a failed buffer hands out nothing */
	dbuf_init(&b, 4);
	CHECK(dbuf_addf(&b, "%d", 1234) == 0 && dbuf_addf(&b, "%d", 5) == -1);
	dbuf_reset(&b);
	CHECK((s = dbuf_take(&b, &len)) != NULL && len == 0 && s[0] == '\0');
	free(s);
	CHECK(dbuf_addf(&b, "ok") == 0 && (s = dbuf_take(&b, &len)) != NULL && len == 2 && strcmp(s, "ok") == 0);
	free(s);
	CHECK(b.max == 4 && b.data == NULL);
	dbuf_init(&b, 0);					/* a zero cap holds nothing but can be taken */
	CHECK(dbuf_add(&b, "x", 1) == -1);
	dbuf_free(&b);
}

int
main(void)
{
	test_cap();
	test_text();
	return check_done("dbuf");
}
