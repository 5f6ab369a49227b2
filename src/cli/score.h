/* SPDX-License-Identifier: GPL-2.0-or-later */
/* score.h -- `oneiro score`: what a model hears in sound files; and the
 * window scoring it shares with `oneiro render --judge`. */
#ifndef ONEIRO_SCORE_H
#define ONEIRO_SCORE_H

#include "train.h"

#include <stddef.h>
#include <stdint.h>

/* argv[0] is "score"; argv0 is the program's own argv[0] (to find the
 * default model beside the executable). Returns the exit status: 0 done,
 * 1 a file or the model failed, 2 usage error, 128 + signal interrupted. */
int cmd_score(int argc, char **argv, const char *argv0);

/* The class probabilities of nw windows of x, window i starting at off[i]
 * (as ds_windows cuts them; the trainer's window length each), evaluated
 * as `oneiro score` does: their mean over the windows into mean (K), and,
 * when probs is not NULL, each window's into probs (nw, K). K is the
 * model's number of classes. 0, or an ONR_E* status. */
int score_windows(onr_trainer *t, uint32_t K, const float *x, const size_t *off, size_t nw,
                  double *mean, float *probs);

#endif
