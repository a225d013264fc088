#![cfg_attr(not(test), no_main)]
indicore::program!(tcpserver::server::PROG, tcpserver::server::run);
