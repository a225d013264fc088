#![cfg_attr(not(test), no_main)]
indicore::program!(svctool::runpod::PROG, svctool::runpod::run);
