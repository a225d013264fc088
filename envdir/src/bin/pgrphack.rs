#![cfg_attr(not(test), no_main)]
indicore::program!(chainload::pgrphack::PROG, chainload::pgrphack::run);
