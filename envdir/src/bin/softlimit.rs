#![cfg_attr(not(test), no_main)]
indicore::program!(chainload::softlimit::PROG, chainload::softlimit::run);
