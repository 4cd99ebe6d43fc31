# crmd: the two commands a fresh machine needs are `make run` and `make test`.
SWIFT ?= swift
PREFIX ?= /usr/local
DESTDIR ?=

.PHONY: run test build release lint format bench clean

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

.PHONY: crash-test
## The crash-safety test: 100 rounds of SIGKILL under 16 writers (docs/reliability.md).
## Pass ARGS="--rounds 10" for fewer.
crash-test:
	@./scripts/setup.sh
	$(SWIFT) build -c release --product crmd
	$(SWIFT) build -c release --product crm-crash
	.build/release/crm-crash $(ARGS)

## Fail if any file is not formatted (CI runs this).
lint:
	$(SWIFT) format lint --strict --recursive Package.swift Sources Tests

format:
	$(SWIFT) format format --in-place --recursive Package.swift Sources Tests

## The benchmark; pass ARGS="--clients 1000000" for the full size.
bench: release
	.build/release/crm-bench $(ARGS)

clean:
	rm -rf .build
