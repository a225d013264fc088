#![cfg_attr(not(test), no_main)]
indicore::program!(multilog::tai2tai64n::PROG, multilog::tai2tai64n::run);
