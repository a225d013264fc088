#![cfg_attr(not(test), no_main)]
indicore::program!(svctool::svctool::PROG, svctool::svctool::run);
