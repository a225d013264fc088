#![cfg_attr(not(test), no_main)]
indicore::program!(tcpclient::fixcrio::PROG, tcpclient::fixcrio::run);
