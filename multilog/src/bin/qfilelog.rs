#![cfg_attr(not(test), no_main)]
indicore::program!(multilog::qfilelog::PROG, multilog::qfilelog::run);
