#![cfg_attr(not(test), no_main)]
indicore::program!(multilog::multilog::PROG, multilog::multilog::run);
