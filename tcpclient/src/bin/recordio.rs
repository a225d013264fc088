#![cfg_attr(not(test), no_main)]
indicore::program!(tcpclient::recordio::PROG, tcpclient::recordio::run);
