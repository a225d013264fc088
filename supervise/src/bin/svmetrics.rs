#![cfg_attr(not(test), no_main)]
indicore::program!(supervise::svmetrics::PROG, supervise::svmetrics::run);
