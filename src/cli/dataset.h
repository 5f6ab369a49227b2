/* SPDX-License-Identifier: GPL-2.0-or-later */
/* dataset.h -- labelled audio datasets for `oneiro train`, and the audio
 * reading and windowing that `oneiro score` shares with it.
 *
 * A dataset is one of:
 *   - a folder with one subfolder per class (GTZAN style), optionally split
 *     into train/ and val/ (or validation/) folders that each hold the class
 *     folders;
 *   - a CSV of path,label[,split[,source]] rows (paths relative to the CSV),
 *     with or without a header line naming the columns (path, label, split,
 *     source, fold; other columns are ignored);
 *   - UrbanSound8K's own metadata CSV (slice_file_name, fsID, start, end,
 *     salience, fold, classID, class), the audio in audio/foldN/.
 * Every file's audio is read with libsndfile, mixed to mono and resampled
 * with libsamplerate to the model's rate. */
#ifndef ONEIRO_DATASET_H
#define ONEIRO_DATASET_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

enum { DS_SPLIT_NONE = 0, DS_SPLIT_TRAIN = 1, DS_SPLIT_VAL = 2 };

typedef struct {
	char *path;       /* the file to open */
	char *where;      /* where it was listed, for messages: "list.csv:12" or the path */
	char *label_name; /* the label as written (before class mapping) */
	uint32_t label;   /* class index */
	int split;        /* DS_SPLIT_* */
	int32_t group;    /* index into dataset.groups, -1 none */
	uint32_t fold;    /* 0 when the dataset has no folds */
	/* filled by ds_load_audio_all: */
	float *x;            /* (n) mono at the model's rate, zero-padded (centred)
	                        to at least one window */
	size_t n;
	double seconds;      /* the file's own length */
	char *error;         /* why it could not be read, or NULL */
	uint32_t win0, nwin; /* its windows: entries win0 .. win0 + nwin - 1 of the table */
	uint64_t cache_at;   /* streamed (x NULL): its first sample's index in the cache */
} ds_file;

typedef struct {
	char *source;       /* the dataset path as given */
	const char *format; /* "class folders", "CSV", "UrbanSound8K metadata" */
	char *split_desc;   /* how the split was made, for the report */
	ds_file *files;
	size_t n_files;
	char **classes; /* (n_classes) */
	uint32_t n_classes;
	char **groups; /* (n_groups) distinct values of the grouping column */
	size_t n_groups;
	char *group_col; /* its name ("source", "fsID"), or NULL */
	int split_given; /* the dataset itself says which files are for validation */
	int has_folds;
	size_t ignored; /* rows or files left out (test split, other folds) */
	/* ds_stream: the audio goes to a cache file instead of memory */
	int streamed, cache_fd;
	uint64_t cache_len; /* samples written */
	char *cache_dir;
	char *cache_error;  /* why the cache could not be written (loading stopped), or NULL */
} dataset;

typedef struct {
	const char *classes;   /* --classes A,B,...: the classes and their order, or NULL */
	const char *audio_dir; /* --audio-dir: UrbanSound8K's audio folder, or NULL */
	const char *folds;     /* --folds LIST or NULL */
	const char *val_folds; /* --val-folds LIST or NULL */
	const char *binary;    /* --binary LABEL or NULL */
} ds_options;

/* Lists the dataset at path: files, labels, classes, the split if it gives
 * one. Reads no audio. Returns 0, or -1 with a message (naming the file,
 * and the line for a CSV) in err. Usage errors (bad --folds) return -2. */
int ds_open(dataset *ds, const char *path, const ds_options *o, char *err, size_t errlen);
void ds_free(dataset *ds);

/* Holds out a fraction of the files of each class for validation (when the
 * dataset gave no split): whole groups when the dataset has a grouping
 * column, else single files; seeded. Every class keeps at least one
 * training file. Describes what it did in ds->split_desc. */
void ds_split(dataset *ds, double fraction, uint64_t seed);

/* Files of split s (DS_SPLIT_*) and class k. */
size_t ds_count(const dataset *ds, int s, uint32_t k);

/* Reads the audio of every file with `threads` threads, at `rate` Hz,
 * padded to at least `window` samples. Files that fail get ->error; the
 * number of those is returned. *stop is polled (Ctrl-C): when it becomes
 * nonzero, reading stops early and -1 is returned. progress(done, total,
 * ctx) is called from the calling thread now and then (may be NULL). */
long ds_load_audio_all(dataset *ds, uint32_t rate, uint32_t window, uint32_t threads,
                       volatile sig_atomic_t *stop, void (*progress)(size_t, size_t, void *),
                       void *ctx);

/* From now on ds_load_audio_all writes each file's audio to a cache file in
 * dir (created there and unlinked at once, so nothing is left behind, even
 * after a crash) instead of keeping it in memory: for datasets larger than
 * memory. Files then have x NULL and are read with ds_audio. 0, or -1 with a
 * message in err. */
int ds_stream(dataset *ds, const char *dir, char *err, size_t errlen);

/* n samples of file f from sample off (off + n <= f->n): a pointer into its
 * audio when it is in memory, else read from the cache into buf (n floats).
 * NULL with a message in err when the cache cannot be read. */
const float *ds_audio(const dataset *ds, const ds_file *f, size_t off, size_t n, float *buf,
                      char *err, size_t errlen);

/* Resamples mono x (n) by ratio (output rate / input rate) with
 * libsamplerate's medium-quality sinc, into a new array *y of *ny frames.
 * 0, -1 when out of memory, or a libsamplerate error code (src_strerror). */
int ds_resample(const float *x, size_t n, double ratio, float **y, size_t *ny);

/* Reads one audio file: mono (the mean of its channels), resampled to
 * `rate` with libsamplerate (SRC_SINC_MEDIUM_QUALITY) when its rate differs;
 * non-finite samples become 0; zero-padded on both sides to `window`
 * samples when shorter, the sound centred. *x malloc'ed (n samples),
 * *seconds its own length. 0, or -1 with a reason in err (without the
 * path). */
int ds_read_audio(const char *path, uint32_t rate, uint32_t window, float **x, size_t *n,
                  double *seconds, char *err, size_t errlen);

/* The hop between windows of `window` samples that overlap by overlap_pct
 * percent (at least 1). */
uint32_t ds_hop(uint32_t window, double overlap_pct);

/* The windows of a signal of n >= window samples: starts every hop samples,
 * plus one window ending at the end of the signal when more than a quarter
 * window would otherwise be left out; windows whose RMS level is below
 * floor_db dBFS are dropped, unless all are (then the loudest one stays).
 * Their offsets into *off, reallocated to the size needed (*off untouched
 * when that fails), their number into *count. 0, or -1 out of memory. */
int ds_windows(const float *x, size_t n, uint32_t window, uint32_t hop, double floor_db,
               size_t **off, size_t *count);

/* Parses a fold list "1-8", "1,3,5-7" into a bitmap of folds 1..999
 * (set[f] = 1). 0, or -1 when malformed. */
int ds_parse_folds(const char *s, unsigned char set[1000]);

#endif
