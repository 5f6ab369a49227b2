/* SPDX-License-Identifier: GPL-2.0-or-later */
/* dataset.c -- labelled audio datasets (see dataset.h). */
#include "dataset.h"

#include "cliutil.h"
#include "onr.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <samplerate.h>
#include <sndfile.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_DEPTH 8 /* folder recursion inside a class folder */
#define MAX_CSV_BYTES (1u << 30)
#define MAX_MISSING_SHOWN 5

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static char *xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = malloc(n);
	if (d)
		memcpy(d, s, n);
	return d;
}

static char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xasprintf(const char *fmt, ...)
{
	cli_buf b = {0};
	va_list ap;
	va_start(ap, fmt);
	cli_vprintf(&b, fmt, ap);
	va_end(ap);
	if (b.oom) {
		free(b.s);
		return NULL;
	}
	return b.s;
}

static int is_dir(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static const char *audio_exts[] = {"wav", "wave", "flac", "ogg", "oga", "opus",
                                   "aif", "aiff", "aifc", "caf", "w64", "rf64",
                                   "au",  "snd",  "mp3",  "mp2", "m1a"};

static int is_audio_name(const char *name)
{
	const char *dot = strrchr(name, '.');
	if (!dot || !dot[1])
		return 0;
	for (size_t i = 0; i < sizeof audio_exts / sizeof audio_exts[0]; i++)
		if (!strcasecmp(dot + 1, audio_exts[i]))
			return 1;
	return 0;
}

/* A label as a class name: 1..63 bytes, no control characters. */
static int check_label(const char *s, const char *where, char *err, size_t errlen)
{
	size_t n = strlen(s);
	if (n == 0)
		return fail(err, errlen, "%s: an empty label", where);
	if (n > ONR_MAX_CLASS_NAME)
		return fail(err, errlen, "%s: the label '%.40s...' is longer than %d bytes", where, s,
		            ONR_MAX_CLASS_NAME);
	for (size_t k = 0; k < n; k++)
		if ((unsigned char)s[k] < 0x20 || s[k] == 0x7f)
			return fail(err, errlen, "%s: a control character in the label", where);
	return 0;
}

/* ---------------------------------------------------------------- growing arrays */
static int add_file(dataset *ds, size_t *cap, char *path, char *where, const char *label, int split,
                    int32_t group, uint32_t fold)
{
	if (ds->n_files == *cap) {
		size_t nc = *cap ? *cap * 2 : 256;
		ds_file *f = realloc(ds->files, nc * sizeof *f);
		if (!f)
			return -1;
		ds->files = f;
		*cap = nc;
	}
	ds_file *f = &ds->files[ds->n_files];
	memset(f, 0, sizeof *f);
	f->path = path;
	f->where = where;
	f->label_name = xstrdup(label);
	f->split = split;
	f->group = group;
	f->fold = fold;
	if (!path || !where || !f->label_name) {
		free(f->path);
		free(f->where);
		free(f->label_name);
		return -1;
	}
	ds->n_files++;
	return 0;
}

/* The index of group name g (added when new); -1 when out of memory. */
static int32_t group_index(dataset *ds, size_t *cap, const char *g)
{
	/* linear from the end: rows of one source usually come together */
	for (size_t i = ds->n_groups; i-- > 0;)
		if (!strcmp(ds->groups[i], g))
			return (int32_t)i;
	if (ds->n_groups == *cap) {
		size_t nc = *cap ? *cap * 2 : 64;
		char **n = realloc(ds->groups, nc * sizeof *n);
		if (!n)
			return -1;
		ds->groups = n;
		*cap = nc;
	}
	if (!(ds->groups[ds->n_groups] = xstrdup(g)))
		return -1;
	return (int32_t)ds->n_groups++;
}

void ds_free(dataset *ds)
{
	for (size_t i = 0; i < ds->n_files; i++) {
		free(ds->files[i].path);
		free(ds->files[i].where);
		free(ds->files[i].label_name);
		free(ds->files[i].x);
		free(ds->files[i].error);
	}
	free(ds->files);
	for (uint32_t k = 0; k < ds->n_classes; k++)
		free(ds->classes[k]);
	free(ds->classes);
	for (size_t g = 0; g < ds->n_groups; g++)
		free(ds->groups[g]);
	free(ds->groups);
	free(ds->source);
	free(ds->split_desc);
	free(ds->group_col);
	if (ds->streamed)
		close(ds->cache_fd);
	free(ds->cache_dir);
	free(ds->cache_error);
	memset(ds, 0, sizeof *ds);
}

int ds_stream(dataset *ds, const char *dir, char *err, size_t errlen)
{
	char *tmpl = xasprintf("%s/oneiro-train-cache-XXXXXX", dir);
	if (!tmpl)
		return fail(err, errlen, "out of memory");
	int fd = mkstemp(tmpl);
	if (fd < 0) {
		fail(err, errlen, "cannot make the stream cache in %s: %s", dir, strerror(errno));
		free(tmpl);
		return -1;
	}
	unlink(tmpl);
	free(tmpl);
	if (ds->streamed)
		close(ds->cache_fd);
	free(ds->cache_dir);
	ds->cache_dir = xstrdup(dir);
	ds->streamed = 1;
	ds->cache_fd = fd;
	ds->cache_len = 0;
	return 0;
}

const float *ds_audio(const dataset *ds, const ds_file *f, size_t off, size_t n, float *buf,
                      char *err, size_t errlen)
{
	if (f->x)
		return f->x + off;
	size_t want = n * sizeof(float), got = 0;
	off_t at = (off_t)((f->cache_at + off) * sizeof(float));
	while (got < want) {
		ssize_t r = pread(ds->cache_fd, (char *)buf + got, want - got, at + (off_t)got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			fail(err, errlen, "cannot read the stream cache in %s: %s", ds->cache_dir,
			     r < 0 ? strerror(errno) : "it is shorter than written");
			return NULL;
		}
		got += (size_t)r;
	}
	return buf;
}

/* ---------------------------------------------------------------- folders */
typedef struct {
	char **v;
	size_t n, cap;
} strlist;

static int sl_add(strlist *l, char *s)
{
	if (!s)
		return -1;
	if (l->n == l->cap) {
		size_t nc = l->cap ? l->cap * 2 : 64;
		char **v = realloc(l->v, nc * sizeof *v);
		if (!v) {
			free(s);
			return -1;
		}
		l->v = v;
		l->cap = nc;
	}
	l->v[l->n++] = s;
	return 0;
}

static void sl_free(strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof *l);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Entry names of a folder (no hidden ones), sorted; dirs != 0: only
 * subfolders, else only regular files (both followed through links). */
static int list_dir(const char *dir, int dirs, strlist *out, char *err, size_t errlen)
{
	DIR *d = opendir(dir);
	if (!d)
		return fail(err, errlen, "%s: cannot open the folder: %s", dir, strerror(errno));
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char *p = xasprintf("%s/%s", dir, e->d_name);
		struct stat st;
		if (!p || stat(p, &st)) {
			free(p);
			continue; /* a dangling link: not ours to judge */
		}
		free(p);
		if (dirs ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode))
			continue;
		if (sl_add(out, xstrdup(e->d_name))) {
			closedir(d);
			return fail(err, errlen, "out of memory");
		}
	}
	closedir(d);
	if (out->n)
		qsort(out->v, out->n, sizeof *out->v, cmp_str);
	return 0;
}

/* The audio files under dir (recursively, sorted), as paths. */
static int collect_audio(const char *dir, int depth, strlist *out, char *err, size_t errlen)
{
	strlist files = {0}, subs = {0};
	int st = list_dir(dir, 0, &files, err, errlen);
	if (!st)
		st = list_dir(dir, 1, &subs, err, errlen);
	for (size_t i = 0; !st && i < files.n; i++)
		if (is_audio_name(files.v[i]) && sl_add(out, xasprintf("%s/%s", dir, files.v[i])))
			st = fail(err, errlen, "out of memory");
	for (size_t i = 0; !st && i < subs.n && depth < MAX_DEPTH; i++) {
		char *sub = xasprintf("%s/%s", dir, subs.v[i]);
		if (!sub)
			st = fail(err, errlen, "out of memory");
		else
			st = collect_audio(sub, depth + 1, out, err, errlen);
		free(sub);
	}
	sl_free(&files);
	sl_free(&subs);
	return st;
}

/* Class folders under dir, their files added with `split`. */
static int add_class_folders(dataset *ds, size_t *cap, const char *dir, int split, char *err,
                             size_t errlen)
{
	strlist classes = {0};
	int st = list_dir(dir, 1, &classes, err, errlen);
	if (!st && !classes.n)
		st = fail(err, errlen,
		          "%s: no class folders in it (a folder dataset holds one folder per class)", dir);
	for (size_t c = 0; !st && c < classes.n; c++) {
		char *cdir = xasprintf("%s/%s", dir, classes.v[c]);
		strlist files = {0};
		if (!cdir) {
			st = fail(err, errlen, "out of memory");
			break;
		}
		st = check_label(classes.v[c], cdir, err, errlen);
		if (!st)
			st = collect_audio(cdir, 0, &files, err, errlen);
		if (!st && !files.n)
			st = fail(err, errlen,
			          "%s: no audio files in this class folder (an empty class; audio files "
			          "end in .wav .flac .ogg .aiff ...)",
			          cdir);
		for (size_t i = 0; !st && i < files.n; i++) {
			if (add_file(ds, cap, files.v[i], xstrdup(files.v[i]), classes.v[c], split, -1, 0))
				st = fail(err, errlen, "out of memory");
			files.v[i] = NULL; /* owned by the file now (or freed) */
		}
		sl_free(&files);
		free(cdir);
	}
	sl_free(&classes);
	return st;
}

static int open_folder(dataset *ds, const char *path, char *err, size_t errlen)
{
	size_t cap = 0;
	strlist subs = {0};
	int st = list_dir(path, 1, &subs, err, errlen);
	if (st)
		return st;
	const char *tr = NULL, *va = NULL;
	for (size_t i = 0; i < subs.n; i++) {
		if (!strcmp(subs.v[i], "train"))
			tr = subs.v[i];
		else if (!strcmp(subs.v[i], "val") || !strcmp(subs.v[i], "validation") ||
		         !strcmp(subs.v[i], "valid"))
			va = subs.v[i];
	}
	ds->format = "class folders";
	if (tr && va) {
		/* train/<class>/..., val/<class>/...: the split is given */
		char *tdir = xasprintf("%s/%s", path, tr), *vdir = xasprintf("%s/%s", path, va);
		if (!tdir || !vdir)
			st = fail(err, errlen, "out of memory");
		if (!st)
			st = add_class_folders(ds, &cap, tdir, DS_SPLIT_TRAIN, err, errlen);
		if (!st)
			st = add_class_folders(ds, &cap, vdir, DS_SPLIT_VAL, err, errlen);
		if (!st) {
			ds->format = "class folders in train/ and val/";
			ds->split_given = 1;
			ds->split_desc = xasprintf("given by the folders %s/ and %s/", tr, va);
			ds->ignored = subs.n - 2; /* e.g. test/ */
		}
		free(tdir);
		free(vdir);
	} else {
		st = add_class_folders(ds, &cap, path, DS_SPLIT_NONE, err, errlen);
	}
	sl_free(&subs);
	return st;
}

/* ---------------------------------------------------------------- CSV */
typedef struct {
	char **f;
	int n;
	size_t line;
} csv_row;

static void free_rows(csv_row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		for (int k = 0; k < rows[i].n; k++)
			free(rows[i].f[k]);
		free(rows[i].f);
	}
	free(rows);
}

/* RFC 4180 with some leniency: fields separated by commas, optionally in
 * double quotes ("" is a quote; quoted fields may hold commas and line
 * breaks), CRLF or LF, a UTF-8 byte-order mark, unquoted fields trimmed of
 * spaces, blank lines and lines starting with '#' skipped. */
static int csv_parse(const char *t, size_t len, const char *path, csv_row **rows_out, size_t *n_out,
                     char *err, size_t errlen)
{
	csv_row *rows = NULL;
	size_t n = 0, cap = 0, line = 1, i = 0;
	cli_buf fld = {0};
	int st = 0;
	if (len >= 3 && !memcmp(t, "\xef\xbb\xbf", 3))
		i = 3;
	if (memchr(t, 0, len)) {
		size_t l = 1;
		for (const char *p = t; *p; p++)
			l += *p == '\n';
		return fail(err, errlen, "%s:%zu: a NUL byte: this is not a text (CSV) file", path, l);
	}
	while (i < len && !st) {
		/* skip blank lines and comments */
		size_t j = i;
		while (j < len && (t[j] == ' ' || t[j] == '\t' || t[j] == '\r'))
			j++;
		if (j >= len)
			break;
		if (t[j] == '\n' || t[j] == '#') {
			while (j < len && t[j] != '\n')
				j++;
			i = j + 1;
			line++;
			continue;
		}
		csv_row r = {NULL, 0, line};
		int fcap = 0;
		for (;;) {
			/* one field */
			fld.n = 0;
			if (fld.s)
				fld.s[0] = 0;
			while (i < len && (t[i] == ' ' || t[i] == '\t'))
				i++;
			int quoted = i < len && t[i] == '"';
			if (quoted) {
				size_t qline = line;
				i++;
				for (;;) {
					if (i >= len) {
						st = fail(err, errlen, "%s:%zu: a quote that is never closed", path, qline);
						break;
					}
					if (t[i] == '"') {
						if (i + 1 < len && t[i + 1] == '"') {
							cli_printf(&fld, "\"");
							i += 2;
							continue;
						}
						i++;
						break;
					}
					if (t[i] == '\n')
						line++;
					cli_printf(&fld, "%c", t[i]);
					i++;
				}
				while (!st && i < len && (t[i] == ' ' || t[i] == '\t' || t[i] == '\r'))
					i++;
				if (!st && i < len && t[i] != ',' && t[i] != '\n')
					st = fail(err, errlen, "%s:%zu: text after a closing quote", path, line);
			} else {
				size_t s0 = i;
				while (i < len && t[i] != ',' && t[i] != '\n')
					i++;
				size_t e = i;
				while (e > s0 && (t[e - 1] == ' ' || t[e - 1] == '\t' || t[e - 1] == '\r'))
					e--;
				cli_printf(&fld, "%.*s", (int)(e - s0), t + s0);
			}
			if (st)
				break;
			if (r.n == fcap) {
				fcap = fcap ? fcap * 2 : 8;
				char **f = realloc(r.f, (size_t)fcap * sizeof *f);
				if (!f) {
					st = fail(err, errlen, "out of memory");
					break;
				}
				r.f = f;
			}
			if (fld.oom || !(r.f[r.n] = xstrdup(fld.s ? fld.s : ""))) {
				st = fail(err, errlen, "out of memory");
				break;
			}
			r.n++;
			if (i < len && t[i] == ',') {
				i++;
				continue;
			}
			/* end of the row */
			if (i < len) {
				i++; /* '\n' */
				line++;
			}
			break;
		}
		if (!st && n == cap) {
			cap = cap ? cap * 2 : 1024;
			csv_row *nr = realloc(rows, cap * sizeof *nr);
			if (!nr)
				st = fail(err, errlen, "out of memory");
			else
				rows = nr;
		}
		if (st) {
			for (int k = 0; k < r.n; k++)
				free(r.f[k]);
			free(r.f);
			break;
		}
		rows[n++] = r;
	}
	free(fld.s);
	if (st) {
		free_rows(rows, n);
		return st;
	}
	*rows_out = rows;
	*n_out = n;
	return 0;
}

static int read_text(const char *path, char **out, size_t *len, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return fail(err, errlen, "%s: cannot open: %s", path, strerror(errno));
	cli_buf b = {0};
	char chunk[65536];
	size_t k;
	while ((k = fread(chunk, 1, sizeof chunk, f)) > 0) {
		if (b.n + k > MAX_CSV_BYTES) {
			fclose(f);
			free(b.s);
			return fail(err, errlen, "%s: larger than %u MiB: not a dataset list", path,
			            MAX_CSV_BYTES >> 20);
		}
		cli_printf(&b, "%.*s", (int)k, chunk);
		/* %.*s stops at a NUL: append raw bytes instead when there is one */
		if (memchr(chunk, 0, k)) {
			fclose(f);
			free(b.s);
			return fail(err, errlen, "%s: a NUL byte: this is not a text (CSV) file", path);
		}
	}
	int bad = ferror(f);
	fclose(f);
	if (bad || b.oom) {
		free(b.s);
		return fail(err, errlen, "%s: cannot read: %s", path,
		            bad ? strerror(errno) : "out of memory");
	}
	*out = b.s ? b.s : xstrdup("");
	*len = b.n;
	return *out ? 0 : fail(err, errlen, "out of memory");
}

static int lower_eq(const char *a, const char *b)
{
	return !strcasecmp(a, b);
}

static int col_of(const csv_row *h, const char *const *names)
{
	for (int k = 0; k < h->n; k++)
		for (int j = 0; names[j]; j++)
			if (lower_eq(h->f[k], names[j]))
				return k;
	return -1;
}

static int parse_split(const char *s, int *split)
{
	if (lower_eq(s, "train") || lower_eq(s, "training"))
		*split = DS_SPLIT_TRAIN;
	else if (lower_eq(s, "val") || lower_eq(s, "valid") || lower_eq(s, "validation") ||
	         lower_eq(s, "dev"))
		*split = DS_SPLIT_VAL;
	else if (lower_eq(s, "test") || lower_eq(s, "testing"))
		*split = -1; /* left out */
	else
		return -1;
	return 0;
}

static int parse_fold(const char *s, uint32_t *fold)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v < 1 || v > 999)
		return -1;
	*fold = (uint32_t)v;
	return 0;
}

int ds_parse_folds(const char *s, unsigned char set[1000])
{
	memset(set, 0, 1000);
	const char *p = s;
	int any = 0;
	while (*p) {
		char *end;
		errno = 0;
		long a = strtol(p, &end, 10);
		if (end == p || errno || a < 1 || a > 999)
			return -1;
		long b = a;
		p = end;
		if (*p == '-') {
			p++;
			b = strtol(p, &end, 10);
			if (end == p || errno || b < a || b > 999)
				return -1;
			p = end;
		}
		for (long f = a; f <= b; f++)
			set[f] = 1;
		any = 1;
		if (*p == ',')
			p++;
		else if (*p)
			return -1;
	}
	return any ? 0 : -1;
}

static char *dir_of(const char *path)
{
	const char *s = strrchr(path, '/');
	if (!s)
		return xstrdup(".");
	if (s == path)
		return xstrdup("/");
	return xasprintf("%.*s", (int)(s - path), path);
}

static char *join(const char *dir, const char *rel)
{
	if (rel[0] == '/')
		return xstrdup(rel);
	if (!strcmp(dir, "."))
		return xstrdup(rel);
	return xasprintf("%s/%s", dir, rel);
}

/* Collects "missing file" messages: the first few in full, then a count. */
typedef struct {
	cli_buf b;
	size_t n;
} missing_list;

static void missing_add(missing_list *m, const char *where, const char *path, const char *why)
{
	if (m->n < MAX_MISSING_SHOWN)
		cli_printf(&m->b, "%s%s: %s: %s", m->n ? "\n" : "", where, path, why);
	m->n++;
}

static int missing_done(missing_list *m, char *err, size_t errlen)
{
	if (!m->n)
		return 0;
	if (m->n > MAX_MISSING_SHOWN)
		cli_printf(&m->b, "\n(and %zu more files that cannot be read)", m->n - MAX_MISSING_SHOWN);
	snprintf(err, errlen, "%s", m->b.s ? m->b.s : "files are missing");
	free(m->b.s);
	return -1;
}

static void check_exists(missing_list *m, const char *where, const char *path)
{
	struct stat st;
	if (stat(path, &st))
		missing_add(m, where, path, errno == ENOENT ? "no such file" : strerror(errno));
	else if (S_ISDIR(st.st_mode))
		missing_add(m, where, path, "is a folder, not an audio file");
}

/* UrbanSound8K's metadata/UrbanSound8K.csv. */
static int open_us8k(dataset *ds, const char *path, const char *dir, const csv_row *rows,
                     size_t nrows, const ds_options *o, char *err, size_t errlen)
{
	static const char *const c_file[] = {"slice_file_name", NULL};
	static const char *const c_fold[] = {"fold", NULL};
	static const char *const c_id[] = {"classID", NULL};
	static const char *const c_class[] = {"class", NULL};
	static const char *const c_fs[] = {"fsID", NULL};
	const csv_row *h = &rows[0];
	int kf = col_of(h, c_file), kfold = col_of(h, c_fold), kid = col_of(h, c_id),
	    kc = col_of(h, c_class), kfs = col_of(h, c_fs);
	if (kf < 0 || kfold < 0 || kc < 0)
		return fail(err, errlen,
		            "%s:%zu: an UrbanSound8K header needs slice_file_name, fold and class", path,
		            h->line);
	char *audio = NULL;
	if (o->audio_dir) {
		audio = xstrdup(o->audio_dir);
		if (audio && !is_dir(audio)) {
			fail(err, errlen, "--audio-dir: %s is not a folder", audio);
			free(audio);
			return -2;
		}
	} else {
		char *a1 = join(dir, "../audio"), *a2 = join(dir, "audio");
		if (a1 && is_dir(a1))
			audio = xstrdup(a1);
		else if (a2 && is_dir(a2))
			audio = xstrdup(a2);
		else if (a1 && a2) {
			fail(err, errlen,
			     "%s: UrbanSound8K metadata, but neither %s/ nor %s/ is a folder (give the audio "
			     "folder, the one holding fold1/ .. fold10/, with --audio-dir)",
			     path, a1, a2);
			free(a1);
			free(a2);
			return -1;
		}
		free(a1);
		free(a2);
	}
	if (!audio)
		return fail(err, errlen, "out of memory");
	ds->format = "UrbanSound8K metadata";
	ds->has_folds = 1;
	ds->group_col = kfs >= 0 ? xstrdup("fsID") : NULL;
	size_t cap = 0, gcap = 0;
	int st = 0;
	missing_list miss = {{0}, 0};
	/* classID -> name, checked for consistency */
	char *id_name[ONR_MAX_CLASSES] = {0};
	for (size_t r = 1; r < nrows && !st; r++) {
		const csv_row *row = &rows[r];
		char where[4200];
		snprintf(where, sizeof where, "%s:%zu", path, row->line);
		if (row->n != h->n) {
			st = fail(err, errlen, "%s: %d fields where the header has %d", where, row->n, h->n);
			break;
		}
		uint32_t fold;
		if (parse_fold(row->f[kfold], &fold)) {
			st = fail(err, errlen, "%s: fold '%s' is not a number from 1 to 999", where,
			          row->f[kfold]);
			break;
		}
		const char *name = row->f[kf], *label = row->f[kc];
		if (!name[0]) {
			st = fail(err, errlen, "%s: an empty slice_file_name", where);
			break;
		}
		if ((st = check_label(label, where, err, errlen)))
			break;
		if (kid >= 0) {
			char *end;
			errno = 0;
			unsigned long v = strtoul(row->f[kid], &end, 10);
			if (errno || end == row->f[kid] || *end || v >= ONR_MAX_CLASSES) {
				st = fail(err, errlen, "%s: classID '%s' is not a number from 0 to %d", where,
				          row->f[kid], ONR_MAX_CLASSES - 1);
				break;
			}
			uint32_t id = (uint32_t)v;
			if (!id_name[id]) {
				id_name[id] = xstrdup(label);
			} else if (strcmp(id_name[id], label)) {
				st = fail(err, errlen, "%s: classID %u is '%s' here but '%s' earlier", where, id,
				          label, id_name[id]);
				break;
			}
		}
		int32_t g = -1;
		if (kfs >= 0 && row->f[kfs][0] && (g = group_index(ds, &gcap, row->f[kfs])) < 0) {
			st = fail(err, errlen, "out of memory");
			break;
		}
		char *fp = xasprintf("%s/fold%u/%s", audio, fold, name);
		if (fp)
			check_exists(&miss, where, fp);
		if (add_file(ds, &cap, fp, xstrdup(where), label, DS_SPLIT_NONE, g, fold))
			st = fail(err, errlen, "out of memory");
	}
	if (!st)
		st = missing_done(&miss, err, errlen);
	else
		free(miss.b.s);
	/* class order: by classID */
	if (!st && kid >= 0 && !o->classes) {
		uint32_t n = 0;
		for (int id = 0; id < ONR_MAX_CLASSES; id++)
			n += id_name[id] != NULL;
		ds->classes = calloc(n ? n : 1, sizeof *ds->classes);
		if (!ds->classes)
			st = fail(err, errlen, "out of memory");
		for (int id = 0; id < ONR_MAX_CLASSES && !st; id++)
			if (id_name[id]) {
				ds->classes[ds->n_classes++] = id_name[id];
				id_name[id] = NULL;
			}
	}
	for (int id = 0; id < ONR_MAX_CLASSES; id++)
		free(id_name[id]);
	free(audio);
	return st;
}

static int open_csv(dataset *ds, const char *path, const ds_options *o, char *err, size_t errlen)
{
	char *text;
	size_t len;
	if (read_text(path, &text, &len, err, errlen))
		return -1;
	csv_row *rows = NULL;
	size_t nrows = 0;
	int st = csv_parse(text, len, path, &rows, &nrows, err, errlen);
	free(text);
	if (st)
		return st;
	char *dir = dir_of(path);
	if (!dir) {
		free_rows(rows, nrows);
		return fail(err, errlen, "out of memory");
	}
	if (!nrows) {
		st = fail(err, errlen, "%s: no rows (a dataset CSV has path,label[,split[,source]] rows)",
		          path);
		goto out;
	}
	static const char *const c_path[] = {"path",     "file",  "filename", "file_name",
	                                     "filepath", "audio", NULL};
	static const char *const c_label[] = {"label", "class", "category", "genre", "target", NULL};
	static const char *const c_split[] = {"split", "set", "subset", "partition", NULL};
	static const char *const c_group[] = {"source",    "group", "speaker", "session",
	                                      "recording", "fsid",  "artist",  NULL};
	static const char *const c_fold[] = {"fold", NULL};
	static const char *const c_us8k[] = {"slice_file_name", NULL};
	const csv_row *h = &rows[0];
	if (col_of(h, c_us8k) >= 0) {
		st = open_us8k(ds, path, dir, rows, nrows, o, err, errlen);
		goto out;
	}
	ds->format = "CSV";
	int kp = 0, kl = 1, ks = -1, kg = -1, kfold = -1, first = 0, nf = h->n;
	if (col_of(h, c_path) >= 0) {
		/* a header names the columns */
		kp = col_of(h, c_path);
		kl = col_of(h, c_label);
		ks = col_of(h, c_split);
		kg = col_of(h, c_group);
		kfold = col_of(h, c_fold);
		if (kl < 0) {
			st = fail(err, errlen,
			          "%s:%zu: the header has no label column (label, class, category "
			          "or genre)",
			          path, h->line);
			goto out;
		}
		first = 1;
		if (kg >= 0)
			ds->group_col = xstrdup(h->f[kg]);
	} else {
		/* no header: path,label[,split[,source]] */
		if (h->n < 2) {
			st = fail(err, errlen,
			          "%s:%zu: 1 field; rows are path,label[,split[,source]] (or give "
			          "a header "
			          "line naming the columns)",
			          path, h->line);
			goto out;
		}
		ks = h->n >= 3 ? 2 : -1;
		kg = h->n >= 4 ? 3 : -1;
		if (kg >= 0)
			ds->group_col = xstrdup("source");
	}
	if (nrows <= (size_t)first) {
		st = fail(err, errlen, "%s: a header and no rows", path);
		goto out;
	}
	ds->has_folds = kfold >= 0;
	size_t cap = 0, gcap = 0;
	missing_list miss = {{0}, 0};
	for (size_t r = (size_t)first; r < nrows && !st; r++) {
		const csv_row *row = &rows[r];
		char where[4200];
		snprintf(where, sizeof where, "%s:%zu", path, row->line);
		if (row->n != nf) {
			st = fail(err, errlen, "%s: %d field%s where %s has %d", where, row->n,
			          row->n == 1 ? "" : "s", first ? "the header" : "the first row", nf);
			break;
		}
		const char *p = row->f[kp], *label = row->f[kl];
		if (!p[0]) {
			st = fail(err, errlen, "%s: an empty path", where);
			break;
		}
		if ((st = check_label(label, where, err, errlen)))
			break;
		int split = DS_SPLIT_NONE;
		if (ks >= 0 && parse_split(row->f[ks], &split)) {
			st = fail(err, errlen, "%s: split '%s' is not train, val or test", where, row->f[ks]);
			break;
		}
		if (split < 0) {
			ds->ignored++;
			continue;
		}
		uint32_t fold = 0;
		if (kfold >= 0 && parse_fold(row->f[kfold], &fold)) {
			st = fail(err, errlen, "%s: fold '%s' is not a number from 1 to 999", where,
			          row->f[kfold]);
			break;
		}
		int32_t g = -1;
		if (kg >= 0 && row->f[kg][0] && (g = group_index(ds, &gcap, row->f[kg])) < 0) {
			st = fail(err, errlen, "out of memory");
			break;
		}
		char *fp = join(dir, p);
		if (fp)
			check_exists(&miss, where, fp);
		if (add_file(ds, &cap, fp, xstrdup(where), label, split, g, fold))
			st = fail(err, errlen, "out of memory");
	}
	if (!st)
		st = missing_done(&miss, err, errlen);
	else
		free(miss.b.s);
	if (!st && ks >= 0) {
		ds->split_given = 1;
		ds->split_desc = xasprintf("given by the CSV's '%s' column", first ? h->f[ks] : "third");
	}
	if (!st && ds->has_folds && ks >= 0 && (o->folds || o->val_folds)) {
		fail(err, errlen,
		     "%s: the CSV has both a split and a fold column; --folds and --val-folds do "
		     "not apply",
		     path);
		st = -2;
	}
out:
	free(dir);
	free_rows(rows, nrows);
	return st;
}

/* ---------------------------------------------------------------- classes */
static int class_of(const dataset *ds, const char *name)
{
	for (uint32_t k = 0; k < ds->n_classes; k++)
		if (!strcmp(ds->classes[k], name))
			return (int)k;
	return -1;
}

static int set_classes(dataset *ds, const ds_options *o, char *err, size_t errlen)
{
	if (o->classes) {
		/* the user's list: its order, and nothing else allowed */
		for (uint32_t k = 0; k < ds->n_classes; k++)
			free(ds->classes[k]);
		free(ds->classes);
		ds->classes = NULL;
		ds->n_classes = 0;
		char *copy = xstrdup(o->classes);
		size_t n = 1;
		for (const char *p = o->classes; *p; p++)
			n += *p == ',';
		ds->classes = calloc(n, sizeof *ds->classes);
		if (!copy || !ds->classes) {
			free(copy);
			return fail(err, errlen, "out of memory");
		}
		int st = 0;
		char *save = NULL;
		for (char *tok = strtok_r(copy, ",", &save); tok && !st; tok = strtok_r(NULL, ",", &save)) {
			while (*tok == ' ')
				tok++;
			size_t l = strlen(tok);
			while (l && tok[l - 1] == ' ')
				tok[--l] = 0;
			if (check_label(tok, "--classes", err, errlen))
				st = -2;
			else if (class_of(ds, tok) >= 0) {
				fail(err, errlen, "--classes: '%s' is listed twice", tok);
				st = -2;
			} else if (!(ds->classes[ds->n_classes++] = xstrdup(tok)))
				st = fail(err, errlen, "out of memory");
		}
		free(copy);
		if (st)
			return st;
		if (!ds->n_classes) {
			fail(err, errlen, "--classes: no class names");
			return -2;
		}
		for (size_t i = 0; i < ds->n_files; i++)
			if (class_of(ds, ds->files[i].label_name) < 0)
				return fail(err, errlen, "%s: unknown label '%s' (not one of --classes)",
				            ds->files[i].where, ds->files[i].label_name);
	} else if (!ds->n_classes) {
		/* the labels found, sorted */
		char **names = calloc(ds->n_files ? ds->n_files : 1, sizeof *names);
		if (!names)
			return fail(err, errlen, "out of memory");
		size_t n = 0;
		for (size_t i = 0; i < ds->n_files; i++)
			names[n++] = ds->files[i].label_name;
		qsort(names, n, sizeof *names, cmp_str);
		size_t u = 0;
		for (size_t i = 0; i < n; i++)
			if (!u || strcmp(names[u - 1], names[i]))
				names[u++] = names[i];
		if (u > ONR_MAX_CLASSES) {
			free(names);
			return fail(err, errlen, "%s: %zu different labels; a model has at most %d classes",
			            ds->source, u, ONR_MAX_CLASSES);
		}
		ds->classes = calloc(u ? u : 1, sizeof *ds->classes);
		if (!ds->classes) {
			free(names);
			return fail(err, errlen, "out of memory");
		}
		for (size_t i = 0; i < u; i++)
			if (!(ds->classes[ds->n_classes++] = xstrdup(names[i]))) {
				free(names);
				return fail(err, errlen, "out of memory");
			}
		free(names);
	} else {
		/* UrbanSound8K: by classID; every label must have one */
		for (size_t i = 0; i < ds->n_files; i++)
			if (class_of(ds, ds->files[i].label_name) < 0)
				return fail(err, errlen, "%s: label '%s' has no classID", ds->files[i].where,
				            ds->files[i].label_name);
	}
	for (size_t i = 0; i < ds->n_files; i++)
		ds->files[i].label = (uint32_t)class_of(ds, ds->files[i].label_name);
	return 0;
}

size_t ds_count(const dataset *ds, int s, uint32_t k)
{
	size_t n = 0;
	for (size_t i = 0; i < ds->n_files; i++)
		n += ds->files[i].split == s && ds->files[i].label == k;
	return n;
}

/* Folds into a split: the ones asked for, or UrbanSound8K's usual last
 * fold for validation. */
static int apply_folds(dataset *ds, const ds_options *o, char *err, size_t errlen)
{
	unsigned char tr[1000], va[1000], present[1000] = {0};
	for (size_t i = 0; i < ds->n_files; i++)
		present[ds->files[i].fold] = 1;
	if (o->folds && ds_parse_folds(o->folds, tr)) {
		fail(err, errlen, "--folds: '%s' is not a fold list like 1-8 or 1,3,5-7", o->folds);
		return -2;
	}
	if (o->val_folds && ds_parse_folds(o->val_folds, va)) {
		fail(err, errlen, "--val-folds: '%s' is not a fold list like 9 or 9,10", o->val_folds);
		return -2;
	}
	if (!o->val_folds) {
		memset(va, 0, sizeof va);
		if (o->folds) {
			for (int f = 1; f < 1000; f++)
				va[f] = present[f] && !tr[f];
		} else {
			int last = 0;
			for (int f = 1; f < 1000; f++)
				if (present[f])
					last = f;
			va[last] = 1;
		}
	}
	if (!o->folds)
		for (int f = 1; f < 1000; f++)
			tr[f] = present[f] && !va[f];
	for (int f = 1; f < 1000; f++) {
		if (tr[f] && va[f]) {
			fail(err, errlen,
			     "fold %d is both a training fold (--folds) and a validation fold "
			     "(--val-folds)",
			     f);
			return -2;
		}
		if ((tr[f] || va[f]) && !present[f] && (o->folds || o->val_folds)) {
			fail(err, errlen, "%s: no file is in fold %d (given with %s)", ds->source, f,
			     tr[f] ? "--folds" : "--val-folds");
			return -2;
		}
	}
	size_t kept = 0;
	for (size_t i = 0; i < ds->n_files; i++) {
		ds_file *fi = &ds->files[i];
		fi->split = tr[fi->fold] ? DS_SPLIT_TRAIN : va[fi->fold] ? DS_SPLIT_VAL : -1;
		if (fi->split < 0) {
			free(fi->path);
			free(fi->where);
			free(fi->label_name);
			ds->ignored++;
			continue;
		}
		ds->files[kept++] = *fi;
	}
	ds->n_files = kept;
	/* the description: "folds 1-8 for training, 9 for validation" */
	cli_buf b = {0};
	for (int pass = 0; pass < 2; pass++) {
		const unsigned char *set = pass ? va : tr;
		int count = 0;
		for (int f = 1; f < 1000; f++)
			count += set[f];
		cli_printf(&b, "%sfold%s ", pass ? ", " : "", count == 1 ? "" : "s");
		int any = 0;
		for (int f = 1; f < 1000; f++) {
			if (!set[f] || (f > 1 && set[f - 1]))
				continue;
			int e = f;
			while (e + 1 < 1000 && set[e + 1])
				e++;
			cli_printf(&b, "%s%d", any ? "," : "", f);
			if (e > f)
				cli_printf(&b, "-%d", e);
			any = 1;
		}
		if (!any)
			cli_printf(&b, "(none)");
		cli_printf(&b, pass ? " for validation" : " for training");
	}
	ds->split_desc = b.s;
	ds->split_given = 1;
	return 0;
}

static int apply_binary(dataset *ds, const char *pos, char *err, size_t errlen)
{
	int kp = class_of(ds, pos);
	if (kp < 0) {
		cli_buf b = {0};
		for (uint32_t k = 0; k < ds->n_classes && k < 20; k++)
			cli_printf(&b, "%s%s", k ? ", " : "", ds->classes[k]);
		fail(err, errlen, "--binary: no file has the label '%s' (the labels: %s%s)", pos,
		     b.s ? b.s : "", ds->n_classes > 20 ? ", ..." : "");
		free(b.s);
		return -2;
	}
	if (ds->n_classes < 2)
		return fail(err, errlen, "--binary %s: every file has that label; nothing to tell it from",
		            pos);
	char *neg;
	if (ds->n_classes == 2)
		neg = xstrdup(ds->classes[kp == 0 ? 1 : 0]);
	else
		neg = xasprintf("not_%.*s", ONR_MAX_CLASS_NAME - 4, pos);
	char *p = xstrdup(pos);
	if (!neg || !p) {
		free(neg);
		free(p);
		return fail(err, errlen, "out of memory");
	}
	for (size_t i = 0; i < ds->n_files; i++)
		ds->files[i].label = ds->files[i].label == (uint32_t)kp ? 1 : 0;
	for (uint32_t k = 0; k < ds->n_classes; k++)
		free(ds->classes[k]);
	ds->classes[0] = neg;
	ds->classes[1] = p;
	ds->n_classes = 2;
	return 0;
}

int ds_open(dataset *ds, const char *path, const ds_options *o, char *err, size_t errlen)
{
	memset(ds, 0, sizeof *ds);
	if (!(ds->source = xstrdup(path)))
		return fail(err, errlen, "out of memory");
	struct stat st;
	if (stat(path, &st))
		return fail(err, errlen, "%s: %s", path, strerror(errno));
	int r;
	if (S_ISDIR(st.st_mode))
		r = open_folder(ds, path, err, errlen);
	else
		r = open_csv(ds, path, o, err, errlen);
	if (r)
		return r;
	if (!ds->n_files)
		return fail(err, errlen, "%s: no files in the dataset", path);
	if ((o->folds || o->val_folds) && !ds->has_folds) {
		fail(err, errlen,
		     "--folds and --val-folds need a dataset with folds (UrbanSound8K, or a "
		     "CSV with a fold column)");
		return -2;
	}
	if (ds->has_folds && !ds->split_given &&
	    (o->folds || o->val_folds || !strcmp(ds->format, "UrbanSound8K metadata")) &&
	    (r = apply_folds(ds, o, err, errlen)))
		return r;
	if ((r = set_classes(ds, o, err, errlen)))
		return r;
	/* every class needs files; in a given split, training files */
	for (uint32_t k = 0; k < ds->n_classes; k++) {
		size_t n = 0, ntr = 0;
		const ds_file *first_val = NULL;
		for (size_t i = 0; i < ds->n_files; i++) {
			const ds_file *f = &ds->files[i];
			if (f->label != k)
				continue;
			n++;
			ntr += f->split == DS_SPLIT_TRAIN;
			if (f->split == DS_SPLIT_VAL && !first_val)
				first_val = f;
		}
		if (!n)
			return fail(err, errlen, "%s: class '%s' (from --classes) has no files", path,
			            ds->classes[k]);
		if (ds->split_given && !ntr)
			return fail(err, errlen,
			            "%s: the label '%s' appears only in the validation split: no training "
			            "file has it, so the model could not learn it",
			            first_val->where, ds->classes[k]);
	}
	if (o->binary) {
		if ((r = apply_binary(ds, o->binary, err, errlen)))
			return r;
	} else if (ds->n_classes < 2) {
		return fail(err, errlen,
		            "%s: only one class ('%s'); a model needs two or more (or train an "
		            "interestingness model with --binary LABEL)",
		            path, ds->classes[0]);
	}
	if (ds->n_classes > ONR_MAX_CLASSES)
		return fail(err, errlen, "%s: %u classes; a model has at most %d", path, ds->n_classes,
		            ONR_MAX_CLASSES);
	return 0;
}

/* ---------------------------------------------------------------- split */
static size_t target_val(size_t n, double fraction)
{
	if (!(fraction > 0.0) || n < 2)
		return 0;
	size_t t = (size_t)llround(fraction * (double)n);
	if (t < 1)
		t = 1;
	if (t > n - 1)
		t = n - 1;
	return t;
}

void ds_split(dataset *ds, double fraction, uint64_t seed)
{
	uint64_t rng = seed ^ 0x5eed5eed5eed5eedull;
	uint32_t K = ds->n_classes;
	size_t *idx = malloc((ds->n_files + 1) * sizeof *idx);
	size_t *nk = calloc(K, sizeof *nk), *tk = calloc(K, sizeof *tk), *vk = calloc(K, sizeof *vk);
	if (!idx || !nk || !tk || !vk)
		goto out;
	for (size_t i = 0; i < ds->n_files; i++) {
		ds->files[i].split = DS_SPLIT_TRAIN;
		nk[ds->files[i].label]++;
	}
	for (uint32_t k = 0; k < K; k++)
		tk[k] = target_val(nk[k], fraction);
	if (!(fraction > 0.0)) {
		free(ds->split_desc);
		ds->split_desc = xasprintf("none: every file is for training (--val-fraction 0)");
	} else if (!ds->group_col || !ds->n_groups) {
		/* single files, per class */
		for (uint32_t k = 0; k < K; k++) {
			size_t n = 0;
			for (size_t i = 0; i < ds->n_files; i++)
				if (ds->files[i].label == k)
					idx[n++] = i;
			cli_shuffle(idx, n, sizeof *idx, &rng);
			for (size_t i = 0; i < tk[k]; i++)
				ds->files[idx[i]].split = DS_SPLIT_VAL;
			vk[k] = tk[k];
		}
		size_t nv = 0;
		for (uint32_t k = 0; k < K; k++)
			nv += vk[k];
		free(ds->split_desc);
		ds->split_desc = xasprintf("%.0f %% of the files of each class held out at random: %zu of "
		                           "%zu files (seed %llu)",
		                           100.0 * fraction, nv, ds->n_files, (unsigned long long)seed);
	} else {
		/* whole groups: units are the groups, and each ungrouped file on its own */
		size_t G = ds->n_groups, nu = G;
		for (size_t i = 0; i < ds->n_files; i++)
			nu += ds->files[i].group < 0;
		size_t *units = malloc(nu * sizeof *units); /* unit ids */
		size_t *cnt = calloc(K, sizeof *cnt);
		size_t *ustart = calloc(nu + 1, sizeof *ustart),
		       *ufiles = malloc((ds->n_files + 1) * sizeof *ufiles);
		size_t *uid = malloc((ds->n_files + 1) * sizeof *uid);
		if (!units || !cnt || !ustart || !ufiles || !uid) {
			free(units);
			free(cnt);
			free(ustart);
			free(ufiles);
			free(uid);
			goto out;
		}
		/* unit of each file: groups 0..G-1, then ungrouped files in order */
		size_t next = G;
		for (size_t i = 0; i < ds->n_files; i++)
			uid[i] = ds->files[i].group >= 0 ? (size_t)ds->files[i].group : next++;
		for (size_t i = 0; i < ds->n_files; i++)
			ustart[uid[i] + 1]++;
		for (size_t u = 0; u < nu; u++)
			ustart[u + 1] += ustart[u];
		{
			size_t *fill = calloc(nu + 1, sizeof *fill);
			if (fill) {
				for (size_t i = 0; i < ds->n_files; i++)
					ufiles[ustart[uid[i]] + fill[uid[i]]++] = i;
				free(fill);
			}
		}
		for (size_t u = 0; u < nu; u++)
			units[u] = u;
		cli_shuffle(units, nu, sizeof *units, &rng);
		size_t held = 0;
		for (size_t q = 0; q < nu; q++) {
			size_t u = units[q], total = ustart[u + 1] - ustart[u], useful = 0;
			memset(cnt, 0, K * sizeof *cnt);
			for (size_t j = ustart[u]; j < ustart[u + 1]; j++)
				cnt[ds->files[ufiles[j]].label]++;
			int ok = 1;
			for (uint32_t k = 0; k < K; k++) {
				if (!cnt[k])
					continue;
				if (vk[k] + cnt[k] > nk[k] - 1)
					ok = 0; /* a class would lose its last training file */
				if (vk[k] < tk[k])
					useful += cnt[k] < tk[k] - vk[k] ? cnt[k] : tk[k] - vk[k];
			}
			if (!ok || 2 * useful < total || !useful)
				continue;
			for (size_t j = ustart[u]; j < ustart[u + 1]; j++)
				ds->files[ufiles[j]].split = DS_SPLIT_VAL;
			for (uint32_t k = 0; k < K; k++)
				vk[k] += cnt[k];
			held += u < G;
		}
		size_t nv = 0;
		for (uint32_t k = 0; k < K; k++)
			nv += vk[k];
		free(ds->split_desc);
		ds->split_desc = xasprintf(
		    "whole values of the '%s' column held out: %zu of %zu, %.1f %% of the files "
		    "(target %.0f %% of each class, seed %llu)",
		    ds->group_col, held, G, ds->n_files ? 100.0 * (double)nv / (double)ds->n_files : 0.0,
		    100.0 * fraction, (unsigned long long)seed);
		free(units);
		free(cnt);
		free(ustart);
		free(ufiles);
		free(uid);
	}
out:
	free(idx);
	free(nk);
	free(tk);
	free(vk);
}

/* ---------------------------------------------------------------- audio */
/* Pads x (n samples, malloc'ed) with zeros on both sides to `window`
 * samples when shorter, the sound centred. 0 or -1 (out of memory). */
static int pad(float **x, size_t *n, uint32_t window)
{
	if (*n >= window)
		return 0;
	float *y = calloc(window, sizeof *y);
	if (!y)
		return -1;
	size_t off = (window - *n) / 2;
	memcpy(y + off, *x, *n * sizeof *y);
	free(*x);
	*x = y;
	*n = window;
	return 0;
}

int ds_resample(const float *x, size_t n, double ratio, float **y, size_t *ny)
{
	size_t cap = (size_t)ceil((double)n * ratio) + 64;
	float *r = malloc(cap * sizeof *r);
	if (!r)
		return -1;
	SRC_DATA sd;
	memset(&sd, 0, sizeof sd);
	sd.data_in = x;
	sd.input_frames = (long)n;
	sd.data_out = r;
	sd.output_frames = (long)cap;
	sd.src_ratio = ratio;
	int e = src_simple(&sd, SRC_SINC_MEDIUM_QUALITY, 1);
	if (e) {
		free(r);
		return e;
	}
	*y = r;
	*ny = (size_t)sd.output_frames_gen;
	return 0;
}

int ds_read_audio(const char *path, uint32_t rate, uint32_t window, float **xo, size_t *no,
                  double *seconds, char *err, size_t errlen)
{
	*xo = NULL;
	*no = 0;
	struct stat st;
	if (stat(path, &st))
		return fail(err, errlen, "%s", errno == ENOENT ? "no such file" : strerror(errno));
	if (S_ISDIR(st.st_mode))
		return fail(err, errlen, "is a folder, not an audio file");
	SF_INFO si;
	memset(&si, 0, sizeof si);
	SNDFILE *f = sf_open(path, SFM_READ, &si);
	if (!f)
		return fail(err, errlen, "not an audio file libsndfile can read (%s)", sf_strerror(NULL));
	if (si.channels < 1 || si.samplerate < 1) {
		sf_close(f);
		return fail(err, errlen, "no channels or no sample rate");
	}
	uint32_t C = (uint32_t)si.channels;
	size_t cap =
	    si.frames > 0 && si.frames < (sf_count_t)(1ull << 32) ? (size_t)si.frames + 1 : 65536;
	float *x = malloc(cap * sizeof *x);
	float *buf = malloc(sizeof(float) * 4096 * C);
	size_t n = 0;
	int st2 = 0;
	if (!x || !buf) {
		st2 = fail(err, errlen, "out of memory");
		goto done;
	}
	for (;;) {
		sf_count_t k = sf_readf_float(f, buf, 4096);
		if (k <= 0)
			break;
		if (n + (size_t)k > cap) {
			size_t nc = (cap + (size_t)k) * 2;
			float *nx = realloc(x, nc * sizeof *nx);
			if (!nx) {
				st2 = fail(err, errlen, "out of memory");
				goto done;
			}
			x = nx;
			cap = nc;
		}
		for (sf_count_t i = 0; i < k; i++) {
			double s = 0.0;
			for (uint32_t c = 0; c < C; c++)
				s += buf[(size_t)i * C + c];
			float v = (float)(s / C);
			x[n + (size_t)i] = isfinite(v) ? v : 0.0f;
		}
		n += (size_t)k;
	}
	if (sf_error(f)) {
		st2 = fail(err, errlen, "reading failed after %zu frames: %s", n, sf_strerror(f));
		goto done;
	}
	if (!n) {
		st2 = fail(err, errlen, "no audio in it (0 samples)");
		goto done;
	}
	*seconds = (double)n / si.samplerate;
	if ((uint32_t)si.samplerate != rate) {
		double ratio = (double)rate / si.samplerate;
		if (ratio > 256.0 || ratio < 1.0 / 256.0) {
			st2 = fail(err, errlen, "its rate of %d Hz is too far from %u Hz to resample",
			           si.samplerate, rate);
			goto done;
		}
		float *y;
		size_t ny;
		int e = ds_resample(x, n, ratio, &y, &ny);
		if (e) {
			st2 = e < 0 ? fail(err, errlen, "out of memory")
			            : fail(err, errlen, "resampling from %d Hz failed: %s", si.samplerate,
			                   src_strerror(e));
			goto done;
		}
		free(x);
		x = y;
		n = ny;
		if (!n) {
			n = 1;
			x[0] = 0.0f;
		}
	}
	if (pad(&x, &n, window))
		st2 = fail(err, errlen, "out of memory");
done:
	free(buf);
	sf_close(f);
	if (st2) {
		free(x);
		return st2;
	}
	*xo = x;
	*no = n;
	return 0;
}

uint32_t ds_hop(uint32_t window, double overlap_pct)
{
	uint32_t hop = (uint32_t)lround(window * (1.0 - overlap_pct / 100.0));
	return hop < 1 ? 1 : hop;
}

/* The number of windows before the quiet ones are dropped. */
static size_t max_windows(size_t n, uint32_t window, uint32_t hop)
{
	if (n <= window)
		return 1;
	size_t k = (n - window) / hop + 1;
	size_t end = (k - 1) * hop + window;
	if (n - end > window / 4)
		k++;
	return k;
}

int ds_windows(const float *x, size_t n, uint32_t window, uint32_t hop, double floor_db,
               size_t **offp, size_t *count)
{
	size_t k = max_windows(n, window, hop);
	size_t *off = realloc(*offp, k * sizeof *off);
	if (!off)
		return -1;
	*offp = off;
	size_t n_full = n <= window ? 1 : (n - window) / hop + 1;
	for (size_t i = 0; i < k; i++)
		off[i] = i < n_full ? i * hop : n - window;
	double thr = pow(10.0, floor_db / 20.0);
	thr = thr * thr * window; /* on the sum of squares */
	size_t kept = 0, loud = 0;
	double loudest = -1.0;
	for (size_t i = 0; i < k; i++) {
		double s = 0.0;
		const float *w = x + off[i];
		for (uint32_t j = 0; j < window; j++)
			s += (double)w[j] * w[j];
		if (s > loudest) {
			loudest = s;
			loud = off[i];
		}
		if (s >= thr)
			off[kept++] = off[i];
	}
	if (!kept) {
		off[0] = loud;
		kept = 1;
	}
	*count = kept;
	return 0;
}

typedef struct {
	dataset *ds;
	uint32_t rate, window;
	volatile sig_atomic_t *stop;
	pthread_mutex_t mu;
	size_t next, done;
	long failed;
	int cache_full; /* a write to the stream cache failed: no more files */
} loader;

static void load_one(loader *L, size_t i)
{
	ds_file *f = &L->ds->files[i];
	char err[512];
	float *x;
	size_t n;
	double secs = 0.0;
	if (ds_read_audio(f->path, L->rate, L->window, &x, &n, &secs, err, sizeof err)) {
		f->error = xstrdup(err);
		if (!f->error)
			f->error = xstrdup("out of memory");
		return;
	}
	f->n = n;
	f->seconds = secs;
	if (!L->ds->streamed) {
		f->x = x;
		return;
	}
	/* each file's place in the cache is taken in turn; the writes go on in
	 * parallel. Windows name a file and an offset, so the order the files
	 * land in does not change what training reads. */
	pthread_mutex_lock(&L->mu);
	uint64_t at = L->ds->cache_len;
	L->ds->cache_len += n;
	pthread_mutex_unlock(&L->mu);
	size_t want = n * sizeof(float), put = 0;
	while (put < want) {
		ssize_t w = pwrite(L->ds->cache_fd, (const char *)x + put, want - put,
		                   (off_t)(at * sizeof(float) + put));
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			/* the disk, not the file: said once, and no more files are
			 * decoded for a cache that cannot take them */
			snprintf(err, sizeof err, "cannot write the stream cache in %s: %s",
			         L->ds->cache_dir, w < 0 ? strerror(errno) : "no space written");
			f->error = xstrdup(err);
			if (!f->error)
				f->error = xstrdup("out of memory");
			pthread_mutex_lock(&L->mu);
			if (!L->ds->cache_error)
				L->ds->cache_error = xstrdup(err);
			L->cache_full = 1;
			pthread_mutex_unlock(&L->mu);
			break;
		}
		put += (size_t)w;
	}
	free(x);
	f->cache_at = at;
}

static size_t take(loader *L, int finished_one, int *failed)
{
	pthread_mutex_lock(&L->mu);
	if (finished_one) {
		L->done++;
		L->failed += *failed;
	}
	size_t i = (L->stop && *L->stop) || L->cache_full ? L->ds->n_files : L->next;
	if (i < L->ds->n_files)
		L->next++;
	pthread_mutex_unlock(&L->mu);
	return i;
}

static void *load_thread(void *arg)
{
	loader *L = arg;
	int failed = 0;
	for (size_t i = take(L, 0, &failed); i < L->ds->n_files; i = take(L, 1, &failed)) {
		load_one(L, i);
		failed = L->ds->files[i].error != NULL;
	}
	return NULL;
}

long ds_load_audio_all(dataset *ds, uint32_t rate, uint32_t window, uint32_t threads,
                       volatile sig_atomic_t *stop, void (*progress)(size_t, size_t, void *),
                       void *ctx)
{
	loader L;
	memset(&L, 0, sizeof L);
	L.ds = ds;
	L.rate = rate;
	L.window = window;
	L.stop = stop;
	pthread_mutex_init(&L.mu, NULL);
	if (threads < 1)
		threads = 1;
	if (threads > 64)
		threads = 64;
	pthread_t th[64];
	int started[64] = {0};
	for (uint32_t t = 1; t < threads; t++)
		started[t] = pthread_create(&th[t], NULL, load_thread, &L) == 0;
	/* this thread loads too, and reports progress between files */
	int failed = 0;
	for (size_t i = take(&L, 0, &failed); i < ds->n_files; i = take(&L, 1, &failed)) {
		load_one(&L, i);
		failed = ds->files[i].error != NULL;
		if (progress) {
			pthread_mutex_lock(&L.mu);
			size_t d = L.done;
			pthread_mutex_unlock(&L.mu);
			progress(d, ds->n_files, ctx);
		}
	}
	for (uint32_t t = 1; t < threads; t++)
		if (started[t])
			pthread_join(th[t], NULL);
	pthread_mutex_destroy(&L.mu);
	if (progress)
		progress(L.done, ds->n_files, ctx);
	if (stop && *stop)
		return -1;
	return L.failed;
}
