#![cfg_attr(not(test), no_main)]
indicore::program!(supervise::svps::PROG, supervise::svps::run);
