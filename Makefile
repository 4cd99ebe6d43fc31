# crmd: the two commands a fresh machine needs are `make run` and `make test`.
SWIFT ?= swift
PREFIX ?= /usr/local
DESTDIR ?=

.PHONY: run test build release lint format bench clean fuzz fuzz-ci

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

build:
	@./scripts/setup.sh
	$(SWIFT) build

release:
	@./scripts/setup.sh
	$(SWIFT) build -c release

## Fail if any file is not formatted (CI runs this).
lint:
	$(SWIFT) format lint --strict --recursive Package.swift Sources Tests

format:
	$(SWIFT) format format --in-place --recursive Package.swift Sources Tests

## The benchmark; pass ARGS="--clients 1000000" for the full size.
bench: release
	.build/release/crm-bench $(ARGS)

## Fuzz framing and request decoding (libFuzzer + ASan) for 5,000,000 inputs; ARGS for more
## libFuzzer options, e.g. ARGS="-jobs=2". See docs/reliability.md, "Bad input".
fuzz:
	@./scripts/setup.sh
	./scripts/fuzz.sh -runs=5000000 $(ARGS)

## The bounded fuzz run CI does (60 seconds).
fuzz-ci:
	@./scripts/setup.sh
	./scripts/fuzz.sh 60

clean:
	rm -rf .build .build-fuzz
