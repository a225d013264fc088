#![cfg_attr(not(test), no_main)]
indicore::program!(svctool::minisvc::PROG, svctool::minisvc::run);
