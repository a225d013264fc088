#![cfg_attr(not(test), no_main)]
indicore::program!(supervise::multipipe::PROG, supervise::multipipe::run);
