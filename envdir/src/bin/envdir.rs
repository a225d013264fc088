#![cfg_attr(not(test), no_main)]
indicore::program!(chainload::envdir::PROG, chainload::envdir::run);
