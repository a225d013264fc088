#![cfg_attr(not(test), no_main)]
indicore::program!(supervise::spipe::PROG, supervise::spipe::run);
