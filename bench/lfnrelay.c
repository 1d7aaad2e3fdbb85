/*
 * lfnrelay.c: a long fat network between two network namespaces, for the
 * WAN test (tests/e2e/wan.sh) and benchmark (bench/bench-wan.sh) -- this
 * kernel has no netem.  It opens a TUN device inside each namespace and
 * forwards the IP packets read from one to the other, each direction a
 * bottleneck link: a rate cap (a packet leaves at max(now, last departure)
 * + len * 8 / rate), a bounded FIFO in front of it (tail drop past
 * --queue bytes, 1.5 x the bandwidth-delay product by default) and a
 * one-way delay of RTT/2 after it.  The caller gives each device its
 * address and MTU (ip -n NS addr/link): nothing leaves the two namespaces.
 *
 *   lfnrelay --a NS:DEV --b NS:DEV --rate 1g --rtt 50 [--queue BYTES] [--gso]
 *
 * One thread, one poll loop: reads are drained in batches, packets wait in
 * a byte ring per direction (no allocation per packet) and are written
 * when due, so a packet costs one read and one write.  With --gso the
 * devices take GSO packets (virtio-net headers, TSO and UDP segmentation
 * offload), up to 64 KiB a read, the way a NIC with offloads hands them to
 * the stack; the cap counts each one's bytes.  Runs until SIGTERM or
 * SIGINT (or its parent dies), then prints what it forwarded and dropped.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "base/banned.h"

/* UDP segmentation offload on TUN (Linux 6.2); older headers lack it. */
#ifndef TUN_F_USO4
#define TUN_F_USO4 0x20
#define TUN_F_USO6 0x40
#endif

/* The largest packet a device hands over (a GSO packet, with its header). */
#define PKT_MAX (65536 + 64)
/* Packets read from one device before the loop looks at the other. */
#define READ_BATCH 64
/* A packet due within this much is written now: saves a wake-up. */
#define EARLY_NS 20000
#define NS_PER_S 1000000000ull

/* One queued packet in a ring: this header, then len bytes, 8-aligned. */
struct slot {
	uint64_t	due;		/* ns, CLOCK_MONOTONIC */
	uint32_t	len;		/* 0: a wrap marker */
	uint32_t	pad;
};

/* One direction: packets read from in, queued, written to out. */
struct dir {
	const char	*name;		/* "a->b" */
	int		 in, out;
	uint8_t		*ring;
	size_t		 size, head, tail;	/* bytes; head == tail: empty */
	uint64_t	 last_depart;	/* ns: the bottleneck is busy until */
	uint64_t	 fwd_pkts, fwd_bytes, drop_pkts, drop_bytes;
	uint64_t	 max_backlog;	/* bytes in the bottleneck queue */
};

static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* Says what failed and, for err != 0, its cause; then exits 1. */
static void __attribute__((format(printf, 2, 3), noreturn))
die(int err, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "lfnrelay: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (err != 0)
		fprintf(stderr, ": %s", strerror(err));
	fputc('\n', stderr);
	exit(1);
}

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

/* "1g", "50m", "800k", "1000000": bits per second, or 0 if malformed. */
static uint64_t
parse_rate(const char *s)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || end == s || v == 0)
		return 0;
	switch (*end) {
	case 'g': case 'G': v *= 1000000000ull; end++; break;
	case 'm': case 'M': v *= 1000000ull; end++; break;
	case 'k': case 'K': v *= 1000ull; end++; break;
	default: break;
	}
	return *end == '\0' && v <= 100000000000ull ? v : 0;
}

/* A non-negative number up to max, or -1 if malformed. */
static long long
parse_num(const char *s, long long max)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 0 || v > max)
		return -1;
	return v;
}

/*
 * Opens a TUN device named dev inside the network namespace ns (a name
 * under /run/netns, as `ip netns add` makes), and comes back to ours.  The
 * device lives as long as the descriptor: it goes when the relay ends.
 */
static int
open_tun(const char *spec, bool gso)
{
	char path[PATH_MAX], ns[256];
	const char *colon = strchr(spec, ':');
	struct ifreq ifr;
	int self, nsfd, fd, hdr = (int)sizeof(struct virtio_net_hdr);
	unsigned off = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 |
	    TUN_F_USO4 | TUN_F_USO6;

	if (colon == NULL || colon == spec || (size_t)(colon - spec) >=
	    sizeof(ns) || strlen(colon + 1) == 0 ||
	    strlen(colon + 1) >= IFNAMSIZ)
		die(0, "'%s': expected NAMESPACE:DEVICE", spec);
	memcpy(ns, spec, (size_t)(colon - spec));
	ns[colon - spec] = '\0';
	snprintf(path, sizeof(path), "/run/netns/%s", ns);
	if ((self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC)) < 0)
		die(errno, "cannot open '%s'", "/proc/self/ns/net");
	if ((nsfd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		die(errno, "cannot open '%s'", path);
	if (setns(nsfd, CLONE_NEWNET) != 0)
		die(errno, "cannot enter the network namespace '%s'", ns);
	if ((fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC)) < 0)
		die(errno, "cannot open '%s'", "/dev/net/tun");
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI | (gso ? IFF_VNET_HDR : 0);
	memcpy(ifr.ifr_name, colon + 1, strlen(colon + 1));
	if (ioctl(fd, TUNSETIFF, &ifr) != 0)
		die(errno, "cannot make the TUN device '%s'", spec);
	if (gso && (ioctl(fd, TUNSETVNETHDRSZ, &hdr) != 0 ||
	    ioctl(fd, TUNSETOFFLOAD, off) != 0))
		die(errno, "'%s': no offloads on TUN (kernel 6.2 or later needed for "
		    "--gso)", spec);
	if (setns(self, CLONE_NEWNET) != 0)
		die(errno, "cannot come back to our network namespace");
	close(nsfd);
	close(self);
	return fd;
}

static size_t
slot_bytes(size_t len)
{
	return sizeof(struct slot) + ((len + 7) & ~(size_t)7);
}

/*
 * Where the next packet (up to PKT_MAX bytes) goes: the tail, or the
 * start of the ring after a wrap marker.  NULL if the ring is full.
 */
static struct slot *
ring_reserve(struct dir *d)
{
	size_t need = slot_bytes(PKT_MAX);

	if (d->tail >= d->head) {
		if (d->size - d->tail >= need + sizeof(struct slot))
			return (struct slot *)(d->ring + d->tail);
		if (d->head <= need)	/* keep head != tail when full */
			return NULL;
		((struct slot *)(d->ring + d->tail))->len = 0;
		d->tail = 0;
	}
	if (d->head - d->tail <= need)
		return NULL;
	return (struct slot *)(d->ring + d->tail);
}

/* Drains what d->in has (up to READ_BATCH packets) into d's ring. */
static void
dir_read(struct dir *d, uint64_t rate, uint64_t delay, uint64_t qlimit)
{
	struct slot *s;
	uint64_t t, start, backlog, tx;
	ssize_t n;
	int i;

	for (i = 0; i < READ_BATCH; i++) {
		if ((s = ring_reserve(d)) == NULL) {
			/* Out of ring: drop at the device, as a full NIC. */
			uint8_t junk[PKT_MAX];

			if ((n = read(d->in, junk, sizeof(junk))) <= 0)
				return;
			d->drop_pkts++;
			d->drop_bytes += (uint64_t)n;
			continue;
		}
		n = read(d->in, s + 1, PKT_MAX);
		if (n <= 0)
			return;	/* EAGAIN: drained */
		t = now_ns();
		start = d->last_depart > t ? d->last_depart : t;
		backlog = (uint64_t)((unsigned __int128)(start - t) * rate / 8 /
		    NS_PER_S);
		if (backlog + (uint64_t)n > qlimit) {
			d->drop_pkts++;
			d->drop_bytes += (uint64_t)n;
			continue;
		}
		if (backlog > d->max_backlog)
			d->max_backlog = backlog;
		tx = (uint64_t)n * 8 * NS_PER_S / rate;
		d->last_depart = start + tx;
		s->due = d->last_depart + delay;
		s->len = (uint32_t)n;
		d->tail += slot_bytes((size_t)n);
	}
}

/* Writes d's packets that are due; returns when the next one is, or 0. */
static uint64_t
dir_write(struct dir *d)
{
	struct slot *s;
	uint64_t t = now_ns();

	while (d->head != d->tail) {
		s = (struct slot *)(d->ring + d->head);
		if (s->len == 0) {		/* wrap marker */
			d->head = 0;
			continue;
		}
		if (s->due > t + EARLY_NS) {
			t = now_ns();
			if (s->due > t + EARLY_NS)
				return s->due;
		}
		/* A full device queue drops the packet, like a wire would. */
		if (write(d->out, s + 1, s->len) == (ssize_t)s->len) {
			d->fwd_pkts++;
			d->fwd_bytes += s->len;
		} else {
			d->drop_pkts++;
			d->drop_bytes += s->len;
		}
		d->head += slot_bytes(s->len);
		if (d->head == d->tail)
			d->head = d->tail = 0;
	}
	return 0;
}

static void
dir_report(const struct dir *d)
{
	fprintf(stderr, "lfnrelay: %s: forwarded %llu packets, %llu bytes; "
	    "dropped %llu packets, %llu bytes; peak queue %llu bytes\n",
	    d->name, (unsigned long long)d->fwd_pkts,
	    (unsigned long long)d->fwd_bytes,
	    (unsigned long long)d->drop_pkts,
	    (unsigned long long)d->drop_bytes,
	    (unsigned long long)d->max_backlog);
}

static void
usage(void)
{
	fprintf(stderr, "usage: lfnrelay --a NS:DEV --b NS:DEV --rate BITS "
	    "--rtt MS [--queue BYTES] [--gso]\n"
	    "  --rate 1g|50m|800k  the cap of each direction, bits/s\n"
	    "  --rtt MS            round-trip time added (RTT/2 each way)\n"
	    "  --queue BYTES       bottleneck queue (default 1.5 x BDP, at "
	    "least 64 KiB)\n"
	    "  --gso               GSO packets through the devices\n");
	exit(2);
}

static const struct option longopts[] = {
	{ "a", required_argument, NULL, 'a' },
	{ "b", required_argument, NULL, 'b' },
	{ "rate", required_argument, NULL, 'r' },
	{ "rtt", required_argument, NULL, 't' },
	{ "queue", required_argument, NULL, 'q' },
	{ "gso", no_argument, NULL, 'g' },
	{ NULL, 0, NULL, 0 }
};

struct config {
	const char	*a, *b;		/* NS:DEV */
	uint64_t	 rate;		/* bits/s */
	uint64_t	 delay;		/* ns, one way */
	uint64_t	 qlimit;	/* bytes */
	long long	 rtt;		/* ms */
	bool		 gso;
};

static void
parse_args(int argc, char **argv, struct config *cf)
{
	long long q = -1;
	int c;

	memset(cf, 0, sizeof(*cf));
	cf->rtt = -1;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'a': cf->a = optarg; break;
		case 'b': cf->b = optarg; break;
		case 'r':
			if ((cf->rate = parse_rate(optarg)) == 0)
				die(0, "--rate '%s': expected bits/s, e.g. 1g or "
				    "50m", optarg);
			break;
		case 't':
			if ((cf->rtt = parse_num(optarg, 10000)) < 0)
				die(0, "--rtt '%s': expected milliseconds, 0 to "
				    "10000", optarg);
			break;
		case 'q':
			if ((q = parse_num(optarg, 1ll << 32)) < 0)
				die(0, "--queue '%s': expected bytes, up to 4 GiB",
				    optarg);
			break;
		case 'g': cf->gso = true; break;
		default: usage();
		}
	}
	if (optind != argc || cf->a == NULL || cf->b == NULL ||
	    cf->rate == 0 || cf->rtt < 0)
		usage();
	cf->delay = (uint64_t)cf->rtt * 1000000ull / 2;
	/* 1.5 x BDP; a queue smaller than a few packets passes too few. */
	cf->qlimit = q >= 0 ? (uint64_t)q :
	    cf->rate / 8 * (uint64_t)cf->rtt / 1000 * 3 / 2;
	if (q < 0 && cf->qlimit < (64u << 10))
		cf->qlimit = 64u << 10;
}

static void
dir_init(struct dir *d, const char *name, int in, int out,
    const struct config *cf)
{
	memset(d, 0, sizeof(*d));
	d->name = name;
	d->in = in;
	d->out = out;
	/*
	 * Room for the queue, the packets in flight and a batch, twice over:
	 * a small packet takes up to twice its bytes with its slot header.
	 */
	d->size = 2 * (cf->qlimit + cf->rate / 8 * (uint64_t)cf->rtt / 2000 +
	    (READ_BATCH + 2) * slot_bytes(PKT_MAX));
	if ((d->ring = malloc(d->size)) == NULL)
		die(errno, "cannot allocate a packet ring of %zu bytes", d->size);
}

/* Forwards until a signal; both devices are non-blocking. */
static void
relay(struct dir *d, const struct config *cf)
{
	struct pollfd pfd[2];
	struct timespec ts;
	sigset_t block, during;
	uint64_t due, next, t;
	bool timed;
	int i;

	/* Signals only inside ppoll: a SIGTERM is never missed. */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, &during);
	sigdelset(&during, SIGTERM);
	sigdelset(&during, SIGINT);
	for (i = 0; i < 2; i++) {
		pfd[i].fd = d[i].in;
		pfd[i].events = POLLIN;
	}
	while (!stop) {
		next = 0;
		for (i = 0; i < 2; i++) {
			due = dir_write(&d[i]);
			if (due != 0 && (next == 0 || due < next))
				next = due;
		}
		if ((timed = next != 0)) {
			t = now_ns();
			next = next > t ? next - t : 0;
			ts.tv_sec = (time_t)(next / NS_PER_S);
			ts.tv_nsec = (long)(next % NS_PER_S);
		}
		if (ppoll(pfd, 2, timed ? &ts : NULL, &during) < 0 &&
		    errno != EINTR)
			die(errno, "poll");
		for (i = 0; i < 2; i++) {
			if (pfd[i].revents & POLLIN)
				dir_read(&d[i], cf->rate, cf->delay,
				    cf->qlimit);
			else if (pfd[i].revents & (POLLERR | POLLHUP | POLLNVAL))
				die(0, "device %s failed", d[i].name);
		}
	}
}

int
main(int argc, char **argv)
{
	struct config cf;
	struct sigaction sig;
	struct dir d[2];
	int fa, fb;

	parse_args(argc, argv, &cf);
	memset(&sig, 0, sizeof(sig));
	sig.sa_handler = on_signal;
	sigaction(SIGTERM, &sig, NULL);
	sigaction(SIGINT, &sig, NULL);
	/* Never outlive the script that started us. */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	/* Wake-ups on time: a packet at 1 Gbit/s takes 12 us. */
	prctl(PR_SET_TIMERSLACK, 1ul);
	fa = open_tun(cf.a, cf.gso);
	fb = open_tun(cf.b, cf.gso);
	dir_init(&d[0], "a->b", fa, fb, &cf);
	dir_init(&d[1], "b->a", fb, fa, &cf);
	fprintf(stderr, "lfnrelay: %s <-> %s: %llu bit/s each way, RTT %lld "
	    "ms, queue %llu bytes%s\n", cf.a, cf.b,
	    (unsigned long long)cf.rate, cf.rtt,
	    (unsigned long long)cf.qlimit, cf.gso ? ", GSO" : "");
	relay(d, &cf);
	dir_report(&d[0]);
	dir_report(&d[1]);
	free(d[0].ring);
	free(d[1].ring);
	close(fa);
	close(fb);
	return 0;
}
