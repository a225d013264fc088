# The two commands a fresh machine needs: `make demo` and `make test`.
CARGO   ?= cargo
PREFIX  ?= /usr/local
DESTDIR ?=
BINDIR   = $(DESTDIR)$(PREFIX)/bin

# Every program the workspace installs.
PROGRAMS = envdir envuidgid setuidgid softlimit setlock pgrphack fghack readproctitle waitfor \
           supervise svc svstat svok

# Debian packages the black-box suites run next to our binaries.
TEST_PACKAGES = procps coreutils

.PHONY: all build release test lint demo install bench clean

all: build

build:
	$(CARGO) build --workspace --bins

release:
	$(CARGO) build --release --workspace --bins

test:
	scripts/need-packages $(TEST_PACKAGES)
	$(CARGO) build --workspace --bins
	$(CARGO) test --workspace

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

demo: release
	demo/demo.sh target/release

install: release
	install -d $(BINDIR)
	for p in $(PROGRAMS); do install -m 0755 target/release/$$p $(BINDIR)/$$p; done

bench:
	bench/run.sh

clean:
	$(CARGO) clean
