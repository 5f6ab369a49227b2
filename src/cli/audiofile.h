/* SPDX-License-Identifier: GPL-2.0-or-later */
/* audiofile.h -- libsndfile helpers for the oneiro CLI: format names and
 * file extensions, exact sample scaling, text tags, whether two names are
 * the same file. (Temporary files beside a target: cli_tmp_create of
 * cliutil.h.) */
#ifndef ONEIRO_AUDIOFILE_H
#define ONEIRO_AUDIOFILE_H

#include <sndfile.h>
#include <stddef.h>

/* The container (SF_FORMAT_TYPEMASK bits) that a file name's extension
 * names (.wav .flac .ogg .oga .opus .aif .aiff .aifc .caf .w64 .rf64 .au),
 * with its usual subtype in *sub (may be NULL); 0 when none. */
int af_major_from_ext(const char *path, int *sub);

/* Readable names of a format's container and subtype, e.g. "WAV",
 * "16-bit PCM" (never NULL). */
const char *af_major_name(int format);
const char *af_sub_name(int format);

/* A --subtype value: pcm8 pcm16 pcm24 pcm32 float double vorbis opus;
 * 0 when unknown. */
int af_sub_from_name(const char *s);

/* Integer PCM subtypes are read and written unnormalised and scaled here
 * by 2^(bits-1), so that sample values round-trip exactly (libsndfile's
 * own float normalisation reads with 1/32768 but writes with 32767).
 * Returns that scale, or 0 for the subtypes read and written normalised. */
double af_int_scale(int format);

/* Copies the text tags (title, artist, ...) from one file to another. */
void af_copy_strings(SNDFILE *in, SNDFILE *out);

/* Nonzero when a and b name the same existing file. */
int af_same_file(const char *a, const char *b);

#endif
