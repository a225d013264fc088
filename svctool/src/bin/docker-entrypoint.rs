#![cfg_attr(not(test), no_main)]
indicore::program!(svctool::entrypoint::PROG, svctool::entrypoint::run);
