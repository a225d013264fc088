/*
 * hello.c: a tcpserver plugin (docs/ucspi-tcp.md#plugins), and what the plugin suite runs.
 *
 *   cc -shared -fPIC -o hello.so hello.c
 *   env PLUGIN0=$PWD/hello.so PLUGIN0_init=hello_init \
 *     tcpserver -v 127.0.0.1 7000 $PWD/hello.so a b
 *
 * tcpserver loads hello.so once at startup and calls hello_init(0); every connection
 * process, a fork of the server, finds `generation` as init left it and calls
 * hello(argc, argv, envp) with the connection on fds 0 and 1. SIGHUP to the server
 * calls hello_init(1). The reply lists what the plugin sees, one item per line.
 *
 * Write with write(2) (or fflush before returning): tcpserver _exits when the entry
 * returns, so unflushed stdio buffers are lost, and the return value is ignored.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int generation = -1; /* the argument of the last hello_init; -1: never called */
static int inits;           /* how many times hello_init ran in this process's past */
static int calls;           /* connections served by this very process */

int
hello_init(int reload)
{
	generation = reload;
	inits++;
	return 0;
}

static void
say(const char *name, const char *value)
{
	dprintf(1, "%s=%s\n", name, value ? value : "(unset)");
}

int
hello(int argc, char **argv, char **envp)
{
	char exe[4096], fd0[256], cwd[4096];
	ssize_t n;
	struct sigaction sa;
	sigset_t mask;
	int i;

	calls++;
	dprintf(1, "argc=%d\n", argc);
	for (i = 0; i < argc; i++)
		dprintf(1, "argv[%d]=%s\n", i, argv[i]);
	n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	exe[n < 0 ? 0 : n] = 0;
	say("exe", exe);
	n = readlink("/proc/self/fd/0", fd0, sizeof fd0 - 1);
	fd0[n < 0 ? 0 : n] = 0;
	say("fd0", fd0);
	say("cwd", getcwd(cwd, sizeof cwd));
	dprintf(1, "pid=%d\n", (int) getpid());
	dprintf(1, "generation=%d inits=%d calls=%d\n", generation, inits, calls);
	sigaction(SIGHUP, 0, &sa);
	say("SIGHUP", sa.sa_handler == SIG_DFL ? "default" : "handled");
	sigaction(SIGUSR1, 0, &sa);
	say("SIGUSR1", sa.sa_handler == SIG_DFL ? "default" : "handled");
	sigprocmask(SIG_SETMASK, 0, &mask);
	say("blocked", sigismember(&mask, SIGHUP) ? "SIGHUP" : "none");
	/* the connection's environment is envp; the process environ is the server's */
	say("environ.TCPREMOTEIP", getenv("TCPREMOTEIP"));
	for (i = 0; envp[i]; i++)
		dprintf(1, "env:%s\n", envp[i]);
	return 42; /* ignored: the connection ends with status 0 */
}
