# jsrt-script — see README.md.
GO      ?= go
BIN     := bin/jsrt-script
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X github.com/jsrt-script/jsrt-script/cmd/internal/cli.Version=$(VERSION)
# Concurrent packages are tested with the race detector too.
RACE_PKGS := ./runtime/... ./bindings/... ./store/... ./repl/...

.PHONY: build test test-race lint bench demo golden clean

build:
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/jsrt-script

# The README's test command: everything CI runs.
test: build lint
	$(GO) test -count=1 ./...
	$(GO) test -count=1 -race $(RACE_PKGS)

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

bench: build
	$(GO) test -run '^$$' -bench . -benchmem ./runtime/... 
	bash bench/run.sh

# The main job on real input: this repository checks itself.
demo: build
	./$(BIN) run scripts/examples/selfcheck.js

# Regenerate CLI golden files after an intended output change.
golden:
	$(GO) test ./cmd/jsrt-script -run Golden -update

clean:
	rm -rf bin .jsrt

# Side by side with make, ninja, go-task and Turborepo on the same generated
# graphs (bench/peers): QUICK=1 takes a few minutes and writes bench/out/;
# the full run (about half an hour) regenerates the Peers section of
# BENCHMARKS.md and bench/peers/results.json.
.PHONY: bench-peers
bench-peers:
	$(GO) run ./bench/peers $(if $(QUICK),-quick)
