#![cfg_attr(not(test), no_main)]
indicore::program!(installer::instcheck::PROG, installer::instcheck::run);
