#![cfg_attr(not(test), no_main)]
indicore::program!(tcpclient::delcr::PROG, tcpclient::delcr::run);
