# socialauth: build, lint and test entry points (GNU make).
#
#   make test       gofmt check, go vet, staticcheck, go test -race (what CI runs)
#   make lint       gofmt check, go vet, staticcheck
#   make services   start PostgreSQL, MariaDB, the OpenID providers (loopback), install Chromium
#   make test-db    services + test against all three databases
#   make bench      benchmarks into bench.txt (+ table via cmd/benchtable if present)
#   make bench-process  process-level demo vs. floor (bench/process.sh; N, DBS, SCALE, MEMORY)
#   make fuzz       each fuzz target for FUZZTIME (default 30s)
#   make demo       build cmd/demo into bin/demo and exec it with $(ARGS)
#   make clean
#
# Tests use SQLite only unless SOCIALAUTH_TEST_POSTGRES_DSN and
# SOCIALAUTH_TEST_MYSQL_DSN are set (see internal/dbtest and .ci/services);
# the real-provider tests of cmd/demo need the SOCIALAUTH_TEST_ZITADEL_* and
# SOCIALAUTH_TEST_HYDRA_* variables .ci/services prints (docs/testing.md).
# The nested modules under e2e/providers/ are vetted and staticchecked too.
# Variables: PKGS (default ./...), TESTFLAGS, TEST_TIMEOUT (20m), FUZZTIME, ARGS.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.NOTPARALLEL:
.DEFAULT_GOAL := test

GO                  ?= go
GOPATH_BIN          := $(shell $(GO) env GOPATH)/bin
STATICCHECK_VERSION ?= v0.8.2
STATICCHECK         := $(GOPATH_BIN)/staticcheck
TEST_TIMEOUT        ?= 20m
TESTFLAGS           ?=
FUZZTIME            ?= 30s
ARGS                ?=
# packages to vet, staticcheck and test, e.g. make test PKGS=./storage/...
PKGS                ?= ./...
# nested Go modules (the third-party OpenID providers of the real-provider
# tests): vetted and staticchecked on their own; go test ./... of the main
# module does not descend into them
PROVIDER_MODS       := $(patsubst %/go.mod,%,$(wildcard e2e/providers/*/go.mod))
# where go-test leaves its summary line for `test` to repeat last
SUMMARY             := $(shell mktemp -u "$${TMPDIR:-/tmp}/socialauth-test-summary.XXXXXX")

.PHONY: test lint fmt-check vet staticcheck go-test bench bench-process demo services test-db fuzz clean

test: fmt-check vet staticcheck go-test
	@echo "== make test: OK (gofmt, go vet, staticcheck $(STATICCHECK_VERSION), go test -race)"
	@cat $(SUMMARY) 2>/dev/null || true; rm -f $(SUMMARY)

lint: fmt-check vet staticcheck
	@echo "== make lint: OK (gofmt, go vet, staticcheck)"

fmt-check:
	@echo "== gofmt"
	@files=$$(find . -path ./.git -prune -o -path '*/testdata' -prune -o -name '*.go' -print \
		| xargs -r gofmt -l); \
	if [ -n "$$files" ]; then \
		echo "gofmt: these files need formatting (run gofmt -w):"; \
		echo "$$files" | sed 's/^/  /'; \
		exit 1; \
	fi

vet:
	@echo "== go vet"
	$(GO) vet $(PKGS)
	@for m in $(PROVIDER_MODS); do \
		echo "(cd $$m && $(GO) vet ./...)"; \
		(cd "$$m" && $(GO) vet ./...) || exit 1; \
	done

staticcheck:
	@if ! "$(STATICCHECK)" -version 2>/dev/null | grep "($(STATICCHECK_VERSION:v%=%))" >/dev/null; then \
		echo "== installing staticcheck $(STATICCHECK_VERSION)"; \
		$(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION); \
	fi
	@echo "== staticcheck"
	$(STATICCHECK) $(PKGS)
	@for m in $(PROVIDER_MODS); do \
		echo "(cd $$m && $(STATICCHECK) ./...)"; \
		(cd "$$m" && $(STATICCHECK) ./...) || exit 1; \
	done

# -json feeds .ci/testreport.go, which prints like plain go test (plus the
# output of failed and skipped tests) and a closing "tests: N passed, N failed,
# N skipped" line. Fuzz targets' seed corpora run as ordinary tests.
go-test:
	@echo "== go test -race -count=1 -timeout $(TEST_TIMEOUT) $(PKGS)"
	$(GO) test -race -count=1 -timeout $(TEST_TIMEOUT) $(TESTFLAGS) -json $(PKGS) \
		| $(GO) run .ci/testreport.go -summary $(SUMMARY) \
		|| { rm -f $(SUMMARY); exit 1; }

bench:
	$(GO) test -run '^$$' -bench . -benchmem -count 1 ./... | tee bench.txt
	@if [ -d cmd/benchtable ]; then $(GO) run ./cmd/benchtable bench.txt; fi

# Each service in its own process against the fake LMS and the databases of
# .ci/services (when their DSNs are in the environment): see
# docs/performance.md. Not part of `make test`.
bench-process:
	bench/process.sh

# The recipe execs the built binary (not `go run`), so the demo is make's
# direct child: Ctrl-C or a signal to make stops the server, and its exit
# status is the demo's.
demo:
	$(GO) build -o bin/demo ./cmd/demo
	exec ./bin/demo $(ARGS)

services:
	@.ci/services
	@echo
	@echo 'To use them in this shell:  eval "$$(.ci/services --env)"  then  make test'
	@echo 'Or in one go:               make test-db'

test-db:
	@env_lines=$$(.ci/services --env); eval "$$env_lines"; $(MAKE) --no-print-directory test

# go test -list prints the matching names of a package, then its "ok <pkg>"
# line; -fuzz accepts one package and one target at a time.
fuzz:
	@$(GO) test -list '^Fuzz' ./... | awk ' \
		/^Fuzz/ { names[n++] = $$1; next } \
		/^ok/   { for (i = 0; i < n; i++) print $$2, names[i]; n = 0 }' \
	| while read -r pkg name; do \
		echo "== fuzz $$pkg $$name ($(FUZZTIME))"; \
		$(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) "$$pkg"; \
	done

clean:
	$(GO) clean -testcache
	rm -f bench.txt
