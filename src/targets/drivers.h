/* Every built-in driver; private to src/targets (registry.c lists them). */
#ifndef MS_TARGETS_DRIVERS_H
#define MS_TARGETS_DRIVERS_H

#include "targets/driver.h"

extern const struct target_driver driver_babelbird;
extern const struct target_driver driver_compai;
extern const struct target_driver driver_devin;
extern const struct target_driver driver_dingtalk;
extern const struct target_driver driver_rainbond;
extern const struct target_driver driver_rest;
extern const struct target_driver driver_scim;

#endif
