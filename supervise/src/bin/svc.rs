#![no_main]
indicore::program!(supervise::svc::PROG, supervise::svc::run);
