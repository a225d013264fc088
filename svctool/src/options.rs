//! svctool's command line (docs/svctool.md#command-line): `--name=value` and `--flag` arguments examined once,
//! left to right; the last action wins, except `--config=X`, which names the config file
//! once an action has been chosen; a few options act at once.

use std::collections::{HashMap, HashSet};

/// How an option takes its value: `--flag`, `--name=value`, or either.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arity {
    Flag,
    Value,
    Either,
}

use Arity::{Either, Flag, Value};

/// Every option name the reference parses, with its arity and whether it selects the action.
pub static OPTIONS: &[(&str, Arity, bool)] = &[
    // service-creating actions
    ("--smtp", Value, true),
    ("--delivery", Value, true),
    ("--slowq", Flag, true),
    ("--queueParam", Value, true),
    ("--qmqp", Value, true),
    ("--qmtp", Value, true),
    ("--imap", Value, true),
    ("--pop3", Value, true),
    ("--poppass", Value, true),
    ("--indisrvr", Value, true),
    ("--inlookup", Value, true),
    ("--pwdlookup", Value, true),
    ("--mysql", Value, true),
    ("--greylist", Value, true),
    ("--tlsa", Value, true),
    ("--udplogger", Value, true),
    ("--fifologger", Value, true),
    ("--qscanq", Flag, true),
    ("--clamd", Flag, true),
    ("--fetchmail", Flag, true),
    ("--mrtg", Value, true),
    ("--svscanlog", Flag, true),
    // management and query actions
    ("--rmsvc", Value, true),
    ("--ensvc", Value, true),
    ("--refreshsvc", Value, true),
    ("--autorefresh", Value, true),
    ("--set-variable", Value, true),
    ("--modify-variable", Value, true),
    ("--unset-variable", Value, true),
    ("--remove-variable", Value, true),
    ("--restore-variables", Flag, true),
    ("--import-variables", Value, true),
    ("--export-variables", Value, true),
    ("--save-variables", Flag, true),
    ("--restore-all-variables", Flag, true),
    ("--print-variables", Flag, true),
    ("--print-all-variables", Flag, true),
    ("--dumpconfig", Flag, true),
    ("--check-install", Flag, true),
    ("--check-certs", Either, true),
    ("--backup", Value, true),
    ("--repair-tables", Flag, true),
    ("--report", Value, true),
    ("--enable-service", Flag, true),
    ("--disable-service", Flag, true),
    ("--config", Value, true),
    // immediate
    ("--version", Flag, false),
    ("--help", Flag, false),
    ("--showctl", Either, false),
    ("--fixsharedlibs", Flag, false),
    ("--queuefix", Value, false),
    ("--mysqlupgrade", Flag, false),
    // modifiers
    ("--servicedir", Value, false),
    ("--qbase", Value, false),
    ("--qcount", Value, false),
    ("--qstart", Value, false),
    ("--cntrldir", Value, false),
    ("--localip", Value, false),
    ("--maxdaemons", Value, false),
    ("--maxperip", Value, false),
    ("--memory", Value, false),
    ("--dmemory", Value, false),
    ("--msgqsize", Value, false),
    ("--min-free", Value, false),
    ("--fsync", Flag, false),
    ("--fdatasync", Flag, false),
    ("--syncdir", Flag, false),
    ("--no-multi", Flag, false),
    ("--qmailqueue", Value, false),
    ("--qmailsmtpd", Value, false),
    ("--qtype", Value, false),
    ("--skipsend", Flag, false),
    ("--odmr", Flag, false),
    ("--starttls", Flag, false),
    ("--ssl", Flag, false),
    ("--forcetls", Flag, false),
    ("--tlsprog", Value, false),
    ("--certfile", Value, false),
    ("--certdir", Value, false),
    ("--capath", Value, false),
    ("--update-certs", Flag, false),
    ("--common_name", Value, false),
    ("--validity_days", Value, false),
    ("--postmaster", Value, false),
    ("--authsmtp", Flag, false),
    ("--forceauthsmtp", Flag, false),
    ("--secureauth", Flag, false),
    ("--authall", Flag, false),
    ("--chkrelay", Flag, false),
    ("--chkrecipient", Flag, false),
    ("--chksender", Flag, false),
    ("--enablecram", Flag, false),
    ("--antispoof", Flag, false),
    ("--cugmail", Flag, false),
    ("--masquerade", Flag, false),
    ("--dnscheck", Flag, false),
    ("--helofqdn", Flag, false),
    ("--helocheck", Flag, false),
    ("--paranoid", Flag, false),
    ("--dmasquerade", Flag, false),
    ("--password-cache", Flag, false),
    ("--query-cache", Flag, false),
    ("--smtp-plugin", Flag, false),
    ("--shared-objects", Value, false),
    ("--use-dlmopen", Value, false),
    ("--rbl", Value, false),
    ("--qregex", Flag, false),
    ("--virus-filter", Either, false),
    ("--qhpsi", Value, false),
    ("--content-filter", Either, false),
    ("--spamfilter", Value, false),
    ("--spamexitcode", Value, false),
    ("--rejectspam", Value, false),
    ("--logfilter", Value, false),
    ("--localfilter", Flag, false),
    ("--remotefilter", Flag, false),
    ("--remote-authsmtp", Value, false),
    ("--routes", Value, false),
    ("--cname-lookup", Flag, false),
    ("--setuser-priv", Flag, false),
    ("--setgroups", Flag, false),
    ("--sanitize-env", Value, false),
    ("--deliverylimit-count", Value, false),
    ("--deliverylimit-size", Value, false),
    ("--overquota_mailsize", Value, false),
    ("--domainlimits", Flag, false),
    ("--persistdb", Flag, false),
    ("--todo-proc", Flag, false),
    ("--utf8", Flag, false),
    ("--hide-host", Flag, false),
    ("--barelf", Flag, false),
    ("--dkverify", Value, false),
    ("--dksign", Value, false),
    ("--private_key", Value, false),
    ("--default-domain", Value, false),
    ("--infifo", Value, false),
    ("--proxy", Value, false),
    ("--nolastauth", Flag, false),
    ("--legacyserver", Flag, false),
    ("--setpassword", Value, false),
    ("--avguserquota", Value, false),
    ("--hardquota", Value, false),
    ("--base_path", Value, false),
    ("--mysqlhost", Value, false),
    ("--mysqluser", Value, false),
    ("--mysqlpass", Value, false),
    ("--mysqlport", Value, false),
    ("--mysqlsocket", Value, false),
    ("--mysqlPrefix", Value, false),
    ("--databasedir", Value, false),
    ("--dbdir", Value, false),
    ("--module", Value, false),
    ("--threads", Value, false),
    ("--timeout", Value, false),
    ("--activeDays", Value, false),
    ("--use-btree", Flag, false),
    ("--max-btree-count", Value, false),
    ("--min-resend-min", Value, false),
    ("--resend-win-hr", Value, false),
    ("--timeout-days", Value, false),
    ("--context-file", Value, false),
    ("--save-interval", Value, false),
    ("--hash-size", Value, false),
    ("--whitelist", Value, false),
    ("--use-greydaemon", Flag, false),
    ("--scanint", Value, false),
    ("--initcmd", Value, false),
    ("--resolvconf", Flag, false),
    ("--unshare", Flag, false),
    ("--clamdPrefix", Value, false),
    ("--sysconfdir", Value, false),
    ("--servicetag", Value, false),
    ("--down", Flag, false),
    ("--nooverwrite", Flag, false),
    ("--force", Flag, false),
    ("--silent", Flag, false),
    ("--verbose", Flag, false),
    ("--nolog", Flag, false),
    ("--destdir", Value, false),
    ("--logdir", Value, false),
    ("--envdiropts", Value, false),
    ("--qmaildir", Value, false),
    ("--indimaildir", Value, false),
    ("--debug-level", Value, false),
    ("--death", Value, false),
    ("--databytes", Value, false),
    ("--attach", Flag, false),
    ("--wipe", Flag, false),
    ("--skip-sendmail", Flag, false),
    ("--run-file-only", Flag, false),
    ("--owner", Value, false),
    ("--group", Value, false),
    ("--mode", Value, false),
    ("--envdir", Value, false),
    ("--service-name", Value, false),
    ("--variable-value", Value, false),
];

/// What the command line asks for.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Opts {
    /// Option values by name (`--localip` -> `0`); the last occurrence wins.
    pub values: HashMap<&'static str, String>,
    /// Flags given (and `Either` options given without a value).
    pub flags: HashSet<&'static str>,
    /// The selected action, by option name.
    pub action: Option<&'static str>,
    /// `--config=` value when it selected the config action.
    pub config_name: Option<String>,
    /// `--config=` value given after another action (e.g. the file for `--mysql`).
    pub config_file: Option<String>,
    /// Every `--rbl=` value in command-line order.
    pub rbl: Vec<String>,
    /// Arguments after `--enable-service` / `--disable-service`.
    pub rest: Vec<String>,
    /// The command recorded in `.options` and svctool.log.
    pub prog_args: String,
    /// `--run-file-only` seen after an action: regenerate the scripts, keep `variables/`.
    pub run_file_only: bool,
    /// The program parsing: `svctool` (also when empty) or `minisvc`.
    pub program: &'static str,
}

/// How parsing ended early.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Early {
    /// `--version`.
    Version,
    /// `--help`.
    Help,
    /// Print `msg` on stderr, then the usage text, exit `code`.
    Usage { msg: String, code: i32 },
    /// Print `msg` on stderr and exit `code`.
    Fail { msg: String, code: i32 },
    /// An immediate option to carry out now (`--showctl`, `--queuefix`, ...) with its value
    /// and the options before it.
    Immediate {
        name: &'static str,
        value: String,
        before: Box<Opts>,
    },
}

/// `--name="value"` as `.options` records it (docs/decisions.md#s5): the reference's look for
/// ordinary values, single quotes when the value holds a character `sh` would expand.
pub fn quote_arg(name: &str, value: &str) -> String {
    if value.contains(['"', '$', '`', '\\']) {
        format!("{name}='{}'", value.replace('\'', r"'\''"))
    } else {
        format!("{name}=\"{value}\"")
    }
}

/// A bare argument as `.options` records it: verbatim unless `sh` would change it.
fn quote_word(arg: &str) -> String {
    let plain = arg
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-_./:@%+,=".contains(&b));
    if plain && !arg.is_empty() {
        arg.to_string()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

fn lookup(name: &str) -> Option<(&'static str, Arity, bool)> {
    OPTIONS
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|&(n, a, act)| (n, a, act))
}

impl Opts {
    pub fn val(&self, name: &str) -> Option<&str> {
        debug_assert!(lookup(name).is_some(), "unknown option {name}");
        self.values.get(name).map(String::as_str)
    }

    /// The value, treating an empty one as absent (the reference tests `" $x" = " "`).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.val(name).filter(|v| !v.is_empty())
    }

    pub fn flag(&self, name: &str) -> bool {
        debug_assert!(lookup(name).is_some(), "unknown option {name}");
        self.flags.contains(name)
    }

    /// `svctool` or `minisvc`.
    pub fn program_name(&self) -> &'static str {
        if self.program.is_empty() {
            "svctool"
        } else {
            self.program
        }
    }

    /// The version line of this program's headers and `--version`.
    pub fn rcsid(&self) -> &'static str {
        if self.program == "minisvc" {
            crate::minisvc::RCSID
        } else {
            crate::RCSID
        }
    }

    /// Parse `args` (without the program name). `prefix` is `$P` for the recorded command.
    pub fn parse(args: &[String], prefix: &str) -> Result<Opts, Early> {
        Opts::parse_as("svctool", args, prefix)
    }

    /// Parse for `program` (`svctool` or `minisvc`), which the recorded command names.
    pub fn parse_as(program: &'static str, args: &[String], prefix: &str) -> Result<Opts, Early> {
        let mut o = Opts {
            prog_args: format!("{prefix}/sbin/{program}"),
            program,
            ..Opts::default()
        };
        let mut i = 0;
        while i < args.len() {
            let arg = &args[i];
            i += 1;
            let (name, value) = match arg.split_once('=') {
                Some((n, v)) if n.starts_with('-') => (n, Some(v)),
                _ => (arg.as_str(), None),
            };
            // the recorded command (svctool.log, variables/.options) quotes as the shell would
            let recorded = match value {
                Some(v) => quote_arg(name, v),
                None => quote_word(arg),
            };
            o.prog_args.push(' ');
            o.prog_args.push_str(&recorded);
            let invalid = || Early::Usage {
                msg: format!("invalid option [{arg}]"),
                code: 1,
            };
            let Some((name, arity, selects)) = lookup(name) else {
                return Err(invalid());
            };
            match (arity, value) {
                (Flag, Some(_)) | (Value, None) => return Err(invalid()),
                _ => {}
            }
            let v = value.unwrap_or("").to_string();
            let fail = |msg: &str| Early::Fail {
                msg: msg.to_string(),
                code: 1,
            };
            // checks the reference makes while parsing
            match name {
                "--version" => return Err(Early::Version),
                "--help" => return Err(Early::Help),
                "--showctl" | "--fixsharedlibs" | "--queuefix" | "--mysqlupgrade" => {
                    return Err(Early::Immediate {
                        name,
                        value: v,
                        before: Box::new(o),
                    })
                }
                "--spamfilter" if !v.contains('/') => {
                    return Err(fail("spamfilter must be an absolute path"))
                }
                "--tlsprog" if !v.contains('/') => {
                    return Err(fail("tlsprog must be an absolute path"))
                }
                "--context-file" if v.contains('/') => {
                    return Err(fail("context file cannot have absolute path"))
                }
                "--whitelist" if v.contains('/') => {
                    return Err(fail("whitelist file cannot have absolute path"))
                }
                "--queueParam" if v.contains('/') => {
                    return Err(fail("queuedef cannot be an absolute path"))
                }
                "--module" if o.config_name.is_none() => {
                    return Err(fail("--config option not specified"))
                }
                // S2 (COMPATIBILITY.md#svctool-and-qmailctl V6): the new value is the one validated
                "--qtype" if !matches!(v.as_str(), "static" | "dynamic" | "compat") => {
                    return Err(fail("qtype must be static, dynamic or compat"))
                }
                _ => {}
            }
            match name {
                "--config" => {
                    if o.action.is_none() {
                        o.action = Some(name);
                        o.config_name = Some(v.clone());
                    } else {
                        o.config_file = Some(v.clone());
                    }
                }
                "--rbl" => o.rbl.push(v.clone()),
                // after --refreshsvc (the reference), or in the command a refresh re-runs,
                // where it is a mode of this run, not part of the service's record
                "--run-file-only" if o.action.is_some() => {
                    o.run_file_only = true;
                    if o.action != Some("--refreshsvc") {
                        let n = o.prog_args.len() - arg.len() - 1;
                        o.prog_args.truncate(n);
                    }
                }
                "--ssl" => {
                    o.flags.remove("--starttls");
                }
                "--starttls" => {
                    o.flags.remove("--ssl");
                }
                _ if selects => o.action = Some(name),
                _ => {}
            }
            if value.is_some() {
                o.values.insert(name, v);
                if arity == Either {
                    o.flags.remove(name);
                }
            } else {
                if arity == Either {
                    o.values.remove(name);
                }
                o.flags.insert(name);
            }
            if matches!(name, "--enable-service" | "--disable-service") {
                o.rest = args[i..].to_vec();
                break;
            }
        }
        Ok(o)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Opts, Early> {
        let v: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        Opts::parse(&v, "/usr")
    }

    #[test]
    fn prog_args_record() {
        let o = parse(&[
            "--qmqp=628",
            "--fsync",
            "--qhpsi=/usr/bin/clamdscan %s --fdpass",
        ])
        .unwrap();
        assert_eq!(
            o.prog_args,
            "/usr/sbin/svctool --qmqp=\"628\" --fsync --qhpsi=\"/usr/bin/clamdscan %s --fdpass\""
        );
        assert_eq!(o.action, Some("--qmqp"));
        assert_eq!(o.val("--qmqp"), Some("628"));
    }

    #[test]
    fn shell_safe_quoting() {
        assert_eq!(quote_arg("--x", "a\"b"), "--x='a\"b'");
        assert_eq!(quote_arg("--x", "it's $HOME"), r"--x='it'\''s $HOME'");
    }

    #[test]
    fn last_action_wins_and_config_rule() {
        let o = parse(&["--qmqp=628", "--smtp=25"]).unwrap();
        assert_eq!(o.action, Some("--smtp"));
        let o = parse(&["--mysql=3306", "--config=/etc/indimail/indimail.cnf"]).unwrap();
        assert_eq!(o.action, Some("--mysql"));
        assert_eq!(o.config_file.as_deref(), Some("/etc/indimail/indimail.cnf"));
        let o = parse(&["--config=/x", "--mysql=3306"]).unwrap();
        assert_eq!(o.action, Some("--mysql"));
        assert_eq!(o.config_file, None);
    }

    #[test]
    fn invalid_forms() {
        for bad in [
            &["--bogus"][..],
            &["qmail-send.25"],
            &["--rmsvc"],
            &["--fsync=1"],
        ] {
            match parse(bad) {
                Err(Early::Usage { msg, code: 1 }) => {
                    assert_eq!(msg, format!("invalid option [{}]", bad[0]))
                }
                other => panic!("{bad:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn validations() {
        let e = parse(&["--spamfilter=bogofilter"]).unwrap_err();
        assert_eq!(
            e,
            Early::Fail {
                msg: "spamfilter must be an absolute path".into(),
                code: 1
            }
        );
        assert!(matches!(parse(&["--qtype=bogus"]), Err(Early::Fail { .. })));
        assert!(parse(&["--qtype=dynamic"]).is_ok());
        assert!(matches!(parse(&["--module=x"]), Err(Early::Fail { .. })));
    }

    #[test]
    fn ssl_and_starttls_exclusive() {
        let o = parse(&["--starttls", "--ssl"]).unwrap();
        assert!(o.flag("--ssl") && !o.flag("--starttls"));
    }

    #[test]
    fn enable_service_swallows_rest() {
        let o = parse(&["--enable-service", "sendmail", "--exim4"]).unwrap();
        assert_eq!(o.action, Some("--enable-service"));
        assert_eq!(o.rest, vec!["sendmail", "--exim4"]);
    }

    #[test]
    fn run_file_only_after_an_action() {
        let o = parse(&["--run-file-only", "--refreshsvc=all"]).unwrap();
        assert!(!o.run_file_only);
        let o = parse(&["--refreshsvc=all", "--run-file-only"]).unwrap();
        assert!(o.run_file_only);
        assert!(o.prog_args.ends_with(" --run-file-only"));
        // in a re-run service command it is not recorded
        let o = parse(&["--qmqp=628", "--run-file-only"]).unwrap();
        assert!(o.run_file_only);
        assert_eq!(o.prog_args, "/usr/sbin/svctool --qmqp=\"628\"");
    }

    #[test]
    fn either_options() {
        let o = parse(&["--virus-filter"]).unwrap();
        assert!(o.flag("--virus-filter"));
        let o = parse(&["--virus-filter=3"]).unwrap();
        assert_eq!(o.val("--virus-filter"), Some("3"));
    }

    mod props {
        use super::*;
        use proptest::collection::vec;
        use proptest::prelude::*;

        /// Arguments made of real option names with values of any text, and garbage.
        fn arg() -> impl Strategy<Value = String> {
            let name = proptest::sample::select(OPTIONS.iter().map(|o| o.0).collect::<Vec<_>>());
            prop_oneof![
                4 => (name.clone(), "\\PC{0,12}").prop_map(|(n, v)| format!("{n}={v}")),
                2 => (name.clone(), "[ -~\\n]{0,12}").prop_map(|(n, v)| format!("{n}={v}")),
                2 => name.prop_map(str::to_string),
                1 => "\\PC{0,12}",
            ]
        }

        proptest! {
            /// Any command line parses or ends early with a message; what `.options`
            /// records, run again through `sh`, gives back exactly the arguments it came
            /// from (so a refresh re-creates the service it recorded).
            #[test]
            fn recorded_command_replays_the_same_arguments(args in vec(arg(), 0..6)) {
                let Ok(o) = Opts::parse(&args, "/usr") else {
                    return Ok(());
                };
                let recorded = o.prog_args.strip_prefix("/usr/sbin/svctool").unwrap();
                let out = std::process::Command::new("/bin/sh")
                    .arg("-c")
                    .arg(format!("set -- {recorded}; for a; do printf '%s\\0' \"$a\"; done"))
                    .output()
                    .unwrap();
                prop_assert!(out.status.success());
                let mut got: Vec<String> = String::from_utf8(out.stdout)
                    .unwrap()
                    .split('\0')
                    .map(str::to_string)
                    .collect();
                got.pop();
                let mut want: Vec<String> = args.clone();
                // what follows --enable-service / --disable-service is not recorded, nor
                // a --run-file-only after an action other than --refreshsvc
                want.truncate(args.len() - o.rest.len());
                if o.run_file_only && o.action != Some("--refreshsvc") {
                    want.retain(|a| a != "--run-file-only");
                }
                prop_assert_eq!(got, want);
            }
        }
    }
}
