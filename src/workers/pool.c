/*
 * pool.c: worker threads taking items off one priority queue.  The queue
 * is a doubly linked list kept in run order (priority, then arrival), so a
 * worker takes the first item whose group is under its cap.
 */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/util.h"
#include "workers/pool.h"

#include "base/banned.h"

/* A group with items running. */
struct group {
	struct group	*next;
	char		*name;
	int		 running;
};

struct rcp_pool {
	rcp_pool_fn		*fn;
	void			*arg;
	int			 group_cap;
	int			 nthreads;
	pthread_t		*threads;

	pthread_mutex_t		 lock;
	pthread_cond_t		 cond;		/* work queued, a slot freed, stop */
	struct rcp_pool_item	*head;		/* requires lock */
	struct rcp_pool_item	*tail;		/* requires lock */
	size_t			 queued;	/* requires lock */
	size_t			 running;	/* requires lock */
	struct group		*groups;	/* running groups; requires lock */
	bool			 stopping;	/* requires lock */
};

/* Returns the running group named name, or NULL; requires p->lock. */
static struct group *
group_find(struct rcp_pool *p, const char *name)
{
	struct group *g;

	for (g = p->groups; g != NULL; g = g->next)
		if (strcmp(g->name, name) == 0)
			return g;
	return NULL;
}

/* Returns true if an item of group name may start now; requires p->lock. */
static bool
group_has_room(struct rcp_pool *p, const char *name)
{
	struct group *g;

	if (name == NULL || p->group_cap <= 0)
		return true;
	g = group_find(p, name);
	return g == NULL || g->running < p->group_cap;
}

/* Counts a start in group name; returns it (NULL for none); requires lock. */
static struct group *
group_enter(struct rcp_pool *p, const char *name)
{
	struct group *g;

	if (name == NULL)
		return NULL;
	if ((g = group_find(p, name)) == NULL) {
		g = rcp_xcalloc(1, sizeof(*g));
		g->name = rcp_xstrdup(name);
		g->next = p->groups;
		p->groups = g;
	}
	g->running++;
	return g;
}

/* Counts an end in g and frees it when idle; requires p->lock. */
static void
group_leave(struct rcp_pool *p, struct group *g)
{
	struct group **gp;

	if (g == NULL || --g->running > 0)
		return;
	for (gp = &p->groups; *gp != g; gp = &(*gp)->next)
		;
	*gp = g->next;
	free(g->name);
	free(g);
}

/* Requires p->lock. */
static void
unlink_item(struct rcp_pool *p, struct rcp_pool_item *it)
{
	if (it->prev != NULL)
		it->prev->next = it->next;
	else
		p->head = it->next;
	if (it->next != NULL)
		it->next->prev = it->prev;
	else
		p->tail = it->prev;
	it->prev = it->next = NULL;
	it->queued = false;
	p->queued--;
}

/* The first item allowed to run now, or NULL; requires p->lock. */
static struct rcp_pool_item *
pick(struct rcp_pool *p)
{
	struct rcp_pool_item *it;

	for (it = p->head; it != NULL; it = it->next)
		if (group_has_room(p, it->group))
			return it;
	return NULL;
}

static void *
worker_main(void *arg)
{
	struct rcp_pool *p = arg;
	struct rcp_pool_item *it = NULL;
	struct group *g;
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	pthread_mutex_lock(&p->lock);
	for (;;) {
		while (!p->stopping && (it = pick(p)) == NULL)
			pthread_cond_wait(&p->cond, &p->lock);
		if (p->stopping)
			break;
		unlink_item(p, it);
		g = group_enter(p, it->group);
		p->running++;
		pthread_mutex_unlock(&p->lock);

		p->fn(p->arg, it);	/* it is the caller's again */

		pthread_mutex_lock(&p->lock);
		p->running--;
		group_leave(p, g);
		/* A slot freed: an item of a capped group may now start. */
		pthread_cond_broadcast(&p->cond);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

struct rcp_pool *
rcp_pool_new(int nthreads, int group_cap, rcp_pool_fn *fn, void *arg,
    char **cause)
{
	struct rcp_pool *p = rcp_xcalloc(1, sizeof(*p));
	int i, e;

	if (nthreads < 1)
		nthreads = 1;
	p->fn = fn;
	p->arg = arg;
	p->group_cap = group_cap;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	p->threads = rcp_xcalloc((size_t)nthreads, sizeof(pthread_t));
	for (i = 0; i < nthreads; i++) {
		if ((e = pthread_create(&p->threads[i], NULL, worker_main,
		    p)) != 0) {
			if (i > 0)
				break;	/* fewer threads than asked: still a pool */
			*cause = rcp_xasprintf("cannot start a worker thread: "
			    "%s", strerror(e));
			goto fail;
		}
		p->nthreads++;
	}
	return p;
fail:
	free(p->threads);
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
	free(p);
	return NULL;
}

void
rcp_pool_stop(struct rcp_pool *p)
{
	pthread_mutex_lock(&p->lock);
	p->stopping = true;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

void
rcp_pool_free(struct rcp_pool *p)
{
	struct rcp_pool_item *it, *next;
	int i;

	if (p == NULL)
		return;
	rcp_pool_stop(p);
	for (i = 0; i < p->nthreads; i++)
		pthread_join(p->threads[i], NULL);
	for (it = p->head; it != NULL; it = next) {
		next = it->next;
		it->prev = it->next = NULL;
		it->queued = false;
	}
	free(p->threads);
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

int
rcp_pool_push(struct rcp_pool *p, struct rcp_pool_item *it)
{
	struct rcp_pool_item *after;

	pthread_mutex_lock(&p->lock);
	if (p->stopping) {
		pthread_mutex_unlock(&p->lock);
		return RCP_ERR_CANCELED;
	}
	/* After the last item of the same or a higher priority. */
	for (after = p->tail; after != NULL && after->priority < it->priority;
	    after = after->prev)
		;
	it->prev = after;
	it->next = after != NULL ? after->next : p->head;
	if (it->next != NULL)
		it->next->prev = it;
	else
		p->tail = it;
	if (after != NULL)
		after->next = it;
	else
		p->head = it;
	it->queued = true;
	p->queued++;
	/* Broadcast: the one waiter signalled might be unable to take it. */
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	return 0;
}

bool
rcp_pool_remove(struct rcp_pool *p, struct rcp_pool_item *it)
{
	bool was;

	pthread_mutex_lock(&p->lock);
	if ((was = it->queued))
		unlink_item(p, it);
	pthread_mutex_unlock(&p->lock);
	return was;
}

void
rcp_pool_counts(struct rcp_pool *p, size_t *queued, size_t *running)
{
	pthread_mutex_lock(&p->lock);
	*queued = p->queued;
	*running = p->running;
	pthread_mutex_unlock(&p->lock);
}

int
rcp_pool_threads(const struct rcp_pool *p)
{
	return p->nthreads;
}
