#![cfg_attr(not(test), no_main)]
indicore::program!(multilog::qlogselect::PROG, multilog::qlogselect::run);
