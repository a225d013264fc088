#![cfg_attr(not(test), no_main)]
indicore::program!(supervise::supervisor::PROG, supervise::supervisor::run);
