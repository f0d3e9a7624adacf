#include "config.h"

#include "targets/driver.h"
#include "targets/drivers.h"

#include <string.h>

static const struct target_driver *const drivers[] = {
	&driver_babelbird,
	&driver_compai,
	&driver_devin,
	&driver_dingtalk,
	&driver_rainbond,
	&driver_scim,
	&driver_rest,
	NULL,
};

const struct target_driver *driver_find(const char *name)
{
	for (size_t i = 0; drivers[i]; i++)
		if (strcmp(drivers[i]->name, name) == 0)
			return drivers[i];
	return NULL;
}

unsigned driver_ops(const struct target_driver *d, const void *driver_conf)
{
	unsigned ops = d->supported_ops ? d->supported_ops(driver_conf) : d->ops;
	return ops | OP_BIT(OP_ADD);
}

const char *push_op_name(enum push_op op)
{
	static const char *const names[OP__COUNT] = {
		[OP_ADD] = "add", [OP_UPDATE] = "update", [OP_DISABLE] = "disable",
		[OP_ENABLE] = "enable", [OP_DELETE] = "delete", [OP_LOOKUP] = "lookup",
	};
	return op < OP__COUNT ? names[op] : "?";
}

const struct target_driver *const *driver_list(void)
{
	return drivers;
}
