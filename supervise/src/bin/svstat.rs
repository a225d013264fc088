#![no_main]
indicore::program!(supervise::svstat::PROG, supervise::svstat::run);
