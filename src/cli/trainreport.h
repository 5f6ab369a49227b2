/* SPDX-License-Identifier: GPL-2.0-or-later */
/* trainreport.h -- the report of `oneiro train`: text (confusion matrices,
 * per-class precision and recall, for binary models also specificity and
 * negative predictive value, the epoch table) and a picture (training
 * curves and confusion matrices, PNG, SVG or PDF, drawn with cairo). */
#ifndef ONEIRO_TRAINREPORT_H
#define ONEIRO_TRAINREPORT_H

#include "cliutil.h"

#include <stddef.h>
#include <stdint.h>

typedef struct {
	uint32_t epoch; /* 1-based */
	double lr;      /* at the epoch's last step */
	double train_loss, train_acc;
	double val_loss, val_acc, val_file_acc; /* NAN without a validation set */
	double seconds;
	int partial; /* interrupted before the epoch's end */
} tr_epoch;

typedef struct {
	const char *model_path, *dataset, *format, *split_desc, *arch_desc, *settings, *date;
	const char *stop_reason;
	const char *eval_on; /* "validation set" or "training set (no validation set)" */
	int binary;          /* class 1 = positive */
	uint32_t n_classes;
	char *const *classes;                                          /* (n_classes) */
	const size_t *train_files, *train_wins, *val_files, *val_wins; /* (n_classes) */
	size_t n_params;
	uint32_t rate, window;
	const tr_epoch *ep; /* (n_ep) */
	uint32_t n_ep;
	int best;                         /* index into ep of the saved epoch, -1 none */
	int select_acc;                   /* it was chosen by validation accuracy */
	const uint64_t *cm_win, *cm_file; /* (n_classes, n_classes): true row, predicted column */
	double t_load, t_train, examples_per_s;
	uint32_t threads;
	/* --robust: the attack and the window accuracy under it, on the same set
	 * (robust_db 0: not trained robustly, no line) */
	double robust_db, robust_acc;
	uint32_t robust_steps;
	/* per value of the dataset's grouping column (CSV `source`), on the same
	 * set as the matrices; n_src 0: no such column, no table */
	const char *src_col;             /* the column's name */
	size_t n_src;
	char *const *src_name;           /* (n_src) */
	const char *const *src_class;    /* (n_src) its files' class, or "(mixed)" */
	const size_t *src_files, *src_files_ok, *src_wins, *src_wins_ok; /* (n_src) */
} tr_report;

/* Accuracy of a confusion matrix (NAN when empty). */
double tr_accuracy(const uint64_t *cm, uint32_t k);

/* The report text, appended to b. */
void tr_report_text(const tr_report *r, cli_buf *b);

/* The picture: loss and accuracy per epoch, and the two confusion matrices;
 * .png, .svg or .pdf by the path's extension. 0, or -1 with a reason in err. */
int tr_report_picture(const tr_report *r, const char *path, char *err, size_t errlen);

#endif
