/* SPDX-License-Identifier: GPL-2.0-or-later */
/* trainreport.c -- see trainreport.h. */
#include "trainreport.h"

#include "chart.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- metrics */
double tr_accuracy(const uint64_t *cm, uint32_t k)
{
	uint64_t all = 0, right = 0;
	for (uint32_t i = 0; i < k; i++)
		for (uint32_t j = 0; j < k; j++) {
			all += cm[(size_t)i * k + j];
			right += i == j ? cm[(size_t)i * k + j] : 0;
		}
	return all ? (double)right / (double)all : NAN;
}

static double ratio(uint64_t a, uint64_t b)
{
	return b ? (double)a / (double)b : NAN;
}

static void pct(cli_buf *b, double v, int width)
{
	if (isnan(v))
		cli_printf(b, "%*s", width, "n/a");
	else
		cli_printf(b, "%*.1f %%", width - 2, 100.0 * v);
}

static void fixed(cli_buf *b, double v, int width, int prec)
{
	if (isnan(v))
		cli_printf(b, "%*s", width, "n/a");
	else
		cli_printf(b, "%*.*f", width, prec, v);
}

/* The width of a column of class names: the longest, from lo to hi. */
static int name_width(const tr_report *r, int lo, int hi)
{
	int w = lo;
	for (uint32_t k = 0; k < r->n_classes; k++) {
		int l = (int)strlen(r->classes[k]);
		if (l > w)
			w = l;
	}
	return w > hi ? hi : w;
}

/* One line of the binary table: name, the rate num / den and how it is
 * made. */
static void rate_row(cli_buf *b, const char *name, uint64_t num, uint64_t den, const char *formula)
{
	cli_printf(b, "    %-26s", name);
	pct(b, ratio(num, den), 8);
	cli_printf(b, "   %s = %llu / %llu\n", formula, (unsigned long long)num,
	           (unsigned long long)den);
}

/* Confusion matrix, per-class figures, and for binary models Jenkins'
 * table (precision, recall, specificity, negative predictive value). */
static void metrics_text(const tr_report *r, const uint64_t *cm, const char *unit, cli_buf *b)
{
	uint32_t K = r->n_classes;
	uint64_t all = 0;
	for (size_t i = 0; i < (size_t)K * K; i++)
		all += cm[i];
	if (!all) {
		cli_printf(b, "  no %s to evaluate\n", unit);
		return;
	}
	uint64_t right = 0;
	for (uint32_t i = 0; i < K; i++)
		right += cm[(size_t)i * K + i];
	cli_printf(b, "  accuracy: %.1f %% (%llu of %llu %s)\n", 100.0 * right / all,
	           (unsigned long long)right, (unsigned long long)all, unit);
	/* the matrix: columns numbered, rows named */
	int nw = name_width(r, 8, 24);
	int cw = 6;
	for (size_t i = 0; i < (size_t)K * K; i++) {
		int d = snprintf(NULL, 0, "%llu", (unsigned long long)cm[i]) + 1;
		if (d > cw)
			cw = d;
	}
	cli_printf(b, "  confusion matrix (rows: true class, columns: predicted class):\n");
	cli_printf(b, "  %*s", nw + 5, "");
	for (uint32_t k = 0; k < K; k++)
		cli_printf(b, "%*u", cw, k);
	cli_printf(b, "\n");
	for (uint32_t i = 0; i < K; i++) {
		cli_printf(b, "  %3u %-*.*s", i, nw + 1, nw, r->classes[i]);
		for (uint32_t j = 0; j < K; j++)
			cli_printf(b, "%*llu", cw, (unsigned long long)cm[(size_t)i * K + j]);
		cli_printf(b, "\n");
	}
	cli_printf(b, "  %3s %-*s %10s %10s %10s %8s\n", "", nw + 1, "class", "precision", "recall",
	           "F1", "support");
	for (uint32_t k = 0; k < K; k++) {
		uint64_t tp = cm[(size_t)k * K + k], row = 0, col = 0;
		for (uint32_t j = 0; j < K; j++) {
			row += cm[(size_t)k * K + j];
			col += cm[(size_t)j * K + k];
		}
		double p = ratio(tp, col), rc = ratio(tp, row);
		double f1 = (p + rc > 0.0) ? 2.0 * p * rc / (p + rc) : (isnan(p) || isnan(rc) ? NAN : 0.0);
		cli_printf(b, "  %3u %-*.*s ", k, nw + 1, nw, r->classes[k]);
		pct(b, p, 10);
		cli_printf(b, " ");
		pct(b, rc, 10);
		cli_printf(b, " ");
		fixed(b, f1, 10, 3);
		cli_printf(b, " %8llu\n", (unsigned long long)row);
	}
	if (r->binary && K == 2) {
		uint64_t tn = cm[0], fp = cm[1], fn = cm[2], tp = cm[3];
		cli_printf(b, "  as an interestingness rater ('%s' positive):\n", r->classes[1]);
		rate_row(b, "precision (PPV)", tp, tp + fp, "TP / (TP + FP)");
		rate_row(b, "recall (sensitivity)", tp, tp + fn, "TP / (TP + FN)");
		rate_row(b, "specificity", tn, tn + fp, "TN / (TN + FP)");
		rate_row(b, "negative predictive value", tn, tn + fn, "TN / (TN + FN)");
		cli_printf(b, "    accuracy                  ");
		pct(b, ratio(tp + tn, tp + tn + fp + fn), 8);
		cli_printf(b, "\n");
	}
}

/* Accuracy per value of the grouping column (a held-out source, speaker,
 * kit...), sorted by class then name; sources with no evaluated file left
 * out. */
static const tr_report *g_src_sort;
static int src_cmp(const void *a, const void *b)
{
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	int c = strcmp(g_src_sort->src_class[i], g_src_sort->src_class[j]);
	return c ? c : strcmp(g_src_sort->src_name[i], g_src_sort->src_name[j]);
}

static void source_text(const tr_report *r, cli_buf *b)
{
	if (!r->n_src)
		return;
	size_t *ord = malloc(r->n_src * sizeof *ord), n = 0;
	if (!ord) {
		b->oom = 1;
		return;
	}
	int nw = 6, cw = 5;
	for (size_t i = 0; i < r->n_src; i++) {
		if (!r->src_files[i])
			continue;
		ord[n++] = i;
		int l = (int)strlen(r->src_name[i]), c = (int)strlen(r->src_class[i]);
		nw = l > nw ? (l < 60 ? l : 60) : nw;
		cw = c > cw ? (c < 24 ? c : 24) : cw;
	}
	g_src_sort = r; /* the CLI is single-threaded here */
	qsort(ord, n, sizeof *ord, src_cmp);
	cli_printf(b, "\nper %s (%s; %zu with files there):\n", r->src_col ? r->src_col : "source",
	           r->eval_on, n);
	cli_printf(b, "  %-*s %-*s %7s %7s %9s %9s\n", nw, r->src_col ? r->src_col : "source", cw,
	           "class", "files", "correct", "windows", "correct");
	for (size_t k = 0; k < n; k++) {
		size_t i = ord[k];
		cli_printf(b, "  %-*.*s %-*.*s %7zu ", nw, nw, r->src_name[i], cw, cw, r->src_class[i],
		           r->src_files[i]);
		pct(b, ratio(r->src_files_ok[i], r->src_files[i]), 7);
		cli_printf(b, " %9zu ", r->src_wins[i]);
		pct(b, ratio(r->src_wins_ok[i], r->src_wins[i]), 9);
		cli_printf(b, "\n");
	}
	free(ord);
}

void tr_report_text(const tr_report *r, cli_buf *b)
{
	uint32_t K = r->n_classes;
	size_t tf = 0, tw = 0, vf = 0, vw = 0;
	for (uint32_t k = 0; k < K; k++) {
		tf += r->train_files[k];
		tw += r->train_wins[k];
		vf += r->val_files[k];
		vw += r->val_wins[k];
	}
	cli_printf(b, "oneiro train report\n");
	cli_printf(b, "model:        %s\n", r->model_path);
	cli_printf(b,
	           "              %s, %zu parameters, %s, %u classes, %u Hz, window %u samples "
	           "(%.3f s)\n",
	           r->arch_desc, r->n_params, r->binary ? "binary (interestingness)" : "classes", K,
	           r->rate, r->window, (double)r->window / r->rate);
	cli_printf(b, "date:         %s\n", r->date);
	cli_printf(b, "dataset:      %s (%s)\n", r->dataset, r->format);
	cli_printf(b, "split:        %s\n", r->split_desc);
	cli_printf(b,
	           "              training %zu files, %zu windows; validation %zu files, %zu "
	           "windows\n",
	           tf, tw, vf, vw);
	int nw = name_width(r, 5, 32);
	cli_printf(b, "classes:      %3s %-*s %11s %11s %11s %11s\n", "", nw, "class", "train files",
	           "windows", "val files", "windows");
	for (uint32_t k = 0; k < K; k++)
		cli_printf(b, "              %3u %-*.*s %11zu %11zu %11zu %11zu\n", k, nw, nw,
		           r->classes[k], r->train_files[k], r->train_wins[k], r->val_files[k],
		           r->val_wins[k]);
	cli_printf(b, "training:     %s\n", r->settings);
	cli_printf(b, "stopped:      %s\n", r->stop_reason);
	if (r->best >= 0) {
		const tr_epoch *e = &r->ep[r->best];
		cli_printf(b, "saved:        epoch %u%s", e->epoch, e->partial ? " (partial)" : "");
		if (!isnan(e->val_loss) && r->select_acc)
			cli_printf(b, ", the highest validation accuracy (%.1f %%, loss %.4f)\n",
			           100.0 * e->val_acc, e->val_loss);
		else if (!isnan(e->val_loss))
			cli_printf(b, ", the lowest validation loss (%.4f)\n", e->val_loss);
		else
			cli_printf(b, ", the lowest training loss (%.4f; no validation set)\n", e->train_loss);
	}
	cli_printf(b, "time:         loading %.1f s, training %.1f s, %.0f examples/s on %u thread%s\n",
	           r->t_load, r->t_train, r->examples_per_s, r->threads, r->threads == 1 ? "" : "s");

	cli_printf(b, "\nepochs:\n  %5s %9s %10s %9s %10s %9s %9s %7s\n", "epoch", "lr", "train loss",
	           "train acc", "val loss", "val acc", "val files", "time");
	for (uint32_t i = 0; i < r->n_ep; i++) {
		const tr_epoch *e = &r->ep[i];
		cli_printf(b, "  %5u %9.2e ", e->epoch, e->lr);
		fixed(b, e->train_loss, 10, 4);
		cli_printf(b, " ");
		pct(b, e->train_acc, 9);
		cli_printf(b, " ");
		fixed(b, e->val_loss, 10, 4);
		cli_printf(b, " ");
		pct(b, e->val_acc, 9);
		cli_printf(b, " ");
		pct(b, e->val_file_acc, 9);
		cli_printf(b, " %6.1fs%s%s\n", e->seconds, (int)i == r->best ? "  <- saved" : "",
		           e->partial ? "  (partial)" : "");
	}
	double wa = tr_accuracy(r->cm_win, K), fa = tr_accuracy(r->cm_file, K);
	cli_printf(b, "\nresult on the %s, with the saved parameters:\n", r->eval_on);
	cli_printf(b, "  window accuracy ");
	pct(b, wa, 7);
	cli_printf(b, "    file accuracy ");
	pct(b, fa, 7);
	cli_printf(b, "    chance (largest class) ");
	{
		uint64_t all = 0, most = 0;
		for (uint32_t i = 0; i < K; i++) {
			uint64_t row = 0;
			for (uint32_t j = 0; j < K; j++)
				row += r->cm_file[(size_t)i * K + j];
			all += row;
			if (row > most)
				most = row;
		}
		pct(b, ratio(most, all), 7);
	}
	if (r->robust_db != 0.0) {
		cli_printf(b, "\n  robust window accuracy ");
		pct(b, r->robust_acc, 7);
		cli_printf(b, "  (each window attacked: %u steps of projected gradient ascent on its "
		           "loss within %g dB of its RMS)", r->robust_steps, r->robust_db);
	}
	cli_printf(b, "\n\nwindows (%s):\n", r->eval_on);
	metrics_text(r, r->cm_win, "windows", b);
	cli_printf(b, "\nfiles (%s; a file's class: the mean of its windows' probabilities):\n",
	           r->eval_on);
	metrics_text(r, r->cm_file, "files", b);
	source_text(r, b);
}

/* ---------------------------------------------------------------- picture */
#define PIC_W 1040
#define PIC_H 900
#define C_BLACK 0x000000
#define C_GRAY 0x6e6e6e
#define C_GRID 0xe6e6e6
#define C_TRAIN 0x1f63c6
#define C_VAL 0xe0701a
#define C_FILE 0x2a9d4a

typedef struct {
	int x, y, w, h; /* plot area */
	double x0, x1, y0, y1;
} axes;

static double ax_x(const axes *a, double v)
{
	return a->x + (v - a->x0) / (a->x1 - a->x0) * (a->w - 1);
}

static double ax_y(const axes *a, double v)
{
	return a->y + a->h - 1 - (v - a->y0) / (a->y1 - a->y0) * (a->h - 1);
}

#define FS 11.0 /* labels, pixels */
#define FS_TITLE 16.0

static void draw_axes(chart *c, const axes *a, const char *title, const char *ylabel, int pct_axis)
{
	chart_text(c, a->x + a->w / 2, a->y - 24, title, FS_TITLE, CHART_CENTRE | CHART_BOLD, C_BLACK);
	double ys = chart_nice_step(a->y1 - a->y0, 5);
	for (double v = ceil(a->y0 / ys) * ys; v <= a->y1 + 1e-9; v += ys) {
		double y = round(ax_y(a, v));
		chart_rect(c, a->x, y, a->w, 1, C_GRID);
		chart_rect(c, a->x - 5, y, 4, 1, C_BLACK);
		char lab[32];
		chart_tick_label(lab, sizeof lab, pct_axis ? 100.0 * v : v, pct_axis ? 100.0 * ys : ys);
		chart_text(c, a->x - 8, y - 3.5, lab, FS, CHART_RIGHT, C_BLACK);
	}
	double span = a->x1 - a->x0;
	double xs = chart_nice_step(span, 8);
	if (xs < 1.0)
		xs = 1.0;
	for (double v = ceil(a->x0 / xs) * xs; v <= a->x1 + 1e-9; v += xs) {
		if (v < 1.0)
			continue;
		double x = round(ax_x(a, v));
		chart_rect(c, x, a->y + a->h, 1, 4, C_BLACK);
		char lab[32];
		snprintf(lab, sizeof lab, "%.0f", v);
		chart_text(c, x + 0.5, a->y + a->h + 9, lab, FS, CHART_CENTRE, C_BLACK);
	}
	chart_box(c, a->x - 1, a->y - 1, a->w + 2, a->h + 2, C_GRAY);
	chart_text(c, a->x + a->w / 2, a->y + a->h + 25, "epoch", FS, CHART_CENTRE, C_BLACK);
	chart_text(c, a->x - 48, a->y + a->h / 2, ylabel, FS, CHART_UP, C_BLACK);
}

/* One series: field at offset off of each epoch; markers at the points. */
static void series(chart *c, const axes *a, const tr_report *r, size_t off, uint32_t rgb,
                   int dashed)
{
	double px = NAN, py = NAN;
	for (uint32_t i = 0; i < r->n_ep; i++) {
		double v = *(const double *)((const char *)&r->ep[i] + off);
		if (!isfinite(v)) {
			px = py = NAN;
			continue;
		}
		if (v > a->y1)
			v = a->y1;
		double x = ax_x(a, r->ep[i].epoch), y = ax_y(a, v);
		if (!isnan(px))
			chart_line(c, px, py, x, y, 2, rgb, dashed);
		chart_rect(c, x - 2, y - 2, 5, 5, rgb);
		px = x;
		py = y;
	}
}

static void legend(chart *c, int x, int y, const char *const *names, const uint32_t *rgb,
                   const int *dashed, int n)
{
	for (int i = 0; i < n; i++) {
		chart_line(c, x, y + 4, x + 22, y + 4, 2, rgb[i], dashed[i]);
		chart_text(c, x + 28, y, names[i], FS, CHART_LEFT, C_BLACK);
		x += 40 + (int)ceil(chart_text_width(c, names[i], FS, 0));
	}
}

static void best_marker(chart *c, const axes *a, const tr_report *r)
{
	if (r->best < 0)
		return;
	double x = ax_x(a, r->ep[r->best].epoch);
	chart_line(c, x, a->y, x, a->y + a->h - 1, 1, C_GRAY, 1);
	if (x > a->x + a->w - 40)
		chart_text(c, x - 4, a->y + 5, "saved", FS, CHART_RIGHT, C_GRAY);
	else
		chart_text(c, x + 5, a->y + 5, "saved", FS, CHART_LEFT, C_GRAY);
}

/* White to a deep blue. */
static uint32_t heat(double t)
{
	if (!(t > 0.0))
		t = 0.0;
	if (t > 1.0)
		t = 1.0;
	int r = (int)lrint(255 + t * (8 - 255)), g = (int)lrint(255 + t * (48 - 255)),
	    b = (int)lrint(255 + t * (107 - 255));
	return (uint32_t)(r << 16 | g << 8 | b);
}

static void confusion(chart *c, int x, int y, int size, const tr_report *r, const uint64_t *cm,
                      const char *title)
{
	uint32_t K = r->n_classes;
	chart_text(c, x + size / 2, y - 94, title, FS_TITLE, CHART_CENTRE | CHART_BOLD, C_BLACK);
	int cs = size / (int)K;
	if (cs < 1)
		cs = 1;
	int S = cs * (int)K;
	/* counts and names smaller when the cells are */
	double fs = cs >= 24 ? FS : cs * 0.45;
	char lab[64];
	for (uint32_t i = 0; i < K; i++) {
		uint64_t row = 0;
		for (uint32_t j = 0; j < K; j++)
			row += cm[(size_t)i * K + j];
		for (uint32_t j = 0; j < K; j++) {
			uint64_t v = cm[(size_t)i * K + j];
			double t = row ? (double)v / (double)row : 0.0;
			int cx = x + (int)j * cs, cy = y + (int)i * cs;
			chart_rect(c, cx, cy, cs, cs, heat(t));
			snprintf(lab, sizeof lab, "%llu", (unsigned long long)v);
			if (fs >= 5.0 && chart_text_width(c, lab, fs, 0) + 3 <= cs)
				chart_text(c, cx + cs / 2.0, cy + (cs - 0.73 * fs) / 2, lab, fs, CHART_CENTRE,
				           t > 0.5 ? 0xffffff : C_BLACK);
		}
	}
	chart_box(c, x - 1, y - 1, S + 2, S + 2, C_GRAY);
	/* class names: rows on the left, columns above (reading upwards), cut to
	 * the room there is */
	if (fs >= 5.0) {
		for (uint32_t k = 0; k < K; k++) {
			const char *name = r->classes[k];
			int n = (int)strlen(name);
			snprintf(lab, sizeof lab, "%s", name);
			while (n > 1 && (n > 60 || chart_text_width(c, lab, fs, 0) > 76)) {
				/* cut a byte at a time, not inside a UTF-8 sequence */
				do
					n--;
				while (n > 1 && ((unsigned char)name[n] & 0xc0) == 0x80);
				snprintf(lab, sizeof lab, "%.*s\xe2\x80\xa6", n, name);
			}
			chart_text(c, x - 6, y + k * cs + (cs - 0.73 * fs) / 2, lab, fs, CHART_RIGHT, C_BLACK);
			double w = chart_text_width(c, lab, fs, 0);
			chart_text(c, x + k * cs + cs / 2.0, y - 6 - w / 2, lab, fs, CHART_UP, C_BLACK);
		}
	}
	chart_text(c, x + S / 2, y + S + 9, "predicted", FS, CHART_CENTRE, C_BLACK);
	chart_text(c, x - 98, y + S / 2, "true", FS, CHART_UP, C_BLACK);
	snprintf(lab, sizeof lab, "accuracy %.1f %%", 100.0 * tr_accuracy(cm, K));
	if (!isnan(tr_accuracy(cm, K)))
		chart_text(c, x + S / 2, y + S + 24, lab, FS, CHART_CENTRE, C_BLACK);
}

int tr_report_picture(const tr_report *r, const char *path, char *err, size_t errlen)
{
	char title[512];
	snprintf(title, sizeof title, "oneiro train   %s   |   %s   |   %s",
	         cli_base_name(r->model_path), r->arch_desc, r->date);
	chart *c = chart_new(path, PIC_W, PIC_H, title, err, errlen);
	if (!c)
		return -1;
	/* a long title (a --layers spec) smaller, to fit */
	double ts = 12.0, tw = chart_text_width(c, title, ts, 0);
	if (tw > PIC_W - 40)
		ts *= (PIC_W - 40) / tw;
	chart_text(c, 20, 10, title, ts, CHART_LEFT, C_BLACK);

	/* the curves: x from 1 to the last epoch */
	double xe = r->n_ep > 1 ? r->ep[r->n_ep - 1].epoch : 2.0;
	double lmax = 0.0;
	int have_val = 0;
	for (uint32_t i = 0; i < r->n_ep; i++) {
		if (isfinite(r->ep[i].train_loss) && r->ep[i].train_loss > lmax)
			lmax = r->ep[i].train_loss;
		if (isfinite(r->ep[i].val_loss)) {
			have_val = 1;
			if (r->ep[i].val_loss > lmax)
				lmax = r->ep[i].val_loss;
		}
	}
	/* a validation loss that explodes should not flatten the rest */
	double lcap = 0.0;
	for (uint32_t i = 0; i < r->n_ep; i++)
		if (isfinite(r->ep[i].train_loss) && r->ep[i].train_loss > lcap)
			lcap = r->ep[i].train_loss;
	if (lmax > 3.0 * lcap && lcap > 0.0)
		lmax = 3.0 * lcap;
	if (!(lmax > 0.0))
		lmax = 1.0;
	axes la = {80, 70, 400, 260, 1.0, xe, 0.0, lmax * 1.05};
	axes aa = {600, 70, 400, 260, 1.0, xe, 0.0, 1.0};
	draw_axes(c, &la, "loss", "cross-entropy", 0);
	draw_axes(c, &aa, "accuracy", "accuracy (%)", 1);
	best_marker(c, &la, r);
	best_marker(c, &aa, r);
	series(c, &la, r, offsetof(tr_epoch, train_loss), C_TRAIN, 0);
	series(c, &aa, r, offsetof(tr_epoch, train_acc), C_TRAIN, 0);
	if (have_val) {
		series(c, &la, r, offsetof(tr_epoch, val_loss), C_VAL, 0);
		series(c, &aa, r, offsetof(tr_epoch, val_acc), C_VAL, 0);
		series(c, &aa, r, offsetof(tr_epoch, val_file_acc), C_FILE, 1);
	}
	{
		const char *n[] = {"train", "validation"};
		uint32_t k[] = {C_TRAIN, C_VAL};
		int d[] = {0, 0};
		legend(c, la.x, la.y + la.h + 38, n, k, d, have_val ? 2 : 1);
	}
	{
		const char *n[] = {"train (windows)", "validation (windows)", "validation (files)"};
		uint32_t k[] = {C_TRAIN, C_VAL, C_FILE};
		int d[] = {0, 0, 1};
		legend(c, aa.x, aa.y + aa.h + 38, n, k, d, have_val ? 3 : 1);
	}

	/* the confusion matrices */
	char t1[128], t2[128];
	int val = strncmp(r->eval_on, "validation", 10) == 0;
	snprintf(t1, sizeof t1, "%s windows", val ? "validation" : "training");
	snprintf(t2, sizeof t2, "%s files", val ? "validation" : "training");
	confusion(c, 190, 540, 300, r, r->cm_win, t1);
	confusion(c, 710, 540, 300, r, r->cm_file, t2);
	return chart_write(c, err, errlen);
}
