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
TEST_PACKAGES_tcpserver = ucspi-tcp openssl gcc libc6-dev
TEST_PACKAGES_tcpclient =
TEST_PACKAGES_svctool   = openssl passwd
# the conformance suite: namespaces (unshare, mount, ip) for its isolated cases
TEST_PACKAGES_conformance = util-linux mount iproute2 procps
TEST_PACKAGES = $(TEST_PACKAGES_base) $(TEST_PACKAGES_svscan) $(TEST_PACKAGES_multilog) \
                $(TEST_PACKAGES_tcpserver) $(TEST_PACKAGES_tcpclient) $(TEST_PACKAGES_svctool)

.PHONY: all build release test conformance lint demo install bench clean

all: build

build:
	$(CARGO) build --workspace --bins

release:
	$(CARGO) build --release --workspace --bins
	$(CARGO) build --release -p rblsmtpd-so --lib

test:
	scripts/need-packages $(TEST_PACKAGES)
	$(CARGO) build --workspace --bins
	$(CARGO) test --workspace

# Every program against IndiMail's reference C programs (built first when absent; see
# scripts/reference). Root: the cases run in private namespaces.
conformance:
	scripts/need-packages $(TEST_PACKAGES) $(TEST_PACKAGES_conformance)
	scripts/reference
	$(CARGO) build --workspace --bins
	$(CARGO) test -p blackbox --test 'conformance_*'

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

demo: release
	demo/demo.sh target/release

install: release
	scripts/install target/release "$(DESTDIR)$(PREFIX)"
	install -d $(PLUGINDIR)
	install -m 0755 target/release/librblsmtpd.so $(PLUGINDIR)/rblsmtpd.so

bench:
	bench/run.sh

clean:
	$(CARGO) clean
