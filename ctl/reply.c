/*
 * reply.c: reading the members of the master's replies.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <jansson.h>

#include "ctl/reply.h"

#include "base/banned.h"

double
rcpctl_num(const json_t *o, const char *key)
{
	return json_number_value(json_object_get(o, key));
}

const char *
rcpctl_str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : "-";
}
