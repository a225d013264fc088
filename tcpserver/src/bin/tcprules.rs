#![cfg_attr(not(test), no_main)]
indicore::program!(tcpserver::tcprules::PROG, tcpserver::tcprules::run);
