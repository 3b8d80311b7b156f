# quickscale: build, test, release and demo.
#
#   make test     every check CI runs: packages, assets, tools, lint, all tests
#   make demo     build quickscale, generate a project and serve it locally
#   make build    bin/quickscale and bin/quickscale-docker (it runs the Docker
#                 commands)             make install   both into $(go env GOBIN)
#   make dist     release archives and checksums in dist/
#   make bench    Go benchmarks, medians through benchstat, then the start of
#                 quickscale version and init as whole processes, then page
#                 rendering against bare net/http (wrk), then the pages on a
#                 database of a million entries (make bench-scale), then one
#                 table of every figure with a goal
#   make lint     gofmt, go vet, staticcheck, govulncheck (offline database)
#   make clean    build and demo output   make distclean   also tools and assets

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := build
.DELETE_ON_ERROR:

# The machine's own Go may carry standard-library vulnerabilities; go.mod asks
# for this toolchain and the go command fetches it from the module proxy.
export GOTOOLCHAIN := go1.27.3

MODULE  := github.com/quickscale/quickscale
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse HEAD 2>/dev/null)
# Archive timestamps come from the commit, so the same commit gives the same
# archives.
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || date +%s)
LDFLAGS := -X $(MODULE)/internal/buildinfo.Version=$(VERSION) \
           -X $(MODULE)/internal/buildinfo.Commit=$(COMMIT)

TOOLS     := $(CURDIR)/.tools
TOOLS_BIN := $(TOOLS)/bin
VULNDB    := $(TOOLS)/vulndb
STATICCHECK_VERSION := v0.8.2
GOVULNCHECK_VERSION := v1.9.0
# Mailpit is the real SMTP server the generated app's mail tests deliver to.
MAILPIT_VERSION     := v1.33.1
# stripe-mock answers Stripe API requests from Stripe's API description: the
# generated app's billing tests prove the shape of their requests with it.
STRIPE_MOCK_VERSION := v0.203.0
# versitygw is the S3-compatible server the generated app's storage suite
# runs against: it checks signatures and presigned POST policies.
VERSITYGW_VERSION   := v1.8.0
# benchstat ships in golang.org/x/perf, which has no tagged releases.
BENCHSTAT_VERSION   := v0.0.0-20260908200009-22c9c6c9d4da

STATICCHECK := $(TOOLS_BIN)/staticcheck
GOVULNCHECK := $(TOOLS_BIN)/govulncheck
BENCHSTAT   := $(TOOLS_BIN)/benchstat

# The generated app's tests must find PostgreSQL; never let them skip.
TEST_TIMEOUT ?= 40m
PORT ?= 8000

SKELETON  := templates/skeleton
# The skeleton serves the front-end files from here, in place and in every
# generated project; in this repository they are git-ignored.
ASSET_DIR := $(SKELETON)/internal/web/static/vendor
ASSETS    := $(addprefix $(ASSET_DIR)/,htmx.min.js alpine-csp.min.js bulma.min.css LICENSE-htmx LICENSE-alpine LICENSE-bulma)
NPM_DIR   := frontend/node_modules
# axe-core is a test tool (a devDependency): the skeleton's browser suite
# loads it into each page through AXE_CORE_JS; it is never served or packed.
AXE_CORE  := $(NPM_DIR)/axe-core/axe.min.js
# quickscale embeds the skeleton as one archive: go:embed skips a directory
# that holds a go.mod, and the skeleton is a module of its own.
PACKED    := templates/skeleton.zip

DIST_TARGETS := linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64

.PHONY: build install dist assets pack tools lint test deps bench bench-cli bench-render bench-scale demo clean distclean

## Front-end assets ----------------------------------------------------------

assets: $(ASSETS) pack

# The packer rewrites the archive only when its contents change, so running
# it every time costs about a second and keeps Go's build cache warm.
pack: $(ASSETS)
	go run ./internal/skeletonpack/cmd/packskeleton $(SKELETON) $(PACKED)

# npm ci installs exactly package-lock.json and checks every integrity hash;
# --ignore-scripts runs no package code. The dist files are rebuilt only when
# the lock file (or this recipe's inputs) is newer than they are.
$(ASSETS) $(AXE_CORE) &: frontend/package-lock.json frontend/package.json frontend/LICENSE-alpine
	@command -v npm >/dev/null || { echo "make assets: npm is missing; install it with: apt-get install -y nodejs npm" >&2; exit 1; }
	cd frontend && npm ci --ignore-scripts --no-audit --no-fund
	mkdir -p $(ASSET_DIR)
	cp $(NPM_DIR)/htmx.org/dist/htmx.min.js       $(ASSET_DIR)/htmx.min.js
	cp $(NPM_DIR)/@alpinejs/csp/dist/cdn.min.js   $(ASSET_DIR)/alpine-csp.min.js
	cp $(NPM_DIR)/bulma/css/bulma.min.css         $(ASSET_DIR)/bulma.min.css
	cp $(NPM_DIR)/htmx.org/LICENSE                $(ASSET_DIR)/LICENSE-htmx
	cp $(NPM_DIR)/bulma/LICENSE                   $(ASSET_DIR)/LICENSE-bulma
	@# The @alpinejs/csp package ships no licence file; frontend/LICENSE-alpine
	@# is the Alpine repository's LICENSE.md, verbatim.
	cp frontend/LICENSE-alpine                    $(ASSET_DIR)/LICENSE-alpine

## Build and release ---------------------------------------------------------

# quickscale runs its Docker commands in quickscale-docker, found beside it
# (see cmd/quickscale): the two are always built and installed together.
PROGRAMS := ./cmd/quickscale ./cmd/quickscale-docker

build: assets
	mkdir -p bin
	go build -trimpath -ldflags '$(LDFLAGS)' -o bin/ $(PROGRAMS)
	@echo "built bin/quickscale and bin/quickscale-docker $(VERSION)"

install: assets
	go install -trimpath -ldflags '$(LDFLAGS)' $(PROGRAMS)
	@echo "installed quickscale and quickscale-docker $(VERSION) into $$(go env GOBIN | grep . || echo "$$(go env GOPATH)/bin")"

# Release archives: static binaries for each platform (go build names them
# quickscale.exe and quickscale-docker.exe on Windows), with checksums.
# .goreleaser.yaml describes the same release for those who use goreleaser.
dist: assets
	rm -rf dist && mkdir -p dist
	for target in $(DIST_TARGETS); do \
	  os=$${target%/*}; arch=$${target#*/}; \
	  name=quickscale_$(VERSION)_$${os}_$${arch}; \
	  echo "building $$name"; \
	  mkdir -p dist/$$name; \
	  CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch go build -trimpath \
	    -ldflags '-s -w $(LDFLAGS)' -o dist/$$name/ $(PROGRAMS); \
	  for doc in README.md CHANGELOG.md LICENSE; do if [[ -f $$doc ]]; then cp $$doc dist/$$name/; fi; done; \
	  tar -C dist --sort=name --owner=0 --group=0 --numeric-owner --mtime=@$(SOURCE_DATE_EPOCH) -cf - $$name \
	    | gzip -9 -n > dist/$$name.tar.gz; \
	  rm -rf dist/$$name; \
	done
	cd dist && sha256sum *.tar.gz > quickscale_$(VERSION)_checksums.txt
	@cat dist/quickscale_$(VERSION)_checksums.txt

## Tools ---------------------------------------------------------------------

STAMPS := $(TOOLS)/stamps

tools: $(STAMPS)/staticcheck-$(STATICCHECK_VERSION) $(STAMPS)/govulncheck-$(GOVULNCHECK_VERSION) \
       $(STAMPS)/mailpit-$(MAILPIT_VERSION) $(STAMPS)/stripe-mock-$(STRIPE_MOCK_VERSION) \
       $(STAMPS)/versitygw-$(VERSITYGW_VERSION) $(VULNDB)/index/db.json

# Each tool is installed by version: the stamp makes a version bump in this
# file reinstall it and leaves it alone otherwise.
$(STAMPS)/staticcheck-%:
	GOBIN=$(TOOLS_BIN) go install honnef.co/go/tools/cmd/staticcheck@$*
	mkdir -p $(@D) && touch $@

$(STAMPS)/govulncheck-%:
	GOBIN=$(TOOLS_BIN) go install golang.org/x/vuln/cmd/govulncheck@$*
	mkdir -p $(@D) && touch $@

$(STAMPS)/mailpit-%:
	GOBIN=$(TOOLS_BIN) go install github.com/axllent/mailpit@$*
	mkdir -p $(@D) && touch $@

$(STAMPS)/stripe-mock-%:
	GOBIN=$(TOOLS_BIN) go install github.com/stripe/stripe-mock@$*
	mkdir -p $(@D) && touch $@

$(STAMPS)/versitygw-%:
	GOBIN=$(TOOLS_BIN) go install github.com/versity/versitygw/cmd/versitygw@$*
	mkdir -p $(@D) && touch $@

$(STAMPS)/benchstat-%:
	GOBIN=$(TOOLS_BIN) go install golang.org/x/perf/cmd/benchstat@$*
	mkdir -p $(@D) && touch $@

# govulncheck runs against a local copy of the Go vulnerability database: the
# newest golang.org/x/vulndb module, indexed by its own cmd/indexdb. Refresh it
# with `rm -rf .tools/vulndb && make tools`.
$(VULNDB)/index/db.json:
	info=$$(go mod download -json golang.org/x/vulndb@latest); \
	version=$$(sed -n 's/^\t"Version": "\(.*\)",$$/\1/p' <<<"$$info"); \
	dir=$$(sed -n 's/^\t"Dir": "\(.*\)",$$/\1/p' <<<"$$info"); \
	[[ -n $$version && -d $$dir/data/osv ]] || { echo "make tools: could not download golang.org/x/vulndb: $$info" >&2; exit 1; }; \
	echo "indexing golang.org/x/vulndb@$$version"; \
	GOBIN=$(TOOLS_BIN) go install golang.org/x/vulndb/cmd/indexdb@$$version; \
	rm -rf $(VULNDB).tmp; \
	$(TOOLS_BIN)/indexdb -vulns $$dir/data/osv -out $(VULNDB).tmp; \
	rm -rf $(VULNDB) && mv $(VULNDB).tmp $(VULNDB); \
	echo "$$version" > $(VULNDB)/VERSION

## Checks --------------------------------------------------------------------

# The skeleton's suites behind build tags: its Chromium walks and its checks
# of a deployed app.
SKELETON_TAGS := browser,e2e

# Go files outside dot directories, node_modules and testdata (which may hold
# deliberately broken input); the skeleton's are included.
FIND_GO = find . -mindepth 1 \( -name '.*' -o -name node_modules -o -name testdata \) -prune -o -type f

lint: assets tools
	@echo "--- gofmt"
	@files=$$($(FIND_GO) -name '*.go' -print); \
	[[ -n $$files ]] || { echo "lint: found no Go files" >&2; exit 1; }; \
	unformatted=$$(gofmt -l $$files); \
	if [[ -n $$unformatted ]]; then echo "gofmt would change:" >&2; echo "$$unformatted" >&2; exit 1; fi
	@echo "--- go vet"
	go vet ./...
	cd $(SKELETON) && go vet -tags $(SKELETON_TAGS) ./...
	@echo "--- staticcheck"
	$(STATICCHECK) ./...
	cd $(SKELETON) && $(STATICCHECK) -tags $(SKELETON_TAGS) ./...
	@echo "--- govulncheck (database $$(cat $(VULNDB)/VERSION))"
	$(GOVULNCHECK) -db file://$(VULNDB) ./...
	cd $(SKELETON) && $(GOVULNCHECK) -db file://$(VULNDB) ./...

deps:
	scripts/install-deps

# Everything CI proves, in one command: Debian packages (installed when
# root), assets, tools, then lint, the Docker Engine (started when root) and
# every test with the race detector, PostgreSQL required: quickscale's, and
# the skeleton's in place with its Chromium (axe-core scan included),
# Mailpit, stripe-mock and versitygw (S3) suites. See scripts/test-all.
test: deps assets tools $(AXE_CORE)
	@scripts/test-all "$(MAKE)" $(TEST_TIMEOUT) $(TOOLS)/test.log $(SKELETON) $(TOOLS_BIN)/mailpit $(CURDIR)/$(AXE_CORE) $(TOOLS_BIN)/stripe-mock $(TOOLS_BIN)/versitygw

## Benchmarks ----------------------------------------------------------------

BENCH_COUNT ?= 6

BENCH_OUT     := $(TOOLS)/bench.txt
BENCH_FIGURES := $(TOOLS)/bench-figures.tsv

# Every package with a Benchmark function, in quickscale and in the skeleton
# (a module of its own, so run in place, PostgreSQL required), each run
# BENCH_COUNT times; benchstat prints the median and its confidence interval.
# Then scripts/bench-cli times bin/quickscale as a user runs it,
# scripts/bench-render loads the app's pages against bare net/http with wrk,
# bench-scale times the pages on a million journal entries, and
# scripts/bench-table ends with every figure that has a goal, met or not.
bench: build $(STAMPS)/benchstat-$(BENCHSTAT_VERSION)
	@mkdir -p $(TOOLS); : > $(BENCH_OUT); : > $(BENCH_FIGURES); \
	for mod in . $(SKELETON); do \
	  pkgs=$$(cd $$mod && $(FIND_GO) -name '*_test.go' -print | { grep -v '^./$(SKELETON)/' || true; } | { xargs -r grep -l '^func Benchmark' || true; } | xargs -r -n1 dirname | sort -u); \
	  if [[ -z $$pkgs ]]; then echo "no benchmarks found in $$mod" >&2; exit 1; fi; \
	  (cd $$mod && REQUIRE_POSTGRES=1 go test -run '^$$' -bench . -benchmem -count $(BENCH_COUNT) $$pkgs) | tee -a $(BENCH_OUT); \
	done; \
	echo; $(BENCHSTAT) $(BENCH_OUT)
	BENCH_FIGURES=$(BENCH_FIGURES) scripts/bench-cli bin/quickscale
	BENCH_FIGURES=$(BENCH_FIGURES) scripts/bench-render
	$(MAKE) --no-print-directory bench-scale | tee -a $(BENCH_OUT)
	@echo; scripts/bench-table $(BENCH_OUT) $(BENCH_FIGURES)

# The CLI timings alone, in seconds rather than the minutes of bench.
bench-cli: build
	scripts/bench-cli bin/quickscale

# The generated app's pages on a database of a million journal entries and
# 100,000 users, on both databases (seeding takes minutes): p50 and p99.
bench-scale:
	cd $(SKELETON) && BENCH_AT_SCALE=1 REQUIRE_POSTGRES=1 go test -run '^$$' -bench BenchmarkAtScale -benchtime 50x -timeout 60m ./internal/web/

# Page rendering alone: the app's /login and / against a bare handler
# serving the same bytes, with wrk (about a minute and a half).
bench-render:
	scripts/bench-render

## Demo ----------------------------------------------------------------------

# Generates .demo/demo (replacing an old one) and serves it until Ctrl-C.
# Like test, it first installs the Debian packages that are missing (npm
# for the assets above all), so a fresh machine needs nothing else.
demo: deps build
	scripts/demo bin/quickscale .demo $(PORT)

clean:
	rm -rf bin dist .demo

distclean: clean
	rm -rf .tools $(NPM_DIR) $(ASSET_DIR) $(PACKED)
