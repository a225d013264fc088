//! What the TLS suites share: a small PKI made in-process with rcgen (a CA, server
//! certificates for the default and SNI names, client certificates good, expired,
//! untrusted and revoked, a CRL), tcpserver started with its log collected, and
//! `openssl s_client` as the real peer.
#![allow(dead_code)]

use blackbox::{bin, test_path, Cmd, Output};
use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, DnType, IsCa, Issuer,
    KeyIdMethod, KeyPair, KeyUsagePurpose, RevokedCertParams, SerialNumber,
};
use std::fs;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const PATIENCE: Duration = Duration::from_secs(20);

pub fn tmp() -> tempfile::TempDir {
    let t = tempfile::Builder::new().prefix("tls.").tempdir().unwrap();
    fs::set_permissions(t.path(), fs::Permissions::from_mode(0o755)).unwrap();
    t
}

/// An executable script `dir/name`.
pub fn script(dir: &Path, name: &str, body: &str) -> String {
    let p = dir.join(name);
    fs::write(&p, body).unwrap();
    fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
    p.to_string_lossy().into_owned()
}

/// The certificates of one test, written into its directory.
pub struct Pki {
    pub dir: PathBuf,
    ca_key: KeyPair,
    ca_params: CertificateParams,
}

fn leaf_params(cn: &str, sans: &[&str]) -> CertificateParams {
    let mut p =
        CertificateParams::new(sans.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
    p.distinguished_name.push(DnType::CommonName, cn);
    p.distinguished_name
        .push(DnType::OrganizationName, "Test Org");
    p
}

impl Pki {
    /// A CA (`ca.pem`) and the default server certificate `servercert.pem` (chain and key
    /// in one file, for localhost and 127.0.0.1) in `dir`.
    pub fn new(dir: &Path) -> Pki {
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "Test CA");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca = ca_params.self_signed(&ca_key).unwrap();
        fs::write(dir.join("ca.pem"), ca.pem()).unwrap();
        let pki = Pki {
            dir: dir.to_path_buf(),
            ca_key,
            ca_params,
        };
        pki.server("servercert.pem", "localhost", &["localhost", "127.0.0.1"]);
        pki
    }

    fn issuer(&self) -> Issuer<'_, &KeyPair> {
        Issuer::from_params(&self.ca_params, &self.ca_key)
    }

    /// A certificate and key signed by the CA, written as one PEM (certificate first).
    fn issue(&self, name: &str, params: CertificateParams) -> String {
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer()).unwrap();
        let text = format!("{}{}", cert.pem(), key.serialize_pem());
        fs::write(self.dir.join(name), &text).unwrap();
        text
    }

    /// A server certificate for `cn` (SANs `sans`) in `name`.
    pub fn server(&self, name: &str, cn: &str, sans: &[&str]) -> String {
        self.issue(name, leaf_params(cn, sans))
    }

    /// A client certificate for `cn`, valid now, in `name`.
    pub fn client(&self, name: &str, cn: &str) -> String {
        self.issue(name, leaf_params(cn, &[]))
    }

    /// A client certificate that expired in 2001.
    pub fn expired_client(&self, name: &str) -> String {
        let mut p = leaf_params("expired", &[]);
        p.not_before = rcgen::date_time_ymd(2000, 1, 1);
        p.not_after = rcgen::date_time_ymd(2001, 1, 1);
        self.issue(name, p)
    }

    /// A certificate with serial 0x1092 (for `cn`, SANs `sans`), and a CRL of the CA
    /// revoking it (`crl`).
    pub fn revoked(&self, name: &str, cn: &str, sans: &[&str], crl: &str) {
        let mut p = leaf_params(cn, sans);
        p.serial_number = Some(SerialNumber::from_slice(&[0x10, 0x92]));
        self.issue(name, p);
        let list = CertificateRevocationListParams {
            this_update: rcgen::date_time_ymd(2024, 1, 1),
            next_update: rcgen::date_time_ymd(2099, 1, 1),
            crl_number: SerialNumber::from_slice(&[1]),
            issuing_distribution_point: None,
            revoked_certs: vec![RevokedCertParams {
                serial_number: SerialNumber::from_slice(&[0x10, 0x92]),
                revocation_time: rcgen::date_time_ymd(2024, 1, 1),
                reason_code: None,
                invalidity_date: None,
            }],
            key_identifier_method: KeyIdMethod::Sha256,
        }
        .signed_by(&self.issuer())
        .unwrap();
        fs::write(self.dir.join(crl), list.pem().unwrap()).unwrap();
    }

    /// A self-signed certificate and key nobody trusts.
    pub fn untrusted(&self, name: &str, cn: &str) -> String {
        let key = KeyPair::generate().unwrap();
        let cert = leaf_params(cn, &[]).self_signed(&key).unwrap();
        let text = format!("{}{}", cert.pem(), key.serialize_pem());
        fs::write(self.dir.join(name), &text).unwrap();
        text
    }

    pub fn path(&self, name: &str) -> String {
        self.dir.join(name).to_string_lossy().into_owned()
    }
}

/// A running tcpserver with its log collected as it is written.
pub struct Server {
    pub child: Child,
    pub port: u16,
    log: Arc<Mutex<Vec<u8>>>,
}

impl Server {
    /// Start tcpserver with `args` (which must include `-1`) in `dir`, with PATH and `env`
    /// only; returns once it listens. None: it exited (the log is in the Output).
    pub fn start(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Server {
        let mut cmd = blackbox::command(bin("tcpserver"));
        cmd.args(args)
            .current_dir(dir)
            .env_clear()
            .env("PATH", test_path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("start tcpserver");
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut stderr = child.stderr.take().unwrap();
        let sink = log.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stderr.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        let mut server = Server {
            child,
            port: 0,
            log,
        };
        let stdout = server.child.stdout.take().unwrap();
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        server.port = line.trim().parse().unwrap_or_else(|_| {
            std::thread::sleep(Duration::from_millis(200));
            panic!("no port printed: {line:?}, log: {}", server.log_text())
        });
        server
    }

    pub fn log_text(&self) -> String {
        String::from_utf8_lossy(&self.log.lock().unwrap()).into_owned()
    }

    /// Wait until the log holds `needle`; returns the whole log.
    #[track_caller]
    pub fn wait_log(&self, needle: &str) -> String {
        let end = Instant::now() + PATIENCE;
        loop {
            let text = self.log_text();
            if text.contains(needle) {
                return text;
            }
            assert!(Instant::now() < end, "log never showed {needle:?}:\n{text}");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    pub fn signal(&self, sig: i32) {
        // SAFETY: kill(2) on our own unreaped child.
        unsafe { libc::kill(self.child.id() as i32, sig) };
    }

    /// Live children of the server.
    pub fn children(&self) -> usize {
        let pid = self.child.id();
        fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
            .map(|s| s.split_whitespace().count())
            .unwrap_or(0)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // The whole process group: the server, its children and their programs.
        // SAFETY: kill(2) on the group we created.
        unsafe { libc::kill(-(self.child.id() as i32), libc::SIGKILL) };
        let _ = self.child.wait();
    }
}

/// `openssl s_client` against 127.0.0.1:`port` with `extra` options, `input` on stdin;
/// it waits for the server to close (`-ign_eof`).
pub fn s_client(port: u16, extra: &[&str], input: &[u8]) -> Output {
    Cmd::new("openssl")
        .arg("s_client")
        .args(["-connect", &format!("127.0.0.1:{port}"), "-ign_eof"])
        .args(extra)
        .stdin(input.to_vec())
        .timeout(Duration::from_secs(30))
        .run()
}

/// Start tcpserver (TCP, `-1`) and fail loudly if it does not come up.
pub fn openssl_available() -> bool {
    blackbox::command("openssl")
        .arg("version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}
