# crmd: the two commands a fresh machine needs are `make run` and `make test`.
SWIFT ?= swift
PREFIX ?= /usr/local
SYSCONFDIR ?= /etc
DESTDIR ?=
# `sudo make install` resets PATH: fall back to the toolchain's usual place.
export PATH := $(PATH):/opt/swift/usr/bin
# Installed binaries carry the Swift runtime (a server needs no toolchain), built in their own
# folder so `make run`'s .build/release is not rebuilt back and forth.
INSTALL_BUILD = $(SWIFT) build -c release --static-swift-stdlib --scratch-path .build-install
# Under sudo, build as the user who called it when the checkout is theirs, so no root-owned
# files end up in it.
AS_USER = $(if $(and $(SUDO_USER),$(filter $(SUDO_USER),$(shell stat -c %U .))),sudo -H -u $(SUDO_USER) env PATH="$(PATH)",)

.PHONY: run test build release lint catalog-check format bench clean install install-build uninstall verify-units e2e fuzz fuzz-ci tsan order-check power-test powerfs

## Build and start crmd on the per-user default paths (Ctrl-C stops it).
run:
	@./scripts/setup.sh
	$(SWIFT) build -c release --product crmd
	$(SWIFT) build -c release --product crmctl
	.build/release/crmd

## Install build dependencies, build everything, and run every test.
test:
	@./scripts/setup.sh
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build
	./scripts/verify-units.sh

build:
	@./scripts/setup.sh
	$(SWIFT) build

release:
	@./scripts/setup.sh
	$(SWIFT) build -c release

.PHONY: crash-test
## The crash-safety test: 100 rounds of SIGKILL under 16 writers (docs/reliability.md).
## Pass ARGS="--rounds 10" for fewer.
crash-test:
	@./scripts/setup.sh
	$(SWIFT) build -c release --product crmd
	$(SWIFT) build -c release --product crm-crash
	.build/release/crm-crash $(ARGS)

# Release binaries for the durability checks below: built in .build by default; CI passes the
# install build (already made by make e2e), CHECK_BUILD='$(INSTALL_BUILD)' CHECK_BIN=.build-install/release.
CHECK_BUILD ?= $(SWIFT) build -c release
CHECK_BIN ?= .build/release
POWERFS = .build-powerfs/powerfs

## The order check (docs/reliability.md, "Power loss"): crmd under strace through a mixed workload;
## fails if any reply to a write leaves before an fsync of the WAL that covers its commit.
order-check:
	@./scripts/setup.sh
	$(CHECK_BUILD) --product crmd
	python3 scripts/order_check.py --selftest
	./scripts/order-check.sh $(CHECK_BIN)/crmd

## tools/powerfs: a FUSE filesystem that forgets what was not fsynced (the power-cut test's disk).
powerfs:
	@./scripts/setup.sh
	mkdir -p $(dir $(POWERFS))
	gcc -O2 -Wall -Wextra -Werror -o $(POWERFS) tools/powerfs/powerfs.c $$(pkg-config --cflags --libs fuse3)

## The power-cut test: crm-crash's rounds with the database on powerfs, the power cut at a random
## instant (root, /dev/fuse). 100 rounds; ARGS="--rounds 5" for fewer.
power-test: powerfs
	$(CHECK_BUILD) --product crmd
	$(CHECK_BUILD) --product crm-crash
	$(CHECK_BIN)/crm-crash --power-fs $(POWERFS) $(ARGS)

## Every test under ThreadSanitizer, the crmd processes they start included (docs/reliability.md,
## "Sanitizers"). Each process writes its reports to .build-tsan/reports/; any report fails.
TSAN_REPORTS = $(CURDIR)/.build-tsan/reports
tsan:
	@./scripts/setup.sh
	$(SWIFT) build --build-tests --scratch-path .build-tsan --sanitize=thread
	rm -rf $(TSAN_REPORTS) && mkdir -p $(TSAN_REPORTS)
	status=0; CRMD_TEST_SLOWDOWN=5 TSAN_OPTIONS="log_path=$(TSAN_REPORTS)/tsan halt_on_error=0" \
		$(SWIFT) test --skip-build --scratch-path .build-tsan --sanitize=thread || status=$$?; \
	if ls $(TSAN_REPORTS)/tsan.* >/dev/null 2>&1; then \
		cat $(TSAN_REPORTS)/tsan.*; echo "ThreadSanitizer reports: $(TSAN_REPORTS)"; exit 1; fi; \
	echo "ThreadSanitizer: no reports"; exit $$status

## Fail if any file is not formatted (CI runs this).
lint:
	$(SWIFT) format lint --strict --recursive Package.swift Sources Tests
	./scripts/lint-closures.sh
	SWIFT=$(SWIFT) ./scripts/lint-imports.py
	./scripts/catalog-check

## Message templates the sources say that Sources/CRMText/locale/ru.po lacks (fails), and catalog
## entries no source says any more (docs/architecture.md, "Languages").
catalog-check:
	./scripts/catalog-check

format:
	$(SWIFT) format format --in-place --recursive Package.swift Sources Tests

## The benchmark; pass ARGS="--clients 1000000" for the full size.
bench: release
	.build/release/crm-bench $(ARGS)

## Install crmd, crmctl, the systemd units and the default config (sudo make install; see README).
install: install-build
	./scripts/install.sh install PREFIX="$(PREFIX)" SYSCONFDIR="$(SYSCONFDIR)" DESTDIR="$(DESTDIR)" BUILDDIR=.build-install/release

install-build:
	@./scripts/setup.sh
	$(AS_USER) $(INSTALL_BUILD) --product crmd
	$(AS_USER) $(INSTALL_BUILD) --product crmctl

## Remove what install put in place; keeps /etc/crmd, /var/lib/crmd and the accounts.
uninstall:
	./scripts/install.sh uninstall PREFIX="$(PREFIX)" SYSCONFDIR="$(SYSCONFDIR)" DESTDIR="$(DESTDIR)"

## Lint the systemd units offline (systemd-analyze verify and security, sysusers); make test runs it.
verify-units:
	./scripts/verify-units.sh

## Boot a real systemd in a container, install crmd there and drive it (root; ~15 s once built).
e2e: install-build
	./scripts/e2e-systemd.sh .build-install/release

## Fuzz framing and request decoding (libFuzzer + ASan) for 5,000,000 inputs (at ~2,000 inputs a
## second, an hour or less); ARGS for more libFuzzer options, e.g. ARGS="-jobs=2". See
## docs/reliability.md, "Bad input".
fuzz:
	@./scripts/setup.sh
	./scripts/fuzz.sh -runs=5000000 $(ARGS)

## The bounded fuzz run CI does (60 seconds).
fuzz-ci:
	@./scripts/setup.sh
	./scripts/fuzz.sh 60

clean:
	rm -rf .build .build-install .build-fuzz .build-tsan .build-powerfs
