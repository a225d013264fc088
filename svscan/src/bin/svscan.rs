#![cfg_attr(not(test), no_main)]
indicore::program!(svscan::svscan::PROG, svscan::svscan::run);
