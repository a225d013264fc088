#![cfg_attr(not(test), no_main)]
indicore::program!(chainload::envuidgid::PROG, chainload::envuidgid::run);
