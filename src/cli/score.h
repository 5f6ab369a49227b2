/* score.h -- `oneiro score`: what a model hears in sound files. */
#ifndef ONEIRO_SCORE_H
#define ONEIRO_SCORE_H

/* argv[0] is "score"; argv0 is the program's own argv[0] (to find the
 * default model beside the executable). Returns the exit status: 0 done,
 * 1 a file or the model failed, 2 usage error, 128 + signal interrupted. */
int cmd_score(int argc, char **argv, const char *argv0);

#endif
