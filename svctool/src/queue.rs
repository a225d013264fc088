//! Queue creation for qmail-send and slowq-send (docs/svctool.md#qmail-send-and-the-queues): the directories and
//! `queue-fix -s 151 -b 0`, which lays out a queue. queue-fix belongs to the mail suite:
//! when it is not installed the queue directories are still made and the missing step is
//! reported.

use crate::render::Ctx;
use crate::{fsx, Stop};
use std::process::{Command, Stdio};

/// conf-split of the reference build.
pub const QUEUESPLIT: &str = "151";

fn queue_fix(ctx: &Ctx, args: &[&str], queue: &str) -> Result<(), Stop> {
    let disk = ctx.host.disk(queue);
    let Some(prog) = ctx.host.installed("bin", "queue-fix") else {
        crate::warn(&format!(
            "queue-fix not found: {queue} created but not laid out; run queue-fix {} {queue}",
            args.join(" ")
        ));
        return fsx::mkdir_p(&disk, 0o750);
    };
    let status = Command::new(&prog)
        .args(args)
        .arg(&disk)
        .stdout(Stdio::null())
        .status()
        .map_err(|e| Stop::io("run", &prog, &e))?;
    if !status.success() {
        return Err(Stop::fail(
            111,
            format!("svctool: queue-fix failed for {queue}: {status}"),
        ));
    }
    Ok(())
}

fn qbase_dir(ctx: &Ctx, qbase: &str) -> Result<(), Stop> {
    let d = ctx.host.disk(qbase);
    if !d.is_dir() {
        fsx::mkdir_p(&d, 0o755)?;
        ctx.host.chown(&d, "root", "qmail");
    }
    Ok(())
}

/// `nqueue` and `queue<qstart>..`, then `$C/queue_base`.
pub fn create(ctx: &Ctx, qbase: &str, qcount: u32, qstart: u32) -> Result<(), Stop> {
    qbase_dir(ctx, qbase)?;
    let nqueue = format!("{qbase}/nqueue");
    if ctx.o.flag("--nooverwrite") && ctx.host.is_dir(&nqueue) {
        return Ok(());
    }
    println!("Creating Queue {nqueue}");
    queue_fix(ctx, &["-s", QUEUESPLIT, "-b", "0"], &nqueue)?;
    for n in qstart..qstart + qcount {
        let q = format!("{qbase}/queue{n}");
        fsx::mkdir_p(&ctx.host.disk(&q), 0o755)?;
        println!("Creating Queue {q}");
        queue_fix(ctx, &["-s", QUEUESPLIT, "-b", "0"], &q)?;
    }
    let cd = ctx.host.disk(&ctx.cntrldir);
    fsx::mkdir_p(&cd, 0o755)?;
    fsx::write(
        &cd.join("queue_base"),
        format!("{qbase}\n").as_bytes(),
        0o644,
    )
}

/// The slow queue `QBASE/slowq`.
pub fn create_slowq(ctx: &Ctx, qbase: &str) -> Result<(), Stop> {
    qbase_dir(ctx, qbase)?;
    let q = format!("{qbase}/slowq");
    if ctx.o.flag("--nooverwrite") && ctx.host.is_dir(&q) {
        return Ok(());
    }
    println!("Creating Queue {q}");
    queue_fix(ctx, &["-s", QUEUESPLIT, "-b", "0", "-r"], &q)
}
