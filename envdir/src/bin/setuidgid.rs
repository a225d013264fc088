#![cfg_attr(not(test), no_main)]
indicore::program!(chainload::setuidgid::PROG, chainload::setuidgid::run);
