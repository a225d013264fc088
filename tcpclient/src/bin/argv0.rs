#![cfg_attr(not(test), no_main)]
indicore::program!(tcpclient::argv0::PROG, tcpclient::argv0::run);
