# The two commands a fresh machine needs: `make demo` and `make test`.
CARGO   ?= cargo
PREFIX  ?= /usr/local
DESTDIR ?=
BINDIR   = $(DESTDIR)$(PREFIX)/bin
# tcpserver plugins, where svctool's SMTP services look for them
PLUGINDIR = $(DESTDIR)$(PREFIX)/lib/indimail/plugins

# Every program the workspace installs, by family (one line per crate; each family's
# issue adds its names when the programs land).
PROGRAMS_envdir    = envdir envuidgid setuidgid softlimit setlock pgrphack fghack readproctitle waitfor
PROGRAMS_supervise = supervise svc svstat svok svps
PROGRAMS_svscan    = svscan
PROGRAMS_multilog  = multilog tai64n tai64nlocal tai64nunix tai64n2tai tai2tai64n qfilelog
PROGRAMS_tcpserver = tcpserver tcprules tcprulescheck rblsmtpd dotls
PROGRAMS_tcpclient = tcpclient addcr delcr fixcrio recordio argv0 mconnect-io
# Shell scripts installed beside the programs (folder/name).
SCRIPTS = tcpclient/scripts/mconnect tcpclient/scripts/tcpcat tcpclient/scripts/who@ \
          tcpclient/scripts/date@ tcpclient/scripts/finger@ tcpclient/scripts/http@
SCRIPTS += svscan/scripts/svscanboot
PROGRAMS_svctool   = svctool qmailctl
PROGRAMS = $(PROGRAMS_envdir) $(PROGRAMS_supervise) $(PROGRAMS_svscan) $(PROGRAMS_multilog) \
           $(PROGRAMS_tcpserver) $(PROGRAMS_tcpclient) $(PROGRAMS_svctool)

# Debian packages the black-box suites run next to our binaries (one line per family).
TEST_PACKAGES_base      = procps coreutils
TEST_PACKAGES_svscan    = util-linux mount
TEST_PACKAGES_multilog  = strace mount
TEST_PACKAGES_tcpserver = ucspi-tcp openssl gcc libc6-dev
TEST_PACKAGES_tcpclient =
TEST_PACKAGES_svctool   = openssl passwd
TEST_PACKAGES = $(TEST_PACKAGES_base) $(TEST_PACKAGES_svscan) $(TEST_PACKAGES_multilog) \
                $(TEST_PACKAGES_tcpserver) $(TEST_PACKAGES_tcpclient) $(TEST_PACKAGES_svctool)

.PHONY: all build release test lint demo install bench clean

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

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

demo: release
	demo/demo.sh target/release

install: release
	install -d $(BINDIR)
	for p in $(PROGRAMS); do install -m 0755 target/release/$$p $(BINDIR)/$$p; done
	for s in $(SCRIPTS); do install -m 0755 $$s $(BINDIR)/; done
	install -d $(PLUGINDIR)
	install -m 0755 target/release/librblsmtpd.so $(PLUGINDIR)/rblsmtpd.so

# `make bench`: every workload against every peer, then bench/report/ (README.md, SVG
# charts). `make bench QUICK=1`: tiny sizes, proves the harness works in a few minutes.
bench:
	bench/run.sh $(if $(QUICK),--quick)

clean:
	$(CARGO) clean
