//! The files of the `mrtg` service (docs/svctool.md#mrtg): `mrtg/etc/indimail.mrtg.cfg` (the installed
//! `$S/indimail.mrtg.cfg` with the host name and HTML directory filled in, then a graph
//! section for each thing this host runs), the HTML index indexmaker makes, and the
//! favicon.
//!
//! The extra sections follow the reference's: qmta-send (when its systemd unit is
//! enabled), the IMAP/POP3 listeners and proxies, inlookup, dnscache, tinydns, MySQL, clamd
//! (each when its log directory exists) and every network interface of `/proc/net/dev`.
//! Section names, targets and limits are the reference's (so existing graph histories
//! continue); titles and legends are this project's wording.

use crate::render::Ctx;
use crate::{fsx, Stop};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// `/usr/bin/mrtg` and `indexmaker` (looked up under the root, then in PATH).
fn indexmaker(ctx: &Ctx) -> Option<PathBuf> {
    let h = ctx.host;
    [
        "/usr/bin/indexmaker",
        &format!("{}/bin/indexmaker", h.prefix),
    ]
    .iter()
    .map(|p| h.disk(p))
    .find(|p| p.is_file())
    .or_else(|| h.tool("indexmaker"))
}

/// `--mrtg` needs mrtg, indexmaker and the configuration template.
pub fn check(ctx: &Ctx) -> Result<(), Stop> {
    if indexmaker(ctx).is_none() || !ctx.host.is_executable("/usr/bin/mrtg") {
        return Err(Stop::fail(
            111,
            "mrtg or indexmaker missing: Have you installed mrtg?",
        ));
    }
    let tmpl = format!("{}/indimail.mrtg.cfg", ctx.sysconfdir());
    if !ctx.host.is_file(&tmpl) {
        return Err(Stop::fail(
            111,
            format!("{tmpl}: No such file or directory"),
        ));
    }
    Ok(())
}

/// One graph.
struct Graph<'a> {
    id: String,
    title: String,
    max: &'a str,
    absmax: Option<&'a str>,
    options: &'a str,
    target: String,
    pagetop: String,
    short: &'a str,
    ylegend: String,
    /// Legend1, Legend2, LegendI, LegendO (empty: none).
    legends: [String; 4],
    /// `WithPeak` (the default) or `Unscaled` (a percentage), or neither.
    scale: Scale,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Scale {
    Peak,
    Unscaled,
    Plain,
}

impl Graph<'_> {
    fn write(&self, out: &mut String) {
        let id = &self.id;
        out.push_str("#-------------------------------------------------------------------\n");
        let _ = writeln!(out, "Title[{id}]: {}", self.title);
        let _ = writeln!(out, "MaxBytes[{id}]: {}", self.max);
        if let Some(a) = self.absmax {
            let _ = writeln!(out, "AbsMax[{id}]: {a}");
        }
        let _ = writeln!(out, "Options[{id}]: {}", self.options);
        let _ = writeln!(out, "Target[{id}]: `{}`", self.target);
        let _ = writeln!(out, "PageTop[{id}]: {}", self.pagetop);
        let _ = writeln!(out, "ShortLegend[{id}]: {}", self.short);
        let _ = writeln!(out, "YLegend[{id}]: {}", self.ylegend);
        for (k, v) in ["Legend1", "Legend2", "LegendI", "LegendO"]
            .iter()
            .zip(&self.legends)
        {
            if !v.is_empty() {
                let _ = writeln!(out, "{k}[{id}]: {v}");
            }
        }
        match self.scale {
            Scale::Peak => {
                let _ = writeln!(out, "WithPeak[{id}]: ymwd");
            }
            Scale::Unscaled => {
                let _ = writeln!(out, "Unscaled[{id}]: ymwd");
            }
            Scale::Plain => {}
        }
        let _ = writeln!(out, "XSize[{id}]: 350");
        let _ = writeln!(out, "YSize[{id}]: 150");
        out.push('\n');
    }
}

const GAUGE: &str = "growright,unknaszero,nopercent,gauge,pngdate";

fn legends(l: [&str; 4]) -> [String; 4] {
    l.map(str::to_string)
}

/// Is the qmta-send systemd unit enabled (what `systemctl is-enabled` reads)?
fn qmta_enabled(ctx: &Ctx) -> bool {
    std::fs::read_dir(ctx.host.disk("/etc/systemd/system")).is_ok_and(|rd| {
        rd.flatten().any(|e| {
            e.file_name().to_string_lossy().ends_with(".wants")
                && std::fs::symlink_metadata(e.path().join("qmta-send.service")).is_ok()
        })
    })
}

/// The interfaces of `/proc/net/dev` (under the root) but loopback and virtual ones.
fn interfaces(ctx: &Ctx) -> Vec<String> {
    let text = std::fs::read_to_string(ctx.host.disk("/proc/net/dev")).unwrap_or_default();
    text.lines()
        .skip(2)
        .filter(|l| {
            !["lo:", "virb", "ztk", "ztr", "vbox"]
                .iter()
                .any(|x| l.contains(x))
        })
        .filter_map(|l| l.split(':').next().map(|n| n.trim().to_string()))
        .filter(|n| !n.is_empty())
        .collect()
}

/// The graph sections for what this host runs.
pub fn extra_sections(ctx: &Ctx, host: &str) -> String {
    let mut gs: Vec<Graph> = Vec::new();
    qmta_graphs(ctx, host, &mut gs);
    listener_graphs(ctx, host, &mut gs);
    lookup_graphs(ctx, host, &mut gs);
    system_graphs(ctx, host, &mut gs);
    let mut out = String::new();
    for g in &gs {
        g.write(&mut out);
    }
    out
}

/// The qmta graphs, when qmta is in use.
fn qmta_graphs(ctx: &Ctx, host: &str, gs: &mut Vec<Graph>) {
    let h = ctx.host;
    let lx = &h.libexecdir;
    if qmta_enabled(ctx) {
        for (id, flag, what, max, abs, short, yl, l) in [
            (
                "qmta-msg1",
                "-m",
                "messages delivered and attempted",
                "10000",
                "20000",
                "msg",
                "msg/hour",
                [
                    "Delivered&nbsp;",
                    "Attempted&nbsp;",
                    "delivered&nbsp;",
                    "attempted&nbsp;",
                ],
            ),
            (
                "qmta-msg2",
                "-s",
                "delivery success and failure",
                "10000",
                "100000",
                "msg",
                "msg/hour",
                ["messages&nbsp;", "", "success&nbsp;", "failure&nbsp;"],
            ),
            (
                "qmta-conc",
                "-c",
                "local and remote concurrency",
                "500",
                "10000",
                "concurrency",
                "max concurrency",
                ["Local&nbsp;", "Remote&nbsp;", "local&nbsp;", "remote&nbsp;"],
            ),
            (
                "qmta-ibits",
                "-b",
                "bits transferred",
                "1540000",
                "100000000",
                "bits",
                "bits/sec",
                ["bits&nbsp;", "bits&nbsp;", "bits&nbsp;", "bits&nbsp;"],
            ),
        ] {
            gs.push(Graph {
                id: id.into(),
                title: format!("qmta-send {what} - {host}"),
                max,
                absmax: Some(abs),
                options: GAUGE,
                target: format!("{lx}/journal2mrtg qmta-send {flag}"),
                pagetop: format!("<B>qmta-send {what}</B><BR>"),
                short,
                ylegend: yl.into(),
                legends: legends(l),
                scale: Scale::Peak,
            });
        }
    }
}

/// Concurrency and connections of each listener with a log.
fn listener_graphs(ctx: &Ctx, host: &str, gs: &mut Vec<Graph>) {
    let h = ctx.host;
    let lx = &h.libexecdir;
    let (ld, sd) = (&ctx.logdir, &ctx.servicedir);
    for (label, port, log) in [
        ("POP3", "110", "pop3d.110"),
        ("POP3-SSL", "995", "pop3d-ssl.995"),
        ("IMAP", "143", "imapd.143"),
        ("IMAP-SSL", "993", "imapd-ssl.993"),
        ("PROXYIMAP", "4143", "proxyIMAP.4143"),
        ("PROXYPOP3", "4110", "proxyPOP3.4110"),
        ("PROXYIMAP-SSL", "9143", "proxyIMAP-ssl.9143"),
        ("PROXYPOP3-SSL", "9110", "proxyPOP3-ssl.9110"),
    ] {
        if !h.is_dir(&format!("{ld}/{log}")) {
            continue;
        }
        let svc = if label.starts_with("PROXY") {
            log.replace("proxy", "proxy-")
                .replace("IMAP", "imapd")
                .replace("POP3", "pop3d")
        } else {
            format!("qmail-{log}")
        };
        let proto = label.trim_start_matches("PROXY");
        gs.push(Graph {
            id: label.into(),
            title: format!("{label} concurrency (port {port}) - {host}"),
            max: "100",
            absmax: Some("500"),
            options: GAUGE,
            target: format!("{lx}/qmailmrtg -t {ld}/{log} {sd}/{svc}"),
            pagetop: format!("<B>{label} concurrency</B><BR>"),
            short: "concurrency",
            ylegend: format!("max {proto}"),
            legends: legends([
                "Peak connections&nbsp;",
                "Configured maximum&nbsp;",
                &format!("{label} concurrency&nbsp;"),
                &format!("{label} maximum&nbsp;"),
            ]),
            scale: Scale::Peak,
        });
        gs.push(Graph {
            id: format!("{label}-total"),
            title: format!("{label} connections allowed and denied (port {port}) - {host}"),
            max: "1000",
            absmax: Some("100000"),
            options: GAUGE,
            target: format!("{lx}/qmailmrtg -a {ld}/{log} {sd}/{svc}"),
            pagetop: format!("<B>{label} connections</B><BR>"),
            short: "conn/hour",
            ylegend: format!("{proto}-{port} conn/hr"),
            legends: legends([
                "Allowed&nbsp;",
                "Denied&nbsp;",
                "allowed&nbsp;",
                "denied&nbsp;",
            ]),
            scale: Scale::Peak,
        });
    }
}

/// The inlookup and lookup daemons' graphs, where they log.
fn lookup_graphs(ctx: &Ctx, host: &str, gs: &mut Vec<Graph>) {
    let h = ctx.host;
    let lx = &h.libexecdir;
    let (ld, sd) = (&ctx.logdir, &ctx.servicedir);
    if h.is_dir(&format!("{ld}/inlookup.infifo")) {
        let args = format!("{ld}/inlookup.infifo {sd}/inlookup.infifo");
        for q in [
            "user", "relay", "password", "limit", "alias", "host", "domain", "cached",
        ] {
            let opt = &q[..1];
            gs.push(Graph {
                id: format!("inlookup-{q}"),
                title: format!("inlookup {q} queries - {host}"),
                max: "1000",
                absmax: Some("100000"),
                options: "nopercent,growright,integer,gauge,pngdate",
                target: format!("{lx}/qmailmrtg -i {opt} {args}"),
                pagetop: format!("<B>inlookup {q} queries</B><br>"),
                short: "q",
                ylegend: "queries".into(),
                legends: legends([
                    &format!("{q} queries"),
                    "all queries",
                    &format!("{q} queries"),
                    "all queries",
                ]),
                scale: Scale::Peak,
            });
        }
        gs.push(Graph {
            id: "inlookup-cachehit".into(),
            title: format!("inlookup cache hits - {host}"),
            max: "1000",
            absmax: Some("100000"),
            options: "nopercent,growright,integer,gauge,pngdate",
            target: format!("{lx}/qmailmrtg -i C {args}"),
            pagetop: "<B>inlookup cache hits</B><br>".into(),
            short: "hits/hour",
            ylegend: "cache hits/hour".into(),
            legends: legends([
                "cache hits/hour",
                "queries/hour",
                "cache hits/hour",
                "queries/hour",
            ]),
            scale: Scale::Peak,
        });
    }
    for (name, flag, l) in [
        (
            "dnscache",
            "-d",
            [
                "Cached&nbsp;",
                "Queries&nbsp;",
                "Cached&nbsp;",
                "Queries&nbsp;",
            ],
        ),
        (
            "tinydns",
            "-l",
            ["Queries&nbsp;", "", "Queries&nbsp;", "&nbsp;"],
        ),
    ] {
        if !h.is_dir(&format!("{ld}/{name}")) {
            continue;
        }
        gs.push(Graph {
            id: name.into(),
            title: format!("{name} queries - {host}"),
            max: "1000",
            absmax: Some("100000"),
            options: "nopercent,growright,gauge,pngdate",
            target: format!("{lx}/qmailmrtg {flag} {ld}/{name} {sd}/{name}"),
            pagetop: format!("<B>{name} queries</B><br>"),
            short: if name == "dnscache" {
                "&nbsp;"
            } else {
                "Queries"
            },
            ylegend: "Queries/hour".into(),
            legends: legends(l),
            scale: Scale::Peak,
        });
    }
}

/// MySQL, clamd and network interface graphs.
fn system_graphs(ctx: &Ctx, host: &str, gs: &mut Vec<Graph>) {
    let h = ctx.host;
    let lx = &h.libexecdir;
    let (ld, sd) = (&ctx.logdir, &ctx.servicedir);
    if h.is_dir(&format!("{ld}/mysql.3306")) {
        // the reference tests an unexpanded `$MYSQL_BASE` here (never true): the installed
        // client is used
        let admin = if h.is_file("/usr/bin/mariadb-admin") {
            "/usr/bin/mariadb-admin"
        } else {
            "/usr/bin/mysqladmin"
        };
        let pass = ctx.secret("REPL_PASS");
        gs.push(Graph {
            id: "mysql_queries".into(),
            title: format!("MySQL queries - {host}"),
            max: "250000",
            absmax: None,
            options: "nopercent, growright, integer, perminute, pngdate",
            target: format!(
                "{admin} -u repl -p{pass} ver | awk '/Questions/{{q=$20; s=$7}} /^Uptime/{{sub(/^Uptime:[[:space:]]+/, \"\"); u=$0}} /^Server version/{{v=$3}} END{{print q \"\\n\" s \"\\n\" u \"\\nMySQL version \" v}}'"
            ),
            pagetop: "<h1>MySQL queries</h1>".into(),
            short: "q/m",
            ylegend: "queries/minute".into(),
            legends: legends([
                "queries/minute",
                "slow queries",
                "queries/minute",
                "slow queries",
            ]),
            scale: Scale::Plain,
        });
        gs.push(Graph {
            id: "mysql_cpumem".into(),
            title: format!("MySQL cpu and memory - {host}"),
            max: "100",
            absmax: None,
            options: "nopercent, growright, gauge, noinfo, unknaszero, pngdate",
            target: "ps ax -o %cpu,%mem,comm | awk '$3 ~ /mysqld|mariadbd/ {c += $1; m += $2} END {print c + 0 \"\\n\" m + 0 \"\\nUNKNOWN\\nUNKNOWN\"}'".into(),
            pagetop: "<h1>MySQL cpu and memory</h1>".into(),
            short: "%",
            ylegend: "Percents".into(),
            legends: legends(["CPU", "Memory", "CPU", "Memory"]),
            scale: Scale::Unscaled,
        });
    }
    if h.is_dir(&format!("{ld}/clamd")) {
        gs.push(Graph {
            id: "clamd".into(),
            title: format!("clamd viruses and errors - {host}"),
            max: "10000",
            absmax: Some("100000"),
            options: GAUGE,
            target: format!("{lx}/qmailmrtg -C {ld}/clamd {sd}/clamd"),
            pagetop: "<B>ClamAV</B><br>".into(),
            short: "Msg",
            ylegend: "viri/hour".into(),
            legends: legends([
                "Viruses&nbsp;",
                "Errors&nbsp;",
                "viruses&nbsp;",
                "errors&nbsp;",
            ]),
            scale: Scale::Peak,
        });
    }
    for i in interfaces(ctx) {
        gs.push(Graph {
            id: i.clone(),
            title: format!("{i} bits - {host}"),
            max: "100000000",
            absmax: None,
            options: "bits,growright,pngdate",
            target: format!(
                "sed -n 's/^ *{i}://p' /proc/net/dev | awk '{{print $1; print $9; print \"\"; print \"\"}}'"
            ),
            pagetop: format!("{i} bits - {i}"),
            short: "bits",
            ylegend: "bits".into(),
            legends: legends(["bits&nbsp;", "", "input&nbsp;", "output&nbsp;"]),
            scale: Scale::Peak,
        });
    }
}

/// `sed 's{FROM{TO{'`: the first occurrence on each line.
fn replace_first_per_line(text: &str, from: &str, to: &str) -> String {
    text.split_inclusive('\n')
        .map(|l| l.replacen(from, to, 1))
        .collect()
}

/// The configuration, the HTML directory and its index (after the service is written).
pub fn files(ctx: &mut Ctx, svc: &Path) -> Result<(), Stop> {
    let h = ctx.host;
    let html = ctx.o.val("--mrtg").unwrap_or("").to_string();
    let hd = h.disk(&html);
    fsx::mkdir_p(&hd, 0o755)?;
    h.chown(&hd, "root", "0");
    fsx::chmod(&hd, 0o755)?;
    let etc = svc.join("etc");
    fsx::mkdir_p(&etc, 0o755)?;
    let src = h.disk(&format!("{}/indimail.mrtg.cfg", ctx.sysconfdir()));
    let text = std::fs::read_to_string(&src).map_err(|e| Stop::io("read", &src, &e))?;
    let text = replace_first_per_line(&text, "MRTGHOSTNAME", &h.hostname);
    let mut text = replace_first_per_line(&text, "HTMLDIR", &format!("{html}/"));
    text.push_str(&extra_sections(ctx, &h.hostname));
    let cfg = etc.join("indimail.mrtg.cfg");
    let _w = fsx::Writable::new(&etc)?;
    fsx::write(&cfg, text.as_bytes(), 0o600)?;
    drop(_w);
    fsx::chmod(&etc, 0o555)?;
    h.chown(&etc, "root", "0");
    let index = hd.join("index.html");
    if let Some(im) = indexmaker(ctx) {
        let _ = std::io::Write::flush(&mut std::io::stdout());
        let _ = Command::new(im)
            .arg("--title=IndiMail Statistics")
            .arg("--section=title")
            .arg(format!("--output={}", index.display()))
            .arg(&cfg)
            .status();
    }
    let fav = h.disk(&format!("{}/favicon.base64", ctx.sysconfdir()));
    if let Ok(b64) = std::fs::read_to_string(&fav) {
        let png = crate::base64_decode(&b64)
            .ok_or_else(|| Stop::fail(111, format!("svctool: {} is not base64", fav.display())))?;
        fsx::write(&hd.join("favicon.png"), &png, 0o644)?;
        if let Ok(page) = std::fs::read_to_string(&index) {
            let link = "    <link rel=\"icon\" type=\"image/x-icon\" href=\"favicon.png\">\n";
            let mut out = String::with_capacity(page.len() + link.len());
            for l in page.split_inclusive('\n') {
                out.push_str(l);
                if l.contains("<TITLE>IndiMail Statistics</TITLE>") {
                    out.push_str(link);
                }
            }
            fsx::write(&index, out.as_bytes(), 0o644)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sed_first_only() {
        assert_eq!(replace_first_per_line("A A\nA\n", "A", "b"), "b A\nb\n");
    }
}
