#![cfg_attr(not(test), no_main)]
indicore::program!(multilog::tai64n2tai::PROG, multilog::tai64n2tai::run);
