#![cfg_attr(not(test), no_main)]
indicore::program!(tcpclient::tcpclient::PROG, tcpclient::tcpclient::run);
