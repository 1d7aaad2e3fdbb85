/*
 * proto.h: the wire protocol between rcp (the master) and its rcpd agents,
 * and between the two agents: the version, message types and caps.  Every
 * message is a frame (see wire.h); its body is a sequence of fields read
 * with the wire.h getters, and readers ignore trailing bytes they do not
 * know, so a message may grow new fields at its end without a version bump.
 * Removing or reordering fields, or changing their meaning, bumps
 * RCP_PROTO_VERSION (chrony's rule for candm.h).
 */
#ifndef RCP_PROTO_H
#define RCP_PROTO_H

/*
 * Bumped on every incompatible change; rcp and rcpd must agree.  2: the
 * preserve bits acl and xattr of COPY, the compare bits acl and xattr and
 * SRC_XMETA/SRC_XMETA_DIR, which an rcpd of protocol 1 ignored or lacked
 * (a copy without its ACLs and xattrs, silently).  Since 2 an agent also
 * refuses option bits it does not know (copywire.c), so a new one needs
 * no bump.
 */
#define RCP_PROTO_VERSION 2

/* The TLS ALPN of every rcp QUIC connection. */
#define RCP_PROTO_ALPN "rcp/1"

/* Caps checked before anything is allocated. */
#define RCP_PROTO_MAX_FRAME	(4u << 20)	/* one frame's body */
#define RCP_PROTO_MAX_NAME	4096		/* a path or name */
#define RCP_PROTO_MAX_TEXT	65536		/* a log line or message */
#define RCP_PROTO_MAX_LINE	4096		/* a line on the SSH channel */
#define RCP_PROTO_MAX_PATHS	65536		/* the sources of one copy */

/*
 * The start-up lines on the SSH channel (agent.h), before QUIC:
 * "RCP1 master=ADDR fp=HEX token=HEX" to the agent, "RCPD1 fp=HEX" back.
 */
#define RCP_AGENT_SECRETS_TAG	"RCP1"
#define RCP_AGENT_HELLO_TAG	"RCPD1"
#define RCP_TOKEN_LEN		32

/* Flags of SRC_OPEN: a handle only, never the data (to hash it). */
#define RCP_SRC_OPEN_NODATA 1

/* Roles of an rcpd. */
enum {
	RCP_ROLE_SOURCE = 1,
	RCP_ROLE_DESTINATION = 2
};

/*
 * Message types.  Requests carry a non-zero id that the reply echoes; one-way
 * messages carry id 0.  An unknown type gets an ERROR reply (if it had an
 * id), never a disconnect.
 */
enum {
	RCP_MSG_HELLO = 1,	/* u32 version, u8 role, bytes token */
	RCP_MSG_HELLO_OK = 2,	/* u32 version */
	RCP_MSG_ERROR = 3,	/* i32 code, str message */
	RCP_MSG_LOG = 4,	/* i8 level, str text */
	RCP_MSG_PROGRESS = 5,	/* u64 counters... (see rpc.h) */
	RCP_MSG_ECHO = 6,	/* bytes payload: the reply echoes it */
	RCP_MSG_ECHO_OK = 7,	/* bytes payload */
	RCP_MSG_LISTENING = 8,	/* source -> master: str addr, bytes fp */
	RCP_MSG_PEER = 9,	/* master -> agent: str addr, bytes fp */
	RCP_MSG_PEER_OK = 10,	/* agent -> master: the peer is connected */
	RCP_MSG_SELFTEST = 11,	/* master -> destination: u32 count, bytes name */
	RCP_MSG_SELFTEST_OK = 12, /* u32 count, u64 bytes */
	RCP_MSG_DONE = 13,	/* agent -> master: i32 status, runstats */
	RCP_MSG_SHUTDOWN = 14,	/* master -> agent: finish and exit */
	RCP_MSG_BULK = 15,	/* benchmark and test payload */

	/* Destination -> source: reading the source tree (srcclient.c). */
	RCP_MSG_SRC_ROOT = 20,	/* str path, u8 follow -> u32 dir, str base, stat */
	RCP_MSG_SRC_OPENDIR = 21, /* u32 dir, str name, u8 follow -> u32 dir */
	RCP_MSG_SRC_LIST = 22,	/* u32 dir -> u8 more, u32 n, n x (str, u8 type) */
	RCP_MSG_SRC_STAT = 23,	/* u32 dir, str name, u8 follow -> stat */
	RCP_MSG_SRC_OPEN = 24,	/* u32 dir, str name, u8 follow [, u8 flags] ->
				 * u32 fh, stat
				 * [, stat after, bytes data if fh is ~0] */
	RCP_MSG_SRC_READ = 25,	/* u32 fh, u64 off, u64 len, u8 sparse ->
				 * u32 n, n x (u64 off, bytes) */
	RCP_MSG_SRC_FSTAT = 26,	/* u32 fh -> stat */
	RCP_MSG_SRC_READLINK = 27, /* u32 dir, str name, u8 -> bytes target */
	RCP_MSG_SRC_CLOSE = 28,	/* u32 handle; one-way */
	RCP_MSG_SRC_OK = 29,	/* the reply; body as above */
	RCP_MSG_SRC_ERR = 30,	/* i32 code (> 0: the source's errno) */

	/* Master -> destination: run the copy (copywire.c). */
	RCP_MSG_COPY = 31,	/* u32 n, n x str src, str dst, options, str host */
	RCP_MSG_COPY_DONE = 32,	/* i32 result, str cause, u64 counters... */
	/* (Every code on the wire: rcp_err_to_wire, base/error.h.) */

	/*
	 * Master -> source, one-way, before the destination is there: read
	 * ahead the listings (with small files) of these trees (srccache.c).
	 */
	RCP_MSG_SRC_PREFETCH = 33, /* u32 n, n x str path */

	/* Destination -> source: the XXH3-128 of a range, up to 64 MiB. */
	RCP_MSG_SRC_HASH = 34,	/* u32 fh, u64 off, u64 len -> u64 n, bytes h */

	/*
	 * Destination -> source: the ACLs and xattrs of an entry, by handle
	 * or (handle ~0) by dir and name, not following (srcwire.h).
	 */
	RCP_MSG_SRC_XMETA = 35,	/* u32 h, u32 dir, str name, u8 what ->
				 * str acl, str default acl, u32 n,
				 * n x (str name, bytes value) */
	/* The same for every entry of a directory that has any, at once. */
	RCP_MSG_SRC_XMETA_DIR = 36, /* u32 dir, u8 what -> u8 complete,
				 * u32 n, n x (str name, XMETA reply) */

	/*
	 * Destination -> master, one-way, on the COPY's own stream (so all
	 * of them come before its COPY_DONE): files the copy copied, when
	 * COPY asked for them (its record-files bit), many a message.
	 */
	RCP_MSG_FILES = 37,	/* u32 n, n x str path */

	/*
	 * Master -> destination: compare the tree src (read through the
	 * source agent) with dst (here), as rcmp does (cmpwire.c).  An
	 * older rcpd answers ERROR "unknown message type 38".
	 */
	RCP_MSG_COMPARE = 38,	/* str src, str dst, str src label,
				 * str dst label, u32 flags, u32 f, d, l
				 * attributes, u32 threads */
	RCP_MSG_COMPARE_DONE = 39, /* i32 result, str cause, u64 entries,
				 * files read, bytes read, differences,
				 * errors */
	/*
	 * Destination -> master, one-way, on the COMPARE's stream (before
	 * its COMPARE_DONE): one difference.
	 */
	RCP_MSG_CMP_DIFF = 40,	/* u8 kind, u32 attr, str path, u8 sides,
				 * [stat src], [stat dst], u64 offset,
				 * [str src link, str dst link] */
	/*
	 * Master -> destination, one-way, while a copy runs: the source
	 * agent of that host (as PEER named it) is lost; read through the
	 * others without waiting to find out.
	 */
	RCP_MSG_PEER_GONE = 41,	/* str host [, u8 role: RCP_ROLE_*; absent:
				 * a source] */
	/*
	 * Destination -> its helper (dstpool.h): str src path, stat, str dst
	 * path, u64 dst inode, u64 off, u64 len, u8 flags -> SRC_OK u64 n,
	 * u8 checked, or SRC_ERR.
	 */
	RCP_MSG_DST_RANGE = 42
};

/* Caps of FILES: what a sender batches; a path may be longer than a name. */
#define RCP_PROTO_FILES_BATCH	2048		/* paths of one FILES */
#define RCP_PROTO_FILES_BYTES	(128u << 10)	/* and their bytes, about */

#endif
