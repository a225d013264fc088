#![cfg_attr(not(test), no_main)]
indicore::program!(multilog::logselect::PROG, multilog::logselect::run);
