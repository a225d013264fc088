# The two commands a fresh machine needs: `make demo` and `make test`.
CARGO   ?= cargo
PREFIX  ?= /usr/local
DESTDIR ?=
# tcpserver plugins, where svctool's SMTP services look for them
PLUGINDIR = $(DESTDIR)$(PREFIX)/lib/indimail/plugins
# Which program goes into bin, sbin or libexec/indimail: scripts/install-layout.

# Debian packages the black-box suites run next to our binaries (one line per family).
TEST_PACKAGES_base      = procps coreutils
TEST_PACKAGES_svscan    = util-linux mount
TEST_PACKAGES_multilog  = strace mount
# haproxy stands in front of tcpserver in the PROXY-protocol suite
TEST_PACKAGES_tcpserver = ucspi-tcp openssl gcc libc6-dev haproxy strace
TEST_PACKAGES_tcpclient =
TEST_PACKAGES_svctool   = openssl passwd
TEST_PACKAGES_man       = mandoc man-db
# promtool checks svmetrics' exposition; a real prometheus scrapes it
TEST_PACKAGES_metrics   = prometheus
# perl runs the reference's qlogselect in the conformance cases
TEST_PACKAGES_toolkit   = perl util-linux mount
# podman and runc build and run the Containerfile's image; a static busybox is its test base
TEST_PACKAGES_containers = podman runc busybox-static tar util-linux
# the conformance suite: namespaces (unshare, mount, ip) for its isolated cases; nc receives
# svalert's datagrams
TEST_PACKAGES_conformance = util-linux mount iproute2 procps netcat-openbsd
# musl-gcc builds ring's C parts for the static musl build (`make musl`); file tells it is static
TEST_PACKAGES_musl      = musl-tools file
TEST_PACKAGES = $(TEST_PACKAGES_base) $(TEST_PACKAGES_svscan) $(TEST_PACKAGES_multilog) \
                $(TEST_PACKAGES_tcpserver) $(TEST_PACKAGES_tcpclient) $(TEST_PACKAGES_svctool) \
                $(TEST_PACKAGES_man) $(TEST_PACKAGES_toolkit) $(TEST_PACKAGES_containers) \
                $(TEST_PACKAGES_musl) $(TEST_PACKAGES_metrics)

.PHONY: all build release test musl hermetic-check print-test-packages conformance lint demo install install-man bench clean

all: build

build:
	$(CARGO) build --workspace --bins

# svctool's scripts name the programs where `make install` puts them (configure's @prefix@)
release:
	SVCTOOL_BUILD_PREFIX=$(PREFIX) $(CARGO) build --release --workspace --bins
	$(CARGO) build --release -p rblsmtpd-so --lib

# The whole suite; ends with how many tests ran and which were skipped, and why.
test:
	scripts/need-packages $(TEST_PACKAGES)
	$(CARGO) build --workspace --bins
	scripts/run-tests $(CARGO) test --workspace --no-fail-fast

# Every program built static for x86_64-unknown-linux-musl, and a few run to prove their
# command line arrives (README, "Supported targets"; adds the rustup target when missing).
musl:
	scripts/need-packages $(TEST_PACKAGES_musl)
	scripts/musl-check $(CARGO)

# `make test` twice beside a live svscan on /service, then no file may be left outside the
# tests' temporary directories (root; see the script).
hermetic-check:
	scripts/hermetic-check

print-test-packages:
	@echo $(TEST_PACKAGES)

# Every program against IndiMail's reference C programs (built first when absent; see
# scripts/reference). Root: the cases run in private namespaces.
conformance:
	scripts/need-packages $(TEST_PACKAGES) $(TEST_PACKAGES_conformance)
	scripts/reference
	$(CARGO) build --workspace --bins
	$(CARGO) test -p blackbox --no-fail-fast --test 'conformance_*'

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

demo: release
	demo/demo.sh target/release

install: release
	scripts/install target/release "$(DESTDIR)$(PREFIX)"
	install -d $(PLUGINDIR)
	install -m 0755 target/release/librblsmtpd.so $(PLUGINDIR)/rblsmtpd.so

# Manual pages (man/README.md): man/manN/NAME.N into $(MANDIR)/manN.
MANDIR = $(DESTDIR)$(PREFIX)/share/man
install: install-man
install-man:
	for s in 1 8; do install -d $(MANDIR)/man$$s && install -m 0644 man/man$$s/*.$$s $(MANDIR)/man$$s/; done

# `make bench`: every workload against every peer, then bench/report/ (README.md, SVG
# charts). `make bench QUICK=1`: tiny sizes, proves the harness works in a few minutes.
bench:
	bench/run.sh $(if $(QUICK),--quick)

clean:
	$(CARGO) clean
