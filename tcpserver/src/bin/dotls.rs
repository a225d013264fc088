#![cfg_attr(not(test), no_main)]
indicore::program!(tcpserver::dotls::PROG, tcpserver::dotls::run);
