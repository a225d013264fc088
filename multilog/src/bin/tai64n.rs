#![cfg_attr(not(test), no_main)]
indicore::program!(multilog::tai64n::PROG, multilog::tai64n::run);
