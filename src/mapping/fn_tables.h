/* Private to src/mapping: one table of functions per fn_*.c file, so a
 * family of functions (time, phone, DN...) is one file and one line here. */
#ifndef MS_MAPPING_FN_TABLES_H
#define MS_MAPPING_FN_TABLES_H

#include "mapping/functions.h"

struct mfunc_table {
	const struct mfunc *funcs;
	size_t n;
};

/* Table lines: a plain function, and one with literal arguments that a
 * prepare step checks and compiles at load time. */
#define MFUNC_PLAIN(name_, min_, max_, fn_, usage_)                                                      \
	{                                                                                                \
		.name = (name_), .min_args = (min_), .max_args = (max_), .fn = (fn_), .usage = (usage_) \
	}
#define MFUNC_PREPARED(name_, min_, max_, fn_, usage_, literal_args_, prepare_, free_data_)              \
	{                                                                                                \
		.name = (name_), .min_args = (min_), .max_args = (max_), .fn = (fn_), .usage = (usage_), \
		.literal_args = (literal_args_), .prepare = (prepare_), .free_data = (free_data_)        \
	}

#define MFUNC_TABLE(name, array) const struct mfunc_table name = { array, sizeof(array) / sizeof((array)[0]) }

extern const struct mfunc_table mfunc_text_table; /* fn_text.c */
extern const struct mfunc_table mfunc_list_table; /* fn_list.c */
extern const struct mfunc_table mfunc_logic_table; /* fn_logic.c */
extern const struct mfunc_table mfunc_time_table; /* fn_time.c */
extern const struct mfunc_table mfunc_phone_table; /* fn_phone.c */
extern const struct mfunc_table mfunc_dn_table; /* fn_dn.c */
extern const struct mfunc_table mfunc_codec_table; /* fn_codec.c */
extern const struct mfunc_table mfunc_password_table; /* fn_password.c */

#endif
