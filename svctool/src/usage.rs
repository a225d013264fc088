//! The usage text (docs/decisions.md#s4: it never waits on stdin or pages unless both stdin and
//! stdout are terminals).

use std::io::{IsTerminal, Write};

pub const HELP: &str = "\
Usage: svctool [OPTION]

Service creation (each writes SERVICEDIR/NAME with run, log/run and variables/):
  --smtp=PORT [--qbase=DIR --qcount=N --qstart=I] [--skipsend|--odmr]
      qmail-smtpd.PORT (and qmail-send.PORT with its queues)
      modifiers: --localip --maxdaemons --maxperip --memory --dmemory --msgqsize
      --min-free --no-multi --qmailqueue --qmailsmtpd --qtype=static|dynamic|compat
      --starttls --ssl --forcetls --authsmtp --forceauthsmtp --secureauth --enablecram
      --authall --chkrelay --chkrecipient --chksender --antispoof --cugmail --masquerade
      --dnscheck --helofqdn --helocheck --paranoid --dmasquerade --password-cache
      --query-cache --smtp-plugin --shared-objects=0|1 --use-dlmopen=0|1 --rbl=ARGS
      --qregex --virus-filter[=v] --qhpsi=CMD --content-filter[=FILE] --spamfilter=CMD
      --spamexitcode=e --rejectspam=r --logfilter=FIFO --localfilter --remotefilter
      --remote-authsmtp=m --routes=smtp|qmtp|static --cname-lookup --setuser-priv
      --setgroups --sanitize-env=LIST --deliverylimit-count=D --deliverylimit-size=S
      --overquota_mailsize=o --domainlimits --persistdb --utf8 --hide-host --barelf
      --dkverify=dkim|none --dksign=dkim|none --private_key=KEY --default-domain=D
      --infifo=FIFO --fsync --fdatasync --syncdir
  --delivery=IDENT --qbase=DIR --qcount=N --qstart=I    qmail-send.IDENT and queues
  --slowq --qbase=DIR [--todo-proc]                     slowq-send and QBASE/slowq
  --queueParam=NAME --qbase=DIR --qcount=N --qstart=I   control envdir NAME [--death=s]
  --qmqp=PORT / --qmtp=PORT --qbase=DIR --qcount=N --qstart=I
  --imap=PORT / --pop3=PORT [--proxy=DESTPORT] [--ssl|--starttls] [--tlsprog=PROG]
      [--nolastauth] [--legacyserver] [--hardquota=q] [--infifo=FIFO]
  --poppass=PORT --setpassword=CMD [--ssl --certfile=FILE]
  --indisrvr=PORT --avguserquota=q --hardquota=q --base_path=DIR
      [--mysqlhost=H --mysqluser=U --mysqlpass=P] [--ssl --certfile=FILE]
  --inlookup=FIFO --threads=N [--activeDays=A] [--use-btree] [--max-btree-count=n]
  --pwdlookup=SOCKET --threads=N --timeout=t --mysqlhost=H --mysqluser=U --mysqlpass=P
      (--mysqlport=PORT | --mysqlsocket=SOCKET)
  --mysql=PORT --mysqlPrefix=DIR --databasedir=DIR --config=FILE (after --mysql)
  --greylist=PORT / --tlsa=PORT [--min-resend-min=m --resend-win-hr=h --timeout-days=t
      --context-file=F --save-interval=s --hash-size=n --whitelist=F --use-greydaemon]
  --udplogger=PORT [--timeout=t]        --fifologger=FIFO        --qscanq [--scanint=n]
  --clamd --clamdPrefix=DIR [--sysconfdir=DIR]    --fetchmail [--silent]
  --mrtg=HTMLDIR [--scanint=n]
  --svscanlog [--initcmd=CMD --scanint=n --resolvconf --unshare]
  common: --servicedir=DIR --servicetag=TAG --cntrldir=DIR --logdir=DIR --destdir=DIR
      --envdiropts=OPTS --nooverwrite --down --nolog --force --silent --verbose

Management:
  --rmsvc=\"PATH...\"  --ensvc=\"PATH...\"  --refreshsvc=\"PATH...|all\" [--force]
      [--run-file-only]   rewrite the scripts only, keep variables/
  --autorefresh=\"0|1 PATH...|all\"
  --set-variable=N --modify-variable=N [--variable-value=V] --service-name=S [--force]
  --unset-variable=N --remove-variable=N --service-name=S
  --import-variables=FILE --export-variables=FILE --restore-variables --service-name=S
  --save-variables --restore-all-variables
  --print-variables (--service-name=S | --envdir=DIR) --print-all-variables
  --owner=U --group=G --mode=M   ownership of files the variable actions write
  --dumpconfig --check-install [--skip-sendmail] --check-certs[=FILE]
  --showctl[=DIR] --queuefix=QUEUE --fixsharedlibs
  --enable-service NAME... --disable-service NAME...

Configuration:
  --config=qmail|indimail|add-boot|rm-boot|inittab|users|rmusers|cert|nssd
      [--postmaster=ADDR --common_name=CN --validity_days=N --certdir=DIR --update-certs]
      [--default-domain=D --databytes=N --wipe]

--help      this text
--version   the version line
";

/// Show svctool's usage text and return the exit code to use.
pub fn show(code: i32) -> i32 {
    show_text(HELP, code)
}

/// Show a usage text (svctool's or minisvc's) and return the exit code to use.
pub fn show_text(text: &str, code: i32) -> i32 {
    let interactive = std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
    if interactive {
        eprintln!("Press ENTER for options, Cntrl C to quit");
        let mut line = String::new();
        let _ = std::io::stdin().read_line(&mut line);
        for pager in ["/usr/bin/less", "/usr/bin/more", "/bin/more"] {
            if std::path::Path::new(pager).exists() {
                if let Ok(mut child) = std::process::Command::new(pager)
                    .stdin(std::process::Stdio::piped())
                    .spawn()
                {
                    if let Some(mut stdin) = child.stdin.take() {
                        let _ = stdin.write_all(text.as_bytes());
                    }
                    let _ = child.wait();
                    return code;
                }
            }
        }
    }
    let _ = std::io::stdout().write_all(text.as_bytes());
    let _ = std::io::stdout().flush();
    code
}
