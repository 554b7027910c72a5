# lvsd build, test and lab entry points. `make help` lists them.
TARGET  := x86_64-unknown-linux-musl
BIN     := target/$(TARGET)/release/lvsd
BOARD   ?= qemu-x86_64
CARGO   ?= cargo

.PHONY: all build deps test unit-test vm-test lint fmt-check clippy docs bench soak image demo lab clean help

all: build

## build: the stripped static binary target/x86_64-unknown-linux-musl/release/lvsd
build:
	$(CARGO) build --release --target $(TARGET)
	@ls -l $(BIN) | awk '{print "built $(BIN): " $$5 " bytes"}'

## deps: install apt packages and the Rust musl target (needs root on a bare machine)
deps:
	./scripts/deps.sh

## test: every test: unit, integration (network namespaces as root) and the VM lab
test: deps lint unit-test vm-test

## unit-test: cargo tests (unit, golden bytes, simulation, netns when root)
unit-test:
	$(CARGO) test --all-targets

## vm-test: tests that need a real IPVS kernel, in the qemu appliance image
vm-test: build
	./tests/vm/ci.sh

## lint: rustfmt check and clippy with warnings as errors
lint: fmt-check clippy
fmt-check:
	$(CARGO) fmt --check
clippy:
	$(CARGO) clippy --all-targets -- -D warnings

## docs: regenerate the key tables of docs/config.md from src/config/keys.rs
docs:
	LVSD_WRITE_DOCS=1 $(CARGO) test --test config_docs

## bench: print the benchmark figures (binary size, config load, ...)
bench: build
	./benches/run.sh

## soak: lvsd for SOAK_MIN minutes (default 30) under traffic, flaps, reloads and master kills, in the VM lab
SOAK_MIN ?= 30
soak: build
	./image/build.sh $(BOARD)
	./tests/vm/run-traffic.sh --no-build --timeout $$(( $(SOAK_MIN) * 60 + 240 )) \
		--append "LAB_TEST_TIMEOUT=$$(( $(SOAK_MIN) * 60 + 180 )) SOAK_MIN=$(SOAK_MIN)" tests/vm/client/t_soak.sh

## image: build image/out/$(BOARD)/{vmlinuz,initramfs}; BOARD=qemu-x86_64|generic-x86_64
image: build
	./image/build.sh $(BOARD)

## demo: the main job: boot the lab (two directors, two real servers, a client) and show failover
demo: deps build
	./tests/vm/demo.sh

## lab: boot the VM lab and leave a shell on its console
lab: build
	./tests/vm/lab.sh

clean:
	$(CARGO) clean
	rm -rf image/out

help:
	@grep -E '^## ' Makefile | sed 's/^## /  make /'
