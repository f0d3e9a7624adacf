#include "config.h"

#include "mapping/fn_tables.h"

const struct mfunc_table mfunc_phone_table = { NULL, 0 };
