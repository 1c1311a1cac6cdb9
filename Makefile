# Hypersend. `make run` and `make test` are the two commands a newcomer needs;
# both install missing Debian packages first (conf/install-deps.sh): `run`
# only what building and serving need, `test` the test toolchain too.
#
# Fuzzing (docs/fuzzing.md): `make fuzz` builds the libFuzzer harnesses of
# tests/fuzz/ with clang + ASan/UBSan in build-fuzz/ and runs each for
# FUZZ_SECONDS (60) from its seed corpus; FUZZ_TARGETS="tus json" narrows,
# FUZZ_RUNS caps executions; `make fuzz-smoke` is the 20 s run for tests.

PREFIX  ?= /usr/local
DESTDIR ?=
SYSCONFDIR ?= /etc

PKGS := fcgi libjwt libcjson openssl hiredis sqlite3 libargon2 libbson-1.0 libmongoc-1.0 libmagic
APPS := auth users files chats updates p2p

ifeq ($(SANITIZE),1)
BUILD   ?= build-asan
OPT     := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined,float-cast-overflow -fno-sanitize-recover=undefined,float-cast-overflow
LDOPT   := -fsanitize=address,undefined,float-cast-overflow
else
BUILD   ?= build
OPT     := -O2 -g
LDOPT   :=
endif

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

CFLAGS  ?=
CFLAGS  += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
           -MMD -MP -Ilib/include $(PKG_CFLAGS) $(OPT)
LDFLAGS += $(LDOPT)
LDLIBS  += $(PKG_LIBS)

LIB_SRCS := $(shell find lib -name '*.c' | sort)
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/%.o)
LIB_A    := $(BUILD)/libhypersend.a
BINS     := $(APPS:%=$(BUILD)/bin/hs-%) $(BUILD)/bin/hs-ws-bridge $(BUILD)/bin/hs-admin

# The bridge alone links libwebsockets and libuv.
BRIDGE_PKGS := libwebsockets libuv
BRIDGE_SRCS := $(sort $(wildcard ws-bridge/*.c))

# Debian's interpreter, which has python3-pytest; another python3 earlier on
# PATH (pyenv, a venv) may not.
PYTHON ?= /usr/bin/python3

UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/unit/%)
# The store contract, one file a domain, linked into test_store.
STORE_TEST_SRCS := $(sort $(wildcard tests/unit/store/*.c))

.PHONY: all deps deps-run run test unit unit-mongo integration integration-mongo sanitize-test check-format format bench install bundle clean
all: $(BINS) $(BUILD)/www/index.html

# The document root the fronts serve (HS_WWW_DIR): www/ with versioned asset
# URLs and gzip/brotli copies beside the text files (conf/build-www.sh).
WWW_SRCS := $(shell find www -type f 2>/dev/null)
$(BUILD)/www/index.html: $(WWW_SRCS) conf/build-www.sh
	@echo "  WWW     $(BUILD)/www"
	@conf/build-www.sh www $(BUILD)/www

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(CFLAGS) -c $< -o $@

$(LIB_A): $(LIB_OBJS)
	@mkdir -p $(dir $@)
	@echo "  AR      $@"
	@$(AR) rcs $@ $^

# An app is every .c file in its folder, linked with lib.
define APP_DEPS
$(BUILD)/bin/hs-$(1): $(patsubst %.c,$(BUILD)/%.o,$(wildcard fcgi-apps/$(1)/*.c)) $(LIB_A)
endef
$(foreach app,$(APPS),$(eval $(call APP_DEPS,$(app))))

# hs-admin: the operator's commands (admin/; `hs-admin migrate --to mongo`).
$(BUILD)/bin/hs-admin: $(patsubst %.c,$(BUILD)/%.o,$(wildcard admin/*.c)) $(LIB_A)

$(BUILD)/ws-bridge/%.o: ws-bridge/%.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(CFLAGS) $(shell pkg-config --cflags $(BRIDGE_PKGS)) -c $< -o $@

$(BUILD)/bin/hs-ws-bridge: $(BRIDGE_SRCS:%.c=$(BUILD)/%.o) $(LIB_A)
	@mkdir -p $(dir $@)
	@echo "  LINK    $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(shell pkg-config --libs $(BRIDGE_PKGS))

$(BUILD)/bin/hs-%:
	@mkdir -p $(dir $@)
	@echo "  LINK    $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/unit/%: $(BUILD)/tests/unit/%.o $(LIB_A)
	@mkdir -p $(dir $@)
	@echo "  LINK    $@"
	@$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(LIB_A) $(LDLIBS) $(shell pkg-config --libs cmocka 2>/dev/null)

$(BUILD)/unit/test_store: $(STORE_TEST_SRCS:%.c=$(BUILD)/%.o)

# What building and serving need (no Node, no browser, no test tools).
deps-run:
	@conf/install-deps.sh run

# Everything: the run set, the test toolchain and the Node test packages.
deps:
	@conf/install-deps.sh test
	@conf/node-deps.sh

# Builds, then runs redis-server and lighttpd (which spawns the apps) in the
# foreground on http://127.0.0.1:8080 until Ctrl-C. HS_PORT overrides the port.
run: deps-run
	@$(MAKE) --no-print-directory all
	@conf/stack.sh run "$(CURDIR)/run"

# T=<program>/<case> runs one case: make unit T=store/links runs the test
# "links" of build/unit/test_store (a cmocka name pattern: * and ? match).
unit: $(UNIT_BINS)
	@set -e; if [ -z "$(T)" ]; then \
	  for t in $(UNIT_BINS); do echo "== $$t"; $$t; done; \
	else \
	  p="$(T)"; c="$${p#*/}"; p="$${p%%/*}"; [ "$$c" != "$(T)" ] || c=""; \
	  t=$(BUILD)/unit/test_$$p; [ -x "$$t" ] || { echo "unit: no program $$t"; exit 1; }; \
	  echo "== $$t $$c"; rc=0; out=$$(HS_TEST_FILTER="$$c" $$t 2>&1) || rc=$$?; \
	  printf '%s\n' "$$out"; [ $$rc -eq 0 ] || exit $$rc; \
	  if ! printf '%s\n' "$$out" | grep -Eq '\] [1-9][0-9]* test\(s\) run'; then \
	    echo "unit: no case of $$t matches '$$c'"; exit 1; fi; \
	fi

# The store contract against the mongo backend (docs/mongo-status.md): on
# the server MONGODB_URI names, else on PostgreSQL + FerretDB started for the
# run (tests/ferretdb/with.sh; FerretDB is built once with the Go toolchain
# into ~/.cache/hypersend). T=<case> narrows like `make unit T=store/<case>`.
unit-mongo: $(BUILD)/unit/test_store
	@tests/ferretdb/with.sh env HS_TEST_STORE=mongo \
	  HS_TEST_FILTER="$(T)" $(BUILD)/unit/test_store

integration: all
	HS_BIN_DIR="$(CURDIR)/$(BUILD)/bin" $(PYTHON) -m pytest -q tests/integration

# The integration suite again with every stack on the MongoDB backend (one
# FerretDB for the run, a database per stack; MONGODB_URI names another
# server). K= narrows like pytest -k. Left out, to keep make test within
# half an hour on two cores: what drives chromium (the web client, P2P in
# browsers), what tests a front, the bundle or the HTTP layer before any
# store call (route error sweeps, injection, slow clients, compression),
# and the checks of the source and docs; they run on SQLite in
# `integration` and again under the sanitizers.
MONGO_SKIP := test_06_browser test_07_web_chats test_07_web_files test_07_web_shell \
              test_14_fronts test_14_bundle test_02_route_errors test_08_injection \
              test_01_slowloris test_01_install test_01_ctrl_c test_02_slowbody \
              test_13_compression test_layers test_layers_bridge test_docs test_openapi
integration-mongo: all
	@tests/ferretdb/with.sh env HS_TEST_STORE=mongo \
	  HS_BIN_DIR="$(CURDIR)/$(BUILD)/bin" $(PYTHON) -m pytest -q tests/integration \
	  $(MONGO_SKIP:%=--ignore=tests/integration/%.py) $(if $(K),-k "$(K)")

# The unit tests and the whole integration suite again, against
# AddressSanitizer/UBSan builds; any sanitizer report fails the run.
sanitize-test:
	@$(MAKE) --no-print-directory SANITIZE=1 all unit
	HS_BIN_DIR="$(CURDIR)/build-asan/bin" HS_SANITIZE=1 $(PYTHON) -m pytest -q tests/integration

check-format:
	@clang-format --dry-run -Werror $$(git ls-files '*.c' '*.h') 2>&1 | head -20; \
	clang-format --dry-run -Werror $$(git ls-files '*.c' '*.h') >/dev/null 2>&1 || \
	{ echo "check-format: run 'make format'"; exit 1; }

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

test: deps
	@$(MAKE) --no-print-directory check-format
	@$(MAKE) --no-print-directory all unit unit-mongo
	@$(MAKE) --no-print-directory integration
	@$(MAKE) --no-print-directory integration-mongo
	@$(MAKE) --no-print-directory sanitize-test
	@$(MAKE) --no-print-directory fuzz-smoke

bench: deps
	@$(MAKE) --no-print-directory all
	@bench/run.sh
	@bench/nginx.sh
	@bench/files.sh
	@BENCH_FRONT=nginx bench/files.sh
	@bench/fronts.sh
	@bench/chats.sh
	@bench/ws.sh
	@bench/p2p.sh
	@bench/web.sh
	@bench/hosts.py

install: all
	install -d $(DESTDIR)$(PREFIX)/libexec/hypersend $(DESTDIR)$(PREFIX)/share/hypersend \
	           $(DESTDIR)$(SYSCONFDIR)/hypersend $(DESTDIR)$(PREFIX)/share/doc/hypersend
	install -m 0755 $(BINS) $(DESTDIR)$(PREFIX)/libexec/hypersend/
	@# Over the last install: its /v/<hash> links stay (pages still open
	@# find their modules); its .br/.gz go, so none can outlive its file.
	[ ! -d $(DESTDIR)$(PREFIX)/share/hypersend/www ] || \
	  find $(DESTDIR)$(PREFIX)/share/hypersend/www -type f \( -name '*.br' -o -name '*.gz' \) -delete
	cp -R $(BUILD)/www $(DESTDIR)$(PREFIX)/share/hypersend/
	install -m 0644 conf/hypersend.conf conf/lighttpd.conf conf/lighttpd-static.lua conf/nginx.conf conf/apache.conf \
	           $(DESTDIR)$(SYSCONFDIR)/hypersend/
	install -m 0644 README.md docs/architecture.md docs/events.md docs/ws.md docs/p2p.md docs/security.md docs/fuzzing.md docs/deploy.md $(DESTDIR)$(PREFIX)/share/doc/hypersend/

# ---- Shared-hosting bundle (docs/deploy.md, "Shared hosting") -----------
# hypersend-<VERSION>-linux-x86_64.tar.gz: the apps as app/hs-<app>.fcgi
# (FastCGI under mod_fcgid, plain CGI under mod_cgi), the web client and
# the .htaccess files that route to them (conf/bundle/, conf/bundle.sh).
# The libraries Debian ships as .a are linked in; the other ones, but
# glibc's, travel in app/lib, found through RUNPATH $ORIGIN/lib (OpenSSL
# too, though Debian ships libcrypto.a: libjwt, shared only, loads
# libcrypto.so, and one process should hold one OpenSSL). Every shared
# library the app's regular build loads (ldd of build/bin/hs-<app>, so a
# library added to PKGS comes along by itself) is linked by file name as a
# direct dependency (--no-as-needed): the loader then finds their own
# dependencies (libjwt's libjansson) in app/lib too, which RUNPATH alone
# would not (it is not inherited).
VERSION := $(shell cat VERSION 2>/dev/null || echo 0)
BUNDLE_NAME := hypersend-$(VERSION)-linux-x86_64
BUNDLE := $(BUILD)/$(BUNDLE_NAME).tar.gz
BUNDLE_BINS := $(APPS:%=$(BUILD)/bundle-bin/hs-%.fcgi)
BUNDLE_STATIC := -lfcgi -lhiredis -lsqlite3 -largon2 -lbson-static-1.0 -lmagic -llzma -lbz2 -lz
# the sonames those replace, and glibc's, which stay the host's
BUNDLE_NOT_SHARED := ^(libfcgi|libhiredis|libsqlite3|libargon2|libbson-1\.0|libmagic|liblzma|libbz2|libz|libc|libm|libpthread|libdl|librt|libresolv|ld-linux-x86-64|linux-vdso)\.so
# No MongoDB backend in the bundle (conf/bundle/nomongo.c, linked before the
# library, stands in for it): libmongoc and what only it loads stay out.
BUNDLE_NO_MONGO := ^(libmongoc-1\.0|libmongocrypt|libsasl2|libssl|libsnappy|libzstd|libicu[a-z]*|libstdc\+\+|libgcc_s)\.so
bundle: $(BUNDLE)

define BUNDLE_DEPS
$(BUILD)/bundle-bin/hs-$(1).fcgi: $(patsubst %.c,$(BUILD)/%.o,$(wildcard fcgi-apps/$(1)/*.c)) $(BUILD)/conf/bundle/nomongo.o $(LIB_A) $(BUILD)/bin/hs-$(1)
endef
$(foreach app,$(APPS),$(eval $(call BUNDLE_DEPS,$(app))))

$(BUILD)/bundle-bin/%.fcgi:
	@mkdir -p $(dir $@)
	@echo "  LINK    $@"
	@shared=$$(ldd $(BUILD)/bin/$* | awk '$$2 == "=>" { print $$1 }' | \
	  grep -Ev '$(BUNDLE_NOT_SHARED)' | grep -Ev '$(BUNDLE_NO_MONGO)' | sed 's/^/-l:/'); \
	$(CC) $(LDFLAGS) -o $@ $(filter %.o %.a,$^) -Wl,-Bstatic $(BUNDLE_STATIC) -Wl,-Bdynamic \
	  -Wl,--no-as-needed $$shared -lm -lpthread -ldl -lrt \
	  -Wl,-rpath,'$$ORIGIN/lib' -Wl,--enable-new-dtags

$(BUNDLE): $(BUNDLE_BINS) $(BUILD)/www/index.html conf/bundle.sh $(wildcard conf/bundle/*) VERSION
	@conf/bundle.sh $(BUILD)/bundle-bin $(BUILD)/www $(BUILD)/bundle/$(BUNDLE_NAME) $@

clean:
	rm -rf build build-asan build-fuzz

-include $(LIB_OBJS:.o=.d) $(BRIDGE_SRCS:%.c=$(BUILD)/%.d) $(patsubst %.c,$(BUILD)/%.d,$(wildcard fcgi-apps/*/*.c) $(wildcard admin/*.c)) $(UNIT_SRCS:%.c=$(BUILD)/%.d) $(STORE_TEST_SRCS:%.c=$(BUILD)/%.d)

# ---- Fuzzing (libFuzzer; docs/fuzzing.md) -------------------------------
# One harness per parser of untrusted input, tests/fuzz/fuzz_<name>.c, built
# with clang, ASan and UBSan against lib's sources compiled again with clang
# and coverage instrumentation (build-fuzz/). `make fuzz` runs each harness
# for FUZZ_SECONDS from a scratch copy of its seed corpus (the committed one
# stays clean); FUZZ_TARGETS narrows the list, FUZZ_RUNS caps executions.
# Any crash, leak or failed invariant fails the run and names the reproducer.
FUZZ_BUILD   := build-fuzz
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_RUNS    ?= 0
FUZZ_SRCS    := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_NAMES   := $(FUZZ_SRCS:tests/fuzz/fuzz_%.c=%)
FUZZ_TARGETS ?= $(FUZZ_NAMES)
FUZZ_BINS    := $(FUZZ_NAMES:%=$(FUZZ_BUILD)/fuzz_%)
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS  := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
                -MMD -MP -Ilib/include -Iws-bridge $(PKG_CFLAGS) \
                $(shell pkg-config --cflags $(BRIDGE_PKGS) 2>/dev/null) \
                -O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer-no-link $(FUZZ_SAN)
FUZZ_LIB_A   := $(FUZZ_BUILD)/libhypersend.a
# The WebSocket harness runs the bridge's real client.c; the calls that
# would reach the store, Redis or a socket are redirected to its stubs.
FUZZ_EXTRA_ws_client := $(FUZZ_BUILD)/ws-bridge/client.o
FUZZ_LDEXTRA_ws_client := $(foreach f,hs_redis_argv hs_redis_reply_free hs_chat_read \
        hs_message_post hs_auth_verify hs_p2p_peer hs_p2p_progress,-Wl,--wrap=$(f)) \
        $(shell pkg-config --libs $(BRIDGE_PKGS) 2>/dev/null)

.PHONY: fuzz-build fuzz fuzz-smoke fuzz-clean
.SECONDARY: $(FUZZ_NAMES:%=$(FUZZ_BUILD)/tests/fuzz/fuzz_%.o)
fuzz-build: $(FUZZ_BINS)

$(FUZZ_BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  FUZZCC  $<"
	@$(FUZZ_CC) $(FUZZ_CFLAGS) -c $< -o $@

$(FUZZ_LIB_A): $(LIB_SRCS:%.c=$(FUZZ_BUILD)/%.o)
	@echo "  AR      $@"
	@$(AR) rcs $@ $^

.SECONDEXPANSION:
$(FUZZ_BUILD)/fuzz_%: $(FUZZ_BUILD)/tests/fuzz/fuzz_%.o $$(FUZZ_EXTRA_$$*) $(FUZZ_LIB_A)
	@echo "  LINK    $@"
	@$(FUZZ_CC) -fsanitize=fuzzer $(FUZZ_SAN) -o $@ $^ $(FUZZ_LDEXTRA_$*) $(PKG_LIBS)

fuzz: $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/fuzz_%)
	@tests/fuzz/run.sh "$(FUZZ_BUILD)" "$(FUZZ_SECONDS)" "$(FUZZ_RUNS)" $(FUZZ_TARGETS)

# What `make test` runs: every harness for 20 s.
fuzz-smoke:
	@$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=12

-include $(FUZZ_NAMES:%=$(FUZZ_BUILD)/tests/fuzz/fuzz_%.d) $(LIB_SRCS:%.c=$(FUZZ_BUILD)/%.d) \
         $(FUZZ_BUILD)/ws-bridge/client.d

fuzz-clean:
	rm -rf $(FUZZ_BUILD)
