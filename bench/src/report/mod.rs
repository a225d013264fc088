//! `bench report`: the results file of a run turned into `README.md` (the machine, every
//! ratio with its target, the charts) and SVG charts in the output directory; and
//! `bench machine`: the facts about the machine and the peers recorded at a run's start.

mod charts;

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use crate::cli::Options;
use crate::error::{BenchError, Result};
use crate::results::{self, Ratio, Results, Target};

/// The chart of every ratio.
pub const RATIOS_SVG: &str = "ratios.svg";

fn read(path: &Path) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

/// The first line of `file` starting with `key`, after the key and any `:`/`=` and spaces.
fn field(text: &str, key: &str) -> Option<String> {
    text.lines().find_map(|l| {
        l.strip_prefix(key).map(|v| {
            v.trim_start_matches([' ', '\t', ':', '='])
                .trim_matches('"')
                .to_string()
        })
    })
}

fn dpkg_version(package: &str) -> Option<String> {
    let out = Command::new("dpkg-query")
        .args(["-W", "-f=${Version}", package])
        .output()
        .ok()?;
    let v = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (out.status.success() && !v.is_empty()).then_some(v)
}

/// `bench machine`: records where and when this run is made (load average now, at start).
pub fn machine(opts: &Options) -> Result<()> {
    let cpuinfo = read(Path::new("/proc/cpuinfo")).unwrap_or_default();
    // SAFETY: sysconf has no preconditions.
    let cores = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
    let facts = [
        (
            "mode",
            if opts.quick { "quick" } else { "full" }.to_string(),
        ),
        ("date", utc_now()),
        ("cores", cores.to_string()),
        (
            "cpu",
            field(&cpuinfo, "model name").unwrap_or_else(|| "unknown".into()),
        ),
        (
            "memory",
            read(Path::new("/proc/meminfo"))
                .and_then(|m| field(&m, "MemTotal"))
                .and_then(|kb| kb.split_whitespace().next()?.parse::<f64>().ok())
                .map(|kb| format!("{:.1} GiB", kb / 1_048_576.0))
                .unwrap_or_default(),
        ),
        (
            "kernel",
            read(Path::new("/proc/sys/kernel/osrelease"))
                .unwrap_or_default()
                .trim()
                .to_string(),
        ),
        (
            "os",
            read(Path::new("/etc/os-release"))
                .and_then(|t| field(&t, "PRETTY_NAME"))
                .unwrap_or_default(),
        ),
        (
            "load average at start",
            read(Path::new("/proc/loadavg"))
                .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
                .unwrap_or_default(),
        ),
    ];
    for (k, v) in facts {
        println!("{k}: {v}");
        results::machine(k, &v)?;
    }
    for p in ["daemontools", "ucspi-tcp", "s6", "runit", "stunnel4"] {
        if let Some(v) = dpkg_version(p) {
            results::machine(&format!("peer {p}"), &format!("Debian {p} {v}"))?;
        }
    }
    if let Some(prefix) = &opts.indimail {
        let v = read(&prefix.join("VERSIONS")).unwrap_or_default();
        let v = v.split_whitespace().collect::<Vec<_>>().join(" ");
        results::machine(
            "peer indimail",
            &format!("IndiMail's C build in {} ({v})", prefix.display()),
        )?;
    }
    Ok(())
}

/// The current UTC time as `YYYY-MM-DD HH:MM UTC`.
fn utc_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs()) as i64;
    let (days, rest) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        rest / 3600,
        rest % 3600 / 60
    )
}

/// A figure for the table: three significant digits or so.
fn num(x: f64) -> String {
    let a = x.abs();
    if a == 0.0 {
        "0".into()
    } else if a >= 100.0 || (a >= 1.0 && x.fract() == 0.0) {
        format!("{x:.0}")
    } else if a >= 10.0 {
        format!("{x:.1}")
    } else if a >= 1.0 {
        format!("{x:.2}")
    } else {
        format!("{x:.3}")
    }
}

fn target_text(t: Target) -> String {
    match t {
        Target::None => String::new(),
        Target::Advantage(x) => format!("≥ {x:.2}×"),
        Target::OursAtMost(x) => format!("ours ≤ {}", num(x)),
    }
}

fn met_text(r: &Ratio) -> &'static str {
    match r.met() {
        None => "",
        Some(true) => "yes",
        Some(false) => "**no**",
    }
}

/// A 1-minute load average above this at the start marks the run as noisy.
const NOISY_LOAD: f64 = 0.5;

/// Where and when the run was made, and a warning when it was a quick or a noisy one.
fn provenance(r: &Results) -> String {
    let m = |k: &str| r.machine(k).unwrap_or("unknown").to_string();
    let mut s = String::new();
    if r.machine("mode") == Some("quick") {
        s += "> **Quick run** (`make bench QUICK=1`): every workload at tiny sizes, to prove \
              the harness works. These figures mean nothing; the full `make bench` on a quiet \
              machine replaces them.\n\n";
    }
    let load: Option<f64> = r
        .machine("load average at start")
        .and_then(|l| l.split_whitespace().next()?.parse().ok());
    if let Some(load) = load.filter(|&l| l > NOISY_LOAD) {
        let _ = writeln!(
            s,
            "> **Noisy run**: the load average was {load:.2} when it started (other work was \
             sharing the machine), so its figures are unreliable; rerun `make bench` on a quiet \
             machine before drawing conclusions.\n"
        );
    }
    let _ = writeln!(
        s,
        "Made by `make bench` on {}: {} cores ({}), {} of memory, {}, kernel {}; \
         load average at start {} (a busy machine makes every figure noisy).\n",
        m("date"),
        m("cores"),
        m("cpu"),
        m("memory"),
        m("os"),
        m("kernel"),
        m("load average at start"),
    );
    s
}

/// The whole README.md of the report.
pub fn markdown(r: &Results, charts: &[(String, String)]) -> String {
    let mut s = String::from("# Benchmark report\n\n");
    s += &provenance(r);
    let peers: Vec<&str> = r
        .machine
        .iter()
        .filter(|(k, _)| k.starts_with("peer "))
        .map(|(_, v)| v.as_str())
        .collect();
    if !peers.is_empty() {
        let _ = writeln!(s, "Peers: {}.\n", peers.join("; "));
    }
    let targets: Vec<&Ratio> = r.ratios.iter().filter(|x| x.met().is_some()).collect();
    let met = targets.iter().filter(|x| x.met() == Some(true)).count();
    let _ = writeln!(
        s,
        "## Every ratio\n\n\
         Each figure is the median of repeated runs (see `bench/`). *ours/peer* divides the \
         figures themselves; *advantage* is how many times better ours is, whichever way the \
         figure goes (above 1: ours better; for times and memory it is peer/ours). Targets \
         are issue 17's, on the advantage unless marked *ours ≤*. Targets met: **{met} of {}**.\n",
        targets.len()
    );
    s += "| workload | figure | peer | ours | peer's | ours/peer | advantage | target | met |\n";
    s += "|---|---|---|---:|---:|---:|---:|---|---|\n";
    for x in &r.ratios {
        let _ = writeln!(
            s,
            "| {} | {} ({} is better) | {} | {} | {} | {} | {} | {} | {} |",
            x.workload,
            x.metric,
            if x.higher_better { "higher" } else { "lower" },
            x.peer,
            num(x.ours),
            num(x.theirs),
            x.ratio().map_or("–".into(), |v| format!("{v:.2}")),
            x.advantage().map_or("–".into(), |a| if a < 0.1 {
                format!("{a:.4}×")
            } else {
                format!("{a:.2}×")
            }),
            target_text(x.target),
            met_text(x),
        );
    }
    if !r.notes.is_empty() {
        s += "\n## Notes from this run\n\n";
        for n in &r.notes {
            let _ = writeln!(s, "- {n}");
        }
    }
    s += "\n## Charts\n\n";
    for (file, title) in charts {
        let _ = writeln!(s, "![{title}]({file})\n");
    }
    s
}

/// `bench report`: reads `--results`, writes README.md and the SVGs into `--out`.
pub fn report(opts: &Options) -> Result<()> {
    let (Some(input), Some(out)) = (&opts.results, &opts.out) else {
        return Err(BenchError::Usage(
            "report needs --results FILE and --out DIR".into(),
        ));
    };
    let text = std::fs::read_to_string(input)
        .map_err(|e| BenchError::Fatal(format!("{}: {e}", input.display())))?;
    let r = results::parse(&text)?;
    write(&r, out, opts.readme.as_deref())
}

/// Marks around the block of the project's README.md that `--readme` rewrites.
const BEGIN: &str = "<!-- bench report: begin (written by `make bench`) -->";
const END: &str = "<!-- bench report: end -->";

/// The README block: provenance, the targets met, the charts (paths from the README's
/// folder to `out`).
fn readme_block(r: &Results, charts: &[(String, String)], rel: &str) -> String {
    let mut s = format!("{BEGIN}\n");
    s += &provenance(r);
    let targets: Vec<&Ratio> = r.ratios.iter().filter(|x| x.met().is_some()).collect();
    let met = targets.iter().filter(|x| x.met() == Some(true)).count();
    let _ = writeln!(
        s,
        "Targets of issue 17 met: {met} of {}; every ratio in [{rel}/README.md]({rel}/README.md).\n",
        targets.len()
    );
    for (file, title) in charts {
        let _ = writeln!(s, "![{title}]({rel}/{file})\n");
    }
    s += END;
    s
}

/// Replaces the block between the marks in `readme` (they must be there).
fn update_readme(readme: &Path, block: &str) -> Result<()> {
    let fail = |e: String| BenchError::Fatal(format!("{}: {e}", readme.display()));
    let text = std::fs::read_to_string(readme).map_err(|e| fail(e.to_string()))?;
    let (Some(b), Some(e)) = (text.find(BEGIN), text.find(END)) else {
        return Err(fail(format!("no `{BEGIN}` ... `{END}` block")));
    };
    if e < b {
        return Err(fail("the block's end mark comes before its start".into()));
    }
    let new = format!("{}{block}{}", &text[..b], &text[e + END.len()..]);
    std::fs::write(readme, new).map_err(|e| fail(e.to_string()))
}

/// Writes the charts and the README.md of `r` into `out` (made if absent; old SVGs
/// removed), and the block of `readme` when given.
pub fn write(r: &Results, out: &Path, readme: Option<&Path>) -> Result<()> {
    let fail = |e: std::io::Error| BenchError::Fatal(format!("{}: {e}", out.display()));
    std::fs::create_dir_all(out).map_err(fail)?;
    for e in std::fs::read_dir(out).map_err(fail)?.flatten() {
        if e.path().extension().is_some_and(|x| x == "svg") {
            std::fs::remove_file(e.path()).map_err(fail)?;
        }
    }
    let mut charts = Vec::new();
    if !r.ratios.is_empty() {
        charts::ratios(&r.ratios, &out.join(RATIOS_SVG))?;
        charts.push((
            RATIOS_SVG.to_string(),
            "advantage of ours over each peer, per workload".to_string(),
        ));
    }
    for c in &r.curves {
        let points: Vec<_> = r.points.iter().filter(|p| p.curve == c.id).collect();
        if points.is_empty() {
            continue;
        }
        let file = format!("{}.svg", c.id);
        charts::curve(c, &points, &out.join(&file))?;
        charts.push((file, c.title.clone()));
    }
    std::fs::write(out.join("README.md"), markdown(r, &charts)).map_err(fail)?;
    if let Some(readme) = readme {
        let folder = readme
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let rel = relative(folder, out);
        update_readme(readme, &readme_block(r, &charts, &rel))?;
    }
    Ok(())
}

/// `to` as seen from `from` (both made absolute; `..` where they part).
fn relative(from: &Path, to: &Path) -> String {
    let abs = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let (from, to) = (abs(from), abs(to));
    let common = from
        .components()
        .zip(to.components())
        .take_while(|(a, b)| a == b)
        .count();
    let ups = from.components().count() - common;
    let parts: Vec<String> = std::iter::repeat("..".to_string())
        .take(ups)
        .chain(
            to.components()
                .skip(common)
                .map(|c| c.as_os_str().to_string_lossy().into_owned()),
        )
        .collect();
    if parts.is_empty() {
        ".".into()
    } else {
        parts.join("/")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "machine\tmode\tquick\nmachine\tcores\t2\n\
        machine\tload average at start\t0.10 0.20 0.30\n\
        machine\tpeer s6\tDebian s6 2.11\nnote\ts6 waits\n\
        ratio\ttcpserver\ttcpserver c=8\tucspi-tcp\tconn/s\thigher\t1300\t1000\tadv>=1.3\n\
        ratio\tsupervise\tsupervise at rest\tdaemontools\tPrivate_Dirty (kB)\tlower\t116\t92\tadv>=1\n\
        ratio\tsvscan\tsvscan idle\ts6\tscanner CPU (ms)\tlower\t0\t0\tours<=0\n\
        ratio\tchain\tchain\tindimail\ttime per operation (us)\tlower\t900\t1000\t-\n\
        curve\tsvscan-startup\tsvscan start-up\tservices\tseconds\t1\n\
        point\tsvscan-startup\tours\t100\t0.5\npoint\tsvscan-startup\ts6\t100\t0.4\n\
        point\tsvscan-startup\tours\t1000\t4.5\n\
        curve\tempty\tno points\tx\ty\t0\n";

    #[test]
    fn report_has_every_ratio_and_chart() {
        let dir = crate::tempdir::TempDir::new("bench-report").unwrap();
        let out = dir.path().join("report");
        let r = results::parse(SAMPLE).unwrap();
        let readme = dir.path().join("README.md");
        std::fs::write(
            &readme,
            format!("# P\n\nbefore\n{BEGIN}\nold\n{END}\nafter\n"),
        )
        .unwrap();
        write(&r, &out, Some(&readme)).unwrap();
        let top = std::fs::read_to_string(&readme).unwrap();
        assert!(
            top.starts_with("# P\n\nbefore\n<!-- bench report: begin"),
            "{top}"
        );
        assert!(
            top.ends_with("<!-- bench report: end -->\nafter\n"),
            "{top}"
        );
        assert!(!top.contains("old"), "{top}");
        assert!(top.contains("Targets of issue 17 met: 2 of 3"), "{top}");
        assert!(
            top.contains("![svscan start-up](report/svscan-startup.svg)"),
            "{top}"
        );
        assert!(
            top.contains("load average at start 0.10 0.20 0.30"),
            "{top}"
        );
        let missing = dir.path().join("NOMARKS.md");
        std::fs::write(&missing, "# P\n").unwrap();
        assert!(write(&r, &out, Some(&missing)).is_err());
        let md = std::fs::read_to_string(out.join("README.md")).unwrap();
        assert!(md.contains("**Quick run**"), "{md}");
        assert!(!md.contains("**Noisy run**"), "{md}");
        let noisy = SAMPLE.replace("0.10 0.20 0.30", "3.50 2.00 1.00");
        let loud = markdown(&results::parse(&noisy).unwrap(), &[]);
        assert!(
            loud.contains("**Noisy run**: the load average was 3.50"),
            "{loud}"
        );
        assert!(md.contains("2 cores"), "{md}");
        assert!(md.contains("load average at start 0.10 0.20 0.30"), "{md}");
        assert!(md.contains("Peers: Debian s6 2.11."), "{md}");
        assert!(
            md.contains("## Notes from this run\n\n- s6 waits\n"),
            "{md}"
        );
        assert!(md.contains("Targets met: **2 of 3**"), "{md}");
        assert!(
            md.contains("| tcpserver c=8 | conn/s (higher is better) | ucspi-tcp | 1300 | 1000 | 1.30 | 1.30× | ≥ 1.30× | yes |"),
            "{md}"
        );
        assert!(
            md.contains("| supervise at rest | Private_Dirty (kB) (lower is better) | daemontools | 116 | 92 | 1.26 | 0.79× | ≥ 1.00× | **no** |"),
            "{md}"
        );
        assert!(
            md.contains("| 0 | 0 | – | 1.00× | ours ≤ 0 | yes |"),
            "{md}"
        );
        assert!(md.contains("![advantage of ours over each peer, per workload](ratios.svg)"));
        assert!(md.contains("![svscan start-up](svscan-startup.svg)"));
        assert!(!md.contains("empty.svg"));
        for f in ["ratios.svg", "svscan-startup.svg"] {
            let svg = std::fs::read_to_string(out.join(f)).unwrap();
            assert!(svg.starts_with("<svg"), "{f}: {svg}");
        }
        let ratios = std::fs::read_to_string(out.join("ratios.svg")).unwrap();
        assert!(ratios.contains("tcpserver c=8"), "{ratios}");
        let curve = std::fs::read_to_string(out.join("svscan-startup.svg")).unwrap();
        assert!(curve.contains("\ns6\n</text>"), "{curve}");
    }

    #[test]
    fn relative_paths() {
        assert_eq!(relative(Path::new("/a/b"), Path::new("/a/b/c/d")), "c/d");
        assert_eq!(relative(Path::new("/a/b/x"), Path::new("/a/b/c")), "../c");
        assert_eq!(relative(Path::new("/a"), Path::new("/a")), ".");
    }

    #[test]
    fn dates() {
        let d = utc_now();
        assert_eq!(d.len(), "2026-01-01 00:00 UTC".len(), "{d}");
        assert!(d.starts_with("20"), "{d}");
    }

    #[test]
    fn numbers() {
        assert_eq!(num(1234.4), "1234");
        assert_eq!(num(12.34), "12.3");
        assert_eq!(num(1.234), "1.23");
        assert_eq!(num(0.1234), "0.123");
        assert_eq!(num(0.0), "0");
        assert_eq!(num(92.0), "92");
    }
}
