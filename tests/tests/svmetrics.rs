//! Black-box suite for svmetrics and tcpserver's metrics file (issue 16 point 3): a
//! service tree under svscan whose SMTP-like service runs tcpserver with
//! `-Y tcpserver.metrics`, traffic that moves every counter (accepted, refused by rules,
//! `-C` and MAXPERIP, the `-c` limit, PROXY headers, TLS handshakes on a second server),
//! svmetrics served over HTTP by our own tcpserver, the scrape checked by
//! `promtool check metrics` (Debian's prometheus package), and a real Prometheus server
//! scraping it.
//!
//! Each test has its own tree (`DISABLE_RUN=1`); everything listens on 127.0.0.1.

mod net_support;
mod tcpclient_support;
mod tls_support;

use blackbox::{bin, Cmd, Running};
use net_support::{connect_from, read_all, read_until, rules, wait_listening, PATIENCE};
use std::fs;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};
use tcpclient_support::free_port;
use tls_support::{openssl_available, s_client, script, tmp, Pki, Server};

fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let end = Instant::now() + PATIENCE;
    while !f() {
        assert!(Instant::now() < end, "never happened: {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A scan directory `sv` with `smtp` (tcpserver on `port` with a metrics file, `-C 1`,
/// `-c 2`) and `idle` (normally down), under svscan; plus `lone`, never supervised.
struct Tree {
    _svscan: Running,
    port: u16,
}

fn tree(dir: &Path) -> Tree {
    let port = free_port();
    let r = rules(
        dir,
        "127.0.0.4:deny\n127.0.0.6:allow,MAXPERIP=\"0\"\n127.0.0.3:allow,PROXY_PROTOCOL=\"\"\n:allow\n",
    );
    let prog = script(
        dir,
        "prog",
        "#!/bin/sh\necho hi\nexec head -c 1 >/dev/null\n",
    );
    let sv = dir.join("sv");
    for s in ["smtp", "idle"] {
        fs::create_dir_all(sv.join(s)).unwrap();
    }
    script(
        &sv.join("smtp"),
        "run",
        &format!(
            "#!/bin/sh\nexec {} -HR -l0 -x {r} -Y tcpserver.metrics -C 1 -c 2 127.0.0.1 {port} {prog}\n",
            bin("tcpserver").display()
        ),
    );
    script(&sv.join("idle"), "run", "#!/bin/sh\nexec sleep 1000\n");
    fs::write(sv.join("idle/down"), "").unwrap();
    fs::create_dir_all(dir.join("lone")).unwrap();
    script(&dir.join("lone"), "run", "#!/bin/sh\nexec sleep 1000\n");
    let svscan = Cmd::bin("svscan")
        .clean_env()
        .env("DISABLE_RUN", "1")
        .arg(&sv)
        .cwd(&sv)
        .timeout(Duration::from_secs(3600))
        .spawn();
    wait_listening(port, "the smtp service's tcpserver");
    wait_until("idle supervised", || {
        Cmd::bin("svstat").arg(sv.join("idle")).run().code == Some(1)
    });
    Tree {
        _svscan: svscan,
        port,
    }
}

/// One request to the svmetrics endpoint: (status line, headers each ending in CRLF,
/// body).
fn get(port: u16, request: &str) -> (String, String, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(PATIENCE)).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let (head, body) = out.split_once("\r\n\r\n").unwrap_or((&out, ""));
    let (status, headers) = head.split_once("\r\n").unwrap_or((head, ""));
    (
        status.to_string(),
        format!("{headers}\r\n"),
        body.to_string(),
    )
}

/// `svmetrics -H -s sv` and `extra` served by our tcpserver in `dir`.
fn endpoint(dir: &Path, extra: &[&str]) -> Server {
    let mut args = vec![
        "-1",
        "-HR",
        "-l0",
        "127.0.0.1",
        "0",
        "svmetrics",
        "-H",
        "-s",
        "sv",
    ];
    args.extend_from_slice(extra);
    Server::start(dir, &args, &[])
}

/// `promtool check metrics` on `text`: it must find nothing to say.
fn promtool(text: &str) {
    let out = Cmd::new("promtool")
        .args(["check", "metrics"])
        .stdin(text)
        .run();
    assert_eq!(out.code, Some(0), "promtool: {out:?}\n{text}");
}

fn has(text: &str, line: &str) {
    assert!(
        text.lines().any(|l| l == line),
        "missing {line:?} in:\n{text}"
    );
}

/// A connection from `src` that the program answers; `finish` sends the byte it waits for.
fn served(src: [u8; 4], port: u16, finish: bool) -> TcpStream {
    let mut s = connect_from(src, port);
    assert_eq!(read_until(&mut s, "hi\n"), "hi\n");
    if finish {
        s.write_all(b"x").unwrap();
        assert_eq!(read_all(&mut s), "");
    }
    s
}

/// A connection the server closes without running the program.
fn refused(src: [u8; 4], port: u16, data: &[u8]) {
    let mut s = connect_from(src, port);
    let _ = s.write_all(data);
    assert_eq!(read_all(&mut s), "");
}

#[test]
fn tree_and_tcpserver_counters_over_http_pass_promtool() {
    let d = tmp();
    let t = tree(d.path());
    let metrics = d.path().join("sv/smtp/tcpserver.metrics");
    wait_until("the metrics file", || metrics.is_file());

    // Traffic: 2 served, 1 denied, 1 refused by -C, 1 by MAXPERIP, PROXY good and bad.
    // (Two addresses: a finished child may not be reaped yet when the next arrives.)
    served([127, 0, 0, 1], t.port, true);
    served([127, 0, 0, 7], t.port, true);
    refused([127, 0, 0, 4], t.port, b"");
    refused([127, 0, 0, 6], t.port, b"");
    let held = served([127, 0, 0, 2], t.port, false);
    refused([127, 0, 0, 2], t.port, b"");
    refused([127, 0, 0, 3], t.port, b"PROXY TCP9\r\n");
    let mut via = connect_from([127, 0, 0, 3], t.port);
    via.write_all(b"PROXY TCP4 192.0.2.9 127.0.0.1 1000 25\r\n")
        .unwrap();
    // Two held now: -c 2 is reached.
    assert_eq!(read_until(&mut via, "hi\n"), "hi\n");

    // A TLS server beside it, named with -t: one good handshake, one failed.
    let tls = openssl_available().then(|| {
        let pki = Pki::new(d.path());
        pki.server("server.pem", "localhost", &["localhost"]);
        let cert = pki.path("server.pem");
        let prog = script(d.path(), "hello", "#!/bin/sh\necho hello\n");
        let srv = Server::start(
            d.path(),
            &[
                "-1",
                "-HR",
                "-l0",
                "-S",
                "5",
                "-n",
                &cert,
                "-Y",
                "tls.metrics",
                "127.0.0.1",
                "0",
                &prog,
            ],
            &[],
        );
        assert!(s_client(srv.port, &["-quiet"], b"")
            .stdout_str()
            .contains("hello"));
        let mut bad = connect_from([127, 0, 0, 1], srv.port);
        bad.write_all(b"not a client hello\r\n\r\n").unwrap();
        read_all(&mut bad);
        srv
    });
    if tls.is_none() {
        blackbox::skip("openssl is not installed");
    }

    // svmetrics served by our tcpserver.
    let web = endpoint(d.path(), &["-t", "tls.metrics", "lone"]);
    let (status, headers, body) = get(
        web.port,
        "GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n",
    );
    assert_eq!(status, "HTTP/1.0 200 OK");
    assert!(
        headers.contains("Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"),
        "{headers}"
    );
    assert!(
        headers.contains(&format!("Content-Length: {}\r\n", body.len())),
        "{headers}"
    );
    promtool(&body);

    has(&body, "sv_supervised{service=\"sv/smtp\"} 1");
    has(&body, "sv_up{service=\"sv/smtp\"} 1");
    has(&body, "sv_normally_up{service=\"sv/smtp\"} 1");
    has(&body, "sv_paused{service=\"sv/smtp\"} 0");
    has(&body, "sv_up{service=\"sv/idle\"} 0");
    has(&body, "sv_normally_up{service=\"sv/idle\"} 0");
    has(&body, "sv_supervised{service=\"lone\"} 0");
    has(&body, "sv_up{service=\"lone\"} 0");
    assert!(
        body.contains("sv_state_seconds{service=\"sv/idle\"} "),
        "{body}"
    );
    assert!(
        !body.contains("sv_state_seconds{service=\"lone\"}"),
        "{body}"
    );
    assert!(
        !body.contains("sv_ready"),
        "no service here has readiness: {body}"
    );
    // supervise/info's count; a directory nobody supervises has none.
    has(&body, "sv_restarts_total{service=\"sv/smtp\"} 0");
    assert!(
        !body.contains("sv_restarts_total{service=\"lone\"}"),
        "{body}"
    );

    let l = format!("listen=\"127.0.0.1:{}\",service=\"sv/smtp\"", t.port);
    has(&body, &format!("tcpserver_up{{{l}}} 1"));
    has(
        &body,
        &format!("tcpserver_connections_accepted_total{{{l}}} 8"),
    );
    has(
        &body,
        &format!("tcpserver_connections_refused_total{{{l},reason=\"rules\"}} 1"),
    );
    has(
        &body,
        &format!("tcpserver_connections_refused_total{{{l},reason=\"perhost\"}} 1"),
    );
    has(
        &body,
        &format!("tcpserver_connections_refused_total{{{l},reason=\"maxperip\"}} 1"),
    );
    has(
        &body,
        &format!("tcpserver_proxy_headers_total{{{l},result=\"accepted\"}} 1"),
    );
    has(
        &body,
        &format!("tcpserver_proxy_headers_total{{{l},result=\"rejected\"}} 1"),
    );
    has(&body, &format!("tcpserver_children{{{l}}} 2"));
    has(&body, &format!("tcpserver_children_limit{{{l}}} 2"));
    // At least once (a finished child not yet reaped may have filled the second slot).
    let reached = format!("tcpserver_concurrency_limit_reached_total{{{l}}} ");
    let n: u64 = body
        .lines()
        .find_map(|x| x.strip_prefix(&reached))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    assert!(n >= 1, "{body}");
    has(
        &body,
        &format!("tcpserver_tls_handshakes_total{{{l},result=\"completed\"}} 0"),
    );
    if let Some(srv) = &tls {
        let l = format!("listen=\"127.0.0.1:{}\"", srv.port);
        has(
            &body,
            &format!("tcpserver_tls_handshakes_total{{{l},result=\"completed\"}} 1"),
        );
        has(
            &body,
            &format!("tcpserver_tls_handshakes_total{{{l},result=\"failed\"}} 1"),
        );
        has(&body, &format!("tcpserver_up{{{l}}} 1"));
    }

    // HEAD, other paths, other methods, garbage.
    let (status, _, body) = get(web.port, "HEAD / HTTP/1.0\r\n\r\n");
    assert_eq!((status.as_str(), body.as_str()), ("HTTP/1.0 200 OK", ""));
    assert_eq!(
        get(web.port, "GET /x HTTP/1.0\r\n\r\n").0,
        "HTTP/1.0 404 Not Found"
    );
    let (status, headers, _) = get(web.port, "POST /metrics HTTP/1.0\r\n\r\n");
    assert_eq!(status, "HTTP/1.0 405 Method Not Allowed");
    assert!(headers.contains("Allow: GET, HEAD\r\n"), "{headers}");
    assert_eq!(get(web.port, "hello\r\n\r\n").0, "HTTP/1.0 400 Bad Request");

    // Released, the gauge falls back; a stopped server's file says it is not up.
    drop((held, via));
    wait_until("children back to 0", || {
        let out = Cmd::bin("svmetrics")
            .cwd(d.path())
            .args(["-t", "sv/smtp/tcpserver.metrics"])
            .run();
        out.stdout_str().contains(&format!(
            "tcpserver_children{{listen=\"127.0.0.1:{}\"}} 0",
            t.port
        ))
    });
    if let Some(srv) = tls {
        let port = srv.port;
        drop(srv);
        let out = Cmd::bin("svmetrics")
            .cwd(d.path())
            .args(["-t", "tls.metrics"])
            .run();
        out.assert_code(0);
        has(
            &out.stdout_str(),
            &format!("tcpserver_up{{listen=\"127.0.0.1:{port}\"}} 0"),
        );
    }
}

#[test]
fn command_line_errors() {
    let d = tmp();
    Cmd::bin("svmetrics").run().assert_code(100);
    Cmd::bin("svmetrics").arg("-x").run().assert_code(100);
    fs::write(d.path().join("junk"), "not metrics, but long enough to be looked at ........................................................................................................").unwrap();
    for f in ["missing", "junk"] {
        let out = Cmd::bin("svmetrics").cwd(d.path()).args(["-t", f]).run();
        assert_eq!(out.code, Some(111), "{out:?}");
        assert!(
            out.stderr_str()
                .starts_with(&format!("svmetrics: warning: unable to read {f}: ")),
            "{out:?}"
        );
    }
    // A directory that is not a service is reported as unsupervised, not an error.
    let out = Cmd::bin("svmetrics").arg(d.path()).run();
    out.assert_code(0);
    promtool(&out.stdout_str());
}

#[test]
fn a_real_prometheus_scrapes_the_endpoint() {
    let d = tmp();
    let t = tree(d.path());
    let web = endpoint(d.path(), &[]);
    let prom_port = free_port();
    let cfg = d.path().join("prometheus.yml");
    fs::write(
        &cfg,
        format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: sv\n    \
             static_configs:\n      - targets: ['127.0.0.1:{}']\n",
            web.port
        ),
    )
    .unwrap();
    let _prom = Cmd::new("prometheus")
        .arg(format!("--config.file={}", cfg.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            d.path().join("tsdb").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{prom_port}"))
        .timeout(Duration::from_secs(3600))
        .spawn();
    wait_listening(prom_port, "prometheus");
    let query = |q: &str| -> serde_json::Value {
        let (_, _, body) = get(
            prom_port,
            &format!("GET /api/v1/query?query={q} HTTP/1.0\r\n\r\n"),
        );
        serde_json::from_str(&body).unwrap_or(serde_json::Value::Null)
    };
    let end = Instant::now() + Duration::from_secs(120);
    let series = loop {
        let v = query(
            &format!(
                "tcpserver_children_limit{{listen=\"127.0.0.1:{}\"}}",
                t.port
            )
            .replace('"', "%22")
            .replace('{', "%7B")
            .replace('}', "%7D"),
        );
        let result = v["data"]["result"].as_array().cloned().unwrap_or_default();
        if !result.is_empty() {
            break result;
        }
        assert!(
            Instant::now() < end,
            "prometheus never scraped the endpoint: {v}"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(series[0]["metric"]["service"], "sv/smtp");
    assert_eq!(series[0]["value"][1], "2");
    let up = query("up%7Bjob%3D%22sv%22%7D");
    assert_eq!(up["data"]["result"][0]["value"][1], "1", "{up}");
    let sv = query("sv_up%7Bservice%3D%22sv%2Fsmtp%22%7D");
    assert_eq!(sv["data"]["result"][0]["value"][1], "1", "{sv}");
}
