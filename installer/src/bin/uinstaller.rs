#![cfg_attr(not(test), no_main)]
indicore::program!(installer::installer::PROG, installer::installer::run);
