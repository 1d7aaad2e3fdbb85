/*
 * driver.c: a main for the fuzz targets without libFuzzer, so that `make
 * check` runs each target (built with the ordinary compiler and, in the
 * test build, ASan+UBSan) over its checked-in corpus: every file of every
 * directory named on the command line, in name order, or files named
 * directly.  A crash or a sanitizer report fails the run; so does an
 * argument that cannot be read.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

static int
run_file(const char *path)
{
	uint8_t *buf;
	long n;
	FILE *f;

	if ((f = fopen(path, "rb")) == NULL) {
		perror(path);
		return -1;
	}
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0) {
		perror(path);
		fclose(f);
		return -1;
	}
	/* A copy of exactly n bytes: ASan sees a read past the input. */
	buf = malloc(n > 0 ? (size_t)n : 1);
	if (buf == NULL || fread(buf, 1, (size_t)n, f) != (size_t)n) {
		fprintf(stderr, "%s: cannot read\n", path);
		free(buf);
		fclose(f);
		return -1;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(buf, (size_t)n);
	free(buf);
	return 0;
}

static int
cmp_names(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static int
run_dir(const char *dir, int *count)
{
	struct dirent **ents;
	char path[4096];
	int n, i, bad = 0;

	if ((n = scandir(dir, &ents, NULL, cmp_names)) < 0) {
		perror(dir);
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (ents[i]->d_name[0] != '.') {
			snprintf(path, sizeof(path), "%s/%s", dir,
			    ents[i]->d_name);
			if (run_file(path) != 0)
				bad = -1;
			else
				(*count)++;
		}
		free(ents[i]);
	}
	free(ents);
	return bad;
}

int
main(int argc, char **argv)
{
	struct stat st;
	int i, count = 0, bad = 0;

	/* Absolute first: a target's set-up may chdir (fuzz-srcserve). */
	for (i = 1; i < argc; i++) {
		char *abs = realpath(argv[i], NULL);
		if (abs != NULL)
			argv[i] = abs;	/* kept to the end */
	}
	if (LLVMFuzzerInitialize != NULL)
		LLVMFuzzerInitialize(&argc, &argv);
	for (i = 1; i < argc; i++) {
		if (stat(argv[i], &st) != 0) {
			perror(argv[i]);
			bad = 1;
		} else if (S_ISDIR(st.st_mode)) {
			if (run_dir(argv[i], &count) != 0)
				bad = 1;
		} else if (run_file(argv[i]) != 0) {
			bad = 1;
		} else {
			count++;
		}
	}
	printf("%s: %d inputs\n", argv[0], count);
	return bad;
}
