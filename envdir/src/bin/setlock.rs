#![cfg_attr(not(test), no_main)]
indicore::program!(chainload::setlock::PROG, chainload::setlock::run);
