/* test_cond.c: condvar waits on the monotonic clock. */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <time.h>

#include "base/cond.h"
#include "base/util.h"
#include "unit.h"

#include "base/banned.h"

struct flag {
	pthread_mutex_t	 lock;
	pthread_cond_t	 cond;
	bool		 set;
};

static void
flag_init(struct flag *f)
{
	pthread_mutex_init(&f->lock, NULL);
	rcp_cond_init_mono(&f->cond);
	f->set = false;
}

static void
flag_release(struct flag *f)
{
	pthread_cond_destroy(&f->cond);
	pthread_mutex_destroy(&f->lock);
}

static void
test_timeout(void)
{
	struct flag f;
	uint64_t t0, dl;
	int r = 0;

	flag_init(&f);
	pthread_mutex_lock(&f.lock);
	t0 = rcp_now_ns();
	dl = rcp_deadline_after(50);
	while (!f.set && r == 0)
		r = rcp_cond_wait_until(&f.cond, &f.lock, dl);
	CU_ASSERT_EQUAL(r, ETIMEDOUT);
	/*
	 * Neither early nor wildly late: a condvar on CLOCK_REALTIME would
	 * read a monotonic deadline as decades past and return at once.
	 */
	CU_ASSERT(rcp_now_ns() >= dl);
	CU_ASSERT(rcp_now_ns() - t0 < 5000000000ull);
	t0 = rcp_now_ns();
	r = 0;
	while (!f.set && r == 0)
		r = rcp_cond_wait_ms(&f.cond, &f.lock, 20);
	CU_ASSERT_EQUAL(r, ETIMEDOUT);
	CU_ASSERT(rcp_now_ns() - t0 >= 20000000u);
	/* A deadline already past times out at once. */
	CU_ASSERT_EQUAL(rcp_cond_wait_until(&f.cond, &f.lock, 1), ETIMEDOUT);
	pthread_mutex_unlock(&f.lock);
	flag_release(&f);
}

static void *
setter_main(void *arg)
{
	struct flag *f = arg;
	struct timespec ts = { 0, 20000000 };

	nanosleep(&ts, NULL);
	pthread_mutex_lock(&f->lock);
	f->set = true;
	pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->lock);
	return NULL;
}

static void
wait_woken(uint64_t dl)
{
	struct flag f;
	pthread_t th;
	int r = 0;

	flag_init(&f);
	CU_ASSERT_FATAL(pthread_create(&th, NULL, setter_main, &f) == 0);
	pthread_mutex_lock(&f.lock);
	while (!f.set && r == 0)
		r = rcp_cond_wait_until(&f.cond, &f.lock, dl);
	CU_ASSERT_EQUAL(r, 0);
	CU_ASSERT(f.set);
	pthread_mutex_unlock(&f.lock);
	pthread_join(th, NULL);
	flag_release(&f);
}

static void
test_woken(void)
{
	/* On CLOCK_REALTIME this deadline would have passed: ETIMEDOUT. */
	wait_woken(rcp_deadline_after(60000));
	/* 0, no deadline: an untimed wait. */
	wait_woken(rcp_deadline_after(-1));
}

void
test_cond_register(void)
{
	static const struct unit_test tests[] = {
		{ "timeout", test_timeout },
		{ "woken", test_woken },
		{ NULL, NULL }
	};

	unit_add_suite("cond", tests);
}
