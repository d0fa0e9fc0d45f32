# Vitrine's entry points. `make demo` and `make test` are the README's quick
# start; both run scripts/setup first, which is idempotent and fast when
# everything is in place.
SHELL := /bin/bash
.DEFAULT_GOAL := help

.PHONY: help setup build demo test vet bench fuzz clean

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

setup: ## install OS packages, pgvector, ONNX Runtime and models; build bin/vitrine
	scripts/setup

build: ## build bin/vitrine only
	go build -o bin/vitrine ./cmd/vitrine

demo: setup ## set up, start the private database, migrate, ingest the sample catalog and serve it
	scripts/demo

test: setup ## set up, then run the whole test suite against the real database and models
	scripts/test

vet: ## go vet
	go vet ./...

bench: setup ## run the Go benchmarks (see BENCHMARKS.md)
	go test -run '^$$' -bench . -benchtime 3x ./...

clean: ## stop the private database and remove bin/ (keeps .vitrine data)
	-bin/vitrine db stop
	rm -rf bin
