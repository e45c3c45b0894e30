# sportsconnect — the two set-up commands are `make demo` and `make test`.
# Everything else a fresh machine needs (Go modules, Apache Kafka and
# Apicurio Registry jars from Maven Central) is fetched by these targets.

GO          ?= go
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
TEST_TIMEOUT ?= 60m
FUZZTIME    ?= 20s

.PHONY: all build demo test test-short bench lint fuzz image services-up services-down clean

all: build

build:
	$(GO) build ./...

## demo: the main job on the embedded default (in-process Kafka + registry, simulators); exits 0 when every record checks out.
demo:
	$(GO) run ./cmd/sportsconnect demo

## test: every test, against a real Apache Kafka broker and Apicurio Registry started (and stopped) here,
## unless KAFKA_BOOTSTRAP and SCHEMA_REGISTRY_URL point at running ones; then the Helm chart's tests
## (a module of their own, so the Kubernetes API types stay out of the product's module graph).
test:
	$(GO) vet ./...
	bash deploy/local/with-services.sh $(GO) test -count=1 -timeout $(TEST_TIMEOUT) ./...
	cd deploy/helm/charttest && $(GO) vet ./... && $(GO) test -count=1 -timeout $(TEST_TIMEOUT) ./...

## test-short: the quick tests only (kfake/srfake, no broker); broker tests are skipped.
test-short:
	$(GO) test -short -count=1 ./...

## bench: throughput and latency on the real broker, each beside a raw franz-go producer baseline; the
## IMG Arena scale curve's report (Markdown and SVG charts) goes to bench-report/, its path printed.
## The unpaced IMG process run also measures the build of BENCH_BASELINE (a git commit; default: main
## before issue #14's work) beside this one; BENCH_BASELINE= leaves it out.
BENCH_BASELINE ?= f26192e
bench:
	@baseline=""; if [ -n "$(BENCH_BASELINE)" ]; then \
	  bin=$$(GO=$(GO) bash deploy/local/baseline.sh $(BENCH_BASELINE)) && baseline="--baseline-binary $$bin"; \
	fi; \
	bash deploy/local/with-services.sh $(GO) run ./cmd/sportsconnect bench $$baseline

## lint: go vet and staticcheck (fetched through the Go module proxy).
lint:
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

## fuzz: each fuzz target for FUZZTIME.
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 2s $$pkg || exit 1; \
	  done; \
	done

## image: the container image (deploy/container: FROM scratch, static binary, user 65532) with podman; installs podman and runc
## when missing; tags sportsconnect:latest and sportsconnect:<version>, or IMAGE=name:tag.
image:
	GO=$(GO) bash deploy/container/build.sh

services-up:
	bash deploy/local/kafka.sh start
	bash deploy/local/registry.sh start

services-down:
	-bash deploy/local/registry.sh stop
	-bash deploy/local/kafka.sh stop

clean:
	rm -rf deploy/local/.cache
