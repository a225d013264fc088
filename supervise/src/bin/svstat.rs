#![cfg_attr(not(test), no_main)]
indicore::program!(supervise::svstat::PROG, supervise::svstat::run);
