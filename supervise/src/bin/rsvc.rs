#![cfg_attr(not(test), no_main)]
indicore::program!(supervise::rsvc::PROG, supervise::rsvc::run);
