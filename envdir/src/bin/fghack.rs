#![cfg_attr(not(test), no_main)]
indicore::program!(chainload::fghack::PROG, chainload::fghack::run);
