#![cfg_attr(not(test), no_main)]
indicore::program!(supervise::svalert::PROG, supervise::svalert::run);
