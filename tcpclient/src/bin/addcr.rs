#![cfg_attr(not(test), no_main)]
indicore::program!(tcpclient::addcr::PROG, tcpclient::addcr::run);
