/* test_throttle.c: the rate limiter holds its rate and honours cancel. */
#include <pthread.h>
#include <stdatomic.h>

#include "base/error.h"
#include "base/throttle.h"
#include "base/util.h"
#include "unit.h"

#include "base/banned.h"

static void
test_unlimited(void)
{
	struct rcp_throttle t;
	int i;

	rcp_throttle_init(&t, 0);
	for (i = 0; i < 100000; i++)
		CU_ASSERT_EQUAL_FATAL(rcp_throttle_take(&t, 1, NULL), 0);
	rcp_throttle_release(&t);
}

static void
test_rate(void)
{
	struct rcp_throttle t;
	uint64_t start, ns;
	int i;

	/* 21 tokens at 100/s: the 21st waits for 200 ms after the first. */
	rcp_throttle_init(&t, 100);
	start = rcp_now_ns();
	for (i = 0; i < 21; i++)
		rcp_throttle_take(&t, 1, NULL);
	ns = rcp_now_ns() - start;
	CU_ASSERT_TRUE(ns >= 195000000u);
	rcp_throttle_release(&t);
}

struct canceler {
	atomic_bool	*flag;
};

static void *
cancel_soon(void *arg)
{
	struct canceler *cc = arg;
	struct timespec ts = { 0, 50000000 };

	nanosleep(&ts, NULL);
	atomic_store(cc->flag, true);
	return NULL;
}

static void
test_cancel(void)
{
	struct rcp_throttle t;
	atomic_bool flag = false;
	struct canceler cc = { &flag };
	pthread_t th;

	/* One token a second: the second take would wait 1 s. */
	rcp_throttle_init(&t, 1);
	CU_ASSERT_EQUAL(rcp_throttle_take(&t, 1, &flag), 0);
	pthread_create(&th, NULL, cancel_soon, &cc);
	CU_ASSERT_EQUAL(rcp_throttle_take(&t, 1, &flag), RCP_ERR_CANCELED);
	pthread_join(th, NULL);
	rcp_throttle_release(&t);
}

void
test_throttle_register(void)
{
	static const struct unit_test tests[] = {
		{ "unlimited", test_unlimited },
		{ "rate", test_rate },
		{ "cancel", test_cancel },
		{ NULL, NULL }
	};

	unit_add_suite("throttle", tests);
}
