#![cfg_attr(not(test), no_main)]
indicore::program!(supervise::svok::PROG, supervise::svok::run);
