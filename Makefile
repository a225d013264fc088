# The two commands a fresh machine needs: `make demo` and `make test`.
CARGO   ?= cargo
PREFIX  ?= /usr/local
DESTDIR ?=
BINDIR   = $(DESTDIR)$(PREFIX)/bin
# tcpserver plugins, where svctool's SMTP services look for them
PLUGINDIR = $(DESTDIR)$(PREFIX)/lib/indimail/plugins

# Every program the workspace installs, by family (one line per crate; each family's
# issue adds its names when the programs land).
PROGRAMS_envdir    = envdir envuidgid setuidgid softlimit setlock pgrphack fghack readproctitle waitfor \
                     inotify
PROGRAMS_supervise = supervise svc svstat svok svps spipe multipipe svalert svstatd rsvc svmetrics
PROGRAMS_svscan    = svscan
PROGRAMS_multilog  = multilog tai64n tai64nlocal tai64nunix tai64n2tai tai2tai64n qfilelog \
                     teepipe logselect qlogselect
PROGRAMS_tcpserver = tcpserver tcprules tcprulescheck rblsmtpd dotls
PROGRAMS_tcpclient = tcpclient addcr delcr fixcrio recordio argv0 mconnect-io
# Shell scripts installed beside the programs (folder/name).
SCRIPTS = tcpclient/scripts/mconnect tcpclient/scripts/tcpcat tcpclient/scripts/who@ \
          tcpclient/scripts/date@ tcpclient/scripts/finger@ tcpclient/scripts/http@
SCRIPTS += svscan/scripts/svscanboot svscan/scripts/set-network-wait
PROGRAMS_svctool   = svctool qmailctl minisvc docker-entrypoint runpod
PROGRAMS_installer = installer uinstaller instcheck
# instcheck under the names of the packages it checks (links to it)
INSTCHECK_LINKS    = instcheck.daemontools instcheck.ucspi-tcp
PROGRAMS = $(PROGRAMS_envdir) $(PROGRAMS_supervise) $(PROGRAMS_svscan) $(PROGRAMS_multilog) \
           $(PROGRAMS_tcpserver) $(PROGRAMS_tcpclient) $(PROGRAMS_svctool) $(PROGRAMS_installer)

# Debian packages the black-box suites run next to our binaries (one line per family).
TEST_PACKAGES_base      = procps coreutils
TEST_PACKAGES_svscan    = util-linux mount
TEST_PACKAGES_multilog  = strace mount
# haproxy stands in front of tcpserver in the PROXY-protocol suite
TEST_PACKAGES_tcpserver = ucspi-tcp openssl gcc libc6-dev haproxy
TEST_PACKAGES_tcpclient =
TEST_PACKAGES_svctool   = openssl passwd
TEST_PACKAGES_man       = mandoc man-db
# promtool checks svmetrics' exposition; a real prometheus scrapes it
TEST_PACKAGES_metrics   = prometheus
# perl runs the reference's qlogselect in the conformance cases
TEST_PACKAGES_toolkit   = perl util-linux mount
# podman and runc build and run the Containerfile's image; a static busybox is its test base
TEST_PACKAGES_containers = podman runc busybox-static tar util-linux
TEST_PACKAGES = $(TEST_PACKAGES_base) $(TEST_PACKAGES_svscan) $(TEST_PACKAGES_multilog) \
                $(TEST_PACKAGES_tcpserver) $(TEST_PACKAGES_tcpclient) $(TEST_PACKAGES_svctool) \
                $(TEST_PACKAGES_man) $(TEST_PACKAGES_toolkit) $(TEST_PACKAGES_containers) \
                $(TEST_PACKAGES_metrics)

.PHONY: all build release test hermetic-check print-test-packages lint demo install install-man bench clean

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

# `make test` twice beside a live svscan on /service, then no file may be left outside the
# tests' temporary directories (root; see the script).
hermetic-check:
	scripts/hermetic-check

print-test-packages:
	@echo $(TEST_PACKAGES)

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

demo: release
	demo/demo.sh target/release

install: release
	install -d $(BINDIR)
	for p in $(PROGRAMS); do install -m 0755 target/release/$$p $(BINDIR)/$$p; done
	for s in $(SCRIPTS); do install -m 0755 $$s $(BINDIR)/; done
	for l in $(INSTCHECK_LINKS); do ln -sf instcheck $(BINDIR)/$$l; done
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
