# SPDX-License-Identifier: GPL-2.0-or-later
# oneiro -- neural "DeepDream" for sound: LV2 plugin, trainer, renderer.
#
#   make            build everything (the core library and the oneiro program)
#   make check      install missing Debian packages (as root), build, run every test
#   make bench      benchmarks against PyTorch on the same models
#   make fuzz       run the model-file fuzzer for FUZZ_SECONDS
#   make install    PREFIX, BINDIR, LV2DIR, DESTDIR honoured
#   make deps       install the Debian packages the project needs (as root)

# The release, in one place: `oneiro version` prints it and the plugins carry
# it as lv2:minorVersion / lv2:microVersion (LV2: an even minor version is a
# release, an odd one a development snapshot).
VERSION = 0.2.0

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
LIBDIR ?= $(PREFIX)/lib
LV2DIR ?= $(LIBDIR)/lv2
DESTDIR ?=

CC ?= cc
PKG_CONFIG ?= pkg-config
OPT ?= -O2
# the build directory is mapped to . in debug info, so nothing installed names it
CFLAGS ?= $(OPT) -g -ffile-prefix-map=$(CURDIR)=.
WARN = -Wall -Wextra -Wshadow -Wstrict-prototypes
CPPFLAGS_ALL = -std=c11 -D_POSIX_C_SOURCE=200809L -D_FILE_OFFSET_BITS=64 -Isrc -MMD -MP $(CFLAGS_PKG) $(CPPFLAGS)
FUZZ_SECONDS ?= 60
# 0 = a new random seed each run; fixed by default so a run can be repeated
FUZZ_SEED ?= 1
PYTHON ?= /usr/bin/python3
SANCC ?= clang

BUILD = build

# no built-in rules: they would try to "make" the .d files from objects
MAKEFLAGS += -r
.SUFFIXES:

# ---------------------------------------------------------------- dependencies
# Libraries the build links, as pkg-config name:Debian package.
PKGS = fftw3f:libfftw3-dev samplerate:libsamplerate0-dev sndfile:libsndfile1-dev lv2:lv2-dev cairo:libcairo2-dev
define need_pkg
ifeq ($$(shell $$(PKG_CONFIG) --exists $(word 1,$(subst :, ,$(1))) 2>/dev/null && echo yes),)
$$(error missing library $(word 1,$(subst :, ,$(1))): install the Debian package $(word 2,$(subst :, ,$(1))) (or run 'make deps' as root))
endif
endef
ifeq ($(filter deps clean distclean check run,$(MAKECMDGOALS)),)
ifneq ($(PKGS),)
ifeq ($(shell command -v $(PKG_CONFIG)),)
$(error pkg-config not found: install the Debian package pkg-config (or run 'make deps' as root))
endif
$(foreach p,$(PKGS),$(eval $(call need_pkg,$(p))))
endif
endif

# (cairo: the program's pictures only, LDLIBS_PICTURES below)
CFLAGS_PKG := $(if $(PKGS),$(shell $(PKG_CONFIG) --cflags $(foreach p,$(filter-out cairo:%,$(PKGS)),$(word 1,$(subst :, ,$(p)))) 2>/dev/null))
# the core (and so the plugin) links FFTW and libsamplerate only
LDLIBS_CORE := $(shell $(PKG_CONFIG) --libs fftw3f samplerate 2>/dev/null) -lpthread -lm

# ---------------------------------------------------------------- sources
CORE_SRC = src/arch.c src/dream.c src/model.c src/train.c src/net.c src/layers.c src/kernels.c \
	src/logmel.c src/magfilter.c
ISAS = generic avx2 avx512
ISA_FLAGS_generic =
ISA_FLAGS_avx2 = -mavx2 -mfma
ISA_FLAGS_avx512 = -mavx512f -mavx2 -mfma

CORE_OBJ = $(CORE_SRC:src/%.c=$(BUILD)/%.o) $(ISAS:%=$(BUILD)/kernels_%.o)
CORE_LIB = $(BUILD)/libonr.a

CLI_SRC = $(wildcard src/cli/*.c)
CLI = $(BUILD)/oneiro
# the program alone draws its pictures with cairo
LDLIBS_CLI := $(shell $(PKG_CONFIG) --libs sndfile 2>/dev/null)
CFLAGS_PICTURES := $(shell $(PKG_CONFIG) --cflags cairo 2>/dev/null)
LDLIBS_PICTURES := $(shell $(PKG_CONFIG) --libs cairo 2>/dev/null)
DATADIR ?= $(PREFIX)/share/oneiro

TEST_SRC = $(wildcard tests/test_*.c)
TESTS = $(TEST_SRC:tests/%.c=$(BUILD)/%)
SAN_TESTS = $(TEST_SRC:tests/%.c=$(BUILD)/san/%)

# ---------------------------------------------------------------- the LV2 bundle
# Assembled in plugin.lv2/: manifest, plugin description (generated from
# tools/gen-ttl.sh with the default model's class names), presets, the
# shared object and the default model.
BUNDLE = plugin.lv2
LIB_EXT = .so
PLUGIN_SO = $(BUILD)/oneiro$(LIB_EXT)
DEFAULT_MODEL = models/default.onm
PIC_OBJ = $(CORE_SRC:src/%.c=$(BUILD)/pic/%.o) $(ISAS:%=$(BUILD)/pic/kernels_%.o)
BUNDLE_FILES = $(BUNDLE)/manifest.ttl $(BUNDLE)/oneiro.ttl $(BUNDLE)/presets.ttl \
	$(BUNDLE)/oneiro$(LIB_EXT) $(BUNDLE)/default.onm $(BUNDLE)/CREDITS.md

all: $(CLI) $(BUNDLE_FILES) $(BUILD)/lv2/oneiro.lv2

# LV2_PATH=$(BUILD)/lv2 finds the bundle in place, for tests and trying it out
$(BUILD)/lv2/oneiro.lv2:
	@mkdir -p $(BUILD)/lv2
	ln -sfn ../../$(BUNDLE) $@

$(BUILD)/pic/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS_ALL) $(CFLAGS) -fPIC -fvisibility=hidden $(WARN) -c $< -o $@
$(BUILD)/pic/layers.o: src/layers.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS_ALL) $(CFLAGS) -O3 -fno-trapping-math -fPIC -fvisibility=hidden $(WARN) -c $< -o $@
$(BUILD)/pic/kernels_%.o: src/kernels_isa.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS_ALL) $(CFLAGS) -O3 -ffp-contract=fast -fno-trapping-math -fPIC -fvisibility=hidden $(WARN) -DONR_ISA=$* $(ISA_FLAGS_$*) -c $< -o $@

$(PLUGIN_SO): src/lv2/oneiro_lv2.c $(PIC_OBJ)
	$(CC) $(CPPFLAGS_ALL) $(CFLAGS) -fPIC -fvisibility=hidden $(WARN) -shared -Wl,-z,defs \
		src/lv2/oneiro_lv2.c $(PIC_OBJ) -o $@ $(LDFLAGS) $(LDLIBS_CORE) -lpthread

# copied beside and renamed: a host with the old one loaded keeps its file
$(BUNDLE)/oneiro$(LIB_EXT): $(PLUGIN_SO)
	@mkdir -p $(BUNDLE)
	cp $< $@.tmp && mv $@.tmp $@
$(BUNDLE)/manifest.ttl: ttl/manifest.ttl.in
	@mkdir -p $(BUNDLE)
	sed 's/@LIB_EXT@/$(LIB_EXT)/g' $< > $@
$(BUNDLE)/presets.ttl: ttl/presets.ttl
	@mkdir -p $(BUNDLE)
	cp $< $@
$(BUNDLE)/default.onm: $(DEFAULT_MODEL)
	@mkdir -p $(BUNDLE)
	cp $< $@
# the default model's data and its licences
$(BUNDLE)/CREDITS.md: models/data/CREDITS.md
	@mkdir -p $(BUNDLE)
	cp $< $@
$(BUNDLE)/oneiro.ttl: tools/gen-ttl.sh $(DEFAULT_MODEL) $(CLI)
	@mkdir -p $(BUNDLE)
	$(CLI) inspect --class-names $(DEFAULT_MODEL) > $(BUILD)/classes.txt
	sh tools/gen-ttl.sh $(BUILD)/classes.txt $(VERSION) > $@.tmp && mv $@.tmp $@

$(BUILD)/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS_ALL) $(CFLAGS) $(WARN) -c $< -o $@

# the plain layer kernels: vectorised by the compiler for baseline x86-64
$(BUILD)/layers.o: src/layers.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS_ALL) $(CFLAGS) -O3 -fno-trapping-math $(WARN) -c $< -o $@

# the micro-kernels: one object per instruction set, chosen at run time
$(BUILD)/kernels_%.o: src/kernels_isa.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS_ALL) $(CFLAGS) -O3 -ffp-contract=fast -fno-trapping-math $(WARN) -DONR_ISA=$* $(ISA_FLAGS_$*) -c $< -o $@

$(CORE_LIB): $(CORE_OBJ)
	$(AR) rcs $@ $^

$(BUILD)/cli/%.o: src/cli/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS_ALL) $(CFLAGS_PICTURES) -DONR_DATADIR='"$(DATADIR)"' -DONEIRO_VERSION='"$(VERSION)"' $(CFLAGS) $(WARN) -c $< -o $@
$(BUILD)/cli/oneiro.o $(BUILD)/cli/train_cmd.o: Makefile
# the program looks for its models in DATADIR: rebuilt when that changes
# (make install PREFIX=... after a plain make)
$(BUILD)/datadir: FORCE
	@mkdir -p $(BUILD)
	@echo '$(DATADIR)' | cmp -s - $@ || echo '$(DATADIR)' > $@
$(CLI_SRC:src/%.c=$(BUILD)/%.o): $(BUILD)/datadir
FORCE:

$(CLI): $(CLI_SRC:src/%.c=$(BUILD)/%.o) $(CORE_LIB)
	$(CC) $(CFLAGS) $(LDFLAGS) $^ -o $@ $(LDLIBS_CLI) $(LDLIBS_PICTURES) $(LDLIBS_CORE)

$(BUILD)/tests/%.o: tests/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS_ALL) -Itests $(CFLAGS) $(WARN) -c $< -o $@

$(BUILD)/test_%: $(BUILD)/tests/test_%.o $(CORE_LIB)
	$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS_CLI) $(LDLIBS_CORE)

# the plugin's test host uses lilv (not linked into anything else); it
# exports its symbols so the plugin calls its counting malloc, locks, ...
LILV_CFLAGS := $(shell $(PKG_CONFIG) --cflags lilv-0 2>/dev/null)
LILV_LIBS := $(shell $(PKG_CONFIG) --libs lilv-0 2>/dev/null)
ifeq ($(filter deps clean distclean check run,$(MAKECMDGOALS)),)
$(eval $(call need_pkg,lilv-0:liblilv-dev))
endif
# tests/lv2host.c: the host plumbing it shares with bench_plugin (below)
$(BUILD)/tests/test_lv2.o $(BUILD)/tests/lv2host.o: $(BUILD)/tests/%.o: tests/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS_ALL) -Itests $(LILV_CFLAGS) $(CFLAGS) $(WARN) -c $< -o $@
$(BUILD)/test_lv2: $(BUILD)/tests/test_lv2.o $(BUILD)/tests/lv2host.o $(CORE_LIB)
	$(CC) $(CFLAGS) -rdynamic $^ -o $@ $(LILV_LIBS) $(LDLIBS_CLI) $(LDLIBS_CORE) -ldl -lpthread
$(BUILD)/san/tests/test_lv2.o $(BUILD)/san/tests/lv2host.o: $(BUILD)/san/tests/%.o: tests/%.c
	@mkdir -p $(dir $@)
	$(SANCC) $(CPPFLAGS_ALL) -Itests $(LILV_CFLAGS) $(SANFLAGS) $(WARN) -c $< -o $@
$(BUILD)/san/test_lv2: $(BUILD)/san/tests/test_lv2.o $(BUILD)/san/tests/lv2host.o \
		$(CORE_OBJ:$(BUILD)/%=$(BUILD)/san/%)
	$(SANCC) $(SANFLAGS) -rdynamic $^ -o $@ $(LILV_LIBS) $(LDLIBS_CLI) $(LDLIBS_CORE) -ldl -lpthread

# the same tests under AddressSanitizer + UndefinedBehaviorSanitizer
SANFLAGS = -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
$(BUILD)/san/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(SANCC) $(CPPFLAGS_ALL) $(SANFLAGS) $(WARN) -c $< -o $@
$(BUILD)/san/kernels_%.o: src/kernels_isa.c
	@mkdir -p $(dir $@)
	$(SANCC) $(CPPFLAGS_ALL) $(SANFLAGS) $(WARN) -DONR_ISA=$* $(ISA_FLAGS_$*) -c $< -o $@
$(BUILD)/san/tests/%.o: tests/%.c
	@mkdir -p $(dir $@)
	$(SANCC) $(CPPFLAGS_ALL) -Itests $(SANFLAGS) $(WARN) -c $< -o $@
$(BUILD)/san/test_%: $(BUILD)/san/tests/test_%.o $(CORE_OBJ:$(BUILD)/%=$(BUILD)/san/%)
	$(SANCC) $(SANFLAGS) $^ -o $@ $(LDLIBS_CLI) $(LDLIBS_CORE)

# ---------------------------------------------------------------- fuzzing
FUZZ = $(BUILD)/fuzz/fuzz_model
$(FUZZ): tests/fuzz_model.c $(CORE_SRC) $(ISAS:%=$(BUILD)/san/kernels_%.o)
	@mkdir -p $(dir $@)
	$(SANCC) $(CPPFLAGS_ALL) -O1 -g -fsanitize=fuzzer,address,undefined $(WARN) \
		tests/fuzz_model.c $(CORE_SRC) $(ISAS:%=$(BUILD)/san/kernels_%.o) -o $@ $(LDLIBS_CORE)

fuzz: $(FUZZ) $(BUILD)/test_model
	@mkdir -p $(BUILD)/fuzz/corpus
	$(BUILD)/test_model --write-corpus $(BUILD)/fuzz/corpus
	$(FUZZ) -rss_limit_mb=1024 -timeout=10 tests/fuzz/*.onm
	$(FUZZ) -seed=$(FUZZ_SEED) -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -rss_limit_mb=1024 \
		-timeout=10 $(BUILD)/fuzz/corpus

# ---------------------------------------------------------------- manual pages
# oneiro(1) and one page per command, made by help2man from the program's
# own --help (man/help.sh) and the text in man/*.h2m
MANDIR ?= $(PREFIX)/share/man
HELP2MAN ?= help2man
MAN_CMDS = inspect new-model render score train
MANPAGES = $(BUILD)/man/oneiro.1 $(MAN_CMDS:%=$(BUILD)/man/oneiro-%.1)
H2M = $(HELP2MAN) --no-info --no-discard-stderr --include=$(BUILD)/man/common.h2m
$(BUILD)/man/%.h2m: man/%.h2m $(BUILD)/datadir Makefile
	@mkdir -p $(dir $@)
	sed -e 's|@DATADIR@|$(DATADIR)|g' -e 's|@LV2DIR@|$(LV2DIR)|g' $< > $@
$(BUILD)/man/oneiro.1: $(CLI) man/help.sh $(BUILD)/man/oneiro.h2m $(BUILD)/man/common.h2m
	@command -v $(HELP2MAN) >/dev/null || { echo "help2man not found: install the Debian package help2man (or run 'make deps' as root)" >&2; exit 1; }
	$(H2M) --include=$(BUILD)/man/oneiro.h2m --version-string='oneiro $(VERSION)' \
		--output=$@ 'sh man/help.sh $(CLI)'
$(BUILD)/man/oneiro-%.1: $(CLI) man/help.sh $(BUILD)/man/oneiro-%.h2m $(BUILD)/man/common.h2m
	@command -v $(HELP2MAN) >/dev/null || { echo "help2man not found: install the Debian package help2man (or run 'make deps' as root)" >&2; exit 1; }
	$(H2M) --include=$(BUILD)/man/oneiro-$*.h2m --version-string='oneiro-$* $(VERSION)' \
		--output=$@ 'sh man/help.sh $(CLI) $*'
man: $(MANPAGES)
.PRECIOUS: $(BUILD)/man/%.h2m

# ---------------------------------------------------------------- targets
deps:
	@sh tools/deps.sh

check: deps
	@$(MAKE) --no-print-directory check-run

check-run: all man $(TESTS) $(SAN_TESTS) $(FUZZ)
	@sh tools/run-tests.sh $(TESTS) $(SAN_TESTS) tests/shared_ref.sh tests/test_render.sh tests/test_judge.sh \
		tests/test_ttl.sh tests/test_jalv.sh tests/test_train.sh tests/test_torch_bridge.sh tests/ardour/run.sh tests/test_man.sh tests/test_install.sh
	@$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=30

BENCH = $(BUILD)/bench
$(BUILD)/bench: $(BUILD)/tests/bench.o $(CORE_LIB)
	$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS_CORE)

# the plugin's DSP load live, inline display on against off (a lilv host)
$(BUILD)/tests/bench_plugin.o: tests/bench_plugin.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS_ALL) -Itests $(LILV_CFLAGS) $(CFLAGS) $(WARN) -c $< -o $@
$(BUILD)/bench_plugin: $(BUILD)/tests/bench_plugin.o $(BUILD)/tests/lv2host.o
	$(CC) $(CFLAGS) $(LDFLAGS) $^ -o $@ $(LILV_LIBS) -lm -lpthread

bench: $(BENCH) $(CLI) $(BUNDLE_FILES) $(BUILD)/lv2/oneiro.lv2 $(BUILD)/bench_plugin
	$(BENCH) --python $(PYTHON)
	$(BUILD)/bench_plugin
	$(BUILD)/bench_plugin --rounds 3 --label plugin_class_jitter4x4 --set mode=2 --set jitter=4 \
		--set copies=4 --set bound=-6

# retrains every shipped model from Debian packages (see models/README.md)
models: all
	sh models/train.sh

run: deps
	@$(MAKE) --no-print-directory all
	@sh tools/demo.sh

install: all man
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(DATADIR)/models $(DESTDIR)$(LV2DIR)/oneiro.lv2 \
		$(DESTDIR)$(MANDIR)/man1
	install -m 755 $(CLI) $(DESTDIR)$(BINDIR)/oneiro
	for f in $(wildcard models/*.onm); do install -m 644 $$f $(DESTDIR)$(DATADIR)/models/; done
	install -m 644 models/data/CREDITS.md $(DESTDIR)$(DATADIR)/models/
	install -m 644 $(MANPAGES) $(DESTDIR)$(MANDIR)/man1/
	install -m 644 $(BUNDLE)/*.ttl $(BUNDLE)/default.onm $(BUNDLE)/CREDITS.md $(DESTDIR)$(LV2DIR)/oneiro.lv2/
	install -m 755 $(BUNDLE)/oneiro$(LIB_EXT) $(DESTDIR)$(LV2DIR)/oneiro.lv2/

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/oneiro $(MANPAGES:$(BUILD)/man/%=$(DESTDIR)$(MANDIR)/man1/%)
	rm -rf $(DESTDIR)$(DATADIR) $(DESTDIR)$(LV2DIR)/oneiro.lv2

# the Debian packages (debian/), built by dpkg-buildpackage from a copy of the
# tree (its clean step never touches this build/); .deb files in DEBDIR
DEBDIR ?= $(BUILD)/deb
deb:
	sh tools/deb.sh $(DEBDIR)

clean:
	rm -rf $(BUILD) $(BUNDLE_FILES)

.PHONY: all deps check check-run bench fuzz run models install uninstall clean man deb FORCE
.PRECIOUS: $(BUILD)/tests/%.o $(BUILD)/san/%.o $(BUILD)/san/tests/%.o

%.d: ;
-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
