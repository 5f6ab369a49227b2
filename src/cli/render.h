/* SPDX-License-Identifier: GPL-2.0-or-later */
/* render.h -- `oneiro render`: offline rendering of dreamed stems. */
#ifndef ONEIRO_RENDER_H
#define ONEIRO_RENDER_H

/* argv[0] is "render"; argv0 is the program's own argv[0] (used to find the
 * default model beside the executable). Returns the exit status: 0 done,
 * 1 runtime failure, 2 usage error, 128 + signal when interrupted. */
int cmd_render(int argc, char **argv, const char *argv0);

#endif
