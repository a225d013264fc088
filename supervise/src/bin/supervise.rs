#![no_main]
indicore::program!(supervise::supervisor::PROG, supervise::supervisor::run);
