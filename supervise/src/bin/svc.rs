#![cfg_attr(not(test), no_main)]
indicore::program!(supervise::svc::PROG, supervise::svc::run);
