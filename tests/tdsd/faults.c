/*
 * faults.c — parses the dpfleet-tdsd fault file (JSON, via Jansson) into a struct faults.  tdsd.c calls
 * faults_load() once at start (a broken file is fatal there) and again for every accepted connection, so a
 * test can rewrite the file while the server runs.  Strict: unknown keys and wrong types are errors, so a
 * typo in a test cannot silently disable a fault.
 */
#include "faults.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util.h"

#define FAULTS_FILE_MAX	(64 * 1024)
#define FAULTS_MS_MAX	(3600L * 1000)

void
faults_clear(struct faults *f)
{
	memset(f, 0, sizeof(*f));
	f->drop_after_bytes = -1;
	f->truncate_reply_bytes = -1;
}

static int
get_count(json_t *v, const char *key, long max, long *out, char *err, size_t errlen)
{
	json_int_t n;

	if (!json_is_integer(v))
		return util_err(err, errlen, "%s: not an integer", key);
	n = json_integer_value(v);
	if (n < 0 || n > max)
		return util_err(err, errlen, "%s: %lld out of range 0..%ld", key, (long long)n, max);
	*out = (long)n;
	return 0;
}

int
faults_load(const char *path, struct faults *f, char *err, size_t errlen)
{
	json_t		*root = NULL, *v;
	json_error_t	 jerr;
	const char	*key;
	char		*text = NULL;
	size_t		 len;
	int		 rc = -1;

	faults_clear(f);
	if ((text = util_read_file(path, FAULTS_FILE_MAX, &len, err, errlen)) == NULL)
		return -1;
	if ((root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr)) == NULL) {
		util_err(err, errlen, "%s:%d: %s", path, jerr.line, jerr.text);
		goto done;
	}
	if (!json_is_object(root)) {
		util_err(err, errlen, "%s: not a JSON object", path);
		goto done;
	}
	json_object_foreach(root, key, v) {
		if (strcmp(key, "login_delay_ms") == 0) {
			if (get_count(v, key, FAULTS_MS_MAX, &f->login_delay_ms, err, errlen) == -1)
				goto done;
		} else if (strcmp(key, "query_delay_ms") == 0) {
			if (get_count(v, key, FAULTS_MS_MAX, &f->query_delay_ms, err, errlen) == -1)
				goto done;
		} else if (strcmp(key, "drop_after_bytes") == 0) {
			if (get_count(v, key, 1L << 30, &f->drop_after_bytes, err, errlen) == -1)
				goto done;
		} else if (strcmp(key, "truncate_reply_bytes") == 0) {
			if (get_count(v, key, 1L << 30, &f->truncate_reply_bytes, err, errlen) == -1)
				goto done;
		} else if (strcmp(key, "login_reject") == 0) {
			if (!json_is_boolean(v)) {
				util_err(err, errlen, "login_reject: not a boolean");
				goto done;
			}
			f->login_reject = json_is_true(v);
		} else if (strcmp(key, "login_untrusted") == 0) {
			if (!json_is_boolean(v)) {
				util_err(err, errlen, "login_untrusted: not a boolean");
				goto done;
			}
			f->login_untrusted = json_is_true(v);
		} else if (strcmp(key, "match") == 0) {
			if (!json_is_string(v) || json_string_length(v) >= sizeof(f->match) ||
			    strlen(json_string_value(v)) != json_string_length(v)) {
				util_err(err, errlen, "match: not a string of at most %zu bytes", sizeof(f->match) - 1);
				goto done;
			}
			util_strlcpy(f->match, json_string_value(v), sizeof(f->match));
		} else {
			util_err(err, errlen, "%s: unknown key \"%s\"", path, key);
			goto done;
		}
	}
	rc = 0;
done:
	if (rc == -1)
		faults_clear(f);
	json_decref(root);
	free(text);
	return rc;
}

int
faults_match(const struct faults *f, const char *sql)
{
	return f->match[0] == '\0' || strcasestr(sql, f->match) != NULL;
}
