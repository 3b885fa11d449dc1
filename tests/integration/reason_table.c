/*
 * reason_table.c — prints lib/reason.h's table as one JSON array of {"word", "transient", "meaning",
 * "next_step"} on stdout, read straight from reason_table(), not through the server.  server_api.py checks
 * every text the API, the CSV and the JSON exports carry against this output, so a copy anywhere else that
 * drifts from lib/reason.c fails that test.  Exit 0, or 1 when out of memory.
 */
#include "reason.h"

#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

int
main(void)
{
	const struct reason *t;
	json_t *list, *e;
	size_t i, n;
	int rc = 1;

	t = reason_table(&n);
	if ((list = json_array()) == NULL)
		return 1;
	for (i = 0; i < n; i++) {
		e = json_pack("{s:s, s:b, s:s, s:s}", "word", t[i].word, "transient", t[i].transient,
		    "meaning", t[i].meaning, "next_step", t[i].next_step);
		if (e == NULL || json_array_append_new(list, e) == -1)
			goto done;
	}
	if (json_dumpf(list, stdout, JSON_INDENT(1)) == 0 && putchar('\n') != EOF && fflush(stdout) == 0)
		rc = 0;
done:
	json_decref(list);
	return rc;
}
