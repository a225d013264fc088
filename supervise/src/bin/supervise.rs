use supervise::supervisor::{Config, Supervisor};

fn main() {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    match Config::from_args(&args) {
        Ok(cfg) => Supervisor::setup(cfg).run(),
        Err(usage) => indicore::Prog("supervise").die(indicore::Failure::usage(usage)),
    }
}
