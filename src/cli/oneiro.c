/* SPDX-License-Identifier: GPL-2.0-or-later */
/* oneiro -- the command-line tool. The only code of the project that prints
 * and exits. Subcommands: inspect, new-model, render, train, score. */
#include "cliutil.h"
#include "onr.h"
#include "render.h"
#include "score.h"
#include "train_cmd.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef ONEIRO_VERSION /* the Makefile's VERSION, also the plugins' version */
#error "ONEIRO_VERSION is not defined: build with make (it passes the Makefile's VERSION)"
#endif

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: oneiro COMMAND [options]\n"
	        "\n"
	        "Neural \"DeepDream\" for sound.\n"
	        "\n"
	        "commands:\n"
	        "  inspect MODEL          architecture, layers, classes, metadata of a model\n"
	        "  new-model [options] OUT\n"
	        "                         write an untrained model of a named architecture\n"
	        "  render [options] IN OUT | --out-dir DIR IN... | --from noise|silence OUT\n"
	        "                         dream audio files offline (dreamed stems), or audiate\n"
	        "                         what a layer listens for\n"
	        "  train [options] DATASET MODEL\n"
	        "                         train a model on labelled sound files (class folders,\n"
	        "                         a CSV, UrbanSound8K), with a report beside it\n"
	        "  score [options] FILE...\n"
	        "                         what a model hears in sound files: class probabilities\n"
	        "                         or interestingness per file (--json for scripts)\n"
	        "  version                print the version and the kernel set in use\n"
	        "\n"
	        "'oneiro COMMAND --help' describes a command's options.\n");
}

static int cmd_inspect(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "--class-names")) {
		/* one class name a line: for scripts (the plugin's TTL is made so) */
		char err[512];
		onr_model *m;
		if (onr_model_load_file(&m, argv[2], err, sizeof err)) {
			fprintf(stderr, "oneiro: %s\n", err);
			return 1;
		}
		for (uint32_t k = 0; k < m->n_classes; k++)
			printf("%s\n", m->class_names[k]);
		onr_model_free(m);
		return 0;
	}
	if (argc != 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fprintf(argc == 2 ? stdout : stderr,
		        "usage: oneiro inspect [--class-names] MODEL\n"
		        "Prints a model's architecture (with the layer numbers that render and the\n"
		        "plugin use), parameter count, receptive field, classes and metadata.\n"
		        "  --class-names   only the class names, one a line\n");
		return argc == 2 ? 0 : 2;
	}
	char err[512];
	onr_model *m;
	if (onr_model_load_file(&m, argv[1], err, sizeof err)) {
		fprintf(stderr, "oneiro: %s\n", err);
		return 1;
	}
	printf("model:          %s\n", argv[1]);
	printf("kind:           %s\n", m->kind == ONR_KIND_BINARY ? "binary (interestingness)"
	                                                          : "classes");
	printf("sample rate:    %u Hz\n", m->sample_rate);
	printf("window:         %u samples (%.3f s)\n", m->window,
	       (double)m->window / m->sample_rate);
	/* what one time step of the last layer before the global mean hears:
	 * kernels and strides walked back, padding ignored */
	uint32_t g = 0;
	while (g < m->n_ops && m->ops[g].type != ONR_OP_GMEAN)
		g++;
	uint64_t rf = 1;
	for (uint32_t i = g; i-- > 0;) {
		const onr_op *o = &m->ops[i];
		if (o->type == ONR_OP_CONV)
			rf = (rf - 1) * o->d + o->c;
		else if (o->type == ONR_OP_MAXPOOL || o->type == ONR_OP_LOGMEL)
			rf = (rf - 1) * o->b + o->a;
	}
	printf("receptive field: %llu samples (%.1f ms) of sound in each last feature\n",
	       (unsigned long long)rf, 1000.0 * (double)rf / m->sample_rate);
	printf("shortest input: %u samples (%.1f ms)\n", m->min_len,
	       1000.0 * m->min_len / m->sample_rate);
	printf("parameters:     %zu\n", m->n_params);
	static const char *norms[] = {"none", "gain", "window RMS"};
	printf("normalisation:  %s", norms[m->norm]);
	if (m->norm != ONR_NORM_NONE)
		printf(" %g", (double)m->norm_value);
	printf("\nlayers (at the nominal window):\n");
	if (m->ops[0].type == ONR_OP_LOGMEL) {
		const onr_op *o = &m->ops[0];
		char desc[128];
		uint32_t C, T;
		onr_model_op_shape(m, 0, m->window, &C, &T);
		if (o->c)
			snprintf(desc, sizeof desc, "log-mel %u bands %u-%u Hz, fft %u hop %u floor %g", o->c,
			         o->d, o->e ? o->e : m->sample_rate / 2, o->a, o->b, (double)o->f);
		else
			snprintf(desc, sizeof desc, "log-power, fft %u hop %u floor %g", o->a, o->b,
			         (double)o->f);
		printf("  front    %-52s -> (%u, %u)\n", desc, C, T);
	}
	for (uint32_t b = 0; b < m->n_blocks; b++) {
		char desc[256];
		uint32_t C, T;
		onr_model_block_desc(m, b, desc, sizeof desc);
		onr_model_block_shape(m, b, 0, m->window, &C, &T);
		printf("  Layer %-2u %-52s -> (%u, %u)\n", b + 1, desc, C, T);
	}
	printf("classes (%u):\n", m->n_classes);
	for (uint32_t k = 0; k < m->n_classes; k++)
		printf("  %2u %s\n", k, m->class_names[k]);
	if (m->meta[0])
		printf("metadata:\n%s%s", m->meta, m->meta[strlen(m->meta) - 1] == '\n' ? "" : "\n");
	onr_model_free(m);
	return 0;
}

static int cmd_new_model(int argc, char **argv)
{
	const char *arch = "small", *out = NULL, *names_arg = NULL;
	uint32_t classes = 10, rate = 16000, window = 16384, seed = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			printf("usage: oneiro new-model [options] OUT\n"
			       "Writes an untrained (randomly initialised) model: for tests, benchmarks\n"
			       "and as the start of training.\n"
			       "  --arch NAME      tiny, small, wide or mel (default small)\n"
			       "  --classes N      number of classes, 2 to %d (default 10)\n"
			       "  --rate HZ        sample rate (default 16000)\n"
			       "  --window N       nominal window in samples (default 16384)\n"
			       "  --seed S         initialisation seed (default 0)\n"
			       "  --class-names A,B,...  class names (default class0, class1, ...)\n",
			       ONR_MAX_CLASSES);
			return 0;
		}
		if (a[0] == '-' && !v) {
			fprintf(stderr, "oneiro new-model: %s needs a value\n", a);
			return 2;
		}
		if (!strcmp(a, "--arch")) {
			arch = v;
		} else if (!strcmp(a, "--classes")) {
			if (cli_parse_u32("oneiro", "--classes", v, 2, ONR_MAX_CLASSES, &classes))
				return 2;
		} else if (!strcmp(a, "--rate")) {
			if (cli_parse_u32("oneiro", "--rate", v, 1000, ONR_MAX_RATE, &rate))
				return 2;
		} else if (!strcmp(a, "--window")) {
			if (cli_parse_u32("oneiro", "--window", v, 1, ONR_MAX_WINDOW, &window))
				return 2;
		} else if (!strcmp(a, "--class-names")) {
			names_arg = v;
		} else if (!strcmp(a, "--seed")) {
			if (cli_parse_u32("oneiro", "--seed", v, 0, UINT32_MAX, &seed))
				return 2;
		} else if (a[0] == '-') {
			fprintf(stderr, "oneiro new-model: unknown option %s (see --help)\n", a);
			return 2;
		} else {
			out = a;
			continue;
		}
		i++;
	}
	if (!out) {
		fprintf(stderr, "oneiro new-model: no output file (see --help)\n");
		return 2;
	}
	onr_op ops[ONR_MAX_OPS];
	uint32_t n = onr_arch_preset(arch, classes, ops);
	if (!n) {
		fprintf(stderr, "oneiro new-model: unknown architecture '%s' (tiny, small, wide)\n",
		        arch);
		return 2;
	}
	char err[512];
	onr_model *m;
	uint32_t kind = classes == 2 ? ONR_KIND_BINARY : ONR_KIND_CLASSES;
	char names_buf[ONR_MAX_CLASSES * (ONR_MAX_CLASS_NAME + 1)];
	const char *names[ONR_MAX_CLASSES];
	if (names_arg) {
		snprintf(names_buf, sizeof names_buf, "%s", names_arg);
		uint32_t k = 0;
		for (char *tok = strtok(names_buf, ","); tok; tok = strtok(NULL, ","))
			if (k < ONR_MAX_CLASSES)
				names[k++] = tok;
		if (k != classes) {
			fprintf(stderr, "oneiro new-model: --class-names gives %u names for %u classes\n", k,
			        classes);
			return 2;
		}
	}
	if (onr_model_new(&m, ops, n, rate, window, kind, names_arg ? names : NULL, classes, err,
	                  sizeof err)) {
		fprintf(stderr, "oneiro new-model: %s\n", err);
		return 1;
	}
	onr_model_init_params(m, seed);
	char meta[256];
	snprintf(meta, sizeof meta, "architecture: %s\ntrained: no (random initialisation, seed %u)\n",
	         arch, seed);
	onr_model_set_meta(m, meta);
	int st = onr_model_save_file(m, out, err, sizeof err);
	onr_model_free(m);
	if (st) {
		fprintf(stderr, "oneiro new-model: %s\n", err);
		return 1;
	}
	printf("wrote %s (%s, %u classes, %u Hz)\n", out, arch, classes, rate);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	const char *cmd = argv[1];
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
		printf("oneiro %s (kernels: %s)\n", ONEIRO_VERSION, onr_kernel_isa());
		return 0;
	}
	if (!strcmp(cmd, "inspect"))
		return cmd_inspect(argc - 1, argv + 1);
	if (!strcmp(cmd, "new-model"))
		return cmd_new_model(argc - 1, argv + 1);
	if (!strcmp(cmd, "render"))
		return cmd_render(argc - 1, argv + 1, argv[0]);
	if (!strcmp(cmd, "train"))
		return cmd_train(argc - 1, argv + 1);
	if (!strcmp(cmd, "score"))
		return cmd_score(argc - 1, argv + 1, argv[0]);
	fprintf(stderr, "oneiro: unknown command '%s'\n", cmd);
	usage(stderr);
	return 2;
}
