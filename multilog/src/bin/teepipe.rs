#![cfg_attr(not(test), no_main)]
indicore::program!(multilog::teepipe::PROG, multilog::teepipe::run);
