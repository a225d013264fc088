#![cfg_attr(not(test), no_main)]
indicore::program!(supervise::svstatd::PROG, supervise::svstatd::run);
