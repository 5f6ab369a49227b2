/* SPDX-License-Identifier: GPL-2.0-or-later */
/* train_cmd.h -- `oneiro train`: trains a model on a labelled dataset. */
#ifndef ONEIRO_TRAIN_CMD_H
#define ONEIRO_TRAIN_CMD_H

/* argv[0] is "train". Returns the exit status: 0 done, 1 failed, 2 usage
 * error, 128 + signal when interrupted (the best model so far is saved). */
int cmd_train(int argc, char **argv);

#endif
