/* The request-shaping pieces: rate limiter, backoff, body encoders, and
 * the work queues the push engine uses. */
#include "config.h"

#include "http/backoff.h"
#include "http/encode.h"
#include "http/ratelimit.h"
#include "unit.h"
#include "util/minheap.h"
#include "util/ptrq.h"

#define SEC 1000000u

static void test_ratelimit_steady(void)
{
	struct ratelimit rl;
	ratelimit_init(&rl, 10, 0, 0);
	/* The bucket starts full (burst = rate). */
	for (int i = 0; i < 10; i++)
		CU_ASSERT_EQUAL(ratelimit_take(&rl, 0), 0);
	CU_ASSERT_EQUAL(ratelimit_take(&rl, 0), 100000);
	/* Then one token every 100 ms: 100 requests over 10 s. */
	unsigned sent = 0;
	for (uint64_t t = 0; t <= 10 * SEC; t += 1000)
		if (ratelimit_take(&rl, t) == 0)
			sent++;
	CU_ASSERT(sent >= 99 && sent <= 101);
}

static void test_ratelimit_unlimited(void)
{
	struct ratelimit rl;
	ratelimit_init(&rl, 0, 0, 0);
	for (int i = 0; i < 100000; i++)
		CU_ASSERT_EQUAL_FATAL(ratelimit_take(&rl, (uint64_t)i), 0);
	CU_ASSERT_EQUAL(ratelimit_rate(&rl), 0);
}

static void test_ratelimit_adapts(void)
{
	struct ratelimit rl;
	ratelimit_init(&rl, 20, 0, 0);
	ratelimit_throttled(&rl, 0);
	CU_ASSERT_DOUBLE_EQUAL(ratelimit_rate(&rl), 10, 1e-9);
	ratelimit_throttled(&rl, 0);
	CU_ASSERT_DOUBLE_EQUAL(ratelimit_rate(&rl), 5, 1e-9);
	/* Additive recovery: a fiftieth of the ceiling per success. */
	ratelimit_success(&rl);
	CU_ASSERT_DOUBLE_EQUAL(ratelimit_rate(&rl), 5.4, 1e-9);
	for (int i = 0; i < 100; i++)
		ratelimit_success(&rl);
	CU_ASSERT_DOUBLE_EQUAL(ratelimit_rate(&rl), 20, 1e-9);
	/* Never below the floor. */
	for (int i = 0; i < 20; i++)
		ratelimit_throttled(&rl, 0);
	CU_ASSERT_DOUBLE_EQUAL(ratelimit_rate(&rl), 0.1, 1e-9);
}

static void test_ratelimit_learns_when_unlimited(void)
{
	struct ratelimit rl;
	ratelimit_init(&rl, 0, 0, 0);
	/* 40 requests/s for two seconds, then the API objects. */
	for (uint64_t t = 0; t < 2 * SEC; t += SEC / 40)
		ratelimit_take(&rl, t);
	ratelimit_throttled(&rl, 2 * SEC);
	CU_ASSERT(ratelimit_rate(&rl) > 15 && ratelimit_rate(&rl) < 25);
	/* After a throttle the bucket is nearly empty: no burst. */
	CU_ASSERT(ratelimit_take(&rl, 2 * SEC) > 0 || ratelimit_take(&rl, 2 * SEC) > 0);
	/* Accepted requests raise the learnt rate past what was learnt... */
	for (int i = 0; i < 100; i++)
		ratelimit_success(&rl);
	CU_ASSERT(ratelimit_rate(&rl) > 50);
	/* ...until, at four times it, the target is unlimited again. */
	for (int i = 0; i < 300 && ratelimit_rate(&rl) > 0; i++)
		ratelimit_success(&rl);
	CU_ASSERT_EQUAL(ratelimit_rate(&rl), 0);
}

static void test_ratelimit_early_refusal(void)
{
	struct ratelimit rl;
	ratelimit_init(&rl, 0, 0, 0);
	/* Four requests within a millisecond, then a refusal: the estimate
	 * spans 100 ms (40/s), not one millisecond (4000/s) or a second (4/s). */
	for (uint64_t t = 0; t < 4; t++)
		ratelimit_take(&rl, t * 100);
	ratelimit_throttled(&rl, 1000);
	CU_ASSERT_DOUBLE_EQUAL(ratelimit_rate(&rl), 20, 1e-9);
}

static void test_backoff(void)
{
	CU_ASSERT_EQUAL(backoff_delay_usec(1, SEC, 60 * SEC, 0), SEC / 2);
	CU_ASSERT_EQUAL(backoff_delay_usec(1, SEC, 60 * SEC, 1), SEC);
	CU_ASSERT_EQUAL(backoff_delay_usec(3, SEC, 60 * SEC, 1), 4 * SEC);
	CU_ASSERT_EQUAL(backoff_delay_usec(30, SEC, 60 * SEC, 1), 60 * SEC);
	CU_ASSERT_EQUAL(backoff_delay_usec(30, SEC, 60 * SEC, 0), 30 * SEC);
	for (int i = 0; i < 1000; i++) {
		double r = backoff_random();
		CU_ASSERT(r >= 0 && r < 1);
	}
}

static void test_encode(void)
{
	json_object *o = json_tokener_parse("{\"email\":\"a b@x.org\",\"ids[]\":\"\",\"dept\":[\"1\",\"2&3\"],"
					    "\"n\":5,\"ok\":true,\"none\":null,\"obj\":{\"k\":\"v\"},\"cn\":\"张\"}");
	size_t len;
	char *s = encode_body(BODY_FORM, o, &len);
	CU_ASSERT_STRING_EQUAL(s, "email=a%20b%40x.org&ids%5B%5D=&dept%5B%5D=1&dept%5B%5D=2%263&n=5&ok=true"
				  "&obj=%7B%22k%22%3A%22v%22%7D&cn=%E5%BC%A0");
	CU_ASSERT_EQUAL(len, strlen(s));
	free(s);
	s = encode_body(BODY_JSON, o, &len);
	CU_ASSERT_STRING_EQUAL(s, "{\"email\":\"a b@x.org\",\"ids[]\":\"\",\"dept\":[\"1\",\"2&3\"],\"n\":5,\"ok\":true,"
				  "\"none\":null,\"obj\":{\"k\":\"v\"},\"cn\":\"张\"}");
	free(s);
	json_object_put(o);
	enum body_encoding e;
	CU_ASSERT_EQUAL(encode_parse_name("form", &e), 0);
	CU_ASSERT_EQUAL(e, BODY_FORM);
	CU_ASSERT_EQUAL(encode_parse_name("xml", &e), -EINVAL);
	CU_ASSERT_STRING_EQUAL(encode_content_type(BODY_JSON), "application/json");
	s = encode_url_component("a/b?c=d e~_-.", 13);
	CU_ASSERT_STRING_EQUAL(s, "a%2Fb%3Fc%3Dd%20e~_-.");
	free(s);
}

static void test_queues(void)
{
	struct ptrq q = { 0 };
	int v[100];
	for (int i = 0; i < 100; i++)
		ptrq_push_back(&q, &v[i]);
	ptrq_push_front(&q, &v[99]);
	CU_ASSERT_PTR_EQUAL(ptrq_pop_front(&q), &v[99]);
	for (int i = 0; i < 50; i++)
		CU_ASSERT_PTR_EQUAL(ptrq_pop_front(&q), &v[i]);
	/* Wrap around the ring while growing. */
	for (int i = 0; i < 40; i++)
		ptrq_push_front(&q, &v[i]);
	for (int i = 39; i >= 0; i--)
		CU_ASSERT_PTR_EQUAL(ptrq_pop_front(&q), &v[i]);
	for (int i = 50; i < 100; i++)
		CU_ASSERT_PTR_EQUAL(ptrq_pop_front(&q), &v[i]);
	CU_ASSERT_PTR_NULL(ptrq_pop_front(&q));
	ptrq_release(&q);

	struct minheap h = { 0 };
	uint64_t keys[] = { 50, 10, 40, 10, 90, 1, 70 };
	for (size_t i = 0; i < 7; i++)
		minheap_push(&h, keys[i], &keys[i]);
	uint64_t last = 0, k;
	for (size_t i = 0; i < 7; i++) {
		CU_ASSERT(minheap_peek(&h, &k));
		uint64_t *p = minheap_pop(&h);
		CU_ASSERT_EQUAL(*p, k);
		CU_ASSERT(k >= last);
		last = k;
	}
	CU_ASSERT(!minheap_peek(&h, &k));
	CU_ASSERT_PTR_NULL(minheap_pop(&h));
	minheap_release(&h);
}

int main(void)
{
	static const struct unit_test tests[] = {
		{ "rate limit: steady rate", test_ratelimit_steady },
		{ "rate limit: unlimited", test_ratelimit_unlimited },
		{ "rate limit: halves and recovers", test_ratelimit_adapts },
		{ "rate limit: learns a rate when unlimited", test_ratelimit_learns_when_unlimited },
		{ "rate limit: an early refusal", test_ratelimit_early_refusal },
		{ "backoff", test_backoff },
		{ "body encoders", test_encode },
		{ "queues", test_queues },
		{ NULL, NULL },
	};
	return unit_run("http", tests);
}
