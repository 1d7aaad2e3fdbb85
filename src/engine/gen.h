/*
 * gen.h: builds synthetic file trees for tests and benchmarks (the filegen
 * tool): a fixed fan-out of directories, a number of files in every leaf
 * directory, and pseudo-random contents that depend only on a seed, so that
 * the same seed gives a byte-identical tree whatever the buffer size or the
 * number of threads.
 */
#ifndef RCP_GEN_H
#define RCP_GEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rcp_log;

/* Caps on what a spec may ask for. */
#define RCP_GEN_MAX_LEVELS	16
#define RCP_GEN_MAX_DIRS	((uint64_t)1 << 24)	/* leaf dirs */
#define RCP_GEN_MAX_FILES	((uint64_t)1 << 32)	/* in the tree */
#define RCP_GEN_MAX_FILE_SIZE	((uint64_t)1 << 50)	/* 1 PiB */
#define RCP_GEN_MIN_BUFSIZE	4096
#define RCP_GEN_MAX_BUFSIZE	((size_t)1 << 30)
#define RCP_GEN_MAX_THREADS	256

struct rcp_gen_spec {
	unsigned	 nlevels;	/* 0: files directly in the root */
	uint64_t	 width[RCP_GEN_MAX_LEVELS]; /* subdirs per level */
	uint64_t	 nfiles;	/* files per leaf directory */
	uint64_t	 size_min;	/* file sizes, log-uniform in */
	uint64_t	 size_max;	/* [size_min, size_max] */
	uint64_t	 seed;
	size_t		 bufsize;	/* write buffer per thread */
	int		 threads;	/* 0: one per CPU */
	bool		 force;		/* write into a non-empty root */
};

struct rcp_gen_stats {
	uint64_t	files;
	uint64_t	dirs;		/* created below the root */
	uint64_t	bytes;
};

/*
 * Sets the defaults: no directories, no files, size 0, seed 0, a 1 MiB
 * buffer, one thread per CPU, no force.
 */
void rcp_gen_spec_init(struct rcp_gen_spec *spec);

/*
 * Parses DIRWIDTH ("3,2": 3 directories, each with 2 subdirectories; "" or
 * "0": none), NUMFILES and FILESIZE ("4K", or "MIN-MAX" for log-uniform
 * sizes) into spec, leaving its other fields alone.  Returns 0, or
 * RCP_ERR_INVAL with *cause set (caller frees); spec is unchanged on error.
 */
int rcp_gen_spec_parse(struct rcp_gen_spec *spec, const char *dirwidth,
    const char *nfiles, const char *filesize, char **cause);

/*
 * Returns the size of file number index (counted over the whole tree, leaf
 * directory by leaf directory) for spec's seed and size range.
 */
uint64_t rcp_gen_file_size(const struct rcp_gen_spec *spec, uint64_t index);

/*
 * Builds the tree under root, which is created if missing (its parent must
 * exist) and must be empty unless spec->force.  Runs spec->threads threads;
 * log (may be NULL) gets progress records from any of them.  Returns 0 and
 * fills *stats (may be NULL), or a negative RCP_ERR_* with *cause set (caller
 * frees): RCP_ERR_INVAL for a bad spec or a root that is not a directory,
 * RCP_ERR_EXISTS for a non-empty root, RCP_ERR_IO when a system call
 * failed; the tree may then be half built.
 */
int rcp_gen_run(const char *root, const struct rcp_gen_spec *spec,
    const struct rcp_log *log, struct rcp_gen_stats *stats, char **cause);

#endif
