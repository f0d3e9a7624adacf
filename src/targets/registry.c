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

const struct target_driver *const *driver_list(void)
{
	return drivers;
}
