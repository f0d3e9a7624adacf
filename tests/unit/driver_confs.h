/* The targets the driver unit tests (tests/unit/test_drivers.c,
 * test_driver_*.c) and the driver fuzz target (tests/fuzz/fuzz_drivers.c)
 * both load, so each is written once. Each is a string literal to
 * concatenate into a config text: one element of the "targets" list,
 * without the separator after it (",\n" between elements, "\n" after the
 * last one). Targets only one file loads, or that a file maps differently,
 * stay in that file. */
#ifndef MS_TESTS_DRIVER_CONFS_H
#define MS_TESTS_DRIVER_CONFS_H

#define DRIVER_CONF_SOURCE "source = { uri = \"ldaps://h\"; base = \"dc=x\"; };\n"

/* rainbond */
#define DRIVER_CONF_RAINBOND_RB \
	" { name = \"rb\"; driver = \"rainbond\"; url = \"http://127.0.0.1:9/console/\";\n" \
	"   auth = { key_file = \"rb.key\"; };\n" \
	"   map = { nick_name = \"${uid}\"; email = \"${mail}\"; password = \"${random_password(12)}\";" \
	" enterprise_id = \"e\"; }; }"

/* rest: statuses, rules, form, every op, lookups */
#define DRIVER_CONF_REST_API \
	" { name = \"api\"; driver = \"rest\"; url = \"http://127.0.0.1:9/rest/members\";\n" \
	"   key = \"email\"; remote_id_path = \"data.id\"; success_status = [201];\n" \
	"   duplicate_status = [409, 400];\n" \
	"   auth = { key_file = \"rest.token\"; };\n" \
	"   map = { email = \"${mail}\"; }; }"

#define DRIVER_CONF_REST_DING \
	" { name = \"ding\"; driver = \"rest\"; url = \"http://127.0.0.1:9/user/{email}?x=1\"; method = \"PUT\";\n" \
	"   key = \"email\"; encoding = \"form\"; remote_id_path = \"result.userid\";\n" \
	"   auth = { type = \"query\"; key_file = \"rest.token\"; param = \"access_token\"; };\n" \
	"   secret_fields = [\"pw\"];\n" \
	"   rules = (\n" \
	"     { field = \"errcode\"; equals = 0; result = \"ok\"; },\n" \
	"     { field = \"errcode\"; equals = [60102, 60104]; result = \"duplicate\"; message = \"errmsg\"; },\n" \
	"     { field = \"errcode\"; equals = 90018; result = \"throttled\"; retry_after = \"wait\"; },\n" \
	"     { status = 200; field = \"errmsg\"; contains = \"quota\"; result = \"quota\"; }\n" \
	"   );\n" \
	"   map = { email = \"${mail}\"; dept = \"${ou[*]}\"; pw = \"${random_password(10)}\"; }; }"

#define DRIVER_CONF_REST_OPS \
	" { name = \"ops\"; driver = \"rest\"; url = \"http://127.0.0.1:9/rest/members\"; key = \"email\";\n" \
	"   auth = { key_file = \"rest.token\"; }; secret_fields = [\"pw\"];\n" \
	"   update = { url = \"http://127.0.0.1:9/rest/members/{id}\"; };\n" \
	"   disable = { url = \"http://127.0.0.1:9/rest/members/{id}\"; body = \"{\\\"active\\\":false}\"; };\n" \
	"   enable = { method = \"put\"; url = \"http://127.0.0.1:9/rest/members/{id}/activation\"; encoding = \"form\";\n" \
	"              body = \"active=1\"; };\n" \
	"   delete = { url = \"http://127.0.0.1:9/rest/members/{id}?by={key}\"; };\n" \
	"   lookup = { url = \"http://127.0.0.1:9/rest/members?email={key}\"; found_path = \"members\";\n" \
	"              id_path = \"members.0.id\"; };\n" \
	"   map = { email = \"${mail}\"; name = \"${cn}\"; pw = \"${random_password(10)}\"; }; }"

#define DRIVER_CONF_REST_BARE \
	" { name = \"bare\"; driver = \"rest\"; url = \"http://127.0.0.1:9/api/users\"; key = \"email\";\n" \
	"   auth = { key_file = \"rest.token\"; }; encoding = \"form\";\n" \
	"   update = { method = \"PATCH\"; url = \"http://127.0.0.1:9/api/users/{id}\"; success_status = 200;\n" \
	"              rules = ( { field = \"errcode\"; equals = 0; result = \"ok\"; },\n" \
	"                        { field = \"errcode\"; equals = 60121; result = \"absent\"; message = \"errmsg\"; },\n" \
	"                        { status = 200; result = \"invalid\"; message = \"errmsg\"; } ); };\n" \
	"   lookup = { url = \"http://127.0.0.1:9/api/users?q={key}\"; id_path = \"0.id\"; absent_status = [404, 400]; };\n" \
	"   map = { email = \"${mail}\"; }; }"

#define DRIVER_CONF_REST_NOID \
	" { name = \"noid\"; driver = \"rest\"; url = \"http://127.0.0.1:9/api/users\"; key = \"email\";\n" \
	"   auth = { key_file = \"rest.token\"; }; remote_id_path = \"id\";\n" \
	"   update = { url = \"http://127.0.0.1:9/api/users/{id}\"; };\n" \
	"   delete = { url = \"http://127.0.0.1:9/api/users/by-email/{key}\"; };\n" \
	"   map = { email = \"${mail}\"; }; }"

/* All of the above, in this order: the targets of test_drivers.c. */
#define DRIVER_CONF_RAINBOND_REST \
	DRIVER_CONF_RAINBOND_RB ",\n" \
	DRIVER_CONF_REST_API ",\n" \
	DRIVER_CONF_REST_DING ",\n" \
	DRIVER_CONF_REST_OPS ",\n" \
	DRIVER_CONF_REST_BARE ",\n" \
	DRIVER_CONF_REST_NOID

/* dingtalk */
#define DRIVER_CONF_DINGTALK_CUSTOM \
	" { name = \"custom\"; driver = \"dingtalk\"; url = \"http://127.0.0.1:9\";\n" \
	"   auth = { type = \"dingtalk\"; appkey_file = \"dt.appkey\"; appsecret_file = \"dt.appsecret\";\n" \
	"            token_path = \"/v2/token\"; refresh_margin = 60; refused_codes = [ 40096 ]; };\n" \
	"   key = \"userid\"; throttle_wait = 0; invalid_codes = [ 60103 ]; duplicate_codes = [ 60104, 77777 ];\n" \
	"   quota_codes = []; rate_limit = 5;\n" \
	"   map = { name = \"${cn}\"; mobile = \"${mobile}\"; dept_id_list = \"1\"; userid = \"${uid}\"; }; }"

#define DRIVER_CONF_DINGTALK_MAIL \
	" { name = \"mail\"; driver = \"dingtalk\"; url = \"http://127.0.0.1:9\"; key = \"email\";\n" \
	"   auth = { appkey_file = \"dt.appkey\"; appsecret_file = \"dt.appsecret\"; }; absent_codes = [ 60121, 60999 ];\n" \
	"   map = { name = \"${cn}\"; mobile = \"${mobile}\"; dept_id_list = \"1\"; email = \"${mail}\"; }; }"

/* babelbird */
#define DRIVER_CONF_BABELBIRD_BBJSON \
	" { name = \"bbjson\"; driver = \"babelbird\"; url = \"http://127.0.0.1:9\"; encoding = \"json\";\n" \
	"   add_path = \"/v2/members/add\"; lookup_path = \"v2/members/search\";\n" \
	"   remote_id_path = \"result.member.id\"; message_path = \"error.text\";\n" \
	"   duplicate_codes = [30001, 30002]; invalid_codes = 30100; auth_codes = [];\n" \
	"   lookup_list_path = \"result.items\"; lookup_id_field = \"uid\"; lookup_email_field = \"mail\";\n" \
	"   update_path = \"/v2/members/update\"; update_id_param = \"uid\"; absent_codes = [30404, 30405];\n" \
	"   auth = { client_id = \"cid-2\"; client_secret_file = \"bb.secret\";\n" \
	"            redirect_uri = \"http://localhost/cb\"; jwt_ttl = 60; refresh_margin = 10;\n" \
	"            authorize_path = \"/oauth/jwt\"; token_path = \"oauth/token\";\n" \
	"            refresh_path = \"/oauth/refresh\"; code_path = \"result.auth_code\";\n" \
	"            refresh_basic_auth = false; };\n" \
	"   map = { email = \"${mail}\"; password = \"x\"; name = \"${cn}\";\n" \
	"           department_ids = \"${departmentNumber[*]}\"; enterprise_role = 2; }; }"

#define DRIVER_CONF_BABELBIRD_BBID \
	" { name = \"bbid\"; driver = \"babelbird\"; url = \"http://127.0.0.1:9\"; key = \"babelId\";\n" \
	"   auth = { client_id = \"cid-1\"; client_secret_file = \"bb.secret\"; redirect_uri = \"https://ms.example/cb\"; };\n" \
	"   map = { email = \"${mail}\"; password = \"x\"; name = \"${cn}\"; babelId = \"${employeeNumber}\"; }; }"

/* compai */
#define DRIVER_CONF_COMPAI_INV \
	" { name = \"inv\"; driver = \"compai\"; url = \"http://127.0.0.1:9\";\n" \
	"   invite = true; list_ttl = 1; list_deactivated = false; duplicate_text = \"IS ALREADY\";\n" \
	"   batch_size = 10; retry_delay = 0.2; retry_max_delay = 0.4;\n" \
	"   auth = { key_file = \"ca.key\"; header = \"Authorization\"; scheme = \"Bearer\"; };\n" \
	"   map = { email = \"${mail}\"; role = \"employee\"; }; }"

#define DRIVER_CONF_COMPAI_UK \
	" { name = \"uk\"; driver = \"compai\"; url = \"http://127.0.0.1:9\"; key = \"userId\";\n" \
	"   auth = { key_file = \"ca.key\"; };\n" \
	"   map = { userId = \"${uid}\"; role = \"employee\"; }; }"

/* devin */
#define DRIVER_CONF_DEVIN_DV \
	" { name = \"dv\"; driver = \"devin\"; url = \"http://127.0.0.1:9/api/\"; org_id = \"org-1\";\n" \
	"   auth = { key_file = \"devin.key\"; };\n" \
	"   map = { email = \"${mail}\"; }; }"

#define DRIVER_CONF_DEVIN_DVI \
	" { name = \"dvi\"; driver = \"devin\"; url = \"http://127.0.0.1:9/api\"; org_id = \"org/7\xc3\xa9\";\n" \
	"   org_role = \"org_admin\"; group_names = [\"eng\", \"all staff\"]; invite = true; invite_wait = 600;\n" \
	"   batch_size = 10;\n" \
	"   auth = { key_file = \"devin.key\"; };\n" \
	"   map = { email = \"${mail | lower}\"; user_id = \"${employeeNumber}\"; }; }"

/* scim: the "ent" target but for its map, which each file gives (then
 * " }" closes the target). */
#define DRIVER_CONF_SCIM_ENT_HEAD \
	" { name = \"ent\"; driver = \"scim\"; url = \"https://idp.example.com/api\"; users_path = \"/v2/Users\";\n" \
	"   enterprise_extension = true; email_type = \"home\"; phone_type = \"mobile\";\n" \
	"   media_type = \"application/json\"; key = \"externalId\";\n" \
	"   auth = { key_file = \"scim.token\"; };\n"

#endif
