/* SPDX-License-Identifier: GPL-2.0-or-later */
/* audiofile.c -- see audiofile.h. */
#include "audiofile.h"

#include <string.h>
#include <strings.h>
#include <sys/stat.h>

static const struct {
	const char *ext;
	int major, sub;
} exts[] = {
	{"wav", SF_FORMAT_WAV, SF_FORMAT_FLOAT},    {"flac", SF_FORMAT_FLAC, SF_FORMAT_PCM_24},
	{"ogg", SF_FORMAT_OGG, SF_FORMAT_VORBIS},   {"oga", SF_FORMAT_OGG, SF_FORMAT_VORBIS},
	{"opus", SF_FORMAT_OGG, SF_FORMAT_OPUS},    {"aif", SF_FORMAT_AIFF, SF_FORMAT_PCM_24},
	{"aiff", SF_FORMAT_AIFF, SF_FORMAT_PCM_24}, {"aifc", SF_FORMAT_AIFF, SF_FORMAT_FLOAT},
	{"caf", SF_FORMAT_CAF, SF_FORMAT_FLOAT},    {"w64", SF_FORMAT_W64, SF_FORMAT_FLOAT},
	{"rf64", SF_FORMAT_RF64, SF_FORMAT_FLOAT},  {"au", SF_FORMAT_AU, SF_FORMAT_FLOAT},
};

int af_major_from_ext(const char *path, int *sub)
{
	const char *slash = strrchr(path, '/');
	const char *dot = strrchr(slash ? slash : path, '.');
	if (!dot || !dot[1])
		return 0;
	for (size_t i = 0; i < sizeof exts / sizeof exts[0]; i++)
		if (!strcasecmp(dot + 1, exts[i].ext)) {
			if (sub)
				*sub = exts[i].sub;
			return exts[i].major;
		}
	return 0;
}

/* libsndfile's name of a container or subtype, else `unknown`. */
static const char *format_name(int format, const char *unknown)
{
	SF_FORMAT_INFO fi = {.format = format};
	if (!sf_command(NULL, SFC_GET_FORMAT_INFO, &fi, sizeof fi) && fi.name)
		return fi.name;
	return unknown;
}

const char *af_major_name(int format)
{
	switch (format & SF_FORMAT_TYPEMASK) {
	case SF_FORMAT_WAV: return "WAV";
	case SF_FORMAT_WAVEX: return "WAVEX";
	case SF_FORMAT_AIFF: return "AIFF";
	case SF_FORMAT_AU: return "AU";
	case SF_FORMAT_RAW: return "RAW";
	case SF_FORMAT_W64: return "W64";
	case SF_FORMAT_RF64: return "RF64";
	case SF_FORMAT_FLAC: return "FLAC";
	case SF_FORMAT_OGG: return "OGG";
	case SF_FORMAT_CAF: return "CAF";
	case SF_FORMAT_MPEG: return "MPEG";
	default: return format_name(format & SF_FORMAT_TYPEMASK, "unknown container");
	}
}

const char *af_sub_name(int format)
{
	switch (format & SF_FORMAT_SUBMASK) {
	case SF_FORMAT_PCM_S8: return "8-bit PCM";
	case SF_FORMAT_PCM_U8: return "8-bit unsigned PCM";
	case SF_FORMAT_PCM_16: return "16-bit PCM";
	case SF_FORMAT_PCM_24: return "24-bit PCM";
	case SF_FORMAT_PCM_32: return "32-bit PCM";
	case SF_FORMAT_FLOAT: return "32-bit float";
	case SF_FORMAT_DOUBLE: return "64-bit float";
	case SF_FORMAT_VORBIS: return "Vorbis";
	case SF_FORMAT_OPUS: return "Opus";
	default: return format_name(format & SF_FORMAT_SUBMASK, "unknown encoding");
	}
}

int af_sub_from_name(const char *s)
{
	static const struct {
		const char *name;
		int sub;
	} t[] = {{"pcm8", SF_FORMAT_PCM_S8},  {"pcm16", SF_FORMAT_PCM_16}, {"pcm24", SF_FORMAT_PCM_24},
	         {"pcm32", SF_FORMAT_PCM_32}, {"float", SF_FORMAT_FLOAT},  {"double", SF_FORMAT_DOUBLE},
	         {"vorbis", SF_FORMAT_VORBIS}, {"opus", SF_FORMAT_OPUS}};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
		if (!strcasecmp(s, t[i].name))
			return t[i].sub;
	return 0;
}

double af_int_scale(int format)
{
	switch (format & SF_FORMAT_SUBMASK) {
	case SF_FORMAT_PCM_S8:
	case SF_FORMAT_PCM_U8: return 128.0;
	case SF_FORMAT_PCM_16: return 32768.0;
	case SF_FORMAT_PCM_24: return 8388608.0;
	case SF_FORMAT_PCM_32: return 2147483648.0;
	default: return 0.0;
	}
}

void af_copy_strings(SNDFILE *in, SNDFILE *out)
{
	for (int k = SF_STR_FIRST; k <= SF_STR_LAST; k++) {
		const char *s = sf_get_string(in, k);
		if (s && *s)
			sf_set_string(out, k, s);
	}
}

int af_same_file(const char *a, const char *b)
{
	struct stat sa, sb;
	if (stat(a, &sa) || stat(b, &sb))
		return 0;
	return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}
