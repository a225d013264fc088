#![cfg_attr(not(test), no_main)]
indicore::program!(chainload::waitfor::PROG, chainload::waitfor::run);
