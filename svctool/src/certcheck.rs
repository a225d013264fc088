//! `--check-certs[=FILE]` (docs/svctool.md#checks-and-reports): each of `$S/certs/servercert.pem`, `clientcert.pem` (or
//! FILE) must be a certificate that is valid now and good for its purpose (a name with
//! `server` for TLS servers, `client` for clients); one that is not is disabled by
//! renaming it `BROKEN-`, `EXPIRED-`, `NOT-A-SERVER-CERT-` or `NOT-A-CLIENT-CERT-NAME`, as
//! the reference does with `openssl x509`. The certificate is read with `ucspi::x509` (PEM,
//! then the fields that matter: validity, extended key usage, key usage, Netscape cert
//! type), so no openssl command is needed.

use crate::render::Ctx;
use crate::svctool::Done;
use crate::Stop;
use std::io::IsTerminal;
use ucspi::x509::{self, CertInfo};

/// The first certificate of a PEM (or DER) file.
pub fn parse_file(bytes: &[u8]) -> Option<CertInfo> {
    x509::cert_info(&x509::first_certificate(bytes)?)
}

fn purposes(c: &CertInfo) -> String {
    let yn = |b: bool| if b { "Yes" } else { "No" };
    format!(
        "SSL client : {}, SSL server : {}",
        yn(c.client),
        yn(c.server)
    )
}

/// Rename `logical` to `PREFIX-NAME` beside it (the link itself when it is one).
fn disable(ctx: &Ctx, logical: &str, prefix: &str) -> bool {
    let p = ctx.host.disk(logical);
    let Some(name) = p.file_name() else {
        return false;
    };
    let to = p.with_file_name(format!("{prefix}{}", name.to_string_lossy()));
    std::fs::rename(&p, &to).is_ok()
}

/// `--check-certs[=FILE]`.
pub fn check_certs(ctx: &Ctx) -> Result<Done, Stop> {
    let h = ctx.host;
    let files: Vec<String> = match ctx.o.get("--check-certs") {
        Some(f) => vec![f.to_string()],
        None => ["servercert.pem", "clientcert.pem"]
            .iter()
            .map(|f| format!("{}/certs/{f}", ctx.sysconfdir()))
            .collect(),
    };
    let now = h.now();
    let mut error = false;
    for f in &files {
        if !h.is_file_following(f) {
            continue;
        }
        println!("Checking {f}");
        let info = std::fs::read(h.resolve(f))
            .ok()
            .and_then(|b| parse_file(&b));
        let Some(info) = info else {
            error = true;
            if disable(ctx, f, "BROKEN-") {
                eprintln!("{f} is a broken cert. Disabled");
            }
            continue;
        };
        if now > info.not_after {
            error = true;
            eprintln!("expiry {}", info.not_after_text);
            if disable(ctx, f, "EXPIRED-") {
                eprintln!("{f} has EXPIRED. Disabling");
            }
            continue;
        }
        for (word, ok, prefix) in [
            ("server", info.server, "NOT-A-SERVER-CERT-"),
            ("client", info.client, "NOT-A-CLIENT-CERT-"),
        ] {
            if f.contains(word) && !ok {
                error = true;
                eprintln!("Purpose {}", purposes(&info));
                if disable(ctx, f, prefix) {
                    eprintln!("{f} is NOT a {word} cert. Disabled");
                }
                break;
            }
        }
    }
    if error {
        return Err(Stop::fail(1, ""));
    }
    println!("All Certificates found OK. Press ENTER to view Certificates");
    let _ = std::io::Write::flush(&mut std::io::stdout());
    if std::io::stdin().is_terminal() && std::io::stdout().is_terminal() {
        let mut line = String::new();
        let _ = std::io::stdin().read_line(&mut line);
    }
    for f in &files {
        let d = h.disk(f);
        if std::fs::symlink_metadata(&d).is_err() {
            continue;
        }
        println!("==== Certificate {f} =========");
        if let Ok(t) = std::fs::read_link(&d) {
            println!("Linked to {}", t.display());
        } else {
            let bytes = std::fs::read(&d).unwrap_or_default();
            if let Some(info) = parse_file(&bytes) {
                println!("Not After : {}", info.not_after_text);
                println!("Purposes  : {}", purposes(&info));
            }
            for c in x509::pem_certificates(&bytes) {
                print!("{}", x509::to_pem(&c));
            }
        }
        println!("================================================================");
        println!();
    }
    Ok(Done::Log)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn self_signed_certificate_is_good_for_both() {
        let (_, pem) =
            crate::config::self_signed("mail.example.com", "pm@example.com", 30).unwrap();
        let c = parse_file(pem.as_bytes()).unwrap();
        assert!(c.server && c.client, "{c:?}");
        assert!(parse_file(b"garbage").is_none());
    }
}
